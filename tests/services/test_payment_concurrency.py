"""Paying under fire, on PostgreSQL: one checkout form sent fifty times at
once, a provider's callback sent again and again while the browser comes
back, and many payments settled at the same moment. Each charge happens
once, each paid order adds one period and one receipt, and receipt numbers
run without a gap.

No worker runs here: the callback and receipt tasks queued on commit stay in
Redis and are purged, so the callbacks these tests need are posted by hand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal.celery import app
from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import SIGNATURE_HEADER, sandbox_callback, sandbox_decide
from subscriptions.models import (
    EventResult,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    Receipt,
    ReceiptSequence,
    ServicePeriod,
)
from subscriptions.periods import OSLO
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.ledger import ledger_balance
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import LedgerEntryFactory, LineFactory
from tests.fakes.stripe import (
    IN_FLIGHT,
    SESSION_ID,
    FakeStripe,
    Request,
    checkout_session,
    stripe_serving,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CALLBACK = "/payments/callback/sandbox/"
SITE = "http://testserver"
SUBMITS = 50


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    """sandbox_decide and every paid order queue a task on commit; with no
    worker here they would wait in Redis for the next test's worker."""
    app.control.purge()
    yield
    app.control.purge()


def checkout(client: Client, line: Any, plan: Any, *, method: str, key: str) -> Callable[[], Any]:
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": method,
        "idempotency_key": key,
    }
    return lambda: client.post(f"/lines/{line.pk}/renew/{plan.code}/", form)


def callback(body: bytes, headers: dict[str, str]) -> Callable[[], Any]:
    client = Client()
    signature = {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}
    return lambda: client.post(CALLBACK, data=body, content_type="application/json", headers=signature)


def back_from_the_provider(client: Client, order: Order) -> Callable[[], Any]:
    return lambda: client.get(f"/orders/{order.public_id}/return/")


def approved_card_order(owner: Any, line: Any, plan: Any, *, key: str = "form-key") -> Order:
    """A card order the tester approved on the sandbox page; its callback is
    not delivered yet."""
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.CARD)
    billing = Billing(name=owner.full_name)
    order = order_place(owner=owner, request=request, billing=billing, idempotency_key=key, site_url=SITE)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    return order


def locations(responses: list[Any]) -> set[str]:
    assert all(getattr(response, "status_code", None) == 302 for response in responses), responses
    return {response["Location"] for response in responses}


def test_fifty_submits_of_one_card_checkout_make_one_order_and_one_payment_page(customer, line, plan):
    clients = [signed_in_client(customer) for _ in range(SUBMITS)]

    responses = at_once([checkout(client, line, plan, method="card", key="form-key") for client in clients])

    order = Order.objects.get()
    payment = SandboxPayment.objects.get()
    assert order.status == OrderStatus.PENDING
    assert order.provider_payment_id == payment.payment_id
    assert locations(responses) == {f"{SITE}/sandbox-pay/{payment.payment_id}/"}


def test_callbacks_racing_the_browser_return_pay_the_order_once(customer, line, plan):
    before = line.expires_at
    order = approved_card_order(customer, line, plan)
    body, headers = sandbox_callback(SandboxPayment.objects.get(payment_id=order.provider_payment_id))
    returns = [signed_in_client(customer) for _ in range(10)]

    responses = at_once(
        [callback(body, headers) for _ in range(10)] + [back_from_the_provider(client, order) for client in returns]
    )

    callbacks, browsers = responses[:10], responses[10:]
    assert [(response.status_code, response.content) for response in callbacks] == [(200, b"ok")] * 10
    assert locations(browsers) == {f"/orders/{order.public_id}/"}
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert PaymentEvent.objects.filter(result=EventResult.APPLIED).get().order == order
    assert not PaymentEvent.objects.exclude(result__in=[EventResult.APPLIED, EventResult.NO_CHANGE]).exists()
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert Receipt.objects.get().order == order
    assert order.period is not None
    assert order.period.starts_at == before
    assert line.expires_at == order.period.ends_at == plan.end_of_period_starting(before)


def test_fifty_submits_of_one_balance_checkout_debit_the_balance_once(customer, line, plan):
    LedgerEntryFactory(line=line, amount_ore=500_00)
    before = line.expires_at
    clients = [signed_in_client(customer) for _ in range(SUBMITS)]

    responses = at_once([checkout(client, line, plan, method="balance", key="form-key") for client in clients])

    order = Order.objects.get()
    line.refresh_from_db()
    assert locations(responses) == {f"/orders/{order.public_id}/"}
    assert order.status == OrderStatus.PAID
    assert LedgerEntry.objects.filter(line=line, kind=LedgerKind.RENEWAL).get().amount_ore == -199_00
    assert ledger_balance(line=line) == 500_00 - 199_00
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert Receipt.objects.get().order == order
    assert line.expires_at == plan.end_of_period_starting(before)


def test_payments_settled_at_once_take_receipt_numbers_without_a_gap(plan):
    paid = [approved_card_order(line.owner, line, plan) for line in (LineFactory(with_period=plan) for _ in range(20))]
    # Paid for lines cancelled meanwhile: kept for a refund, no receipt, no number.
    refused = [
        approved_card_order(line.owner, line, plan) for line in (LineFactory(with_period=plan) for _ in range(4))
    ]
    # Cancelled before the grace period, when a payment no longer brings a line back.
    after_grace = timezone.now() - timedelta(days=settings.CANCELLATION_GRACE_DAYS + 1)
    Line.objects.filter(orders__in=refused).update(status=LineStatus.CANCELLED, status_changed_at=after_grace)
    payments = SandboxPayment.objects.filter(payment_id__in=[order.provider_payment_id for order in paid + refused])

    responses = at_once([callback(*sandbox_callback(payment)) for payment in payments])

    assert [response.status_code for response in responses] == [200] * 24
    year = timezone.now().astimezone(OSLO).year
    assert sorted(Receipt.objects.filter(year=year).values_list("sequence", flat=True)) == list(range(1, 21))
    assert ReceiptSequence.objects.get(year=year).last_number == 20
    assert set(Receipt.objects.values_list("order", flat=True)) == {order.pk for order in paid}
    assert PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).count() == 4


# --- one checkout form sent many times at once, with Stripe ------------------------------------


@dataclass
class KeyKeepingStripe(FakeStripe):
    """Stripe's idempotency as it documents it: a request whose key an
    unfinished request is using is answered 409; once that one is done, the
    same key gets its answer again. Creating takes a while, as on a phone."""

    create_seconds: float = 0.5
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: set[str] = field(default_factory=set)
    done: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    conflicts: int = 0

    def reply(self, request: Request) -> tuple[int, dict[str, Any]]:
        key = request.headers.get("Idempotency-Key", "")
        if request.method != "POST" or not key:
            return super().reply(request)
        with self.lock:
            if key in self.done:
                return self.done[key]
            if key in self.in_flight:
                self.conflicts += 1
                return 409, IN_FLIGHT
            self.in_flight.add(key)
        time.sleep(self.create_seconds)
        answer = super().reply(request)
        with self.lock:
            self.done[key] = answer
            self.in_flight.discard(key)
        return answer


@pytest.fixture
def stripe_keeping_keys(settings: Any) -> Iterator[KeyKeepingStripe]:
    settings.PAYMENT_PROVIDER = "stripe"
    with stripe_serving(KeyKeepingStripe(), settings) as fake:
        yield fake


def test_submits_of_one_checkout_at_once_open_one_stripe_session_without_a_conflict(
    customer, line, plan, stripe_keeping_keys
):
    stripe_keeping_keys.answer("POST", "/v1/checkout/sessions", checkout_session())
    clients = [signed_in_client(customer) for _ in range(5)]

    responses = at_once([checkout(client, line, plan, method="card", key="form-key") for client in clients])

    order = Order.objects.get()
    assert locations(responses) == {checkout_session()["url"]}
    assert (order.provider, order.provider_payment_id) == ("stripe", SESSION_ID)
    assert stripe_keeping_keys.conflicts == 0
    assert [(r.method, r.path) for r in stripe_keeping_keys.requests] == [("POST", "/v1/checkout/sessions")]
