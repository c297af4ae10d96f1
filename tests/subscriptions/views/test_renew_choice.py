"""Choosing what to renew with, as the customer meets it: the line's own plan
first and marked on the renew page, the dashboard's Renew going straight to
that plan's checkout, every price said with its period in the customer's
language, and auto-renew defaulting to the line's plan and saying what it
costs in a month."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from sandbox.models import SandboxOutcome
from sandbox.provider import sandbox_decide
from subscriptions.formatting import format_monthly_cost, format_nok, format_recurring_cost, monthly_cost
from subscriptions.models import AutoRenewal, LineStatus, PlanKind, PlanPeriod
from subscriptions.services.autorenew import auto_renew_setup_finish, auto_renew_start
from subscriptions.services.lines import period_create
from tests.factories import LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
LANGUAGES = ["en", "nb", "zh-hans"]


@pytest.fixture
def customer():
    return UserFactory(email="kari@example.test", full_name="Kari Nordmann", street_address="Storgata 5")


@pytest.fixture
def day_pass():
    return PlanFactory(
        code="day-1gb",
        period=PlanPeriod.DAY,
        price_ore=39_00,
        name_en="Day pass 1 GB",
        name_nb="Dagspakke 1 GB",
        name_zh_hans="1 天套餐 1 GB",
    )


@pytest.fixture
def month():
    return PlanFactory(
        code="month-10gb", price_ore=249_00, name_en="Month 10 GB", name_nb="Måned 10 GB", name_zh_hans="月套餐 10 GB"
    )


@pytest.fixture
def week():
    return PlanFactory(code="week-5gb", period=PlanPeriod.WEEK, price_ore=99_00, name_en="Week 5 GB")


@pytest.fixture
def line(customer, day_pass, month, week):
    """Kari's: on the month plan, two days left; cheaper plans are on sale."""
    start = timezone.now() - timedelta(days=29)
    line = LineFactory(owner=customer, number="+4741234567", with_period=month, with_period__start=start)
    assert line.expires_at is not None and line.expires_at - timezone.now() < timedelta(days=3)
    return line


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def plans_listed(html: str) -> list[str]:
    return re.findall(r'data-plan="([\w-]+)"', html)


def speaking(client, language):
    """The signed-in customer's pages in ``language`` (kept on the account)."""
    client.cookies["portal_language"] = language
    customer = UserFactory._meta.model.objects.get(email="kari@example.test")
    customer.language = language
    customer.save(update_fields=["language"])
    return client


# --- the renew page -----------------------------------------------------------------


def test_the_renew_page_puts_the_lines_own_plan_first_and_marks_it_as_theirs(signed_in, line):
    html = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()

    assert plans_listed(html) == ["month-10gb", "day-1gb", "week-5gb"]
    first = html[html.index('data-plan="month-10gb"') : html.index('data-plan="day-1gb"')]
    assert 'aria-current="true"' in first
    assert "Your plan" in first
    assert f'href="/lines/{line.pk}/renew/month-10gb/">Renew Month 10 GB</a>' in first
    assert "stretched-link" in first
    assert html.count(' plan-current"') == 1
    assert "Your line is on Month 10 GB." in html


def test_a_plan_bought_ahead_does_not_change_which_plan_the_line_is_on(signed_in, line, day_pass):
    period_create(line=line, plan=day_pass, start=line.expires_at, source="order")

    html = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()

    assert plans_listed(html)[0] == "month-10gb"


def test_an_expired_line_is_offered_its_last_plan_first(signed_in, customer, week, month):
    expired = LineFactory(owner=customer, with_period=week, with_period__days_ago=20)
    assert expired.status == LineStatus.EXPIRED

    html = signed_in.get(f"/lines/{expired.pk}/renew/").content.decode()

    assert plans_listed(html)[0] == "week-5gb"
    assert "Your plan" in html


def test_a_plan_no_longer_sold_is_named_and_the_customer_chooses(signed_in, line, month):
    month.is_active = False
    month.save()

    html = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()

    assert "Your plan, Month 10 GB, is no longer sold. Choose the plan to renew with." in html
    assert plans_listed(html) == ["day-1gb", "week-5gb"]
    assert ' plan-current"' not in html


def test_a_number_keeping_line_sees_only_number_keeping_plans_its_own_first(signed_in, customer):
    cheap = NumberKeepingPlanFactory(code="keep-month", period=PlanPeriod.MONTH, price_ore=49_00)
    own = NumberKeepingPlanFactory(code="keep-quarter", price_ore=129_00)
    keeper = LineFactory(owner=customer, kind=PlanKind.NUMBER_KEEPING, with_period=own)

    html = signed_in.get(f"/lines/{keeper.pk}/renew/").content.decode()

    assert plans_listed(html) == [own.code, cheap.code]


@pytest.mark.parametrize(
    ("language", "price"),
    [("en", "NOK\xa039.00 for one day"), ("nb", "39,00\xa0kr for én dag"), ("zh-hans", "39.00\xa0克朗，1 天")],
)
def test_each_plan_card_says_what_one_purchase_buys_in_the_customers_language(signed_in, line, language, price):
    html = speaking(signed_in, language).get(f"/lines/{line.pk}/renew/").content.decode()

    assert price in html


# --- the checkout ---------------------------------------------------------------------


def test_the_checkout_of_the_lines_own_plan_says_so_and_offers_another(signed_in, line):
    html = signed_in.get(f"/lines/{line.pk}/renew/month-10gb/").content.decode()

    assert "You renew Month 10 GB, the plan your line is on." in html
    assert (
        f'class="btn btn-link px-0 tap-target choose-another-plan" href="/lines/{line.pk}/renew/">Choose another plan'
        in html
    )


def test_the_checkout_of_another_plan_names_the_plan_the_line_is_on(signed_in, line):
    html = signed_in.get(f"/lines/{line.pk}/renew/day-1gb/").content.decode()

    assert "You buy Day pass 1 GB. Your line is on Month 10 GB now." in html
    assert "NOK\xa039.00 for one day" in html
    assert "the plan your line is on" not in html


# --- the dashboard ----------------------------------------------------------------------


def test_every_dashboard_card_has_its_actions_and_renew_goes_to_the_same_plan(signed_in, customer, line, week):
    calm = LineFactory(owner=customer, with_period=week, with_period__days_ago=1)

    html = signed_in.get("/dashboard/").content.decode()

    for card, plan_code in ((line, "month-10gb"), (calm, "week-5gb")):
        assert (
            f'class="btn btn-primary w-100 tap-target line-action-renew" href="/lines/{card.pk}/renew/{plan_code}/"'
            in html
        )
        assert f'line-action-top-up" href="/lines/{card.pk}/top-up/"' in html
        assert f'line-action-voucher" href="/lines/{card.pk}/voucher/"' in html
        assert f'line-action-auto-renew" href="/lines/{card.pk}/auto-renew/" data-state="off"' in html


def test_a_closed_line_on_the_dashboard_offers_no_purchase(signed_in, customer, week):
    closed = LineFactory(owner=customer, with_period=week)
    closed.status = LineStatus.CANCELLED
    closed.save(update_fields=["status"])

    html = signed_in.get("/dashboard/").content.decode()

    assert f"/lines/{closed.pk}/renew/" not in html
    assert f"/lines/{closed.pk}/top-up/" not in html
    assert "line-actions" not in html


# --- prices with their periods ----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "period", "expected"),
    [
        ("en", PlanPeriod.DAY, "NOK\xa039.00 every day, that is about NOK\xa01,170.00 a month"),
        ("nb", PlanPeriod.DAY, "39,00\xa0kr hver dag, altså omtrent 1\xa0170,00\xa0kr i måneden"),
        ("zh-hans", PlanPeriod.DAY, "每天 39.00\xa0克朗，即每月约 1,170.00\xa0克朗"),
        ("en", PlanPeriod.WEEK, "NOK\xa039.00 every week, that is about NOK\xa0167.00 a month"),
        ("nb", PlanPeriod.WEEK, "39,00\xa0kr hver uke, altså omtrent 167,00\xa0kr i måneden"),
        ("zh-hans", PlanPeriod.WEEK, "每周 39.00\xa0克朗，即每月约 167.00\xa0克朗"),
        ("en", PlanPeriod.MONTH, "NOK\xa039.00 every month"),
        ("nb", PlanPeriod.MONTH, "39,00\xa0kr hver måned"),
        ("zh-hans", PlanPeriod.MONTH, "每月 39.00\xa0克朗"),
        ("en", PlanPeriod.QUARTER, "NOK\xa039.00 every quarter, that is NOK\xa013.00 a month"),
        ("nb", PlanPeriod.QUARTER, "39,00\xa0kr hvert kvartal, altså 13,00\xa0kr i måneden"),
        ("zh-hans", PlanPeriod.QUARTER, "每季度 39.00\xa0克朗，即每月 13.00\xa0克朗"),
        ("en", PlanPeriod.YEAR, "NOK\xa039.00 every year, that is NOK\xa03.25 a month"),
        ("nb", PlanPeriod.YEAR, "39,00\xa0kr hvert år, altså 3,25\xa0kr i måneden"),
        ("zh-hans", PlanPeriod.YEAR, "每年 39.00\xa0克朗，即每月 3.25\xa0克朗"),
    ],
)
def test_a_repeating_price_is_one_sentence_per_period_in_each_language(language, period, expected):
    with translation.override(language):
        assert format_recurring_cost(39_00, period) == expected


@pytest.mark.parametrize(
    ("price", "period", "expected"),
    [
        (39_00, PlanPeriod.DAY, (1170_00, True)),
        (99_00, PlanPeriod.WEEK, (424_00, True)),  # 99 × 30 / 7 = 424.29
        (249_00, PlanPeriod.MONTH, (249_00, False)),
        (649_00, PlanPeriod.QUARTER, (216_33, False)),
        (2199_00, PlanPeriod.YEAR, (183_25, False)),
    ],
)
def test_the_monthly_cost_follows_the_stated_rule(price, period, expected):
    assert monthly_cost(price, period) == expected


def test_an_exact_monthly_cost_is_not_called_approximate():
    with translation.override("en"):
        assert format_monthly_cost(649_00, PlanPeriod.QUARTER) == f"{format_nok(216_33)} a month"
        assert format_monthly_cost(39_00, PlanPeriod.DAY) == f"about {format_nok(1170_00)} a month"


# --- auto-renew ----------------------------------------------------------------------------


def chosen_plans(html: str) -> list[str]:
    return re.findall(r'name="plan" id="plan-\d+" value="(\d+)" checked', html)


@pytest.mark.parametrize(
    ("language", "day_sentence"),
    [
        ("en", "NOK\xa039.00 every day, that is about NOK\xa01,170.00 a month"),
        ("nb", "39,00\xa0kr hver dag, altså omtrent 1\xa0170,00\xa0kr i måneden"),
        ("zh-hans", "每天 39.00\xa0克朗，即每月约 1,170.00\xa0克朗"),
    ],
)
def test_auto_renew_shows_each_plans_price_with_its_period_and_defaults_to_the_lines_plan(
    signed_in, line, month, language, day_sentence
):
    html = speaking(signed_in, language).get(f"/lines/{line.pk}/auto-renew/").content.decode()

    assert day_sentence in html
    assert chosen_plans(html) == [str(month.pk)]
    first = re.search(r'data-plan="([\w-]+)"', html)
    assert first is not None and first[1] == "month-10gb"


def test_auto_renew_defaults_to_the_lines_plan_not_a_plan_bought_ahead(signed_in, line, day_pass, month):
    period_create(line=line, plan=day_pass, start=line.expires_at, source="order")

    html = signed_in.get(f"/lines/{line.pk}/auto-renew/").content.decode()

    assert chosen_plans(html) == [str(month.pk)]


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", "Auto-renew is on for this line: it is charged NOK"),
        ("nb", "Automatisk fornyelse er på for dette abonnementet: det belastes"),
        ("zh-hans", "此号码已开启自动续费"),
    ],
)
def test_the_renew_page_of_a_line_on_auto_renew_says_a_renewal_here_comes_on_top(
    signed_in, line, day_pass, language, says
):
    page = speaking(signed_in, language).get(f"/lines/{line.pk}/renew/").content.decode()
    assert "auto-renew-on-renew" not in page
    setup = auto_renew_start(owner=line.owner, line=line, plan=day_pass, site_url=SITE)
    sandbox_decide(payment_id=setup.setup_id, outcome=SandboxOutcome.SAVE_CARD)
    auto_renew_setup_finish(setup=setup)

    page = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()

    [notice] = re.findall(r'auto-renew-on-renew" role="status">\s*(.*?)\s*</div>', page, re.S)
    assert notice.startswith(says), notice


def test_auto_renew_turned_off_does_not_bring_back_its_old_plan_as_the_default(signed_in, line, day_pass, month):
    setup = auto_renew_start(owner=line.owner, line=line, plan=day_pass, site_url=SITE)
    sandbox_decide(payment_id=setup.setup_id, outcome=SandboxOutcome.SAVE_CARD)
    auto_renew_setup_finish(setup=setup)
    signed_in.post(f"/lines/{line.pk}/auto-renew/off/")
    assert AutoRenewal.objects.get(line=line).enabled is False

    html = signed_in.get(f"/lines/{line.pk}/auto-renew/").content.decode()

    assert chosen_plans(html) == [str(month.pk)]


def test_auto_renew_for_a_plan_no_longer_sold_chooses_nothing_and_asks(signed_in, line, month):
    month.is_active = False
    month.save()

    html = signed_in.get(f"/lines/{line.pk}/auto-renew/").content.decode()
    sent = signed_in.post(f"/lines/{line.pk}/auto-renew/", {"card": ""}).content.decode()

    assert "Your plan, Month 10 GB, is no longer sold. Choose the plan to renew with." in html
    assert chosen_plans(html) == []
    assert "Choose the plan to renew with." in sent
    assert not AutoRenewal.objects.filter(line=line).exists()


@pytest.mark.parametrize(
    ("language", "confirmation"),
    [
        ("en", "Auto-renew is on: NOK\xa039.00 every day, that is about NOK\xa01,170.00 a month."),
        ("nb", "Automatisk fornyelse er slått på: 39,00\xa0kr hver dag, altså omtrent 1\xa0170,00\xa0kr i måneden."),
        ("zh-hans", "自动续费已开启：每天 39.00\xa0克朗，即每月约 1,170.00\xa0克朗。"),
    ],
)
def test_the_auto_renew_confirmation_says_what_it_costs_in_a_month(signed_in, line, day_pass, language, confirmation):
    setup = auto_renew_start(owner=line.owner, line=line, plan=day_pass, site_url=SITE)
    sandbox_decide(payment_id=setup.setup_id, outcome=SandboxOutcome.SAVE_CARD)
    card = auto_renew_setup_finish(setup=setup).card
    assert card is not None
    client = speaking(signed_in, language)

    response = client.post(f"/lines/{line.pk}/auto-renew/", {"plan": day_pass.pk, "card": card.pk}, follow=True)

    html = response.content.decode()
    assert confirmation in html
    # The line page, showing it on, says the same cost.
    with translation.override(language):
        assert f'class="mb-2 fw-semibold auto-renew-cost">{format_recurring_cost(39_00, PlanPeriod.DAY)}</p>' in html
