"""Orders and their payments, exactly once.

- A checkout form carries an idempotency key: submitting it again (a double
  click, the back button) finds the same order, and the provider is asked with
  a key derived from the order, so it makes one payment too.
- What the provider says (callbacks, status answers) is recorded once per
  provider event id under a unique constraint, then applied to the order
  under its row lock: a pending order is settled once; any payment that finds
  its order already settled is kept and flagged for a refund.
- Settling a paid order adds exactly one period (or one top-up) and takes one
  receipt number, in one transaction.

Locks are always taken in the same order (order, line, receipt sequence), so
two payments never wait on each other in a circle.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import user_update_profile
from subscriptions.errors import CustomerError
from subscriptions.models import (
    EventResult,
    LedgerKind,
    Line,
    Order,
    OrderKind,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Plan,
    PromoUse,
    SavedCard,
)
from subscriptions.payments import (
    CreatedPayment,
    PaymentInProgress,
    PaymentProvider,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    get_provider,
)
from subscriptions.services.audit import audit_record
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.lines import line_add_period
from subscriptions.services.promotions import promo_normalize, promo_own_pending_in_the_way, promo_take
from subscriptions.services.receipts import receipt_email_queue, receipt_issue

logger = logging.getLogger(__name__)

# The query parameter on the return address that says the customer gave up
# on the provider's page (its "back" or "cancel" link).
CANCELLED_MARK = "cancelled"
# Why an order was closed before its payment came, for the audit row.
CLOSE_REASONS = {
    "cancelled": "the customer left the provider's page by its cancel link",
    "promo_moved": "the promotion code went to a newer checkout",
}
# How long a provider's payment page may stay open: Stripe takes 30 minutes
# to 24 hours from the moment it creates the session (a minute's margin for
# the request on each side).
PAGE_LIFETIME_MIN = timedelta(minutes=31)
PAGE_LIFETIME_MAX = timedelta(hours=24) - timedelta(minutes=1)
# Pauses before asking a provider again that is still busy with the same
# payment (a double click): short, as the customer's request waits.
IN_PROGRESS_PAUSES_SECONDS = (0.5, 1.0, 1.5)
# How often a checkout closes the customer's older payments holding its
# promotion code and tries to take the code again, when another of their
# checkouts opened a payment in between (several tabs at once).
PROMO_MOVE_ATTEMPTS = 5


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


@dataclass(frozen=True)
class Billing:
    """The name and address printed on the receipt."""

    name: str
    street: str = ""
    postal_code: str = ""
    city: str = ""


@dataclass(frozen=True)
class OrderRequest:
    """What the checkout form asked for."""

    line: Line
    kind: OrderKind
    # The price before any promotion code.
    amount_ore: int
    method: PaymentMethod
    plan: Plan | None = None
    promo_code: str = ""


# --- starting an order ----------------------------------------------------------------------


def renewal_request(*, line: Line, plan: Plan, method: PaymentMethod, promo_code: str = "") -> OrderRequest:
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be renewed."))
    if plan.kind != line.kind or not plan.is_active:
        raise CustomerError(_("This plan is not available for this line."))
    return OrderRequest(
        line=line,
        kind=OrderKind.RENEWAL,
        amount_ore=plan.price_ore,
        method=method,
        plan=plan,
        promo_code=promo_normalize(promo_code),
    )


def topup_request(*, line: Line, amount_ore: int) -> OrderRequest:
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be topped up."))
    if not settings.TOPUP_MIN_ORE <= amount_ore <= settings.TOPUP_MAX_ORE:
        raise CustomerError(
            _("Top up between %(min)s and %(max)s kr.")
            % {"min": settings.TOPUP_MIN_ORE // 100, "max": settings.TOPUP_MAX_ORE // 100}
        )
    return OrderRequest(line=line, kind=OrderKind.TOPUP, amount_ore=amount_ore, method=PaymentMethod.CARD)


def order_place(*, owner: User, request: OrderRequest, billing: Billing, idempotency_key: str, site_url: str) -> Order:
    """Place (or find again) the order for one checkout form and start its
    payment.

    1. Find the order made with this form's key, or make it; save the name and
       address back to the profile if they changed.
    2. Paid from the balance: settle it now.
    3. Paid by card: ask the provider for a hosted payment (once; a second
       submit gets the same page back).

    The returned order is pending with a ``provider_url`` to send the browser
    to, or already settled. CustomerError for anything the customer can fix.
    """
    order = _order_for_checkout_with_code(
        owner=owner, request=request, billing=billing, idempotency_key=idempotency_key
    )
    if order.status != OrderStatus.PENDING:
        return order
    if order.amount_ore == 0:
        return _order_take_free(order=order)
    if order.method == PaymentMethod.BALANCE:
        return _order_pay_from_balance(order=order)
    if not order.provider_url:
        _order_open_payment(order=order, site_url=site_url)
    return order


def _order_for_checkout_with_code(
    *, owner: User, request: OrderRequest, billing: Billing, idempotency_key: str
) -> Order:
    """Find or make the checkout's order, taking its promotion code from the
    customer's own older orders if it must.

    1. Have the provider close the payments of the older orders in the way
       (outside any transaction).
    2. Make the order and take the code under the code's lock. An older
       order without a payment is given up there, under its own lock, so it
       never opens one; one whose payment opened since step 1 (another tab's
       checkout) is not given up with its page open: the order is not made
       (PaymentStillOpen), and both steps are tried again.
    """
    key = idempotency_key.strip()
    for attempt in range(1, PROMO_MOVE_ATTEMPTS + 1):
        resent = Order.objects.filter(owner=owner, idempotency_key=key).exists()
        if request.promo_code and request.plan is not None and key and len(key) <= 64 and not resent:
            _promo_free_from_older_orders(owner=owner, code=request.promo_code, plan=request.plan)
        try:
            return _order_for_checkout(owner=owner, request=request, billing=billing, idempotency_key=idempotency_key)
        except PaymentStillOpen:
            if attempt == PROMO_MOVE_ATTEMPTS:
                raise
            logger.info("checkout %s: an older order opened a payment meanwhile; closing it first", key)
    raise AssertionError("unreachable")


def _promo_free_from_older_orders(*, owner: User, code: str, plan: Plan) -> None:
    """Before a new checkout takes a promotion code that the customer's own
    older card orders hold up to its limit (they left the provider's page
    with Back): close those at the provider first, outside any transaction,
    so that no payment can still arrive for an order whose use goes to the
    new one. One the provider paid meanwhile is settled, and keeps its use;
    one the provider will not say is closed is refused for now."""
    for older in promo_own_pending_in_the_way(code=code, user=owner, plan=plan):
        older = _order_close_at_provider(older, unconfirmed="keep", reason="promo_moved", data={"code": code})
        if older.status == OrderStatus.PENDING:
            raise PaymentStillOpen


def _order_for_checkout(*, owner: User, request: OrderRequest, billing: Billing, idempotency_key: str) -> Order:
    key = idempotency_key.strip()
    if not key or len(key) > 64:
        raise CustomerError(_("This checkout form has expired. Please start again."))
    if request.line.owner_id != owner.pk:
        raise CustomerError(_("This line is not yours."))
    with transaction.atomic():
        order = Order.objects.filter(owner=owner, idempotency_key=key).first()
        if order is None:
            try:
                with transaction.atomic():
                    order = Order.objects.create(
                        owner=owner,
                        line=request.line,
                        kind=request.kind,
                        plan=request.plan,
                        amount_ore=request.amount_ore,
                        method=request.method,
                        idempotency_key=key,
                        billing_name=billing.name,
                        billing_street=billing.street,
                        billing_postal_code=billing.postal_code,
                        billing_city=billing.city,
                    )
                    if request.promo_code:
                        assert request.plan is not None
                        promo_take(code=request.promo_code, user=owner, plan=request.plan, order=order)
            except IntegrityError:
                # The same form, submitted at the same moment by another request.
                order = Order.objects.get(owner=owner, idempotency_key=key)
            else:
                _profile_save_billing(owner=owner, billing=billing)
                audit_record(
                    line=request.line,
                    action="order_placed",
                    by=owner,
                    data={"order": str(order.public_id), "kind": order.kind, "amount_ore": order.amount_ore},
                )
    use = PromoUse.objects.filter(order=order).select_related("promo").first()
    same = (
        order.line_id,
        order.kind,
        order.plan_id,
        order.amount_ore + order.discount_ore,
        order.method,
        use.promo.code if use else "",
    ) == (
        request.line.pk,
        request.kind,
        request.plan.pk if request.plan else None,
        request.amount_ore,
        request.method,
        request.promo_code,
    )
    if not same:
        raise CustomerError(_("This checkout was already sent with other choices. Please start again."))
    return order


def _profile_save_billing(*, owner: User, billing: Billing) -> None:
    current = (owner.full_name, owner.street_address, owner.postal_code, owner.city)
    if current != (billing.name, billing.street, billing.postal_code, billing.city):
        user_update_profile(
            user=owner,
            full_name=billing.name,
            street_address=billing.street,
            postal_code=billing.postal_code,
            city=billing.city,
            language=owner.language,
        )


def _order_open_payment(*, order: Order, site_url: str) -> None:
    """Create the provider's hosted payment and keep its id and page on the
    order, once however often the form is sent.

    1. Lock the order row for the provider's call. It is a network call
       inside a transaction, but it holds one row, for at most the provider's
       timeout: a second submit of the same form waits here, then finds the
       page the first one stored.
    2. Where there are no row locks (SQLite), there is no transaction
       either: SQLite's would take the whole database's write lock for the
       length of the provider's call. The provider can then meet the second
       call while the first is in flight; Stripe answers it with a conflict.
       Ask again after a pause with the same key: once the first call is
       done, the provider answers with its payment.
    """
    provider = get_provider()
    locking = transaction.atomic() if connection.features.has_select_for_update else nullcontext()
    with locking:
        locked = Order.objects.select_for_update(of=("self",)).select_related("owner", "line", "plan").get(pk=order.pk)
        if locked.provider_url or locked.status != OrderStatus.PENDING:
            order.refresh_from_db()
            return
        with translation.override(locked.owner.language):
            description = order_description(locked)
        return_url = site_url + reverse("order_return", args=[locked.public_id])
        arguments = {
            "reference": str(locked.public_id),
            "amount_ore": locked.amount_ore,
            "description": description,
            "idempotency_key": f"order-{locked.public_id}",
            "return_url": return_url,
            "cancel_url": f"{return_url}?{CANCELLED_MARK}=1",
            "notify_url": site_url + reverse("payment_callback", args=[provider.name]),
            "language": locked.owner.language,
            "expires_at": _payment_page_expiry(locked),
        }
        try:
            created = _payment_create(provider, arguments)
        except PaymentProviderError:
            logger.warning(
                "payment provider %s failed to create a payment for order %s", provider.name, locked.public_id
            )
            raise CustomerError(
                _("The payment service did not answer. Nothing was charged; please try again in a moment.")
            ) from None
        stored = Order.objects.filter(pk=locked.pk, provider_payment_id="", status=OrderStatus.PENDING).update(
            provider=provider.name, provider_payment_id=created.payment_id, provider_url=created.redirect_url
        )
    order.refresh_from_db()
    if not stored and order.provider_payment_id != created.payment_id:
        # Given up while the provider made the payment (possible only
        # without row locks): close the page nobody will be sent to.
        _payment_close_orphan(provider, payment_id=created.payment_id, order=order)


def _payment_close_orphan(provider: PaymentProvider, *, payment_id: str, order: Order) -> None:
    """Close a payment made for an order that was given up meanwhile; one
    paid all the same is recorded (and, its order not pending, flagged for
    a refund)."""
    try:
        update = provider.cancel_payment(payment_id=payment_id)
    except PaymentProviderError:
        logger.warning(
            "payment provider %s did not close payment %s of order %s", provider.name, payment_id, order.public_id
        )
        return
    if update.state != PaymentState.PENDING:
        payment_update_apply(provider=provider.name, update=update)


def _payment_create(provider: PaymentProvider, arguments: dict[str, Any]) -> CreatedPayment:
    """``provider.create_payment``, asked again while the provider says an
    earlier call with the same key is still in progress."""
    for pause in IN_PROGRESS_PAUSES_SECONDS:
        try:
            return provider.create_payment(**arguments)
        except PaymentInProgress:
            time.sleep(pause)
    return provider.create_payment(**arguments)


def _payment_page_expiry(order: Order) -> datetime:
    """When the provider should close the order's payment page: when the
    sweep would abandon the order anyway. Taken from the order, not the
    clock, so a second call with the same idempotency key sends the same
    parameters (Stripe refuses other ones); kept within what Stripe takes."""
    now = timezone.now()
    wanted = order.created_at + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS)
    return min(max(wanted, now + PAGE_LIFETIME_MIN), now + PAGE_LIFETIME_MAX)


def order_charge_saved_card(
    *, owner: User, request: OrderRequest, billing: Billing, idempotency_key: str, card: SavedCard
) -> Order:
    """Place (or find again) an order paid with a saved card, charge the card
    and settle the order from the provider's answer, all without the
    customer. The provider's idempotency key is derived from the order, so
    a retry after a lost answer (or a killed worker) gets the first
    charge's outcome back instead of charging again. PaymentProviderError
    when the provider cannot be reached: the order stays pending."""
    order = _order_for_checkout(owner=owner, request=request, billing=billing, idempotency_key=idempotency_key)
    if order.status != OrderStatus.PENDING:
        return order
    provider = get_provider(card.provider)
    with translation.override(owner.language):
        description = order_description(order)
    method = SavedMethod(method_id=card.method_id, customer_id=card.provider_customer_id)
    update = provider.charge_saved_card(
        method=method,
        reference=str(order.public_id),
        amount_ore=order.amount_ore,
        description=description,
        idempotency_key=f"order-{order.public_id}",
    )
    Order.objects.filter(pk=order.pk, provider_payment_id="").update(
        provider=provider.name, provider_payment_id=update.payment_id
    )
    payment_update_apply(provider=provider.name, update=update)
    order.refresh_from_db()
    return order


def order_description(order: Order) -> str:
    """What the order buys, in the active language (for the provider's page)."""
    if order.kind == OrderKind.TOPUP:
        return _("Top-up of %(number)s") % {"number": order.line.number_display}
    assert order.plan is not None
    return _("%(plan)s for %(number)s") % {"plan": order.plan.name, "number": order.line.number_display}


def _order_take_free(*, order: Order) -> Order:
    """An order a promotion code made free: nothing to pay, fulfil it now."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return locked
        try:
            with transaction.atomic():
                _order_fulfil(locked)
        except CustomerError:
            locked.refresh_from_db()
            _order_close(locked, OrderStatus.DECLINED, reason="not_renewable_unpaid")
        return locked


def _order_pay_from_balance(*, order: Order) -> Order:
    """Debit the balance and settle, or decline if it no longer covers the price."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return locked
        line = Line.objects.select_for_update().get(pk=locked.line_id)
        if ledger_balance(line=line) < locked.amount_ore:
            _order_close(locked, OrderStatus.DECLINED, reason="insufficient_balance")
            return locked
        try:
            with transaction.atomic():
                with translation.override(locked.owner.language):
                    description = order_description(locked)
                ledger_add(
                    line=line,
                    kind=LedgerKind.RENEWAL,
                    amount_ore=-locked.amount_ore,
                    reference=f"order:{locked.public_id}",
                    description=description,
                    by=locked.owner,
                )
                _order_fulfil(locked)
        except CustomerError:
            _order_close(locked, OrderStatus.DECLINED, reason="not_renewable_unpaid")
        return locked


def _order_fulfil(order: Order) -> None:
    """Give the customer what a paid order bought: one period or one top-up,
    one receipt, the receipt email once the transaction commits. The caller
    holds the order's lock; CustomerError if the line cannot take it now."""
    now = timezone.now()
    if order.kind == OrderKind.RENEWAL:
        assert order.plan is not None
        order.period = line_add_period(
            line=order.line, plan=order.plan, by=order.owner, reason=f"order {order.public_id}", now=now
        )
    else:
        # Checked again here, not only at checkout: the line may have been
        # cancelled while its owner was on the provider's page, and money
        # for a closed line is to be refunded, not credited to it.
        line = Line.objects.select_for_update().get(pk=order.line_id)
        if line.is_closed:
            raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be topped up."))
        # In the customer's words: a callback has no language of its own.
        with translation.override(order.owner.language):
            description = _("Card top-up")
        ledger_add(
            line=line,
            kind=LedgerKind.TOPUP,
            amount_ore=order.amount_ore,
            reference=f"order:{order.public_id}",
            description=description,
            by=order.owner,
        )
    order.status = OrderStatus.PAID
    order.settled_at = now
    order.save(update_fields=["status", "settled_at", "period"])
    receipt = receipt_issue(order=order, now=now)
    # Robust: a queue that fails now must not turn a committed payment into
    # an error page; the email is left to the receipts' sweep.
    transaction.on_commit(partial(receipt_email_queue, receipt_id=receipt.pk), robust=True)


def _order_close(order: Order, status: OrderStatus, *, reason: str = "") -> None:
    order.status = status
    order.decline_reason = reason
    order.settled_at = timezone.now()
    order.save(update_fields=["status", "decline_reason", "settled_at"])


# --- what the provider tells us -------------------------------------------------------------


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
        order = orders.filter(public_id=public_id).exclude(method=PaymentMethod.BALANCE).first()
    return order


def _apply(order: Order | None, update: PaymentUpdate) -> tuple[str, str]:
    """(result, note) of applying the update to the locked order."""
    if update.state == PaymentState.PENDING:
        return EventResult.NO_CHANGE, ""
    if order is None:
        if update.state == PaymentState.PAID:
            return EventResult.REFUND_DUE, "paid, but no order of ours"
        return EventResult.NO_CHANGE, "no order of ours"
    ours = order.provider_payment_id in ("", update.payment_id)
    if update.state != PaymentState.PAID:
        if order.status != OrderStatus.PENDING or not ours:
            return EventResult.NO_CHANGE, ""
        if update.state == PaymentState.DECLINED:
            _order_close(order, OrderStatus.DECLINED, reason=update.reason or "card_declined")
        else:
            _order_close(order, OrderStatus.ABANDONED, reason="cancelled")
        return EventResult.APPLIED, ""
    if order.status == OrderStatus.PAID and ours:
        return EventResult.NO_CHANGE, "already paid"
    if order.status != OrderStatus.PENDING or not ours:
        return EventResult.REFUND_DUE, f"paid, but the order is {order.status}"
    if update.amount_ore is not None and update.amount_ore != order.amount_ore:
        _order_close(order, OrderStatus.DECLINED, reason="amount_mismatch")
        return EventResult.REFUND_DUE, f"paid {update.amount_ore} øre for an order of {order.amount_ore}"
    try:
        with transaction.atomic():
            _order_fulfil(order)
    except CustomerError as error:
        order.refresh_from_db()
        reason = "not_renewable" if order.kind == OrderKind.RENEWAL else "line_closed"
        _order_close(order, OrderStatus.DECLINED, reason=reason)
        return EventResult.REFUND_DUE, f"paid, but not fulfilled: {error}"[:200]
    return EventResult.APPLIED, ""


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
    return _order_close_at_provider(order, unconfirmed="abandon", reason="cancelled")


def _order_close_at_provider(
    order: Order, *, unconfirmed: str, reason: str, data: dict[str, str] | None = None
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
            _order_close(locked, OrderStatus.ABANDONED, reason=reason)
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
        _order_close(locked, OrderStatus.ABANDONED, reason="timeout")
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
        _order_close(locked, OrderStatus.ABANDONED, reason=reason)
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
        method__in=[PaymentMethod.CARD, PaymentMethod.SAVED_CARD],
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
    3. A hosted page still pending is abandoned all the same, as before:
       its session expires at the provider by then, and money that arrives
       anyway is recorded and flagged for a refund.
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


# --- refunds -----------------------------------------------------------------------------------


def payment_refund(*, event: PaymentEvent, by: User) -> PaymentEvent:
    """Give back money kept as ``refund_due``, through the provider that took
    it. The provider's idempotency key is the event's, so a refund asked
    twice (a double click, a retry after a timeout) is made once."""
    if event.result != EventResult.REFUND_DUE or event.amount_ore is None:
        raise CustomerError(_("Only a payment flagged for a refund can be refunded."))
    try:
        refund_id = get_provider(event.provider).refund(
            payment_id=event.payment_id, amount_ore=event.amount_ore, idempotency_key=f"refund-{event.pk}"
        )
    except PaymentProviderError as error:
        raise CustomerError(_("The payment provider refused the refund: %(error)s") % {"error": error}) from error
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
