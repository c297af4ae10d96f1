"""Support unblock the number of a lost-phone request that was stopped or
rejected: once, with a reason and an audit row, through the network by the
worker with the request's own unblock id; refused when no eSIM on the line
could carry the number, or when the line keeps a block of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.network import network_history, network_subscriber
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AuditEvent,
    EsimState,
    Line,
    LineStatus,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
)
from subscriptions.services.replacements import (
    replacement_line_unblock,
    replacement_reject,
    replacement_request,
    replacement_stop,
    replacement_unblock_ask,
    replacements_unblock_queue_due,
)
from tests.factories import EsimProfileFactory, UserFactory

pytestmark = pytest.mark.django_db
S = ReplacementStatus


@pytest.fixture
def agent():
    return UserFactory(is_staff=True, full_name="Siri Support")


@pytest.fixture
def stopped(line, customer, django_capture_on_commit_callbacks):
    """A lost-phone request, its line blocked on the network, then stopped
    by the customer (the phone was found); the old eSIM still installed."""
    EsimProfileFactory(line=line, state=EsimState.INSTALLED, assigned_at=timezone.now() - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        replacement = replacement_request(
            line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
        )
    replacement_stop(replacement=replacement, by=customer, why="found the phone")
    replacement.refresh_from_db()
    assert replacement.blocked_at is not None
    return replacement


def test_support_unblock_a_stopped_lost_phone_request_once_with_its_own_request_id(
    stopped, line, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="Customer found the phone")

    stopped.refresh_from_db()
    assert stopped.unblocked_at is not None
    assert (stopped.unblock_requested_by, stopped.unblock_reason) == (agent, "Customer found the phone")
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and not subscriber.blocked
    history = network_history(msisdn=line.number)
    assert [(each.action, each.request_id) for each in history] == [
        ("block", f"{stopped.public_id}-block"),
        ("unblock", f"{stopped.public_id}-support-unblock"),
    ]
    asked = AuditEvent.objects.get(action="line_unblock_requested")
    assert (asked.actor, asked.reason) == (agent, "Customer found the phone")
    assert AuditEvent.objects.filter(line=line, action="line_unblocked").count() == 1
    # A retried task calls nothing again; a second ask is refused.
    assert replacement_line_unblock(replacement_id=stopped.pk) is False
    with pytest.raises(CustomerError, match="already unblocked"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="again")
    assert len(network_history(msisdn=line.number)) == 2


def test_a_rejected_lost_phone_request_can_be_unblocked_too(line, customer, agent, django_capture_on_commit_callbacks):
    EsimProfileFactory(line=line, state=EsimState.INSTALLED, assigned_at=timezone.now() - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        replacement = replacement_request(
            line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
        )
    replacement_reject(replacement=replacement, by=agent, reason="document")
    with django_capture_on_commit_callbacks(execute=True):
        replacement_unblock_ask(replacement=replacement, by=agent, reason="Holder called from the old phone")

    replacement.refresh_from_db()
    assert replacement.status == S.REJECTED and replacement.unblocked_at is not None


def test_unblocking_is_refused_when_the_old_esim_is_disabled_and_none_is_installed(stopped, line, agent):
    from subscriptions.models import EsimProfile

    EsimProfile.objects.filter(line=line).update(state=EsimState.DISABLED)

    with pytest.raises(CustomerError, match="no new one is installed"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")

    stopped.refresh_from_db()
    assert stopped.unblock_requested_at is None
    assert [each.action for each in network_history(msisdn=line.number)] == ["block"]


def test_a_new_esim_ready_but_not_installed_does_not_count(stopped, line, agent):
    from subscriptions.models import EsimProfile

    EsimProfile.objects.filter(line=line).update(state=EsimState.DISABLED)
    EsimProfileFactory(line=line, state=EsimState.RELEASED, assigned_at=timezone.now())

    with pytest.raises(CustomerError, match="no new one is installed"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")


@pytest.mark.parametrize("status", [S.REVIEW, S.FULFILLED])
def test_only_a_stopped_or_rejected_request_is_unblocked_here(stopped, agent, status):
    ReplacementRequest.objects.filter(pk=stopped.pk).update(status=status)
    stopped.refresh_from_db()

    with pytest.raises(CustomerError, match="stopped or rejected"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")


def test_a_suspended_line_keeps_its_own_block(stopped, line, agent):
    Line.objects.filter(pk=line.pk).update(status=LineStatus.SUSPENDED)

    with pytest.raises(CustomerError, match="keeps its own block"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")


def test_a_block_not_yet_recorded_or_a_missing_reason_is_refused(stopped, agent):
    with pytest.raises(CustomerError, match="why"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="  ")
    ReplacementRequest.objects.filter(pk=stopped.pk).update(blocked_at=None)
    stopped.refresh_from_db()
    with pytest.raises(CustomerError, match="not recorded yet"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")


def test_another_open_lost_phone_request_keeps_the_number_blocked(stopped, line, customer, agent):
    replacement_request(line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k2")

    with pytest.raises(CustomerError, match="Another lost-phone request"):
        replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")


def test_an_unblock_whose_task_was_lost_is_queued_again_by_the_sweep(stopped, line, agent, monkeypatch):
    replacement_unblock_ask(replacement=stopped, by=agent, reason="found it")  # its on-commit task never runs
    queued = []
    monkeypatch.setattr("subscriptions.tasks.unblock_line_after_replacement.delay", queued.append)

    assert replacements_unblock_queue_due() == 0
    assert replacements_unblock_queue_due(now=timezone.now() + timedelta(minutes=11)) == 1
    assert queued == [stopped.pk]
