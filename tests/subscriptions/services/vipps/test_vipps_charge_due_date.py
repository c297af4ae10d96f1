"""A Vipps MobilePay auto-renew charge is taken on its due date, which the
Recurring API allows one day after the charge is made at the earliest: the
charge is made early enough that Vipps takes the money (and ends its
retries) before the line expires, and a plan too short for that (a day
plan) is not offered with Vipps, with the reason on the auto-renew page.
Against the local fake of Vipps (tests/fakes/vipps.py), which refuses a due
date sooner than Vipps allows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from subscriptions.errors import CustomerError
from subscriptions.models import AutoRenewal, Line, PaymentMethod, Plan, PlanPeriod, SavedCard, SetupStatus
from subscriptions.payments import PaymentProviderError, SavedMethod
from subscriptions.payments.vipps_recurring import VippsRecurringProvider, charge_due_date
from subscriptions.periods import OSLO
from subscriptions.services.autorenew import (
    VIPPS_CHARGE_LEAD,
    auto_renew_charge_run,
    auto_renew_enable,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
    auto_renew_window,
    lines_due_for_auto_renew,
    vipps_renews_in_time,
)
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.vipps import FakeVipps

SITE = "http://testserver"
CARD_ONLY = "Renews with a card only: Vipps MobilePay takes an automatic payment on a later day"


@pytest.fixture
def week() -> Plan:
    plan: Plan = PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00, name_en="Fjord week")
    return plan


@pytest.fixture
def day() -> Plan:
    plan: Plan = PlanFactory(code="fjord-day", period=PlanPeriod.DAY, price_ore=15_00, name_en="Fjord day")
    return plan


def with_vipps(vipps: FakeVipps, line: Line, plan: Plan) -> str:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE, method=PaymentMethod.VIPPS)
    vipps.agreements[setup.setup_id]["status"] = "ACTIVE"
    assert auto_renew_setup_finish(setup=setup).status == SetupStatus.SAVED
    return setup.setup_id


def local_date(moment: datetime) -> date:
    return moment.astimezone(OSLO).date()


# --- the rule, for every plan that is offered ------------------------------------------------


@pytest.mark.parametrize("period", [p for p in PlanPeriod.values if vipps_renews_in_time(p)])
@pytest.mark.parametrize("days_before", [1, 3])
def test_a_charge_made_when_the_sweep_first_finds_the_line_is_due_before_the_day_it_expires(
    settings: Any, period: str, days_before: int
) -> None:
    """Every hour of the year's two daylight-saving weeks, and the sweep
    ten minutes late: the due date Vipps accepts is never the day the line
    expires or later."""
    settings.AUTO_RENEW_DAYS_BEFORE = days_before
    window = auto_renew_window(period, vipps=True)
    for start in (datetime(2026, 3, 25, tzinfo=OSLO), datetime(2026, 10, 21, tzinfo=OSLO)):
        for hour in range(24 * 8):
            expires = start + timedelta(hours=hour, minutes=30)
            made = expires - window + timedelta(minutes=10)
            assert charge_due_date(today=local_date(made)) <= local_date(expires) - timedelta(days=1), (period, expires)


def test_a_day_plan_cannot_renew_with_vipps_and_every_longer_plan_can() -> None:
    assert not vipps_renews_in_time(PlanPeriod.DAY)
    assert all(vipps_renews_in_time(period) for period in PlanPeriod.values if period != PlanPeriod.DAY)
    assert auto_renew_window(PlanPeriod.WEEK, within=timedelta(days=1), vipps=True) == VIPPS_CHARGE_LEAD


# --- the adapter -----------------------------------------------------------------------------------


def active_agreement(provider: VippsRecurringProvider, vipps_api: FakeVipps) -> str:
    """An agreement made through the adapter and approved in the (fake) app."""
    agreement = provider.create_card_setup(
        reference="5c1f0a9e-7d4b-4a3e-8f21-6b9c0d2e4a17",
        customer_reference="user-1",
        customer_email="",
        idempotency_key="setup-1",
        return_url="https://portal.example.no/back/",
        language="nb",
    ).payment_id
    vipps_api.agreements[agreement]["status"] = "ACTIVE"
    return agreement


def test_the_charge_is_due_the_day_after_it_is_made_and_vipps_retries_stop_by_the_day_needed(
    vipps_api: FakeVipps,
) -> None:
    provider = VippsRecurringProvider()
    agreement = active_agreement(provider, vipps_api)
    tomorrow = timezone.localdate() + timedelta(days=1)

    for key, pay_by, retry_days in (("a", None, 2), ("b", tomorrow, 0), ("c", tomorrow + timedelta(days=1), 1)):
        provider.charge_saved_card(
            method=SavedMethod(method_id=agreement),
            reference=f"order-{key}",
            amount_ore=79_00,
            description="Fjord week",
            idempotency_key=key,
            pay_by=pay_by,
        )
        charge = list(vipps_api.agreements[agreement]["charges"].values())[-1]
        assert (charge["due"], charge["retryDays"]) == (tomorrow.isoformat(), retry_days)


def test_the_fake_refuses_a_charge_due_sooner_than_vipps_allows(vipps_api: FakeVipps, monkeypatch: Any) -> None:
    provider = VippsRecurringProvider()
    agreement = active_agreement(provider, vipps_api)
    monkeypatch.setattr("subscriptions.payments.vipps_recurring.DUE_AFTER_DAYS", 0)

    with pytest.raises(PaymentProviderError, match="at least one day ahead"):
        provider.charge_saved_card(
            method=SavedMethod(method_id=agreement),
            reference="order-x",
            amount_ore=79_00,
            description="Fjord week",
            idempotency_key="x",
        )


# --- auto-renew ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_week_plans_vipps_charge_is_due_before_the_day_the_line_expires(
    vipps: FakeVipps, week: Plan, settings: Any
) -> None:
    settings.AUTO_RENEW_DAYS_BEFORE = 3
    line: Line = LineFactory(with_period=week, with_period__days_ago=5)
    agreement = with_vipps(vipps, line, week)
    assert line.expires_at is not None
    now = timezone.now()

    [charge_id] = auto_renew_sweep(now=now)
    auto_renew_charge_run(charge_id=charge_id, now=now)

    [charge] = vipps.agreements[agreement]["charges"].values()
    last_day = local_date(line.expires_at) - timedelta(days=1)
    due = date.fromisoformat(charge["due"])
    assert due <= last_day
    assert due + timedelta(days=charge["retryDays"]) <= last_day


@pytest.mark.django_db
def test_a_vipps_line_is_charged_early_enough_even_when_cards_are_charged_a_day_before(
    vipps: FakeVipps, week: Plan, settings: Any
) -> None:
    """With cards charged a day before the end, a line renewing with Vipps
    is still charged VIPPS_CHARGE_LEAD before it, so the money comes in time."""
    settings.AUTO_RENEW_DAYS_BEFORE = 1
    by_vipps: Line = LineFactory(with_period=week, with_period__days_ago=5)
    with_vipps(vipps, by_vipps, week)
    assert by_vipps.expires_at is not None
    now = by_vipps.expires_at - VIPPS_CHARGE_LEAD + timedelta(minutes=1)

    due = lines_due_for_auto_renew(now=now)

    assert list(due) == [by_vipps]
    card = SavedCard.objects.get()
    card.provider = "stripe"
    card.save(update_fields=["provider"])
    assert not lines_due_for_auto_renew(now=now).exists()


@pytest.mark.django_db
def test_a_day_plan_is_not_turned_on_with_vipps(vipps: FakeVipps, day: Plan) -> None:
    line: Line = LineFactory(with_period=day)

    with translation.override("nb"), pytest.raises(CustomerError) as refused:
        auto_renew_start(owner=line.owner, line=line, plan=day, site_url=SITE, method=PaymentMethod.VIPPS)

    assert "Vipps MobilePay" in str(refused.value) and "abonnement" in str(refused.value)
    assert vipps.agreements == {}


@pytest.mark.django_db
def test_vipps_auto_renew_cannot_be_moved_to_a_day_plan(vipps: FakeVipps, week: Plan, day: Plan) -> None:
    line: Line = LineFactory(with_period=week, with_period__days_ago=5)
    with_vipps(vipps, line, week)
    card = SavedCard.objects.get()

    with pytest.raises(CustomerError, match="too short to renew automatically with Vipps MobilePay"):
        auto_renew_enable(line=line, plan=day, card=card, by=line.owner)

    assert AutoRenewal.objects.get(line=line).plan == week


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "note", "error"),
    [
        ("en", CARD_ONLY, "This plan is too short to renew automatically with Vipps MobilePay"),
        ("nb", "Fornyes bare med kort", "Dette abonnementet er for kort"),
        ("zh-hans", "仅可用银行卡自动续费", "此套餐太短"),
    ],
)
def test_the_auto_renew_page_says_a_day_plan_renews_with_a_card_only(
    vipps: FakeVipps, week: Plan, day: Plan, language: str, note: str, error: str
) -> None:
    owner = UserFactory(language=language)
    line: Line = LineFactory(owner=owner, with_period=week, with_period__days_ago=5)
    client = Client()
    client.force_login(owner)
    client.cookies["django_language"] = language

    page = client.get(f"/lines/{line.pk}/auto-renew/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    refused = client.post(
        f"/lines/{line.pk}/auto-renew/", {"plan": day.pk, "card": "", "with": "vipps"}, HTTP_ACCEPT_LANGUAGE=language
    )

    day_card = page.split('data-plan="fjord-day"')[1].split("</label>")[0]
    week_card = page.split('data-plan="fjord-week"')[1].split("</label>")[0]
    assert note in day_card and "plan-card-only" not in week_card
    assert 'id="auto-renew-vipps"' in page
    assert refused.status_code == 200
    assert error in refused.content.decode()
    assert vipps.agreements == {}
    line.refresh_from_db()
    assert not line.auto_renew
