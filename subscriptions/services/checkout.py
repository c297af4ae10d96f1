"""Checkout: turning a checkout form into one order and starting its payment.

- A checkout form carries an idempotency key: submitting it again (a double
  click, the back button) finds the same order, and the provider is asked with
  a key derived from the order, so it makes one payment too.
- An order is paid on the provider's hosted page, from the line's balance, by
  a saved card (auto-renew), or not at all when a promotion code made it free.
  Whatever the provider answers is applied by ``subscriptions.services.settlement``.
- A promotion code held by the customer's own older orders is freed first
  (``subscriptions.services.reconcile`` gives those up) so that a customer who
  left the provider's page with Back can check out again.

Locks are always taken in the same order (order, line, receipt sequence), so
two payments never wait on each other in a circle.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import user_update_profile
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_nok, format_number
from subscriptions.models import (
    LedgerKind,
    Line,
    LineStatus,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Plan,
    PromoUse,
    ReplacementRequest,
    ReplacementStatus,
    SavedCard,
    ledger_params_for_order,
)
from subscriptions.models.plans import FIELD_LANGUAGES
from subscriptions.payments import (
    CreatedPayment,
    PaymentInProgress,
    PaymentProvider,
    PaymentProviderError,
    SavedMethod,
    get_provider,
)
from subscriptions.services.audit import audit_record
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.promotions import promo_normalize, promo_own_pending_in_the_way, promo_take
from subscriptions.services.reconcile import PaymentStillOpen, order_close_at_provider
from subscriptions.services.settlement import order_close, order_fulfil, payment_update_apply

logger = logging.getLogger(__name__)

# The query parameter on the return address that says the customer gave up
# on the provider's page (its "back" or "cancel" link).
CANCELLED_MARK = "cancelled"
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
    replacement: ReplacementRequest | None = None


def renewal_request(*, line: Line, plan: Plan, method: PaymentMethod, promo_code: str = "") -> OrderRequest:
    # A cancelled line within its grace period comes back by a renewal.
    if line.is_closed and not line.can_reactivate():
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be renewed."))
    if line.status == LineStatus.PENDING:
        # Its first period starts when its eSIM is ready; a renewal now
        # would start the line before the customer can use it.
        raise CustomerError(_("This line is not ready yet: it can be renewed once its eSIM is ready to install."))
    if plan.kind != line.kind or not plan.is_active:
        raise CustomerError(_("This plan is not available for this line."))
    order_provider_name(method)
    return OrderRequest(
        line=line,
        kind=OrderKind.RENEWAL,
        amount_ore=plan.price_ore,
        method=method,
        plan=plan,
        promo_code=promo_normalize(promo_code),
    )


def topup_request(*, line: Line, amount_ore: int, method: PaymentMethod = PaymentMethod.CARD) -> OrderRequest:
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be topped up."))
    if not settings.TOPUP_MIN_ORE <= amount_ore <= settings.TOPUP_MAX_ORE:
        raise CustomerError(
            _("Top up between %(min)s and %(max)s.")
            % {"min": format_nok(settings.TOPUP_MIN_ORE), "max": format_nok(settings.TOPUP_MAX_ORE)}
        )
    order_provider_name(method)
    return OrderRequest(line=line, kind=OrderKind.TOPUP, amount_ore=amount_ore, method=method)


def replacement_fee_request(
    *, replacement: ReplacementRequest, method: PaymentMethod = PaymentMethod.CARD
) -> OrderRequest:
    """The fee of a replacement request that waits for it, paid by card or
    Vipps MobilePay (captured at once: the eSIM follows from a worker)."""
    if replacement.status != ReplacementStatus.PAYMENT_DUE or not replacement.fee_ore:
        raise CustomerError(_("This replacement request has no fee to pay now."))
    order_provider_name(method)
    return OrderRequest(
        line=replacement.line,
        kind=OrderKind.REPLACEMENT,
        amount_ore=replacement.fee_ore,
        method=method,
        replacement=replacement,
    )


def order_place(
    *, owner: User, request: OrderRequest, billing: Billing, idempotency_key: str, site_url: str, on_phone: bool = False
) -> Order:
    """Place (or find again) the order for one checkout form and start its
    payment.

    1. Find the order made with this form's key, or make it; save the name and
       address back to the profile if they changed.
    2. Paid from the balance: settle it now.
    3. Paid by card or Vipps MobilePay: ask the provider for a hosted
       payment (once; a second submit gets the same page back). Vipps opens
       its app directly when the customer is on a phone (``on_phone``).

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
        _order_open_payment(order=order, site_url=site_url, on_phone=on_phone)
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
        older = order_close_at_provider(order=older, unconfirmed="keep", reason="promo_moved", data={"code": code})
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
                        replacement=request.replacement,
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
        order.replacement_id,
        order.amount_ore + order.discount_ore,
        order.method,
        use.promo.code if use else "",
    ) == (
        request.line.pk,
        request.kind,
        request.plan.pk if request.plan else None,
        request.replacement.pk if request.replacement else None,
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


def order_provider_name(method: str) -> str | None:
    """The provider an order paid this way goes to (None: the card provider)."""
    if method == PaymentMethod.VIPPS:
        if not settings.VIPPS_PAYMENT_PROVIDER:
            raise CustomerError(_("Vipps MobilePay is not available just now. Pay by card instead."))
        return str(settings.VIPPS_PAYMENT_PROVIDER)
    return None


def _order_open_payment(*, order: Order, site_url: str, on_phone: bool = False) -> None:
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
    provider = get_provider(order_provider_name(order.method))
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
        if locked.method == PaymentMethod.VIPPS:
            arguments |= {"customer_phone": _vipps_phone(locked), "on_phone": on_phone}
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


# The countries whose numbers Vipps MobilePay accounts have (Norway, Denmark, Finland).
VIPPS_COUNTRY_CODES = ("+47", "+45", "+358")


def _vipps_phone(order: Order) -> str:
    """The number to prefill on Vipps's page: the customer's own, or the
    line's; none that Vipps MobilePay would not know."""
    for number in (order.owner.phone or "", order.line.number):
        if number.startswith(VIPPS_COUNTRY_CODES):
            return number
    return ""


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
    *,
    owner: User,
    request: OrderRequest,
    billing: Billing,
    idempotency_key: str,
    card: SavedCard,
    pay_by: date | None = None,
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
        pay_by=pay_by,
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
        return _("Top-up of %(number)s") % {"number": format_number(order.line.number)}
    if order.kind == OrderKind.REPLACEMENT:
        return _("Replacement eSIM for %(number)s") % {"number": format_number(order.line.number)}
    assert order.plan is not None
    return _("%(plan)s for %(number)s") % {"plan": order.plan.name, "number": format_number(order.line.number)}


def _order_take_free(*, order: Order) -> Order:
    """An order a promotion code made free: nothing to pay, fulfil it now."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return locked
        try:
            with transaction.atomic():
                order_fulfil(order=locked)
        except CustomerError:
            locked.refresh_from_db()
            order_close(order=locked, status=OrderStatus.DECLINED, reason="not_renewable_unpaid")
        return locked


def _order_pay_from_balance(*, order: Order) -> Order:
    """Debit the balance and settle, or decline if it no longer covers the price."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != OrderStatus.PENDING:
            return locked
        line = Line.objects.select_for_update().get(pk=locked.line_id)
        if ledger_balance(line=line) < locked.amount_ore:
            order_close(order=locked, status=OrderStatus.DECLINED, reason="insufficient_balance")
            return locked
        try:
            with transaction.atomic():
                assert locked.plan is not None
                plan_names = {language: getattr(locked.plan, f"name_{language}") for language in FIELD_LANGUAGES}
                ledger_add(
                    line=line,
                    kind=LedgerKind.RENEWAL,
                    amount_ore=-locked.amount_ore,
                    reference=f"order:{locked.public_id}",
                    params=ledger_params_for_order(plan_names=plan_names, number=line.number),
                    by=locked.owner,
                )
                order_fulfil(order=locked)
        except CustomerError:
            order_close(order=locked, status=OrderStatus.DECLINED, reason="not_renewable_unpaid")
        return locked
