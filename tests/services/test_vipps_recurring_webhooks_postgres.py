"""The Recurring API's webhooks on PostgreSQL, over HTTP to the live server,
with the real worker over Redis: Vipps's webhook about an auto-renew charge
arriving many times at once while the charge's own run and the order sweep
poll the same charge settles it once (one period, one receipt, one receipt
email from the worker), and a failed charge sent twice at once is retried
and emailed about once; an agreement stopped, reported many times at once,
turns auto-renew off once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from subscriptions.models import (
    AuditEvent,
    AutoRenewCharge,
    ChargeStatus,
    Line,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PlanPeriod,
    Receipt,
    ServicePeriod,
    SetupStatus,
)
from subscriptions.services.autorenew import (
    STALE_CHARGE,
    auto_renew_charge_run,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)
from subscriptions.services.reconcile import orders_reconcile
from subscriptions.tasks import send_receipt, stop_vipps_agreement
from tests.concurrency import at_once
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.vipps import FakeVipps

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WEBHOOKS = 8
POLLS = 4


@pytest.fixture
def vipps(vipps_api: FakeVipps, settings: Any) -> FakeVipps:
    settings.VIPPS_RECURRING_PROVIDER = "vipps_recurring"
    return vipps_api


@pytest.fixture
def plan() -> Any:
    return PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00, name_en="Fjord week")


@pytest.fixture
def line(plan: Any) -> Line:
    owner = UserFactory(email="kari@example.test", full_name="Kari Nordmann", language="nb")
    line: Line = LineFactory(owner=owner, number="+4791234567", with_period=plan, with_period__days_ago=5)
    return line


def charge_pending(vipps: FakeVipps, line: Line, plan: Any, site: str) -> tuple[str, str, AutoRenewCharge]:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=site, method=PaymentMethod.VIPPS)
    vipps.agreements[setup.setup_id]["status"] = "ACTIVE"
    assert auto_renew_setup_finish(setup=setup).status == SetupStatus.SAVED
    now = timezone.now()
    [charge] = [auto_renew_charge_run(charge_id=pk, now=now) for pk in auto_renew_sweep(now=now)]
    assert charge.status == ChargeStatus.CHARGING
    [charge_id] = vipps.agreements[setup.setup_id]["charges"]
    return setup.setup_id, charge_id, charge


def test_a_captured_charge_reported_many_times_while_it_is_polled_renews_the_line_once(
    live_server, celery_worker, sender_of, wait_until, vipps, line, plan
):
    before = line.expires_at
    agreement, charge_id, charge = charge_pending(vipps, line, plan, live_server.url)
    vipps.agreements[agreement]["charges"][charge_id]["status"] = "CHARGED"
    later = timezone.now() + STALE_CHARGE + timedelta(minutes=1)

    def webhook() -> int:
        return vipps.recurring_event(
            site=live_server.url, event="charge-captured", agreement=agreement, charge=charge_id
        )

    def poll() -> Any:
        return auto_renew_charge_run(charge_id=charge.pk, now=later).status

    def sweep() -> Any:
        return orders_reconcile(now=later)

    answers = at_once([webhook] * WEBHOOKS + [poll] * POLLS + [sweep])

    assert answers[:WEBHOOKS] == [200] * WEBHOOKS
    [receipt_email] = wait_until(lambda: list(mail.outbox), what="the receipt email")
    assert sender_of(receipt_email).task == send_receipt.name
    assert sender_of(receipt_email).is_worker
    charge.refresh_from_db()
    order = Order.objects.get()
    assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.PAID, 1, order)
    assert order.status == OrderStatus.PAID
    assert Receipt.objects.filter(order=order).count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    line.refresh_from_db()
    assert line.expires_at == plan.end_of_period_starting(before)
    assert PaymentEvent.objects.filter(event_id__startswith="webhook:").count() == 1
    assert AuditEvent.objects.filter(line=line, action="auto_renew_charge").count() == 1
    assert len(vipps.agreements[agreement]["charges"]) == 1
    assert len(mail.outbox) == 1


def test_a_failed_charge_reported_twice_at_once_is_retried_and_emailed_once(
    live_server, celery_worker, wait_until, vipps, line, plan
):
    agreement, charge_id, charge = charge_pending(vipps, line, plan, live_server.url)

    def webhook() -> int:
        return vipps.recurring_event(site=live_server.url, event="charge-failed", agreement=agreement, charge=charge_id)

    assert at_once([webhook, webhook]) == [200, 200]

    [email] = wait_until(lambda: list(mail.outbox), what="the failure email")
    assert email.to == ["kari@example.test"]
    charge.refresh_from_db()
    assert (charge.status, charge.attempts) == (ChargeStatus.SCHEDULED, 1)
    assert Order.objects.get().status == OrderStatus.DECLINED
    assert AuditEvent.objects.filter(line=line, action="auto_renew_charge").count() == 1
    assert len(mail.outbox) == 1


def test_an_agreement_stopped_reported_many_times_at_once_turns_auto_renew_off_once(
    live_server, celery_worker, finished_tasks, wait_until, vipps, line, plan
):
    agreement, _charge_id, _charge = charge_pending(vipps, line, plan, live_server.url)

    def webhook() -> int:
        return vipps.recurring_event(site=live_server.url, event="agreement-stopped", agreement=agreement)

    assert at_once([webhook] * WEBHOOKS) == [200] * WEBHOOKS

    line.refresh_from_db()
    assert not line.auto_renew
    assert AuditEvent.objects.filter(line=line, action="auto_renew_off").count() == 1
    # Vipps ended it: the worker's stop finds it ended and does not ask Vipps again.
    wait_until(
        lambda: [run.state for run in finished_tasks if run.name == stop_vipps_agreement.name] == ["SUCCESS"],
        what="the agreement's stop task",
    )
    assert ("PATCH", f"/recurring/v3/agreements/{agreement}") not in vipps.calls()
