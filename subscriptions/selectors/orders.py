"""Reads for the plan catalogue, orders and receipts."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from subscriptions.models import Line, Order, PaymentMethod, Plan, Receipt
from subscriptions.models.plans import FIELD_LANGUAGES
from subscriptions.selectors.lines import line_current_plan

__all__ = [
    "RenewalPlans",
    "order_exists_for_checkout",
    "order_get_owned",
    "order_status_owned",
    "plans_on_sale",
    "plans_version",
    "receipt_get_owned",
    "receipts_of",
    "renewal_plans",
]


def plans_on_sale(*, kind: str | None = None) -> list[Plan]:
    """The catalogue, cheapest first within each kind. One query."""
    plans = Plan.objects.filter(is_active=True)
    if kind is not None:
        plans = plans.filter(kind=kind)
    return list(plans.order_by("kind", "price_ore", "id"))


@dataclass(frozen=True)
class RenewalPlans:
    """The plans a line can be renewed with, its current plan first."""

    plans: list[Plan]
    # The plan the line is on, when it is still sold (it is then plans[0]).
    current: Plan | None
    # The plan the line is on when it is no longer sold (or is not of the
    # line's kind): the page says so and the customer chooses.
    withdrawn: Plan | None


def renewal_plans(*, line: Line, now: datetime | None = None) -> RenewalPlans:
    """The plans on sale for the line's kind (a number-keeping line sees only
    number-keeping plans), the line's current plan first, then the others
    cheapest first. Two queries."""
    plans = plans_on_sale(kind=line.kind)
    on = line_current_plan(line=line, now=now)
    current = next((plan for plan in plans if on is not None and plan.pk == on.pk), None)
    if current is None:
        return RenewalPlans(plans=plans, current=None, withdrawn=on)
    return RenewalPlans(
        plans=[current, *(plan for plan in plans if plan.pk != current.pk)], current=current, withdrawn=None
    )


def plans_version(plans: list[Plan]) -> str:
    """A fingerprint of everything the catalogue shows of ``plans``: part of
    the cache key of the catalogue's rendered cards, so a plan edited in the
    admin (price, names, allowances, on sale or not) shows at once, with no
    invalidation to forget."""
    fields = [field.attname for field in Plan._meta.concrete_fields]
    values = repr([[getattr(plan, name) for name in fields] for plan in plans])
    return hashlib.blake2b(values.encode(), digest_size=12).hexdigest()


def order_get_owned(*, user: User, public_id: uuid.UUID) -> Order:
    """The order if ``user`` placed it; Http404 otherwise, as for a missing one."""
    order = (
        Order.objects.select_related("line", "plan", "period", "receipt")
        .filter(public_id=public_id, owner=user)
        .first()
    )
    if order is None:
        raise Http404("No such order")
    return order


def order_status_owned(*, user: User, public_id: uuid.UUID) -> str:
    """Only the order's status, if ``user`` placed it (the result page asks
    for it every few seconds while a payment is pending); Http404 otherwise."""
    status = Order.objects.filter(public_id=public_id, owner=user).values_list("status", flat=True).first()
    if status is None:
        raise Http404("No such order")
    return status


def payment_method_last_chosen(*, user: User) -> str:
    """How the customer last paid on a provider's page (card or Vipps
    MobilePay), so the checkout offers it first again; card if never."""
    method = (
        Order.objects.filter(owner=user, method__in=[PaymentMethod.CARD, PaymentMethod.VIPPS])
        .order_by("-created_at", "-id")
        .values_list("method", flat=True)
        .first()
    )
    return method or PaymentMethod.CARD


def order_exists_for_checkout(*, user: User, idempotency_key: str) -> bool:
    """Whether this checkout form was already sent (and made an order)."""
    return Order.objects.filter(owner=user, idempotency_key=idempotency_key.strip()).exists()


# What the receipts list shows of a receipt: loading the rest (the seller's
# details as JSON, the address, the VAT) for twenty rows cost a fifth of the
# list's query time. The plan's names are for the oldest receipts, which have
# no copy of their own (``Receipt.plan_name``).
RECEIPT_LIST_FIELDS = (
    "plan",
    "year",
    "sequence",
    "issued_at",
    "kind",
    "line_number",
    "total_ore",
    *(f"plan_name_{language}" for language in FIELD_LANGUAGES),
    *(f"plan__name_{language}" for language in FIELD_LANGUAGES),
)


def receipts_of(*, user: User) -> QuerySet[Receipt]:
    """The customer's receipts, newest first, with their plans' names, for
    a paginator: a count and a page, one query each."""
    return (
        Receipt.objects.filter(owner=user)
        .select_related("plan")
        .only(*RECEIPT_LIST_FIELDS)
        .order_by("-issued_at", "-id")
    )


def receipt_get_owned(*, user: User, receipt_id: int) -> Receipt:
    receipt = Receipt.objects.select_related("plan", "owner").filter(pk=receipt_id, owner=user).first()
    if receipt is None:
        raise Http404("No such receipt")
    return receipt
