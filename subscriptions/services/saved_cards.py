"""Saved cards leaving for good: a card removed with its account is also
detached at the payment provider, once, by a worker, so nobody can charge
it again there."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from subscriptions.models.autorenew import SavedCard
from subscriptions.payments import SavedMethod, get_provider

logger = logging.getLogger(__name__)

# A detach not recorded this long after the card was removed had its task lost.
DETACH_STALE_AFTER = timedelta(minutes=10)


def saved_cards_detach_queue(*, card_ids: Iterable[int]) -> None:
    """Once the transaction that removed the cards commits, one task per card."""
    from subscriptions.tasks import detach_saved_card

    for card_id in card_ids:
        transaction.on_commit(partial(detach_saved_card.delay, card_id), robust=True)


def saved_card_detach(*, card_id: int) -> bool:
    """Detach a removed card at its provider and record the moment, once (a
    conditional update). The provider treats a card already detached as
    done, so a retry after a lost answer is harmless. False if there was
    nothing to do; the provider's errors are raised for the task to retry."""
    card = SavedCard.objects.get(pk=card_id)
    if card.removed_at is None or card.detached_at is not None:
        return False
    method = SavedMethod(method_id=card.method_id, customer_id=card.provider_customer_id)
    get_provider(card.provider).detach_saved_card(method=method)
    detached = SavedCard.objects.filter(pk=card.pk, detached_at=None).update(detached_at=timezone.now())
    if detached:
        logger.info("saved card %s detached at %s", card.pk, card.provider)
    return bool(detached)


def saved_cards_detach_queue_due(*, now: datetime | None = None) -> int:
    """Queue again the detaches not recorded in time; returns how many."""
    now = now or timezone.now()
    from subscriptions.tasks import detach_saved_card

    due = SavedCard.objects.filter(removed_at__lt=now - DETACH_STALE_AFTER, detached_at=None)
    ids = list(due.values_list("pk", flat=True))
    for card_id in ids:
        detach_saved_card.delay(card_id)
    return len(ids)
