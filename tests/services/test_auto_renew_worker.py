"""Auto-renew with the real worker over Redis, on PostgreSQL: the beat's
sweep queued twice in a row charges the line once (one charge, one order,
one receipt, one email), a declined card's failure is emailed from the
worker in the customer's language, and many runs of one charge at the same
moment charge it once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.celery import app
from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.models import (
    AutoRenewCharge,
    ChargeStatus,
    Line,
    Order,
    OrderStatus,
    PlanPeriod,
    Receipt,
    ServicePeriod,
)
from subscriptions.services.autorenew import (
    auto_renew_charge_run,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)
from subscriptions.tasks import charge_auto_renewal, charge_auto_renewals, send_receipt
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SITE = "http://testserver"
RUNS = 10


@pytest.fixture
def plan() -> Any:
    return PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00, name_zh_hans="峡湾周套餐")


@pytest.fixture
def customer() -> Any:
    return UserFactory(
        email="wang@example.test",
        full_name="王小明",
        street_address="Storgata 5",
        postal_code="0155",
        city="Oslo",
        language="zh-hans",
    )


@pytest.fixture
def line(customer: Any, plan: Any) -> Line:
    """A week that ends in two days: due for auto-renew."""
    line: Line = LineFactory(owner=customer, number="+4791234567", with_period=plan, with_period__days_ago=5)
    return line


def turn_on(line: Line, plan: Any, *, declining: bool = False) -> None:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)
    outcome = SandboxOutcome.SAVE_DECLINING_CARD if declining else SandboxOutcome.SAVE_CARD
    sandbox_decide(payment_id=setup.setup_id, outcome=outcome)
    auto_renew_setup_finish(setup=setup)


def states_of(finished_tasks: list[Any], task: Any, count: int) -> Callable[[], list[str] | None]:
    """A wait_until condition: the states of ``task``'s runs once there are ``count``."""

    def states() -> list[str] | None:
        runs = [run.state for run in finished_tasks if run.name == task.name]
        return runs if len(runs) >= count else None

    return states


def test_the_sweep_queued_twice_in_a_row_charges_the_line_once(
    celery_worker, finished_tasks, sender_of, wait_until, line, plan
):
    turn_on(line, plan)
    old_end = line.expires_at

    charge_auto_renewals.delay()
    charge_auto_renewals.delay()

    sweeps = wait_until(states_of(finished_tasks, charge_auto_renewals, 2), what="both sweeps")
    # Each sweep handed the still-waiting charge to a task of its own.
    charges = wait_until(states_of(finished_tasks, charge_auto_renewal, 2), what="both charge runs")
    [receipt_email] = wait_until(lambda: list(mail.outbox), what="the receipt email")
    assert sweeps == ["SUCCESS", "SUCCESS"]
    assert charges == ["SUCCESS", "SUCCESS"]
    charge = AutoRenewCharge.objects.get()
    assert (charge.status, charge.attempts) == (ChargeStatus.PAID, 1)
    order = Order.objects.get()
    assert (order.status, order.plan, order.amount_ore, charge.order) == (OrderStatus.PAID, plan, 79_00, order)
    receipt = Receipt.objects.get()
    assert receipt.order == order
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    line.refresh_from_db()
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert line.expires_at == plan.end_of_period_starting(old_end)
    assert receipt_email.to == ["wang@example.test"]
    assert receipt.number in receipt_email.subject
    assert sender_of(receipt_email).task == send_receipt.name
    assert sender_of(receipt_email).is_worker
    # Nothing more is on its way: a third sweep finds nothing to charge.
    charge_auto_renewals.delay()
    wait_until(states_of(finished_tasks, charge_auto_renewals, 3), what="the third sweep")
    assert len([run for run in finished_tasks if run.name == charge_auto_renewal.name]) == 2
    assert Order.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_declined_card_is_emailed_from_the_worker_in_the_customers_language(
    celery_worker, finished_tasks, sender_of, wait_until, line, plan
):
    turn_on(line, plan, declining=True)
    before = timezone.now()

    charge_auto_renewals.delay()

    [email] = wait_until(lambda: list(mail.outbox), what="the failure email")
    charge = AutoRenewCharge.objects.get()
    assert (charge.status, charge.attempts, charge.last_error) == (ChargeStatus.SCHEDULED, 1, "card_declined")
    assert charge.next_attempt_at is not None
    assert before + timedelta(hours=1) <= charge.next_attempt_at <= timezone.now() + timedelta(hours=1)
    with translation.override("zh-hans"):
        subject = gettext("We could not charge your card for %(number)s") % {"number": "+47 912 34 567"}
    assert email.subject == subject
    assert email.to == ["wang@example.test"]
    assert sender_of(email).is_worker
    assert Order.objects.get().status == OrderStatus.DECLINED
    assert not Receipt.objects.exists()


def test_many_runs_of_one_charge_at_the_same_moment_charge_it_once(line, plan):
    """Two beats, a redelivered message and a sweep that took a run for cut
    off: all of them at once, each on its own connection, under real row locks."""
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    start = threading.Barrier(RUNS)
    outcomes: list[Any] = [None] * RUNS

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            outcomes[index] = auto_renew_charge_run(charge_id=charge_id, now=now).status
        except Exception as error:  # reported below, not lost in the thread
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    app.control.purge()  # the receipt task queued on commit: no worker here

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert outcomes.count(ChargeStatus.PAID) >= 1
    assert set(outcomes) <= {ChargeStatus.PAID, ChargeStatus.CHARGING}
    assert AutoRenewCharge.objects.get().status == ChargeStatus.PAID
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2


def test_two_sweeps_at_the_same_moment_charge_each_due_line_once(plan):
    """Two beats' sweeps, each on its own connection, released together:
    both try to claim the same lines and run what they claimed, and the
    unique charge per period and the row locks leave one charge, one order,
    one payment and one receipt per line."""
    lines = [LineFactory(with_period=plan, with_period__days_ago=5) for _ in range(5)]
    for line in lines:
        turn_on(line, plan)
    now = timezone.now()
    start = threading.Barrier(2)
    outcomes: list[Any] = [None] * 2

    def sweep(index: int) -> None:
        try:
            start.wait(timeout=10)
            outcomes[index] = [
                auto_renew_charge_run(charge_id=charge_id, now=now).status for charge_id in auto_renew_sweep(now=now)
            ]
        except Exception as error:  # reported below, not lost in the thread
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    app.control.purge()  # the receipt tasks queued on commit: no worker here

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    for line in lines:
        [charge] = AutoRenewCharge.objects.filter(line=line)
        [order] = Order.objects.filter(line=line)
        assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.PAID, 1, order)
        assert order.status == OrderStatus.PAID
        assert Receipt.objects.filter(order__line=line).count() == 1
        assert ServicePeriod.objects.filter(line=line).count() == 2
    assert SandboxPayment.objects.filter(mode="payment").count() == len(lines)
    assert auto_renew_sweep(now=now) == []
