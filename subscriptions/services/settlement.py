"""Settling orders: applying what the payment provider says about a payment,
exactly once, and how an order ends (fulfilled, or closed with a reason).

- What the provider says (callbacks, status answers) is recorded once per
  provider event id under a unique constraint, then applied to the order
  under its row lock: a pending order is settled once; any payment that finds
  its order already settled is kept and flagged for a refund.
- Settling a paid order adds exactly one period (or one top-up) and takes one
  receipt number, in one transaction.

Checkout, the reconciling sweep and promotions all end orders through
``order_fulfil`` and ``order_close`` here. Locks are always taken in the same
order (order, line, receipt sequence), so two payments never wait on each
other in a circle.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from subscriptions.errors import CustomerError
from subscriptions.models import (
    CaptureStatus,
    EventResult,
    LedgerKind,
    LedgerText,
    Line,
    LineStatus,
    Order,
    OrderKind,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
)
from subscriptions.payments import PaymentProviderError, PaymentUpdate, get_provider
from subscriptions.services.audit import audit_record
from subscriptions.services.ledger import ledger_add
from subscriptions.services.lines import line_add_period
from subscriptions.services.provisioning import provisioning_start
from subscriptions.services.receipts import receipt_email_queue, receipt_issue
from subscriptions.services.replacements import replacement_fee_paid

logger = logging.getLogger(__name__)

# Why an order was closed before its payment came, for the audit row.
CLOSE_REASONS = {
    "cancelled": "the customer left the provider's page by its cancel link",
    "promo_moved": "the promotion code went to a newer checkout",
}


def payment_update_apply(*, provider: str, update: PaymentUpdate) -> PaymentEvent:
    """Record what the provider said about a payment and act on it, once.

    1. Record the event; a second copy of the same event id stops here.
    2. Lock the order it is about.
    3. Paid: a pending order with that payment is fulfilled. Money for an
       order already paid with another payment, declined or abandoned, of
       the wrong amount, or for no order at all, is kept as ``refund_due``.
       Declined or cancelled: a pending order is closed with the reason.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = PaymentEvent.objects.create(
                    provider=provider,
                    event_id=update.event_id,
                    payment_id=update.payment_id,
                    state=update.state,
                    amount_ore=update.amount_ore,
                    reason=update.reason[:40],
                    payload=update.payload,
                    result=EventResult.NO_CHANGE,
                )
        except IntegrityError:
            return PaymentEvent.objects.get(provider=provider, event_id=update.event_id)
        order = _order_for_update(provider=provider, update=update)
        event.order = order
        event.result, event.note = _apply(order, update)
        event.save(update_fields=["order", "result", "note"])
        if event.result == EventResult.REFUND_DUE and update.state == PaymentState.AUTHORIZED:
            # A reservation we will not fulfil is released, not left hanging.
            transaction.on_commit(partial(authorisation_release_queue, event_id=event.pk), robust=True)
        if event.result == EventResult.REFUND_DUE:
            logger.warning("payment %s (%s) needs a refund: %s", update.payment_id, provider, event.note)
            if order is not None:
                audit_record(
                    line=order.line,
                    action="refund_due",
                    by=None,
                    reason=event.note,
                    data={"order": str(order.public_id), "payment": update.payment_id},
                )
    return event


def _order_for_update(*, provider: str, update: PaymentUpdate) -> Order | None:
    # Lock the order row only: the plan may be null (an outer join, which
    # PostgreSQL will not lock), and the line is locked later, in its turn.
    orders = Order.objects.select_for_update(of=("self",)).select_related("line", "plan", "owner")
    # No payment id (a charge refused before the provider made one) would
    # match every order of the provider that has none yet.
    order = (
        orders.filter(provider=provider, provider_payment_id=update.payment_id).first() if update.payment_id else None
    )
    if order is None:
        try:
            public_id = uuid.UUID(update.reference)
        except ValueError:
            return None
        # Only this provider's orders: one provider's callback never settles another's.
        order = orders.filter(provider=provider, public_id=public_id).exclude(method=PaymentMethod.BALANCE).first()
    return order


def _apply(order: Order | None, update: PaymentUpdate) -> tuple[str, str]:
    """(result, note) of applying the update to the locked order. A
    reservation (AUTHORIZED) is fulfilled like a payment, then its capture
    is queued; the capture's PAID finishes it."""
    if update.state == PaymentState.PENDING:
        return EventResult.NO_CHANGE, ""
    if update.state == PaymentState.REFUNDED:
        return EventResult.NO_CHANGE, "refunded at the provider"
    money = update.state in (PaymentState.PAID, PaymentState.AUTHORIZED)
    if order is None:
        if money:
            return EventResult.REFUND_DUE, f"{update.state}, but no order of ours"
        return EventResult.NO_CHANGE, "no order of ours"
    ours = order.provider_payment_id in ("", update.payment_id)
    if not money:
        if order.status == OrderStatus.PAID and ours and order.capture_status == CaptureStatus.DUE:
            # Delivered on an approval whose reservation was released after
            # all: no capture can succeed, so stop trying and tell support.
            order.capture_status = CaptureStatus.LOST
            order.save(update_fields=["capture_status"])
            audit_record(
                line=order.line,
                action="payment_capture_lost",
                by=None,
                reason=update.state,
                data={"order": str(order.public_id), "payment": update.payment_id, "amount_ore": order.amount_ore},
            )
            logger.error("order %s was delivered but its reservation was released: nothing to capture", order.pk)
            return EventResult.APPLIED, "reservation released after delivery: nothing to capture"
        if order.status != OrderStatus.PENDING or not ours:
            return EventResult.NO_CHANGE, ""
        if update.state == PaymentState.DECLINED:
            order_close(order=order, status=OrderStatus.DECLINED, reason=update.reason or "card_declined")
        else:
            order_close(order=order, status=OrderStatus.ABANDONED, reason=update.reason or "cancelled")
        return EventResult.APPLIED, ""
    if order.status == OrderStatus.PAID and ours:
        if update.state == PaymentState.PAID and order.capture_status == CaptureStatus.DUE:
            order.capture_status = CaptureStatus.CAPTURED
            order.save(update_fields=["capture_status"])
            audit_record(
                line=order.line,
                action="payment_captured",
                by=None,
                data={"order": str(order.public_id), "payment": update.payment_id, "amount_ore": update.amount_ore},
            )
            return EventResult.APPLIED, "captured"
        return EventResult.NO_CHANGE, "already paid"
    if order.status != OrderStatus.PENDING or not ours:
        return EventResult.REFUND_DUE, f"paid, but the order is {order.status}"
    if update.amount_ore is not None and update.amount_ore != order.amount_ore:
        order_close(order=order, status=OrderStatus.DECLINED, reason="amount_mismatch")
        return EventResult.REFUND_DUE, f"paid {update.amount_ore} øre for an order of {order.amount_ore}"
    try:
        with transaction.atomic():
            order_fulfil(order=order)
    except CustomerError as error:
        order.refresh_from_db()
        closed = {OrderKind.RENEWAL: "not_renewable", OrderKind.REPLACEMENT: "replacement_closed"}
        reason = closed.get(OrderKind(order.kind), "line_closed")
        order_close(order=order, status=OrderStatus.DECLINED, reason=reason)
        return EventResult.REFUND_DUE, f"paid, but not fulfilled: {error}"[:200]
    if update.state == PaymentState.AUTHORIZED:
        # Delivered: capture now. A renewal and a top-up are delivered
        # here; an eSIM fee is captured at once as well (its eSIM follows).
        order.capture_status = CaptureStatus.DUE
        order.save(update_fields=["capture_status"])
        transaction.on_commit(partial(order_capture_queue, order_id=order.pk), robust=True)
    return EventResult.APPLIED, ""


def order_capture_queue(*, order_id: int) -> None:
    """Hand a reserved payment's capture to a worker (after commit); one the
    queue will not take is left to the sweep (``reconcile.reservations_finish``)."""
    from subscriptions.tasks import capture_order_payment

    try:
        capture_order_payment.delay(order_id)
    except (KombuError, OSError):
        logger.exception("the capture of order %s could not be queued; the sweep will capture it", order_id)


def authorisation_release_queue(*, event_id: int) -> None:
    """Hand the release of a reservation we will not fulfil to a worker;
    the sweep releases one the queue will not take."""
    from subscriptions.tasks import release_authorisation

    try:
        release_authorisation.delay(event_id)
    except (KombuError, OSError):
        logger.exception("the release of payment event %s could not be queued; the sweep will release it", event_id)


def order_capture(*, order: Order) -> Order:
    """Capture a fulfilled order's reserved payment, with a key derived
    from the order, so a retry (the worker's, or the sweep's) captures
    once. PaymentProviderError when the provider fails: try again later."""
    if order.capture_status != CaptureStatus.DUE:
        return order
    provider = get_provider(order.provider)
    capture = getattr(provider, "capture_payment", None)
    if capture is None:
        raise PaymentProviderError(f"provider {order.provider} cannot capture a reservation")
    update = capture(
        payment_id=order.provider_payment_id, amount_ore=order.amount_ore, idempotency_key=f"capture-{order.public_id}"
    )
    payment_update_apply(provider=order.provider, update=update)
    order.refresh_from_db()
    return order


def order_refresh(*, order: Order) -> Order:
    """Ask the provider how a pending card payment stands and apply the
    answer (the browser's return does this, and the reconciling sweep). The
    provider's answer, not the browser, decides; no answer changes nothing."""
    if order.status != OrderStatus.PENDING or not order.provider_payment_id:
        return order
    try:
        update = get_provider(order.provider).fetch_status(payment_id=order.provider_payment_id)
    except PaymentProviderError:
        logger.warning("payment provider %s did not answer about order %s", order.provider, order.public_id)
        return order
    if update.state != PaymentState.PENDING:
        payment_update_apply(provider=order.provider, update=update)
        order.refresh_from_db()
    return order


def _new_line_fulfil(order: Order) -> None:
    """A new line is paid: start preparing its eSIM (once per line); it gets
    its first period when the eSIM is ready (new_lines.new_line_activate)."""
    line = Line.objects.select_for_update().get(pk=order.line_id)
    if line.status != LineStatus.PENDING:
        raise CustomerError(_("This line is not waiting for its first payment."))
    provisioning_start(line=line, replacing=None, key=f"new-line:{line.pk}")


def order_fulfil(*, order: Order) -> None:
    """Give the customer what a paid order bought: one period, one top-up or
    a replacement request's fee, one receipt, the receipt email once the
    transaction commits; a new line's eSIM is started (it gets its period
    when the eSIM is ready). The caller
    holds the order's lock; CustomerError if the line cannot take it now."""
    now = timezone.now()
    if order.kind == OrderKind.RENEWAL:
        assert order.plan is not None
        line = Line.objects.select_for_update().get(pk=order.line_id)
        if line.status == LineStatus.CANCELLED and order.created_at <= line.status_changed_at:
            # Coming back is the customer's own payment after the
            # cancellation. An order from before it (an auto-renew charge
            # collected days later, a checkout paid while the deactivation
            # closed it) is refunded, not a comeback.
            raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be renewed."))
        order.period = line_add_period(
            line=order.line, plan=order.plan, by=order.owner, reason=f"order {order.public_id}", now=now
        )
    elif order.kind == OrderKind.REPLACEMENT:
        replacement_fee_paid(order=order)
    elif order.kind == OrderKind.NEW_LINE:
        _new_line_fulfil(order)
    else:
        # Checked again here, not only at checkout: the line may have been
        # cancelled while its owner was on the provider's page, and money
        # for a closed line is to be refunded, not credited to it.
        line = Line.objects.select_for_update().get(pk=order.line_id)
        if line.is_closed:
            raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be topped up."))
        ledger_add(
            line=line,
            kind=LedgerKind.TOPUP,
            amount_ore=order.amount_ore,
            reference=f"order:{order.public_id}",
            params={"text": LedgerText.CARD_TOPUP},
            by=order.owner,
        )
    order.status = OrderStatus.PAID
    order.settled_at = now
    order.save(update_fields=["status", "settled_at", "period"])
    receipt = receipt_issue(order=order, now=now)
    # Robust: a queue that fails now must not turn a committed payment into
    # an error page; the email is left to the receipts' sweep.
    transaction.on_commit(partial(receipt_email_queue, receipt_id=receipt.pk), robust=True)


def order_close(*, order: Order, status: OrderStatus, reason: str = "") -> None:
    order.status = status
    order.decline_reason = reason
    order.settled_at = timezone.now()
    order.save(update_fields=["status", "decline_reason", "settled_at"])
