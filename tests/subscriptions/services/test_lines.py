"""A line's state machine, its service periods and its prepaid ledger."""

from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from subscriptions.errors import CustomerError, TransitionNotAllowed
from subscriptions.models import TRANSITIONS, AuditEvent, LedgerKind, Line, LineStatus, PlanKind, ServicePeriod
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.lines import (
    line_add_period,
    line_extend,
    line_resume,
    line_suspend,
    line_transition,
)
from tests.factories import LedgerEntryFactory, LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

ALLOWED = [(before, after) for before, targets in TRANSITIONS.items() for after in sorted(targets)]
REFUSED = [(before, after) for before in LineStatus for after in LineStatus if after not in TRANSITIONS[before]]


@pytest.fixture
def agent():
    return UserFactory(is_staff=True)


# --- the state machine ------------------------------------------------------


def test_the_table_covers_every_status():
    assert set(TRANSITIONS) == set(LineStatus)
    assert len(ALLOWED) + len(REFUSED) == len(LineStatus) ** 2


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_move_changes_the_status_and_writes_one_audit_row(agent, before, after):
    line = LineFactory(status=before)

    moved = line_transition(line=line, to=after, by=agent, reason="Checked with the customer")

    line.refresh_from_db()
    assert moved.status == line.status == after
    event = AuditEvent.objects.get(line=line)
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        before,
        after,
        agent,
        "Checked with the customer",
    )


@pytest.mark.parametrize(("before", "after"), REFUSED)
def test_every_other_move_is_refused_and_writes_nothing(agent, before, after):
    line = LineFactory(status=before)
    changed_at = line.status_changed_at

    with pytest.raises(TransitionNotAllowed):
        line_transition(line=line, to=after, by=agent, reason="Trying")

    line.refresh_from_db()
    assert (line.status, line.status_changed_at) == (before, changed_at)
    assert not AuditEvent.objects.filter(line=line).exists()


def test_a_system_move_is_audited_without_an_actor():
    line = LineFactory(with_period=True)

    line_transition(line=line, to=LineStatus.EXPIRED, by=None, reason="Paid period ended", action="expire")

    event = AuditEvent.objects.get(line=line)
    assert (event.actor, event.action) == (None, "expire")


def test_suspend_then_resume_a_paid_line_makes_it_active_again(agent):
    line = LineFactory(with_period=True)

    line_suspend(line=line, by=agent, reason="Phone lost")
    line.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED
    line_resume(line=line, by=agent, reason="Phone found")

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert list(AuditEvent.objects.filter(line=line).order_by("id").values_list("action", "to_status")) == [
        ("suspend", LineStatus.SUSPENDED),
        ("resume", LineStatus.ACTIVE),
    ]


def test_resuming_a_line_whose_paid_time_ran_out_makes_it_expired(agent):
    line = LineFactory(with_period=True)
    line_suspend(line=line, by=agent, reason="Travelling")
    Line.objects.filter(pk=line.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    resumed = line_resume(line=line, by=agent, reason="Back home")

    assert resumed.status == LineStatus.EXPIRED


def test_only_a_suspended_line_can_be_resumed(agent):
    line = LineFactory(with_period=True)

    with pytest.raises(TransitionNotAllowed):
        line_resume(line=line, by=agent, reason="Nothing to resume")

    assert not AuditEvent.objects.filter(line=line).exists()


def test_an_expired_line_cannot_be_suspended(agent):
    line = LineFactory(with_period=True, with_period__days_ago=40)
    assert line.status == LineStatus.EXPIRED

    with pytest.raises(TransitionNotAllowed):
        line_suspend(line=line, by=agent, reason="Too late")


# --- service periods --------------------------------------------------------


def test_renewal_before_expiry_keeps_remaining_days():
    plan = PlanFactory()
    line = LineFactory(with_period=plan, with_period__days_ago=10)
    old_end = line.expires_at

    period = line_add_period(line=line, plan=plan, by=line.owner)

    line.refresh_from_db()
    assert period.starts_at == old_end
    assert period.ends_at == plan.end_of_period_starting(old_end)
    assert line.expires_at == period.ends_at
    assert line.status == LineStatus.ACTIVE
    event = AuditEvent.objects.get(line=line)
    assert (event.action, event.actor, event.data["plan"]) == ("period_added", line.owner, plan.code)


def test_periods_stay_contiguous_over_several_renewals():
    plan = PlanFactory()
    line = LineFactory(with_period=plan, with_period__days_ago=3)

    for _ in range(3):
        line_add_period(line=line, plan=plan, by=line.owner)

    periods = list(ServicePeriod.objects.filter(line=line).order_by("starts_at"))
    assert len(periods) == 4
    assert all(later.starts_at == earlier.ends_at for earlier, later in pairwise(periods))
    line.refresh_from_db()
    assert line.expires_at == periods[-1].ends_at


def test_an_expired_line_restarts_from_the_moment_of_payment_and_becomes_active():
    plan = PlanFactory()
    line = LineFactory(with_period=plan, with_period__days_ago=45)
    assert line.status == LineStatus.EXPIRED
    paid_at = timezone.now()

    period = line_add_period(line=line, plan=plan, by=line.owner, now=paid_at)

    line.refresh_from_db()
    assert period.starts_at == paid_at
    assert (line.status, line.expires_at) == (LineStatus.ACTIVE, period.ends_at)
    assert list(AuditEvent.objects.filter(line=line).order_by("id").values_list("action", "to_status")) == [
        ("activate", LineStatus.ACTIVE),
        ("period_added", LineStatus.ACTIVE),
    ]


def test_a_new_line_starts_when_paid_and_becomes_active():
    plan = PlanFactory()
    line = LineFactory()
    paid_at = timezone.now()

    period = line_add_period(line=line, plan=plan, by=line.owner, now=paid_at)

    line.refresh_from_db()
    assert period.starts_at == paid_at
    assert (period.data_mb, period.voice_minutes, period.sms_count) == (
        plan.data_mb,
        plan.voice_minutes,
        plan.sms_count,
    )
    assert line.status == LineStatus.ACTIVE


def test_a_number_keeping_line_renews_the_same_way():
    plan = NumberKeepingPlanFactory()
    line = LineFactory(kind=PlanKind.NUMBER_KEEPING, with_period=plan, with_period__days_ago=30)
    old_end = line.expires_at

    period = line_add_period(line=line, plan=plan, by=line.owner)

    line.refresh_from_db()
    assert period.starts_at == old_end
    assert line.expires_at == plan.end_of_period_starting(old_end)


def test_a_plan_for_another_kind_of_line_is_refused():
    line = LineFactory(with_period=True)
    expires_at = line.expires_at

    with pytest.raises(CustomerError):
        line_add_period(line=line, plan=NumberKeepingPlanFactory(), by=line.owner)

    line.refresh_from_db()
    assert line.expires_at == expires_at
    assert ServicePeriod.objects.filter(line=line).count() == 1
    assert not AuditEvent.objects.filter(line=line).exists()


@pytest.mark.parametrize(
    "status", [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED, LineStatus.QUARANTINED], ids=str
)
def test_a_cancelled_line_cannot_be_renewed(status, settings):
    plan = PlanFactory()
    line = LineFactory(with_period=plan)
    # A cancelled line within its grace period comes back by a renewal
    # (tests/subscriptions/services/test_cancellations.py); after it, no more.
    after_grace = timezone.now() - timedelta(days=settings.CANCELLATION_GRACE_DAYS + 1)
    Line.objects.filter(pk=line.pk).update(status=status, status_changed_at=after_grace)

    with pytest.raises(CustomerError):
        line_add_period(line=line, plan=plan, by=line.owner)

    assert ServicePeriod.objects.filter(line=line).count() == 1
    assert not AuditEvent.objects.filter(line=line).exists()


# --- goodwill ---------------------------------------------------------------


def test_goodwill_lengthens_the_current_period(agent):
    line = LineFactory(with_period=True)
    period = line.periods.get()
    old_end = line.expires_at

    line_extend(line=line, days=7, by=agent, reason="Network outage in Tromsø")

    line.refresh_from_db()
    period.refresh_from_db()
    assert period.ends_at == line.expires_at == old_end + timedelta(days=7)
    assert line.periods.count() == 1
    event = AuditEvent.objects.get(line=line)
    assert (event.action, event.actor, event.reason, event.data["days"]) == (
        "extend",
        agent,
        "Network outage in Tromsø",
        7,
    )


def test_goodwill_on_an_expired_line_gives_a_new_period_from_now(agent):
    line = LineFactory(with_period=True, with_period__days_ago=40)
    before = timezone.now()

    line_extend(line=line, days=3, by=agent, reason="Sorry for the trouble")

    line.refresh_from_db()
    goodwill = line.periods.order_by("-starts_at").first()
    assert goodwill.source == "goodwill"
    assert goodwill.starts_at >= before
    assert goodwill.ends_at == goodwill.starts_at + timedelta(days=3) == line.expires_at
    assert line.status == LineStatus.ACTIVE


@pytest.mark.parametrize(("days", "reason"), [(0, "Why"), (366, "Why"), (5, "  ")])
def test_goodwill_needs_1_to_365_days_and_a_reason(agent, days, reason):
    line = LineFactory(with_period=True)
    expires_at = line.expires_at

    with pytest.raises(CustomerError):
        line_extend(line=line, days=days, by=agent, reason=reason)

    line.refresh_from_db()
    assert line.expires_at == expires_at
    assert not AuditEvent.objects.filter(line=line).exists()


def test_goodwill_needs_a_period_to_extend(agent):
    with pytest.raises(CustomerError):
        line_extend(line=LineFactory(), days=5, by=agent, reason="Nothing paid yet")


# --- the ledger -------------------------------------------------------------


def test_the_balance_is_the_sum_of_the_entries():
    line = LineFactory()
    assert ledger_balance(line=line) == 0
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=200_00)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_45)
    LedgerEntryFactory(line=line, kind=LedgerKind.REFUND, amount_ore=5_00)
    LedgerEntryFactory(kind=LedgerKind.TOPUP, amount_ore=999_00)  # another line's

    assert ledger_balance(line=line) == 192_55


def test_the_same_reference_adds_once():
    line = LineFactory()

    first, created = ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, reference="vipps-123")
    again, created_again = ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, reference="vipps-123")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert ledger_balance(line=line) == 100_00


def test_a_reference_is_unique_per_kind_only_and_entries_without_one_always_add():
    line = LineFactory()

    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=100_00, reference="ref-1")
    ledger_add(line=line, kind=LedgerKind.REFUND, amount_ore=10_00, reference="ref-1")
    ledger_add(line=line, kind=LedgerKind.ADJUSTMENT, amount_ore=1_00)
    ledger_add(line=line, kind=LedgerKind.ADJUSTMENT, amount_ore=1_00)

    assert ledger_balance(line=line) == 112_00


@pytest.mark.parametrize(
    ("status", "closed"),
    [
        (LineStatus.PENDING, False),
        (LineStatus.ACTIVE, False),
        (LineStatus.SUSPENDED, False),
        (LineStatus.EXPIRED, False),
        (LineStatus.CANCELLATION_PENDING, True),
        (LineStatus.CANCELLED, True),
        (LineStatus.QUARANTINED, True),
    ],
)
def test_a_line_is_closed_from_its_cancellation_request_on(status, closed):
    assert LineFactory.build(status=status).is_closed is closed
