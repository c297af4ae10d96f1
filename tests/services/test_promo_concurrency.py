"""Promotion code limits under fire, on PostgreSQL: twenty customers check
out with a code that has five uses left, and one customer sends ten checkout
forms with a once-per-customer code, all at the same moment. The lock on the
code's row lets exactly as many through as the limits allow; the others are
told why on the page, and no order is left behind for them. A customer's own
newer checkout takes the code from their older pending one, which is
abandoned only with its page closed at the provider (or before it had one):
one order can be paid, and the discount is given once. Two checkouts of one
customer at once with first-purchase codes give the discount once.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.celery import app
from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.models import (
    DiscountKind,
    EventResult,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentState,
    PromoCode,
    PromoUse,
    Receipt,
)
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.settlement import payment_update_apply
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import LineFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SITE = "http://testserver"
USED_UP = "This promotion code has been used up."
ALREADY_USED = "You have already used this promotion code."
OTHER_FIRST_PENDING = (
    "Another of your orders has a first-purchase promotion code and is not paid yet. "
    "Finish or cancel that payment first, or check out without this code."
)
STILL_OPEN = (
    "Your earlier payment with this promotion code is still open at the payment provider. Try again in a few minutes."
)


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


def promo(**fields: Any) -> PromoCode:
    now = timezone.now()
    values: dict[str, Any] = {
        "code": "SUMMER20",
        "kind": DiscountKind.PERCENT,
        "percent": 20,
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
    }
    values.update(fields)
    return PromoCode.objects.create(**values)


def checkout(client: Client, line: Any, plan: Any, *, key: str, code: str = "SUMMER20") -> Callable[[], Any]:
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": "card",
        "idempotency_key": key,
        "promo_code": code,
    }
    return lambda: client.post(f"/lines/{line.pk}/renew/{plan.code}/", form)


def promo_error(response: Any) -> str:
    """The error under the promotion code field of a re-rendered checkout."""
    found = re.search(r'id="promo-errors"><div>([^<]*)</div>', response.content.decode())
    return found.group(1) if found else ""


def outcome(response: Any) -> str:
    if response.status_code == 302:
        return "sent to pay"
    return promo_error(response) or form_error(response) or f"HTTP {response.status_code} without an error"


def form_error(response: Any) -> str:
    """The error above a re-rendered checkout's fields."""
    found = re.search(r'class="alert alert-danger form-error" role="alert">([^<]*)<', response.content.decode())
    return found.group(1) if found else ""


def test_twenty_customers_racing_for_five_uses_get_exactly_five(plan):
    promo(max_uses=5)
    lines = [LineFactory(with_period=plan, owner=UserFactory(full_name="Kari Nordmann")) for _ in range(20)]

    responses = at_once([checkout(signed_in_client(line.owner), line, plan, key=f"form-{line.pk}") for line in lines])

    assert Counter(outcome(response) for response in responses) == {"sent to pay": 5, USED_UP: 15}
    orders = Order.objects.all()
    assert orders.count() == 5
    assert {(order.amount_ore, order.discount_ore, order.status) for order in orders} == {
        (159_20, 39_80, OrderStatus.PENDING)
    }
    assert set(PromoUse.objects.values_list("order", flat=True)) == {order.pk for order in orders}
    assert set(SandboxPayment.objects.values_list("amount_ore", flat=True)) == {159_20}
    assert SandboxPayment.objects.count() == 5
    winners = {response["Location"] for response in responses if response.status_code == 302}
    assert winners == {f"{SITE}/sandbox-pay/{order.provider_payment_id}/" for order in orders}


def pay(order: Order) -> Callable[[], Any]:
    """The provider's word that the order's payment page was paid."""

    def paid() -> Any:
        sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
        update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
        return payment_update_apply(provider="sandbox", update=update)

    return paid


def pay_page(payment: SandboxPayment) -> Callable[[], Any]:
    """Approve on the sandbox's hosted page, then the provider's word on it."""

    def paid() -> Any:
        sandbox_decide(payment_id=payment.payment_id, outcome=SandboxOutcome.APPROVE)
        update = SandboxProvider().fetch_status(payment_id=payment.payment_id)
        return payment_update_apply(provider="sandbox", update=update)

    return paid


def test_ten_checkout_forms_of_one_customer_leave_one_payable_page_and_close_the_others_at_the_provider(plan):
    """A newer checkout of the same customer takes the code from their older
    pending one. The older one is abandoned only once its page is closed at
    the provider, or before it ever opened one: exactly one order can be
    paid, and paying every page at once takes money once, with nothing to
    refund."""
    promo(max_uses_per_customer=1)
    customer = UserFactory(full_name="Kari Nordmann", street_address="Storgata 5", postal_code="0155", city="Oslo")
    line = LineFactory(owner=customer, with_period=plan)

    responses = at_once([checkout(signed_in_client(customer), line, plan, key=f"form-{n}") for n in range(10)])

    assert {outcome(response) for response in responses} <= {"sent to pay", STILL_OPEN}
    assert Counter(outcome(response) for response in responses)["sent to pay"] >= 1
    [payable] = Order.objects.filter(status=OrderStatus.PENDING)
    assert (payable.amount_ore, payable.discount_ore) == (159_20, 39_80)
    assert PromoUse.objects.get(order__status=OrderStatus.PENDING).order == payable
    pages = {page.reference: page for page in SandboxPayment.objects.all()}
    assert pages[str(payable.public_id)].state == PaymentState.PENDING
    for abandoned in Order.objects.exclude(pk=payable.pk):
        assert abandoned.status == OrderStatus.ABANDONED
        page = pages.get(str(abandoned.public_id))
        assert page is None or page.state == PaymentState.CANCELLED, f"{abandoned.public_id}'s page is open"

    at_once([pay_page(page) for page in pages.values()])

    assert {page.reference for page in SandboxPayment.objects.filter(state=PaymentState.PAID)} == {
        str(payable.public_id)
    }
    [paid] = Order.objects.filter(status=OrderStatus.PAID)
    assert paid == payable
    assert Receipt.objects.get().order == paid
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()


def test_a_new_checkout_racing_the_payment_of_the_customers_older_one_gives_the_discount_once(plan):
    """Six customers each go back from a payment page and check out again
    while the first page's payment arrives: whichever wins the older
    order's lock, the code is counted once per customer and one order is
    paid with it or left to pay."""
    promo(max_uses_per_customer=1)
    customers = [UserFactory(full_name="Kari Nordmann") for _ in range(6)]
    lines = [LineFactory(owner=customer, with_period=plan) for customer in customers]
    firsts = []
    for line in lines:
        assert checkout(signed_in_client(line.owner), line, plan, key="form-1")().status_code == 302
        firsts.append(Order.objects.get(owner=line.owner, idempotency_key="form-1"))

    calls: list[Callable[[], Any]] = []
    for line, first in zip(lines, firsts, strict=True):
        calls += [checkout(signed_in_client(line.owner), line, plan, key="form-2"), pay(first)]
    results = at_once(calls)

    for index, (line, first) in enumerate(zip(lines, firsts, strict=True)):
        first.refresh_from_db()
        second = Order.objects.filter(owner=line.owner, idempotency_key="form-2").first()
        if first.status == OrderStatus.PAID:
            assert promo_error(results[2 * index]) == ALREADY_USED
            assert second is None
        else:
            assert first.status == OrderStatus.ABANDONED
            assert PaymentEvent.objects.get(order=first).result == EventResult.REFUND_DUE
            assert second is not None
            assert (second.status, second.discount_ore) == (OrderStatus.PENDING, 39_80)
        holding = PromoUse.objects.filter(user=line.owner, order__status__in=[OrderStatus.PENDING, OrderStatus.PAID])
        assert holding.count() == 1
    assert (
        Receipt.objects.filter(order__status=OrderStatus.PAID).count()
        == Order.objects.filter(status=OrderStatus.PAID).count()
    )


def test_checkouts_of_one_customer_at_once_with_two_first_purchase_codes_give_one_discount(plan):
    """Six customers each send two checkout forms at the same moment, each
    with another first-purchase code: the customer's row lock lets one take
    its code; the other finds it and is told why."""
    promo(first_purchase_only=True)
    promo(code="WELCOME50", kind=DiscountKind.FIXED, percent=None, amount_ore=50_00, first_purchase_only=True)
    customers = [UserFactory(full_name="Kari Nordmann") for _ in range(6)]
    calls: list[Callable[[], Any]] = []
    for customer in customers:
        line = LineFactory(owner=customer, with_period=plan)
        client = signed_in_client(customer)
        calls += [
            checkout(client, line, plan, key="form-1", code="SUMMER20"),
            checkout(client, line, plan, key="form-2", code="WELCOME50"),
        ]

    responses = at_once(calls)

    for index, customer in enumerate(customers):
        pair = responses[2 * index : 2 * index + 2]
        assert sorted(outcome(response) for response in pair) == sorted(["sent to pay", OTHER_FIRST_PENDING])
        [order] = Order.objects.filter(owner=customer)
        assert order.status == OrderStatus.PENDING
        assert order.discount_ore in (39_80, 50_00)
        assert PromoUse.objects.filter(user=customer).count() == 1
    assert SandboxPayment.objects.count() == len(customers)


def test_one_first_purchase_code_on_two_lines_of_one_customer_at_once_gives_one_discount(plan):
    """A first-purchase code a customer may use twice, sent for two of their
    lines at the same moment: one order takes it, and paying every page
    pays one first-purchase discount."""
    promo(first_purchase_only=True, max_uses_per_customer=2)
    customers = [UserFactory(full_name="Kari Nordmann") for _ in range(6)]
    calls: list[Callable[[], Any]] = []
    for customer in customers:
        client = signed_in_client(customer)
        for n in range(2):
            line = LineFactory(owner=customer, with_period=plan)
            calls.append(checkout(client, line, plan, key=f"form-{n}"))

    responses = at_once(calls)

    assert Counter(outcome(response) for response in responses) == {
        "sent to pay": len(customers),
        OTHER_FIRST_PENDING: len(customers),
    }
    at_once([pay_page(page) for page in SandboxPayment.objects.all()])
    for customer in customers:
        paid = PromoUse.objects.filter(user=customer, order__status=OrderStatus.PAID)
        assert paid.count() == 1
        assert Order.objects.filter(owner=customer).count() == 1
