"""Suspending and resuming a line: who may, which lines can be, the audit
rows, and the network's block and unblock, each once and in order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.network import network_history, network_subscriber
from subscriptions.errors import CustomerError
from subscriptions.models import AuditEvent, LineStatus, LineSuspension, SuspensionReason
from subscriptions.services.lines import line_transition
from subscriptions.services.suspensions import (
    NetworkPending,
    line_suspension_end,
    line_suspension_start,
    suspension_network_block,
    suspension_network_unblock,
    suspensions_network_queue_due,
)
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db

TRAVELLING = SuspensionReason.TRAVELLING


def test_suspending_an_active_line_suspends_it_and_blocks_it_on_the_network_once(
    line, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        line_suspension_start(line=line, by=customer, reason=TRAVELLING)

    line.refresh_from_db()
    suspension = LineSuspension.objects.get(line=line)
    assert line.status == LineStatus.SUSPENDED
    assert suspension.reason == TRAVELLING and suspension.blocked_at is not None
    assert network_subscriber(msisdn=line.number).blocked
    assert suspension_network_block(suspension_id=suspension.pk) is False  # a second run does nothing
    assert [request.action for request in network_history(msisdn=line.number)] == ["block"]
    assert list(AuditEvent.objects.filter(line=line).order_by("id").values_list("action", flat=True)) == [
        "suspend",
        "line_blocked",
    ]


def test_resuming_unblocks_the_line_once_and_makes_it_active(line, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        line_suspension_start(line=line, by=customer, reason=TRAVELLING)
    with django_capture_on_commit_callbacks(execute=True):
        line_suspension_end(line=line, by=customer)

    suspension = LineSuspension.objects.get(line=line)
    assert line.status == LineStatus.ACTIVE
    assert suspension.resumed_by == customer and suspension.unblocked_at is not None
    assert suspension_network_unblock(suspension_id=suspension.pk) is False
    assert [request.action for request in network_history(msisdn=line.number)] == ["block", "unblock"]
    assert not network_subscriber(msisdn=line.number).blocked


def test_a_line_resumed_after_its_paid_period_is_expired(line, customer):
    line_suspension_start(line=line, by=customer, reason=TRAVELLING)
    type(line).objects.filter(pk=line.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    line_suspension_end(line=line, by=customer)

    assert line.status == LineStatus.EXPIRED


@pytest.mark.parametrize(
    "status", [LineStatus.PENDING, LineStatus.EXPIRED, LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED]
)
def test_only_an_active_line_can_be_suspended(customer, status):
    line = LineFactory(owner=customer, status=status)

    with pytest.raises(CustomerError):
        line_suspension_start(line=line, by=customer, reason=TRAVELLING)

    assert not LineSuspension.objects.exists()
    line.refresh_from_db()
    assert line.status == status


def test_a_suspended_line_cannot_be_suspended_twice(line, customer):
    line_suspension_start(line=line, by=customer, reason=TRAVELLING)

    with pytest.raises(CustomerError, match="already suspended"):
        line_suspension_start(line=line, by=customer, reason=SuspensionReason.OTHER)

    assert LineSuspension.objects.filter(line=line).count() == 1


def test_a_customer_cannot_give_supports_reason_nor_resume_supports_suspension(line, customer):
    with pytest.raises(CustomerError):
        line_suspension_start(line=line, by=customer, reason=SuspensionReason.SUPPORT)
    agent = UserFactory(is_staff=True)
    line_suspension_start(line=line, by=agent, reason=SuspensionReason.SUPPORT, note="Unusual calls", by_support=True)

    with pytest.raises(CustomerError, match="contact them"):
        line_suspension_end(line=line, by=customer)

    line_suspension_end(line=line, by=agent, by_support=True, note="checked with the customer")
    assert line.status == LineStatus.ACTIVE


def test_a_line_suspended_before_suspension_rows_existed_is_resumed_by_support_only(line, customer):
    line_transition(line=line, to=LineStatus.SUSPENDED, by=None, reason="old admin action", action="suspend")

    with pytest.raises(CustomerError):
        line_suspension_end(line=line, by=customer)
    line_suspension_end(line=line, by=UserFactory(is_staff=True), by_support=True)

    assert line.status == LineStatus.ACTIVE


def test_a_line_resumed_before_its_block_started_is_neither_blocked_nor_unblocked(line, customer):
    line_suspension_start(line=line, by=customer, reason=TRAVELLING)
    line_suspension_end(line=line, by=customer)
    suspension = LineSuspension.objects.get(line=line)

    assert suspension_network_block(suspension_id=suspension.pk) is False
    assert suspension_network_unblock(suspension_id=suspension.pk) is False
    assert network_history(msisdn=line.number) == []


def test_an_unblock_waits_for_a_block_still_on_its_way(line, customer):
    line_suspension_start(line=line, by=customer, reason=TRAVELLING)
    LineSuspension.objects.filter(line=line).update(block_started_at=timezone.now())
    line_suspension_end(line=line, by=customer)
    suspension = LineSuspension.objects.get(line=line)

    with pytest.raises(NetworkPending):
        suspension_network_unblock(suspension_id=suspension.pk)

    assert suspension_network_block(suspension_id=suspension.pk) is True
    assert suspension_network_unblock(suspension_id=suspension.pk) is True
    assert [request.action for request in network_history(msisdn=line.number)] == ["block", "unblock"]


def test_a_new_suspensions_block_waits_for_the_previous_unblock(line, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        line_suspension_start(line=line, by=customer, reason=TRAVELLING)
    line_suspension_end(line=line, by=customer)  # its unblock not run yet
    line_suspension_start(line=line, by=customer, reason=SuspensionReason.OTHER)
    first, second = LineSuspension.objects.filter(line=line).order_by("suspended_at", "id")

    with pytest.raises(NetworkPending):
        suspension_network_block(suspension_id=second.pk)
    suspension_network_unblock(suspension_id=first.pk)
    suspension_network_block(suspension_id=second.pk)

    assert [request.action for request in network_history(msisdn=line.number)] == ["block", "unblock", "block"]
    assert network_subscriber(msisdn=line.number).blocked


def test_the_sweep_finishes_a_block_and_an_unblock_whose_tasks_were_lost(customer, django_capture_on_commit_callbacks):
    suspended = LineFactory(owner=customer, with_period=True)
    resumed = LineFactory(owner=customer, with_period=True)
    line_suspension_start(line=suspended, by=customer, reason=TRAVELLING)  # its task never ran
    with django_capture_on_commit_callbacks(execute=True):
        line_suspension_start(line=resumed, by=customer, reason=TRAVELLING)
    line_suspension_end(line=resumed, by=customer)  # its task never ran
    assert suspensions_network_queue_due() == 0  # not stale yet

    later = timezone.now() + timedelta(minutes=11)
    assert suspensions_network_queue_due(now=later) == 2  # the eager tasks ran them
    assert suspensions_network_queue_due(now=later) == 0

    assert network_subscriber(msisdn=suspended.number).blocked
    assert [request.action for request in network_history(msisdn=resumed.number)] == ["block", "unblock"]
