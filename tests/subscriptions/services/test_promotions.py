"""Promotion codes: what a code takes off, when and for whom it may be used,
how its limits count (only pending and paid orders hold a use), and how the
checkout page shows the discount before paying and charges it after; the
receipt carries the discount, with VAT on the discounted price."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from pypdf import PdfReader

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_nok
from subscriptions.models import (
    AuditEvent,
    DiscountKind,
    EventResult,
    LedgerEntry,
    LedgerKind,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    PromoAttempt,
    PromoAttemptResult,
    PromoCode,
    PromoUse,
    Receipt,
    ServicePeriod,
)
from subscriptions.payments import PaymentProviderError, PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.receipt_pdf import receipt_pdf
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.promotions import PromoError, promo_check, promo_quote
from subscriptions.services.reconcile import PaymentStillOpen, order_abandon, order_abandon_unopened
from subscriptions.services.settlement import payment_update_apply
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
BILLING = Billing(name="Kari Nordmann", street="Storgata 5", postal_code="0155", city="Oslo")

UNKNOWN = "We do not know this promotion code. Check it and try again."
NOT_YET = "This promotion code is not valid yet."
EXPIRED = "This promotion code has expired."
OTHER_PLAN = "This promotion code is not for this plan."
FIRST_ONLY = "This promotion code is only for a first purchase."
USED_UP = "This promotion code has been used up."
ALREADY_USED = "You have already used this promotion code."
OTHER_CHOICES = "This checkout was already sent with other choices. Please start again."


def promo(**fields: Any) -> PromoCode:
    """A code valid from yesterday for a month: 20 % off every plan, once
    per customer, without a total limit, unless ``fields`` say otherwise."""
    now = timezone.now()
    values: dict[str, Any] = {
        "code": "SUMMER20",
        "kind": DiscountKind.PERCENT,
        "percent": 20,
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
    }
    values.update(fields)
    plans = values.pop("plans", [])
    code = PromoCode.objects.create(**values)
    code.plans.set(plans)
    return code


def fixed(code: str, amount_ore: int, **fields: Any) -> PromoCode:
    return promo(code=code, kind=DiscountKind.FIXED, percent=None, amount_ore=amount_ore, **fields)


def place(customer, line, plan, *, code="", key="key-1", method=PaymentMethod.CARD):
    request = renewal_request(line=line, plan=plan, method=method, promo_code=code)
    return order_place(owner=customer, request=request, billing=BILLING, idempotency_key=key, site_url=SITE)


def someone_else_places(plan, code, *, key="other-key"):
    """Another customer, with a line of their own, checks out with ``code``."""
    line = LineFactory(with_period=plan)
    return place(line.owner, line, plan, code=code, key=key)


def settle(order, outcome=SandboxOutcome.APPROVE):
    """The tester's choice on the sandbox page, then the callback as the
    portal gets it (on-commit work does not run inside a test's transaction)."""
    sandbox_decide(payment_id=order.provider_payment_id, outcome=outcome)
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    callback = PaymentUpdate(
        event_id=f"evt_{update.payment_id}_{update.state}",
        payment_id=update.payment_id,
        reference=update.reference,
        state=update.state,
        amount_ore=update.amount_ore,
        reason=update.reason,
    )
    payment_update_apply(provider="sandbox", update=callback)
    order.refresh_from_db()
    return order


def pdf_text(content: bytes) -> str:
    """The PDF's text with each run of white space (a table's cell breaks,
    the no-break spaces inside amounts) read as one space."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def nok(ore: int) -> str:
    return format_nok(ore)


# --- what a code takes off ----------------------------------------------------------------------


def test_a_percent_code_takes_its_share_of_the_price(customer, plan):
    promo(percent=20)

    quote = promo_quote(code="SUMMER20", user=customer, plan=plan)

    assert (quote.price_ore, quote.discount_ore, quote.total_ore) == (199_00, 39_80, 159_20)


@pytest.mark.parametrize(
    ("price_ore", "percent", "discount_ore"),
    [
        (99_99, 15, 15_00),  # 14,9985 kr
        (99_99, 10, 10_00),  # 9,999 kr
        (123_45, 33, 40_74),  # 40,7385 kr
        (1_01, 1, 1),  # 1,01 øre
    ],
)
def test_a_percent_discount_is_rounded_to_the_nearest_ore(customer, price_ore, percent, discount_ore):
    plan = PlanFactory(code="odd-price", price_ore=price_ore)
    promo(percent=percent)

    quote = promo_quote(code="SUMMER20", user=customer, plan=plan)

    assert (quote.discount_ore, quote.total_ore) == (discount_ore, price_ore - discount_ore)


def test_a_fixed_code_takes_its_amount(customer, plan):
    fixed("FIFTY", 50_00)

    quote = promo_quote(code="FIFTY", user=customer, plan=plan)

    assert (quote.discount_ore, quote.total_ore) == (50_00, 149_00)


def test_a_fixed_code_worth_more_than_the_price_makes_it_free_not_negative(customer, plan):
    fixed("BIG", 500_00)

    quote = promo_quote(code="BIG", user=customer, plan=plan)

    assert (quote.discount_ore, quote.total_ore) == (199_00, 0)


def test_a_100_percent_code_makes_a_free_order_fulfilled_at_once_with_a_receipt_of_0(customer, line, plan):
    promo(code="FREE", percent=100)
    before = line.expires_at

    order = place(customer, line, plan, code="FREE")

    line.refresh_from_db()
    assert (order.status, order.amount_ore, order.discount_ore) == (OrderStatus.PAID, 0, 199_00)
    assert not order.provider_payment_id
    assert not SandboxPayment.objects.exists()
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert line.expires_at == plan.end_of_period_starting(before)
    receipt = Receipt.objects.get(order=order)
    assert (receipt.total_ore, receipt.discount_ore, receipt.vat_ore, receipt.net_ore) == (0, 199_00, 0, 0)
    assert PromoUse.objects.get().order == order


def test_a_free_order_paid_from_the_balance_leaves_the_balance_alone(customer, line, plan):
    promo(code="FREE", percent=100)
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=10_00)

    order = place(customer, line, plan, code="FREE", method=PaymentMethod.BALANCE)

    assert order.status == OrderStatus.PAID
    assert ledger_balance(line=line) == 10_00
    assert not LedgerEntry.objects.filter(kind=LedgerKind.RENEWAL).exists()


# --- when, for what and for whom ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "error"),
    [
        ("just before the start", NOT_YET),
        ("at the start", None),
        ("just before the end", None),
        ("at the end", EXPIRED),
    ],
)
def test_a_code_is_valid_from_its_start_until_just_before_its_end(customer, plan, moment, error):
    code = promo()
    instant = timedelta(microseconds=1)
    now = {
        "just before the start": code.valid_from - instant,
        "at the start": code.valid_from,
        "just before the end": code.valid_until - instant,
        "at the end": code.valid_until,
    }[moment]

    if error:
        with pytest.raises(PromoError, match=error):
            promo_quote(code="SUMMER20", user=customer, plan=plan, now=now)
    else:
        assert promo_quote(code="SUMMER20", user=customer, plan=plan, now=now).discount_ore == 39_80


def test_an_expired_code_is_refused_at_checkout_and_makes_no_order(customer, line, plan):
    promo(valid_from=timezone.now() - timedelta(days=30), valid_until=timezone.now() - timedelta(seconds=1))

    with pytest.raises(PromoError, match=EXPIRED):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.exists()
    assert not PromoUse.objects.exists()


def test_a_code_not_started_yet_is_refused_at_checkout(customer, line, plan):
    promo(valid_from=timezone.now() + timedelta(hours=1), valid_until=timezone.now() + timedelta(days=1))

    with pytest.raises(PromoError, match=NOT_YET):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.exists()


def test_an_inactive_code_is_as_unknown_as_one_never_made(customer, line, plan):
    promo(is_active=False)

    with pytest.raises(PromoError, match=UNKNOWN):
        promo_quote(code="SUMMER20", user=customer, plan=plan)
    with pytest.raises(PromoError, match=UNKNOWN):
        promo_quote(code="NOSUCHCODE", user=customer, plan=plan)
    with pytest.raises(PromoError, match=UNKNOWN):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.exists()


def test_a_code_for_some_plans_is_refused_for_another(customer, line, plan):
    quarter = PlanFactory(code="fjord-quarter", price_ore=499_00)
    promo(plans=[quarter])

    with pytest.raises(PromoError, match=OTHER_PLAN):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.exists()
    assert promo_quote(code="SUMMER20", user=customer, plan=quarter).discount_ore == 99_80


def test_a_code_for_some_plans_is_taken_for_one_of_them(customer, line, plan):
    promo(plans=[plan, PlanFactory(code="fjord-quarter")])

    order = place(customer, line, plan, code="SUMMER20")

    assert (order.amount_ore, order.discount_ore) == (159_20, 39_80)


def test_a_first_purchase_code_is_refused_to_a_customer_who_has_paid_before(customer, line, plan):
    settle(place(customer, line, plan, key="earlier"))
    promo(first_purchase_only=True)

    with pytest.raises(PromoError, match=FIRST_ONLY):
        place(customer, line, plan, code="SUMMER20")
    assert Order.objects.count() == 1


def test_a_declined_order_is_not_a_first_purchase(customer, line, plan):
    settle(place(customer, line, plan, key="earlier"), SandboxOutcome.DECLINE)
    promo(first_purchase_only=True)

    order = place(customer, line, plan, code="SUMMER20")

    assert (order.status, order.amount_ore) == (OrderStatus.PENDING, 159_20)


def test_a_first_purchase_code_is_taken_by_a_new_customer(customer, line, plan):
    promo(first_purchase_only=True)

    assert place(customer, line, plan, code="SUMMER20").discount_ore == 39_80


OTHER_FIRST_PENDING = (
    "Another of your orders has a first-purchase promotion code and is not paid yet. "
    "Finish or cancel that payment first, or check out without this code."
)


def test_two_first_purchase_codes_are_not_both_taken_while_neither_is_paid(customer, line, plan):
    promo(first_purchase_only=True)
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    with pytest.raises(PromoError, match=OTHER_FIRST_PENDING):
        promo_quote(code="WELCOME50", user=customer, plan=plan)
    with pytest.raises(PromoError, match=OTHER_FIRST_PENDING):
        place(customer, line, plan, code="WELCOME50", key="form-2")
    first.refresh_from_db()
    assert first.status == OrderStatus.PENDING
    assert list(Order.objects.values_list("pk", flat=True)) == [first.pk]


def test_one_first_purchase_code_allowed_twice_per_customer_is_not_taken_for_a_second_unpaid_order(
    customer, line, plan
):
    promo(first_purchase_only=True, max_uses_per_customer=2)
    other_line = LineFactory(owner=customer, with_period=plan)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    with pytest.raises(PromoError, match=OTHER_FIRST_PENDING):
        promo_quote(code="SUMMER20", user=customer, plan=plan)
    with pytest.raises(PromoError, match=OTHER_FIRST_PENDING):
        place(customer, other_line, plan, code="SUMMER20", key="form-2")
    assert list(PromoUse.objects.values_list("order", flat=True)) == [first.pk]


def test_a_customer_back_from_the_payment_page_checks_out_again_with_the_same_first_purchase_code(customer, line, plan):
    promo(first_purchase_only=True)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    assert promo_quote(code="SUMMER20", user=customer, plan=plan).discount_ore == 39_80
    again = place(customer, line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert first.status == OrderStatus.ABANDONED
    assert (again.status, again.discount_ore) == (OrderStatus.PENDING, 39_80)
    assert settle(again).status == OrderStatus.PAID


def test_an_unpaid_order_without_a_first_purchase_code_does_not_stop_one(customer, line, plan):
    promo()
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    place(customer, line, plan, code="SUMMER20", key="form-1")

    assert place(customer, line, plan, code="WELCOME50", key="form-2").discount_ore == 50_00


def test_a_first_purchase_code_is_free_again_once_the_other_unpaid_order_is_given_up(customer, line, plan):
    promo(first_purchase_only=True)
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    order_abandon(order=first)

    assert place(customer, line, plan, code="WELCOME50", key="form-2").discount_ore == 50_00


def test_an_abandoned_first_purchase_order_paid_late_is_refunded_so_one_first_purchase_discount_is_paid(
    customer, line, plan
):
    promo(first_purchase_only=True)
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    order_abandon(order=first)
    second = place(customer, line, plan, code="WELCOME50", key="form-2")

    first = settle(first)
    second = settle(second)

    assert first.status == OrderStatus.ABANDONED
    assert PaymentEvent.objects.get(order=first).result == EventResult.REFUND_DUE
    assert second.status == OrderStatus.PAID
    paid_discounts = PromoUse.objects.filter(order__status=OrderStatus.PAID, promo__first_purchase_only=True)
    assert list(paid_discounts.values_list("order", flat=True)) == [second.pk]


def test_a_first_purchase_order_keeps_its_discount_when_another_order_is_paid_before_it(customer, line, plan):
    """Priced as the customer's first purchase, it is paid at that price even
    if a plain order of theirs is paid first; no second first-purchase order
    can be made meanwhile, nor after."""
    promo(first_purchase_only=True)
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    discounted = place(customer, line, plan, code="SUMMER20", key="form-1")
    settle(place(customer, line, plan, key="plain"))

    assert settle(discounted).status == OrderStatus.PAID
    assert Receipt.objects.get(order=discounted).discount_ore == 39_80
    with pytest.raises(PromoError, match=FIRST_ONLY):
        place(customer, line, plan, code="WELCOME50", key="form-2")


# --- limits -------------------------------------------------------------------------------------


def test_a_code_used_up_by_others_is_refused_and_makes_no_order(customer, line, plan):
    promo(max_uses=2)
    someone_else_places(plan, "SUMMER20")
    someone_else_places(plan, "SUMMER20")

    with pytest.raises(PromoError, match=USED_UP):
        promo_quote(code="SUMMER20", user=customer, plan=plan)
    with pytest.raises(PromoError, match=USED_UP):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.filter(owner=customer).exists()
    assert PromoUse.objects.count() == 2


def test_a_customer_uses_a_code_as_often_as_it_allows_them(customer, line, plan):
    promo(max_uses_per_customer=2)
    settle(place(customer, line, plan, code="SUMMER20", key="form-1"))
    settle(place(customer, line, plan, code="SUMMER20", key="form-2"))

    with pytest.raises(PromoError, match=ALREADY_USED):
        place(customer, line, plan, code="SUMMER20", key="form-3")
    assert PromoUse.objects.filter(user=customer).count() == 2
    assert Order.objects.count() == 2


def test_once_per_customer_does_not_stop_other_customers(customer, line, plan):
    promo()
    settle(place(customer, line, plan, code="SUMMER20"))

    other = someone_else_places(plan, "SUMMER20")

    assert other.discount_ore == 39_80
    with pytest.raises(PromoError, match=ALREADY_USED):
        place(customer, line, plan, code="SUMMER20", key="key-2")


def test_a_customer_back_from_the_payment_page_checks_out_again_with_the_code(customer, line, plan):
    """The first checkout is still pending on the provider's page: the new
    one takes the code and the first is abandoned, so one use counts."""
    promo()
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    again = place(customer, line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert (again.status, again.amount_ore, again.discount_ore) == (OrderStatus.PENDING, 159_20, 39_80)
    assert again.provider_url
    assert first.status == OrderStatus.ABANDONED
    assert list(PromoUse.objects.filter(order__status__in=[OrderStatus.PENDING, OrderStatus.PAID])) == [again.promo_use]
    assert AuditEvent.objects.filter(line=line, action="order_abandoned").count() == 1


def test_the_first_checkout_s_page_is_closed_at_the_provider_so_paying_it_later_takes_nothing(customer, line, plan):
    """The customer goes back and checks out again: the first order's page
    is closed at the provider before its use moves, so a click on it later
    pays nothing (no second charge to refund)."""
    promo()
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    again = place(customer, line, plan, code="SUMMER20", key="form-2")

    sandbox_decide(payment_id=first.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    again = settle(again)

    first.refresh_from_db()
    assert (first.status, again.status) == (OrderStatus.ABANDONED, OrderStatus.PAID)
    assert SandboxPayment.objects.get(payment_id=first.provider_payment_id).state == PaymentState.CANCELLED
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()
    assert Receipt.objects.get().order == again
    assert ServicePeriod.objects.filter(line=line).count() == 2


def test_a_first_checkout_paid_at_the_provider_but_not_yet_reported_keeps_the_code(customer, line, plan):
    """Its callback is still on the way when the customer checks out again:
    the provider is asked first, the first order is settled as paid, and the
    new checkout is refused rather than charged a second time."""
    promo()
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    sandbox_decide(payment_id=first.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    with pytest.raises(PromoError, match=ALREADY_USED):
        place(customer, line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert first.status == OrderStatus.PAID
    assert Order.objects.count() == 1
    assert Receipt.objects.get().order == first


def test_sending_a_checkout_form_again_closes_none_of_the_customers_other_checkouts(customer, line, plan):
    """A code for two uses each: checkouts for two lines, then a double click
    on the second form. The first checkout stays open."""
    promo(max_uses_per_customer=2)
    other_line = LineFactory(owner=customer, with_period=plan)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    second = place(customer, other_line, plan, code="SUMMER20", key="form-2")

    again = place(customer, other_line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert again == second
    assert first.status == OrderStatus.PENDING
    assert SandboxPayment.objects.get(payment_id=first.provider_payment_id).state == PaymentState.PENDING


def test_a_checkout_refused_the_code_closes_nothing(customer, line, plan):
    """The code is not for the plan of the new checkout: the customer's
    older checkout keeps its page and its use."""
    promo(plans=[plan])
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    other_plan = PlanFactory(code="fjord-year", period="year", price_ore=1999_00)

    with pytest.raises(PromoError):
        place(customer, line, other_plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert first.status == OrderStatus.PENDING
    assert SandboxPayment.objects.get(payment_id=first.provider_payment_id).state == PaymentState.PENDING


def test_a_first_checkout_the_provider_will_not_close_holds_the_code_for_now(customer, line, plan, monkeypatch):
    promo()
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    def unreachable(self, **kwargs):
        raise PaymentProviderError("timed out")

    monkeypatch.setattr(SandboxProvider, "cancel_payment", unreachable)
    with pytest.raises(CustomerError, match="still open at the payment provider"):
        place(customer, line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert first.status == OrderStatus.PENDING
    assert Order.objects.count() == 1


def test_a_first_checkout_paid_before_the_customer_checks_out_again_keeps_the_code(customer, line, plan):
    promo()
    first = settle(place(customer, line, plan, code="SUMMER20", key="form-1"))

    with pytest.raises(PromoError, match=ALREADY_USED):
        place(customer, line, plan, code="SUMMER20", key="form-2")
    assert first.status == OrderStatus.PAID
    assert Order.objects.count() == 1


def test_going_back_abandons_only_as_many_of_the_customers_checkouts_as_the_limit_needs(customer, line, plan):
    promo(max_uses_per_customer=2)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")
    second = place(customer, line, plan, code="SUMMER20", key="form-2")

    third = place(customer, line, plan, code="SUMMER20", key="form-3")

    first.refresh_from_db()
    second.refresh_from_db()
    assert [first.status, second.status, third.status] == [
        OrderStatus.ABANDONED,
        OrderStatus.PENDING,
        OrderStatus.PENDING,
    ]
    assert third.discount_ore == 39_80


def test_the_last_use_of_a_code_held_by_the_customers_own_checkout_goes_to_their_new_one(customer, line, plan):
    promo(max_uses=1, max_uses_per_customer=5)
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    again = place(customer, line, plan, code="SUMMER20", key="form-2")

    first.refresh_from_db()
    assert (first.status, again.discount_ore) == (OrderStatus.ABANDONED, 39_80)
    with pytest.raises(PromoError, match=USED_UP):
        someone_else_places(plan, "SUMMER20")


def test_another_customers_pending_checkout_is_never_abandoned_for_a_code(customer, line, plan):
    promo(max_uses=1)
    others = someone_else_places(plan, "SUMMER20")

    with pytest.raises(PromoError, match=USED_UP):
        place(customer, line, plan, code="SUMMER20")
    others.refresh_from_db()
    assert others.status == OrderStatus.PENDING
    assert not Order.objects.filter(owner=customer).exists()


@pytest.mark.parametrize("outcome", [SandboxOutcome.DECLINE, SandboxOutcome.INSUFFICIENT_FUNDS, SandboxOutcome.CANCEL])
def test_an_order_that_is_not_paid_gives_its_use_back(customer, line, plan, outcome):
    promo(max_uses=1)
    first = settle(place(customer, line, plan, code="SUMMER20"), outcome)
    assert first.status in (OrderStatus.DECLINED, OrderStatus.ABANDONED)

    again = place(customer, line, plan, code="SUMMER20", key="key-2")
    other = LineFactory(with_period=plan)

    assert again.discount_ore == 39_80
    with pytest.raises(PromoError, match=USED_UP):
        place(other.owner, other, plan, code="SUMMER20")


def test_an_abandoned_order_gives_its_use_back(customer, line, plan):
    promo(max_uses=1)
    first = place(customer, line, plan, code="SUMMER20")
    assert order_abandon(order=first)

    assert someone_else_places(plan, "SUMMER20").discount_ore == 39_80


def test_a_paid_order_keeps_its_use(customer, line, plan):
    promo(max_uses=1, max_uses_per_customer=5)
    settle(place(customer, line, plan, code="SUMMER20"))

    with pytest.raises(PromoError, match=USED_UP):
        place(customer, line, plan, code="SUMMER20", key="key-2")


# --- charged, and on the receipt ----------------------------------------------------------------


def test_the_discounted_price_is_what_the_provider_is_asked_for(customer, line, plan):
    promo()

    order = place(customer, line, plan, code="SUMMER20")

    assert (order.amount_ore, order.discount_ore) == (159_20, 39_80)
    assert SandboxPayment.objects.get().amount_ore == 159_20
    use = PromoUse.objects.get()
    assert (use.order, use.user, use.discount_ore, use.promo.code) == (order, customer, 39_80, "SUMMER20")


def test_the_receipt_shows_the_discount_and_vat_on_the_discounted_price(customer, line, plan):
    promo()

    order = settle(place(customer, line, plan, code="SUMMER20"))

    assert order.status == OrderStatus.PAID
    receipt = Receipt.objects.get(order=order)
    # 199 kr − 20 % = 159,20 kr, of which 25 % VAT inside is 31,84 kr.
    assert (receipt.discount_ore, receipt.total_ore, receipt.vat_ore, receipt.net_ore) == (
        39_80,
        159_20,
        31_84,
        127_36,
    )


def test_a_fixed_code_on_the_receipt(customer, line, plan):
    fixed("FIFTY", 50_00)

    order = settle(place(customer, line, plan, code="FIFTY"))

    receipt = Receipt.objects.get(order=order)
    assert (receipt.discount_ore, receipt.total_ore, receipt.vat_ore) == (50_00, 149_00, 29_80)


def test_the_receipt_pdf_shows_the_price_the_discount_and_vat_on_the_rest(customer, line, plan):
    promo()
    order = settle(place(customer, line, plan, code="SUMMER20"))
    receipt = Receipt.objects.select_related("plan").get(order=order)

    with translation.override("en"):
        text = pdf_text(receipt_pdf(receipt))
        amounts = {ore: nok(ore).replace("\xa0", " ") for ore in (199_00, 39_80, 127_36, 31_84, 159_20)}

    assert f"Price {amounts[199_00]}" in text
    assert f"Discount \u2212{amounts[39_80]}" in text
    assert f"Net amount {amounts[127_36]}" in text
    assert f"VAT 25 % {amounts[31_84]}" in text
    assert f"Total {amounts[159_20]}" in text


def test_a_receipt_without_a_discount_has_no_discount_rows(customer, line, plan):
    order = settle(place(customer, line, plan))
    receipt = Receipt.objects.select_related("plan").get(order=order)

    with translation.override("en"):
        text = pdf_text(receipt_pdf(receipt))

    assert receipt.discount_ore == 0
    assert "Discount" not in text
    assert "Total" in text


def test_paying_from_the_balance_with_a_code_debits_the_discounted_price(customer, line, plan):
    promo()
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=200_00)

    order = place(customer, line, plan, code="SUMMER20", method=PaymentMethod.BALANCE)

    assert order.status == OrderStatus.PAID
    assert LedgerEntry.objects.get(line=line, kind=LedgerKind.RENEWAL).amount_ore == -159_20
    assert ledger_balance(line=line) == 40_80
    assert Receipt.objects.get(order=order).discount_ore == 39_80


# --- one checkout form, one use -----------------------------------------------------------------


def test_the_same_form_sent_again_with_its_code_is_one_order_and_one_use(customer, line, plan):
    promo()

    first = place(customer, line, plan, code="SUMMER20")
    second = place(customer, line, plan, code="SUMMER20")

    assert second.pk == first.pk
    assert second.provider_url == first.provider_url
    assert Order.objects.count() == 1
    assert PromoUse.objects.count() == 1
    assert SandboxPayment.objects.count() == 1


@pytest.mark.parametrize(("first_code", "then"), [("SUMMER20", "FIFTY"), ("SUMMER20", ""), ("", "SUMMER20")])
def test_the_same_form_sent_again_with_another_code_or_none_is_refused(customer, line, plan, first_code, then):
    promo()
    fixed("FIFTY", 50_00)
    place(customer, line, plan, code=first_code)

    with pytest.raises(CustomerError, match=OTHER_CHOICES):
        place(customer, line, plan, code=then)
    assert Order.objects.count() == 1
    assert PromoUse.objects.count() == (1 if first_code else 0)


def test_a_code_typed_in_lower_case_with_spaces_is_the_same_code(customer, line, plan):
    promo()

    assert promo_quote(code=" summer 20 ", user=customer, plan=plan).discount_ore == 39_80
    order = place(customer, line, plan, code="  summer 20\t")
    again = place(customer, line, plan, code="SUMMER20")

    assert order.discount_ore == 39_80
    assert again.pk == order.pk
    assert PromoUse.objects.get().promo.code == "SUMMER20"


# --- the checkout page --------------------------------------------------------------------------


def checkout_url(line, plan):
    return f"/lines/{line.pk}/renew/{plan.code}/"


def checkout_form(**changes):
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": "card",
        "idempotency_key": "form-key-1",
        "promo_code": "SUMMER20",
    }
    form.update(changes)
    return form


def page_errors(html: str) -> list[str]:
    """The error messages a checkout page shows, for a failing assertion."""
    return re.findall(r'class="(?:invalid-feedback|alert alert-danger)[^"]*"[^>]*>\s*(?:<div>)?([^<]+)', html)


def apply(client, line, plan, **changes):
    response = client.post(checkout_url(line, plan), {**checkout_form(**changes), "apply": "1"})
    assert response.status_code == 200
    return response.content.decode()


def test_applying_a_code_shows_the_discount_and_the_new_total_before_paying(signed_in, line, plan):
    promo()

    html = apply(signed_in, line, plan)

    assert f'checkout-discount">\u2212{nok(39_80)}<' in html
    assert "Discount (SUMMER20)" in html
    assert f'checkout-total">{nok(159_20)}<' in html
    assert f">{nok(31_84)}<" in html  # VAT inside the discounted total
    assert f"{nok(39_80)} off." in html
    assert f"Pay {nok(159_20)}" in html
    assert 'value="SUMMER20"' in html
    assert 'name="idempotency_key" value="form-key-1"' in html
    assert not Order.objects.exists()
    assert not PromoUse.objects.exists()


def test_applying_a_code_typed_in_lower_case_with_spaces_works(signed_in, line, plan):
    promo()

    html = apply(signed_in, line, plan, promo_code=" summer 20 ")

    assert f'checkout-total">{nok(159_20)}<' in html


def test_applying_a_code_takes_no_use(signed_in, line, plan):
    promo(max_uses=1)

    apply(signed_in, line, plan)

    assert someone_else_places(plan, "SUMMER20").discount_ore == 39_80


def test_without_a_code_there_is_no_discount_row(signed_in, line, plan):
    html = signed_in.get(checkout_url(line, plan)).content.decode()

    assert "checkout-discount" not in html
    assert f'checkout-total">{nok(199_00)}<' in html
    assert 'id="id_promo_code"' in html
    assert 'id="apply-promo"' in html


def test_paying_with_a_code_charges_the_discounted_price(signed_in, line, plan):
    promo()

    response = signed_in.post(checkout_url(line, plan), checkout_form())

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{SITE}/sandbox-pay/{order.provider_payment_id}/"
    assert (order.amount_ore, order.discount_ore) == (159_20, 39_80)
    assert SandboxPayment.objects.get().amount_ore == 159_20
    assert nok(159_20) in signed_in.get(response["Location"]).content.decode()


def test_paying_with_a_code_then_approving_gives_a_receipt_with_the_discount(signed_in, line, plan):
    promo()
    response = signed_in.post(checkout_url(line, plan), checkout_form())
    order = Order.objects.get()

    signed_in.post(response["Location"], {"outcome": "approve"})
    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert 'data-status="paid"' in html
    receipt = Receipt.objects.get(order=order)
    assert (receipt.discount_ore, receipt.total_ore, receipt.vat_ore) == (39_80, 159_20, 31_84)
    pdf = signed_in.get(f"/receipts/{receipt.pk}/pdf/")
    assert f"Discount \u2212{nok(39_80)}".replace("\xa0", " ") in pdf_text(pdf.content)


def test_a_free_order_from_the_page_is_paid_at_once(signed_in, line, plan):
    promo(code="FREE", percent=100)

    response = signed_in.post(checkout_url(line, plan), checkout_form(promo_code="free"), follow=True)

    order = Order.objects.get()
    assert 'data-status="paid"' in response.content.decode()
    assert (order.status, order.amount_ore) == (OrderStatus.PAID, 0)
    assert Receipt.objects.get(order=order).total_ore == 0
    assert not SandboxPayment.objects.exists()


def test_a_balance_that_covers_only_the_discounted_price_may_pay(signed_in, line, plan):
    promo()
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=160_00)

    applied = apply(signed_in, line, plan, method="balance")
    response = signed_in.post(checkout_url(line, plan), checkout_form(method="balance"), follow=True)

    assert 'id="method-balance" value="balance" checked' in applied
    assert "does not cover" not in applied
    assert 'data-status="paid"' in response.content.decode()
    assert ledger_balance(line=line) == 80
    assert LedgerEntry.objects.get(line=line, kind=LedgerKind.RENEWAL).amount_ore == -159_20


def test_the_same_form_sent_again_with_its_code_finds_the_same_order(signed_in, line, plan):
    promo()

    first = signed_in.post(checkout_url(line, plan), checkout_form())
    again = signed_in.post(checkout_url(line, plan), checkout_form())

    assert again.status_code == 302, page_errors(again.content.decode())
    assert first["Location"] == again["Location"]
    assert Order.objects.count() == 1
    assert PromoUse.objects.count() == 1
    assert SandboxPayment.objects.count() == 1


def test_back_from_the_payment_page_a_new_checkout_form_gets_the_code_again(signed_in, line, plan):
    promo()
    first = signed_in.post(checkout_url(line, plan), checkout_form(idempotency_key="form-key-1"))

    html = apply(signed_in, line, plan, idempotency_key="form-key-2")
    again = signed_in.post(checkout_url(line, plan), checkout_form(idempotency_key="form-key-2"))

    assert f'checkout-discount">\u2212{nok(39_80)}<' in html
    assert again.status_code == 302, page_errors(again.content.decode())
    assert again["Location"] != first["Location"]
    newer = Order.objects.get(idempotency_key="form-key-2")
    assert (newer.status, newer.amount_ore) == (OrderStatus.PENDING, 159_20)
    assert Order.objects.get(idempotency_key="form-key-1").status == OrderStatus.ABANDONED


def test_the_same_form_sent_again_with_another_code_is_refused_on_the_page(signed_in, line, plan):
    promo()
    fixed("FIFTY", 50_00)
    signed_in.post(checkout_url(line, plan), checkout_form())

    response = signed_in.post(checkout_url(line, plan), checkout_form(promo_code="FIFTY"))

    assert response.status_code == 200
    assert OTHER_CHOICES in response.content.decode()
    assert Order.objects.get().discount_ore == 39_80
    assert PromoUse.objects.get().promo.code == "SUMMER20"


def refusal(case: str, *, customer, line, plan) -> str:
    """Make the code refused for the reason ``case`` names; its message."""
    now = timezone.now()
    if case == "unknown":
        return UNKNOWN
    if case == "not yet":
        promo(valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=2))
        return NOT_YET
    if case == "expired":
        promo(valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1))
        return EXPIRED
    if case == "other plan":
        promo(plans=[PlanFactory(code="fjord-quarter")])
        return OTHER_PLAN
    if case == "first purchase":
        promo(first_purchase_only=True)
        settle(place(customer, line, plan, key="earlier"))
        return FIRST_ONLY
    if case == "used up":
        promo(max_uses=1)
        someone_else_places(plan, "SUMMER20")
        return USED_UP
    assert case == "already used"
    promo()
    settle(place(customer, line, plan, code="SUMMER20", key="earlier"))
    return ALREADY_USED


CASES = ["unknown", "not yet", "expired", "other plan", "first purchase", "used up", "already used"]


@pytest.mark.parametrize("button", ["apply", "pay"])
@pytest.mark.parametrize("case", CASES)
def test_a_refused_code_is_explained_next_to_the_field_and_makes_no_order(
    signed_in, customer, line, plan, case, button
):
    message = refusal(case, customer=customer, line=line, plan=plan)
    orders_before = Order.objects.count()
    uses_before = PromoUse.objects.count()
    form = checkout_form()
    if button == "apply":
        form["apply"] = "1"

    response = signed_in.post(checkout_url(line, plan), form)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<div class="invalid-feedback" id="promo-errors"><div>{message}</div></div>' in html
    assert 'aria-describedby="promo-errors"' in html
    assert "checkout-discount" not in html
    assert f'checkout-total">{nok(199_00)}<' in html
    assert (Order.objects.count(), PromoUse.objects.count()) == (orders_before, uses_before)


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
@pytest.mark.parametrize("case", CASES)
def test_a_refused_code_is_explained_in_the_customers_language(signed_in, customer, line, plan, case, language):
    message = refusal(case, customer=customer, line=line, plan=plan)
    customer.language = language
    customer.save(update_fields=["language"])
    with translation.override(language):
        expected = gettext(message)

    html = signed_in.post(checkout_url(line, plan), {**checkout_form(), "apply": "1"}).content.decode()

    assert expected != message, f"no {language} translation of {message!r}"
    assert f'id="promo-errors"><div>{expected}</div>' in html


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_the_discount_is_shown_in_the_customers_language(signed_in, customer, line, plan, language):
    promo()
    customer.language = language
    customer.save(update_fields=["language"])
    with translation.override(language):
        label = gettext("Discount (%(code)s)") % {"code": "SUMMER20"}
        off = gettext("%(amount)s off.") % {"amount": nok(39_80)}
        total = nok(159_20)

    html = apply(signed_in, line, plan)

    assert label != "Discount (SUMMER20)", f"no {language} translation of 'Discount (%(code)s)'"
    assert label in html
    assert off in html
    assert f'checkout-total">{total}<' in html


# --- an older checkout is given up only with its page closed, or before it has one -------------


def test_an_older_checkout_with_an_open_page_is_not_given_up_without_the_provider(customer, line, plan):
    promo()
    first = place(customer, line, plan, code="SUMMER20", key="form-1")

    with pytest.raises(PaymentStillOpen):
        order_abandon_unopened(order=first, reason="promo_moved")

    first.refresh_from_db()
    assert first.status == OrderStatus.PENDING
    assert SandboxPayment.objects.get(payment_id=first.provider_payment_id).state == PaymentState.PENDING


class SandboxMeetingAnotherTab(SandboxProvider):
    """The sandbox, while another tab's checkout takes the code from the
    order whose payment it is making."""

    def create_payment(self, **arguments: Any) -> Any:
        order_abandon_unopened(order=Order.objects.get(public_id=arguments["reference"]), reason="promo_moved")
        return super().create_payment(**arguments)


def test_an_order_given_up_while_its_payment_is_made_has_that_payment_closed(customer, line, plan, settings):
    promo()
    settings.PAYMENT_PROVIDERS = {"sandbox": f"{__name__}.SandboxMeetingAnotherTab"}

    order = place(customer, line, plan, code="SUMMER20", key="form-1")

    page = SandboxPayment.objects.get(reference=str(order.public_id))
    assert (order.status, order.provider_url) == (OrderStatus.ABANDONED, "")
    assert page.state == PaymentState.CANCELLED
    sandbox_decide(payment_id=page.payment_id, outcome=SandboxOutcome.APPROVE)
    page.refresh_from_db()
    assert page.state == PaymentState.CANCELLED


# --- guessing codes -----------------------------------------------------------------------------

IP = "198.51.100.7"


def try_later(minutes: int) -> str:
    return ngettext(
        "Too many wrong promotion codes. Try again in %(minutes)d minute.",
        "Too many wrong promotion codes. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def guess(customer, plan, code, *, ip=IP, now=None):
    """The error ``promo_check`` gives for ``code``, or "quoted"."""
    try:
        promo_check(code=code, user=customer, plan=plan, ip_address=ip, now=now)
    except PromoError as error:
        return str(error)
    return "quoted"


def test_unknown_codes_up_to_the_limit_are_looked_up_then_even_a_right_code_is_refused(settings, customer, plan):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 3, "ip": 100}
    promo()

    answers = [guess(customer, plan, code) for code in ("WINTER10", "SPRING10", "AUTUMN10", "SUMMER20")]

    assert answers == [UNKNOWN, UNKNOWN, UNKNOWN, try_later(60)]
    assert sorted(PromoAttempt.objects.values_list("result", flat=True)) == sorted(
        [PromoAttemptResult.UNKNOWN] * 3 + [PromoAttemptResult.THROTTLED]
    )
    assert set(PromoAttempt.objects.values_list("user", "ip_address")) == {(customer.pk, IP)}


def test_a_throttled_customer_is_let_in_when_the_oldest_counted_failure_leaves_the_hour(settings, customer, plan):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 2, "ip": 100}
    promo()
    start = timezone.now()
    guess(customer, plan, "WINTER10", now=start)
    guess(customer, plan, "SPRING10", now=start + timedelta(minutes=20))

    assert guess(customer, plan, "SUMMER20", now=start + timedelta(minutes=30)) == try_later(30)
    assert guess(customer, plan, "SUMMER20", now=start + timedelta(minutes=59)) == try_later(1)
    # Being refused by the throttle does not count: the first failure leaving the hour lets one more in.
    assert guess(customer, plan, "SUMMER20", now=start + timedelta(minutes=61)) == "quoted"


def test_a_real_code_refused_here_is_recorded_but_does_not_count(settings, customer, plan):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 2, "ip": 100}
    expired = promo(code="OLD10", valid_from=timezone.now() - timedelta(days=60), valid_until=timezone.now())
    promo()

    answers = [guess(customer, plan, "old 10") for _ in range(4)]

    assert answers == [EXPIRED] * 4
    assert guess(customer, plan, "SUMMER20") == "quoted"
    assert set(PromoAttempt.objects.values_list("result", "promo")) == {(PromoAttemptResult.REFUSED, expired.pk)}


def test_unknown_codes_from_one_address_throttle_every_customer_there(settings, customer, plan):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 100, "ip": 3}
    promo()
    for n in range(3):
        assert guess(UserFactory(), plan, f"GUESS{n}") == UNKNOWN

    assert guess(customer, plan, "SUMMER20") == try_later(60)
    assert guess(customer, plan, "SUMMER20", ip="198.51.100.8") == "quoted"


def test_unknown_codes_of_another_customer_elsewhere_do_not_throttle_this_one(settings, customer, plan):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 2, "ip": 100}
    promo()
    other = UserFactory()
    for n in range(5):
        guess(other, plan, f"GUESS{n}", ip="198.51.100.9")

    assert guess(customer, plan, "SUMMER20") == "quoted"


def test_a_checkout_sent_while_the_customer_is_throttled_takes_no_code_and_makes_no_order(
    settings, customer, line, plan
):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 2, "ip": 100}
    promo()
    guess(customer, plan, "WINTER10")
    guess(customer, plan, "SPRING10")

    with pytest.raises(PromoError, match=try_later(60)):
        place(customer, line, plan, code="SUMMER20")
    assert not Order.objects.exists()
    assert not PromoUse.objects.exists()


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_past_the_limit_the_checkout_page_says_when_to_try_again_and_quotes_nothing(
    settings, signed_in, customer, line, plan, language
):
    settings.PROMO_FAILURES_PER_HOUR = {"user": 3, "ip": 100}
    customer.language = language
    customer.save(update_fields=["language"])
    promo()
    for code in ("WINTER10", "SPRING10", "AUTUMN10"):
        html = apply(signed_in, line, plan, promo_code=code)
        with translation.override(language):
            assert gettext(UNKNOWN) in html

    applied = apply(signed_in, line, plan, promo_code="SUMMER20")
    sent = signed_in.post(checkout_url(line, plan), checkout_form(promo_code="SUMMER20"))

    with translation.override(language):
        message = try_later(60)
        if language != "en":
            assert message != try_later_in_english(60), f"no {language} translation"
        assert f'id="promo-errors"><div>{message}</div>' in applied
        assert sent.status_code == 200
        assert f'id="promo-errors"><div>{message}</div>' in sent.content.decode()
        assert "checkout-discount" not in applied
        assert f'checkout-total">{nok(199_00)}<' in applied
    assert not Order.objects.exists()
    assert not PromoUse.objects.exists()


def try_later_in_english(minutes: int) -> str:
    with translation.override("en"):
        return try_later(minutes)


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_the_checkout_page_says_why_a_second_first_purchase_code_is_refused(signed_in, customer, line, plan, language):
    customer.language = language
    customer.save(update_fields=["language"])
    promo(first_purchase_only=True)
    fixed("WELCOME50", 50_00, first_purchase_only=True)
    place(customer, line, plan, code="SUMMER20", key="form-1")

    html = apply(signed_in, line, plan, promo_code="WELCOME50", idempotency_key="form-2")

    with translation.override(language):
        message = gettext(OTHER_FIRST_PENDING)
    assert language == "en" or message != OTHER_FIRST_PENDING
    assert f'id="promo-errors"><div>{message}</div>' in html
    assert Order.objects.count() == 1
