"""Giving back money the settlement kept as ``refund_due`` (a payment for an
order already paid, given up, or of the wrong amount), once, through the
provider that took it."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import EventResult, PaymentEvent, PaymentState
from subscriptions.payments import PaymentProviderError, get_provider
from subscriptions.services.audit import audit_record


def payment_refund(*, event: PaymentEvent, by: User) -> PaymentEvent:
    """Give back money kept as ``refund_due``, through the provider that took
    it. The provider's idempotency key is the event's, so a refund asked
    twice (a double click, a retry after a timeout) is made once. A
    reservation not captured (Vipps MobilePay) is released instead."""
    if event.result != EventResult.REFUND_DUE or event.amount_ore is None:
        raise CustomerError(_("Only a payment flagged for a refund can be refunded."))
    try:
        refund_id = get_provider(event.provider).refund(
            payment_id=event.payment_id, amount_ore=event.amount_ore, idempotency_key=f"refund-{event.pk}"
        )
    except PaymentProviderError as error:
        raise CustomerError(_("The payment provider refused the refund: %(error)s") % {"error": error}) from error
    return _refund_record(event=event, refund_id=refund_id, by=by)


def authorisation_release(*, event_id: int) -> PaymentEvent:
    """Release a reservation we will not fulfil (its order was given up,
    paid otherwise, or could not be delivered), without waiting for
    support. PaymentProviderError when the provider fails: the worker tries
    again with the same key."""
    event = PaymentEvent.objects.get(pk=event_id)
    if event.result != EventResult.REFUND_DUE or event.state != PaymentState.AUTHORIZED:
        return event
    refund_id = get_provider(event.provider).refund(
        payment_id=event.payment_id, amount_ore=event.amount_ore or 0, idempotency_key=f"refund-{event.pk}"
    )
    return _refund_record(event=event, refund_id=refund_id, by=None)


def _refund_record(*, event: PaymentEvent, refund_id: str, by: User | None) -> PaymentEvent:
    with transaction.atomic():
        locked = PaymentEvent.objects.select_for_update(of=("self",)).select_related("order__line").get(pk=event.pk)
        if locked.result == EventResult.REFUND_DUE:
            locked.result = EventResult.REFUNDED
            locked.refund_id = refund_id
            locked.save(update_fields=["result", "refund_id"])
            if locked.order is not None:
                audit_record(
                    line=locked.order.line,
                    action="refund",
                    by=by,
                    data={"payment": locked.payment_id, "amount_ore": locked.amount_ore, "refund": refund_id},
                )
    return locked
