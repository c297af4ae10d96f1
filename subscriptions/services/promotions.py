"""Promotion codes at checkout: what a code takes off, and taking a use of
it for an order within its limits.

A quote (for the checkout page) reads without locking. Taking a use happens
in the transaction that creates the order, under a lock on the code's row,
so the total and per-customer limits hold when many checkouts race. Uses by
orders that end declined or abandoned give their place back: only pending
and paid orders count.

A customer who leaves the provider's page with Back and checks out again
would find the code held by their own first order, still pending until the
reconciling sweep gives it up (PAYMENT_ABANDON_AFTER_SECONDS). So when their
limit (or the code's) is reached, the checkout first has the provider close
those older orders' payments (``promo_own_pending_in_the_way``, then
``subscriptions.services.checkout``, outside any transaction): one paid
meanwhile is settled and keeps its use, one the provider will not close
holds the code for now. Taking the use for the new order then abandons as
many of their own older pending orders with this code as it needs, each
under its row lock, only if still pending and only if no payment was opened
for it (it then never opens one). One whose payment opened in between
(another tab's checkout) stops the new order, and the checkout closes it at
the provider and tries again: no order is given up with a page that can
still be paid. An abandoned order paid afterwards anyway is not fulfilled
(its payment is kept for a refund), so the discount is never given twice.

A first-purchase code is for one order: refused once the customer has paid
for anything, and while another of their orders waiting for payment holds a
first-purchase code. Taking a code locks the customer's row first, so two
checkouts of one customer at once cannot both find no such order. An order
that took a first-purchase code keeps it if something else of the
customer's is paid before it: it was their first when it was priced, and no
second first-purchase order can be made while it waits.

Guessing is limited as for vouchers (``subscriptions.services.throttle``): a
code the customer types is checked by ``promo_check``, which records each
refusal and, once the unknown codes of the last hour reach the limit for the
customer or their IP address, refuses every code without looking it up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    Plan,
    PromoAttempt,
    PromoAttemptResult,
    PromoCode,
    PromoUse,
)
from subscriptions.services.audit import audit_record
from subscriptions.services.reconcile import order_abandon_unopened
from subscriptions.services.settlement import CLOSE_REASONS
from subscriptions.services.throttle import throttle_free_at, throttle_hold, throttle_minutes

COUNTING = (OrderStatus.PENDING, OrderStatus.PAID)


class PromoError(CustomerError):
    """The code cannot be used here; the message says why, ``result`` how
    the attempt is recorded (only UNKNOWN counts towards the throttle)."""

    def __init__(self, message: str, *, result: PromoAttemptResult = PromoAttemptResult.REFUSED) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Quote:
    promo: PromoCode
    price_ore: int
    discount_ore: int

    @property
    def total_ore(self) -> int:
        return self.price_ore - self.discount_ore


def promo_normalize(code: str) -> str:
    return "".join(code.split()).upper()


def promo_quote(*, code: str, user: User, plan: Plan, now: datetime | None = None) -> Quote:
    """What ``code`` takes off ``plan`` for ``user`` now; PromoError if it
    cannot be used (unknown, outside its dates, not for this plan, only for
    a first purchase, used up). The customer's own pending orders do not
    count: taking the code for a new order gives their uses back."""
    promo = PromoCode.objects.filter(code=promo_normalize(code), is_active=True).first()
    if promo is None:
        raise PromoError(
            _("We do not know this promotion code. Check it and try again."), result=PromoAttemptResult.UNKNOWN
        )
    _check(promo, user=user, plan=plan, now=now or timezone.now(), own_pending_count=False)
    return Quote(promo=promo, price_ore=plan.price_ore, discount_ore=promo.discount_for(plan.price_ore))


def promo_check(*, code: str, user: User, plan: Plan, ip_address: str | None, now: datetime | None = None) -> Quote:
    """``promo_quote`` for a code the customer typed at checkout, within the
    guessing limit. Call it outside a transaction: a refusal must stay
    recorded.

    1. Open one transaction and hold the throttle for the customer and the
       IP address in it: attempts sharing either are counted and recorded
       one after another, so parallel guesses cannot all read the count
       before any of them is recorded.
    2. Refuse without looking when the unknown codes of the last hour reach
       the limit for the customer or the IP address (THROTTLED).
    3. Quote the code; a refusal is recorded (UNKNOWN for a code we do not
       know, REFUSED for a real one that cannot be used here) and raised
       once the transaction has committed.

    Only unknown codes count: a real code refused (expired, not for this
    plan) tells a guesser nothing they could use, and a customer trying
    their code on several plans is not shut out by it."""
    ip_address = ip_address or None
    with transaction.atomic():
        scopes = [f"user:{user.pk}"] + ([f"ip:{ip_address}"] if ip_address else [])
        throttle_hold(name="promo-throttle", scopes=scopes)
        # Read after the wait, so that attempts are stamped in the order they were counted.
        at = now or timezone.now()
        try:
            _refuse_if_throttled(user=user, ip_address=ip_address, now=at)
            return promo_quote(code=code, user=user, plan=plan, now=at)
        except PromoError as error:
            promo = None if error.result != PromoAttemptResult.REFUSED else _known(code)
            PromoAttempt.objects.create(
                user=user, ip_address=ip_address, result=error.result, promo=promo, created_at=at
            )
            refusal = error
    raise refusal


def _known(code: str) -> PromoCode | None:
    return PromoCode.objects.filter(code=promo_normalize(code)).first()


def _refuse_if_throttled(*, user: User, ip_address: str | None, now: datetime) -> None:
    """PromoError (THROTTLED) if the unknown codes of the last hour reached
    the limit for the customer or for the IP address (when known)."""
    scopes = {"user": Q(user=user)}
    if ip_address:
        scopes["ip"] = Q(ip_address=ip_address)
    free_at = throttle_free_at(
        failures=PromoAttempt.objects.filter(result=PromoAttemptResult.UNKNOWN),
        scopes=scopes,
        limits=settings.PROMO_FAILURES_PER_HOUR,
        now=now,
    )
    if free_at is None:
        return
    minutes = throttle_minutes(free_at=free_at, now=now)
    raise PromoError(
        ngettext(
            "Too many wrong promotion codes. Try again in %(minutes)d minute.",
            "Too many wrong promotion codes. Try again in %(minutes)d minutes.",
            minutes,
        )
        % {"minutes": minutes},
        result=PromoAttemptResult.THROTTLED,
    )


def promo_take(*, code: str, user: User, plan: Plan, order: Order) -> PromoUse:
    """Take one use of ``code`` for ``order`` (made in the same transaction)
    and set the order's discount and amount. Locks the customer's row, then
    the code's."""
    assert transaction.get_connection().in_atomic_block, "promo_take needs the order's transaction"
    # The page checked the code within the limits (``promo_check``); a
    # checkout sent without that check is held to the customer's limit too.
    _refuse_if_throttled(user=user, ip_address=None, now=timezone.now())
    # One customer's checkouts take codes one at a time, so two at once
    # cannot each find no other order holding a first-purchase code. The
    # lock is NO KEY: rows that refer to the customer (orders, audit rows)
    # are still written meanwhile.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).exists()
    quote = promo_quote(code=code, user=user, plan=plan)
    promo = PromoCode.objects.select_for_update().get(pk=quote.promo.pk)
    _release_own_pending(promo, user=user, order=order)
    _check(promo, user=user, plan=plan, now=timezone.now(), own_pending_count=True)
    order.discount_ore = quote.discount_ore
    order.amount_ore = quote.total_ore
    order.save(update_fields=["discount_ore", "amount_ore"])
    return PromoUse.objects.create(promo=promo, order=order, user=user, discount_ore=quote.discount_ore)


def _check(promo: PromoCode, *, user: User, plan: Plan, now: datetime, own_pending_count: bool) -> None:
    if now < promo.valid_from:
        raise PromoError(_("This promotion code is not valid yet."))
    if now >= promo.valid_until:
        raise PromoError(_("This promotion code has expired."))
    plans = list(promo.plans.values_list("pk", flat=True))
    if plans and plan.pk not in plans:
        raise PromoError(_("This promotion code is not for this plan."))
    if promo.first_purchase_only:
        _check_first_purchase(promo, user=user, own_pending_count=own_pending_count)
    uses = PromoUse.objects.filter(promo=promo, order__status__in=COUNTING)
    if not own_pending_count:
        uses = uses.exclude(user=user, order__status=OrderStatus.PENDING)
    if promo.max_uses is not None and uses.count() >= promo.max_uses:
        raise PromoError(_("This promotion code has been used up."))
    if uses.filter(user=user).count() >= promo.max_uses_per_customer:
        raise PromoError(_("You have already used this promotion code."))


def _check_first_purchase(promo: PromoCode, *, user: User, own_pending_count: bool) -> None:
    """A first-purchase code is refused once the customer has paid for
    anything, and while another of their orders waiting for payment holds a
    first-purchase code (this one or another): paid one after the other,
    each would get the discount. Their own older orders holding this code
    that taking it gives up (``_release_own_pending``) do not count for the
    quote; when it is taken they are already given up."""
    if Order.objects.filter(owner=user, status=OrderStatus.PAID).exists():
        raise PromoError(_("This promotion code is only for a first purchase."))
    others = Order.objects.filter(owner=user, status=OrderStatus.PENDING, promo_use__promo__first_purchase_only=True)
    if not own_pending_count:
        excess = _excess(promo, user=user)
        if excess > 0:
            others = others.exclude(pk__in=list(_own_pending(promo, user=user).values_list("pk", flat=True)[:excess]))
    if others.exists():
        raise PromoError(
            _(
                "Another of your orders has a first-purchase promotion code and is not paid yet. "
                "Finish or cancel that payment first, or check out without this code."
            )
        )


def promo_own_pending_in_the_way(*, code: str, user: User, plan: Plan) -> list[Order]:
    """The customer's own pending card orders holding ``code`` that a new
    checkout would have to take it from to fit the limits, oldest first;
    none when the code could not be used for ``plan`` anyway (taking it will
    say why). Read without locks: the checkout closes these
    at the provider before taking the code under its lock."""
    try:
        promo = promo_quote(code=code, user=user, plan=plan).promo
    except PromoError:
        return []
    excess = _excess(promo, user=user)
    if excess <= 0:
        return []
    return list(_own_pending(promo, user=user)[:excess])


def _excess(promo: PromoCode, *, user: User) -> int:
    """How many counting uses a new use for ``user`` would be over the limits by."""
    counting = PromoUse.objects.filter(promo=promo, order__status__in=COUNTING)
    excess = counting.filter(user=user).count() - (promo.max_uses_per_customer - 1)
    if promo.max_uses is not None:
        excess = max(excess, counting.count() - (promo.max_uses - 1))
    return excess


def _own_pending(promo: PromoCode, *, user: User) -> QuerySet[Order]:
    # A saved card's charge is never given up for a code (auto-renew takes none).
    return (
        Order.objects.filter(promo_use__promo=promo, promo_use__user=user, status=OrderStatus.PENDING)
        .exclude(method=PaymentMethod.SAVED_CARD)
        .select_related("line")
        .order_by("created_at", "pk")
    )


def _release_own_pending(promo: PromoCode, *, user: User, order: Order) -> None:
    """Abandon the customer's own older pending orders holding ``promo``, as
    many as the new ``order`` needs to fit the per-customer and total limits.
    The caller holds the code's row lock, so the counts cannot move under us
    except by one of those orders being settled, which its own lock decides.
    Only an order whose payment has not been opened is abandoned here (and
    then never opens one); one whose payment opened meanwhile raises
    PaymentStillOpen, as its page must be closed at the provider first."""
    excess = _excess(promo, user=user)
    if excess <= 0:
        return
    for older in _own_pending(promo, user=user).exclude(pk=order.pk)[:excess]:
        if order_abandon_unopened(order=older, reason="promo_moved"):
            audit_record(
                line=older.line,
                action="order_abandoned",
                by=user,
                reason=CLOSE_REASONS["promo_moved"],
                data={"order": str(older.public_id), "code": promo.code, "for": str(order.public_id)},
            )
