"""A deleted account's saved cards are detached at the payment provider too,
once, by a worker: the provider can no longer charge them, a retry is
harmless, and a detach whose task was lost is queued again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import SandboxCard
from sandbox.provider import SandboxRefused, card_charge
from subscriptions.models import AuditEvent, LineStatus, SavedCard
from subscriptions.payments import PaymentProviderError
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.customer_data import account_delete
from subscriptions.services.lines import line_transition
from subscriptions.services.saved_cards import saved_card_detach, saved_cards_detach_queue_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(customer):
    SandboxCard.objects.create(method_id="sbx_pm_1", customer_ref=f"customer:{customer.pk}")
    return SavedCard.objects.create(
        owner=customer, provider="sandbox", provider_customer_id=f"customer:{customer.pk}", method_id="sbx_pm_1"
    )


@pytest.fixture
def cancelled_line(line):
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=None, reason="test")
    line_transition(line=line, to=LineStatus.CANCELLED, by=None, reason="test")
    return line


def test_deleting_the_account_detaches_its_saved_cards_at_the_provider(
    customer, card, cancelled_line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=customer)

    card.refresh_from_db()
    assert card.removed_at is not None and card.detached_at is not None
    assert SandboxCard.objects.get(method_id="sbx_pm_1").detached_at is not None
    with pytest.raises(SandboxRefused, match="detached"):
        card_charge(method_id="sbx_pm_1", reference="r", amount_ore=100, description="d", idempotency_key="k")
    event = AuditEvent.objects.get(line=cancelled_line, action="account_deleted")
    assert event.data["saved_cards_detached"] == 1


def test_a_detach_runs_once_and_a_card_still_in_use_is_left_alone(customer, card, monkeypatch):
    assert saved_card_detach(card_id=card.pk) is False  # not removed: the account is alive
    SavedCard.objects.filter(pk=card.pk).update(removed_at=timezone.now())
    calls = []
    real = SandboxProvider.detach_saved_card
    monkeypatch.setattr(SandboxProvider, "detach_saved_card", lambda self, **kw: calls.append(kw) or real(self, **kw))

    assert saved_card_detach(card_id=card.pk) is True
    assert saved_card_detach(card_id=card.pk) is False

    assert len(calls) == 1


def test_a_provider_error_leaves_the_card_to_be_detached_again(customer, card, monkeypatch):
    SavedCard.objects.filter(pk=card.pk).update(removed_at=timezone.now())

    def down(self, **kwargs):
        raise PaymentProviderError("timed out")

    monkeypatch.setattr(SandboxProvider, "detach_saved_card", down)
    with pytest.raises(PaymentProviderError):
        saved_card_detach(card_id=card.pk)

    card.refresh_from_db()
    assert card.detached_at is None


def test_the_sweep_queues_again_a_detach_whose_task_was_lost(customer, card, monkeypatch):
    SavedCard.objects.filter(pk=card.pk).update(removed_at=timezone.now())
    queued = []
    monkeypatch.setattr("subscriptions.tasks.detach_saved_card.delay", queued.append)

    assert saved_cards_detach_queue_due() == 0
    assert saved_cards_detach_queue_due(now=timezone.now() + timedelta(minutes=11)) == 1
    assert queued == [card.pk]
