"""Giving up card orders whose payment never came: the customer's cancel
link, the periodic sweep over pending orders, and the older orders a new
checkout takes a promotion code from.

Whatever gives an order up has the provider close its payment first where
it can, so no money arrives for an order we have given up; an answer that
comes back paid settles the order instead (``subscriptions.services.settlement``).
A saved card's charge is never given up while the provider may still take it:
auto-renew would charge the card again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from subscriptions.errors import CustomerError
from subscriptions.models import (
    CaptureStatus,
    EventResult,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
)
from subscriptions.payments import PaymentProviderError, get_provider
from subscriptions.services.audit import audit_record
from subscriptions.services.refunds import authorisation_release
from subscriptions.services.settlement import (
    CLOSE_REASONS,
    order_capture,
    order_close,
    order_refresh,
    payment_update_apply,
)

logger = logging.getLogger(__name__)


class PaymentStillOpen(CustomerError):
    """An order cannot be given up yet: its payment is open at the provider,
    which has to close it first."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Your earlier payment with this promotion code is still open at the payment provider. "
                "Try again in a few minutes."
            )
        )


def order_cancel(*, order: Order) -> Order:
    """The customer left the provider's page by its cancel link: close the
    order now rather than leave it waiting for the sweep.

    1. Ask the provider how the payment stands: one paid after all is
       settled as paid, and that is the end of it.
    2. Still open: have the provider close it (Stripe expires the session),
       so it can no longer be paid; its answer is applied like any other
       (cancelled abandons the order, paid first settles it).
    3. Still pending (the provider did not answer): abandon the order under
       its lock all the same. A payment that gets through anyway is recorded
       and flagged for a refund when it is reported.
    """
    return order_close_at_provider(order=order, unconfirmed="abandon", reason="cancelled")


def order_close_at_provider(
    *, order: Order, unconfirmed: str, reason: str, data: dict[str, str] | None = None
) -> Order:
    """Steps 1 and 2 of ``order_cancel``; then a payment the provider did not
    confirm closed is abandoned (``unconfirmed="abandon"``) or left pending
    (``"keep"``). A saved card's charge is never touched: there is no page to
    leave, and abandoning a charge still undecided would let the next
    auto-renew run charge the card again. The audit row is written by the
    call that closed the order."""
    order = order_refresh(order=order)
    if order.status != OrderStatus.PENDING or order.method == PaymentMethod.SAVED_CARD:
        return order
    payment_id = order.provider_payment_id
    closed = not payment_id
    if payment_id:
        try:
            update = get_provider(order.provider).cancel_payment(payment_id=payment_id)
        except PaymentProviderError:
            logger.warning("payment provider %s did not close the payment of order %s", order.provider, order.public_id)
        else:
            if update.state != PaymentState.PENDING:
                payment_update_apply(provider=order.provider, update=update)
                closed = True
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).select_related("line").get(pk=order.pk)
        # A page opened meanwhile (another tab) was not closed by this call.
        confirmed = closed and locked.provider_payment_id == payment_id
        # Abandoned by the provider's "cancelled" to this call's asking.
        by_this_call = locked.status == OrderStatus.ABANDONED and closed and bool(payment_id)
        if locked.status == OrderStatus.PENDING and (confirmed or unconfirmed == "abandon"):
            order_close(order=locked, status=OrderStatus.ABANDONED, reason=reason)
            by_this_call = True
        if by_this_call:
            audit_record(
                line=locked.line,
                action="order_cancelled" if reason == "cancelled" else "order_abandoned",
                by=locked.owner,
                reason=CLOSE_REASONS.get(reason, ""),
                data={"order": str(locked.public_id), **(data or {})},
            )
    order.refresh_from_db()
    return order


def order_abandon(*, order: Order) -> bool:
    """Give up a card order that is still pending; True if this call did."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return False
        order_close(order=locked, status=OrderStatus.ABANDONED, reason="timeout")
        return True


def order_abandon_unopened(*, order: Order, reason: str) -> bool:
    """Give up a pending order before its payment is opened at the
    provider, under its row lock, so that none ever is (opening one checks
    the order under the same lock). True if this call did, False if it was
    no longer pending; PaymentStillOpen if its payment is open already: the
    provider has to close that first, outside any transaction."""
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return False
        if locked.provider_payment_id:
            raise PaymentStillOpen
        order_close(order=locked, status=OrderStatus.ABANDONED, reason=reason)
        return True


def orders_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic sweep over card orders that stay pending: ask the
    provider about those older than PAYMENT_STATUS_CHECK_AFTER_SECONDS, and
    abandon those older than PAYMENT_ABANDON_AFTER_SECONDS that are still
    pending. Safe to run twice or side by side (each step locks the order)."""
    now = now or timezone.now()
    check_before = now - timedelta(seconds=settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS)
    abandon_before = now - timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS)
    counts = {"checked": 0, "settled": 0, "abandoned": 0}
    stale = Order.objects.filter(
        status=OrderStatus.PENDING,
        method__in=[PaymentMethod.CARD, PaymentMethod.SAVED_CARD, PaymentMethod.VIPPS],
        created_at__lte=check_before,
    ).order_by("created_at")
    for order in stale.select_related("line", "plan", "owner").iterator(chunk_size=200):
        counts["checked"] += 1
        try:
            order = _order_reconcile(order, abandon_before=abandon_before)
        except Exception:
            # One order's surprise must not leave every later one pending.
            logger.exception("the payment sweep could not settle order %s", order.public_id)
            continue
        if order.status == OrderStatus.ABANDONED:
            counts["abandoned"] += 1
        elif order.status != OrderStatus.PENDING:
            counts["settled"] += 1
    return counts


def reservations_finish(*, now: datetime | None = None) -> dict[str, int]:
    """The sweep's part for reserved payments (Vipps MobilePay) the workers
    did not finish: a fulfilled order's capture still due, and a
    reservation we will not fulfil still held, older than
    PAYMENT_STATUS_CHECK_AFTER_SECONDS. Each is tried again with its own
    idempotency key; safe to run twice or side by side."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS)
    counts = {"captured": 0, "released": 0}
    due = Order.objects.filter(capture_status=CaptureStatus.DUE, settled_at__lte=before).order_by("settled_at")
    for order in due.iterator(chunk_size=200):
        try:
            if order_capture(order=order).capture_status == CaptureStatus.CAPTURED:
                counts["captured"] += 1
        except PaymentProviderError:
            logger.warning("the capture of order %s failed again; the next sweep tries again", order.public_id)
    held = PaymentEvent.objects.filter(
        result=EventResult.REFUND_DUE, state=PaymentState.AUTHORIZED, received_at__lte=before
    ).order_by("received_at")
    for event in held.iterator(chunk_size=200):
        try:
            if authorisation_release(event_id=event.pk).result == EventResult.REFUNDED:
                counts["released"] += 1
        except PaymentProviderError:
            logger.warning("the reservation of payment event %s is still held; the next sweep tries again", event.pk)
    return counts


def _order_reconcile(order: Order, *, abandon_before: datetime) -> Order:
    order = order_refresh(order=order)
    if order.status == OrderStatus.PENDING and order.created_at <= abandon_before:
        order = _order_give_up(order)
    return order


def _order_give_up(order: Order) -> Order:
    """A card order still pending when the sweep would abandon it.

    1. Have the provider close the payment first (Stripe expires a Checkout
       Session; the sandbox cancels), so no money can arrive for an order we
       have given up. Its answer is applied like any other: cancelled
       abandons the order, paid in the meantime settles it.
    2. A charge on a saved card that the provider still calls undecided (or
       that it did not answer about, or whose first answer was lost so that
       the order has no payment id yet) stays pending: abandoning it would let
       auto-renew charge the card again with a new key while the first
       charge may still go through. The next sweep asks again, and the charge
       run asks with the same key.
    3. A hosted page still pending is abandoned all the same: the checkout
       opened it to expire when the sweep gives the order up, and money
       that arrives anyway is recorded and flagged for a refund.
    """
    update = None
    if order.provider_payment_id:
        try:
            update = get_provider(order.provider).cancel_payment(payment_id=order.provider_payment_id)
        except PaymentProviderError:
            logger.warning("payment provider %s did not close the payment of order %s", order.provider, order.public_id)
    if update is not None and update.state != PaymentState.PENDING:
        payment_update_apply(provider=order.provider, update=update)
        order.refresh_from_db()
        if order.status != OrderStatus.PENDING:
            return order
    if order.method == PaymentMethod.SAVED_CARD:
        logger.info("order %s: the saved card's charge is still undecided; asking again later", order.public_id)
        return order
    order_abandon(order=order)
    order.refresh_from_db()
    return order
