"""Card payments end to end with the real worker over Redis, against the live
server on PostgreSQL: the sandbox's signed callback reaches the portal over
HTTP, the receipt email leaves from the worker with its PDF, a replayed
callback changes nothing, and the reconciling sweep settles or gives up the
payments whose callback never came.

Browsers are ``requests`` sessions against ``live_server``: the customer's
carries a signed-in session cookie, the tester's on the sandbox page none.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from sandbox.tasks import send_callback
from subscriptions.models import (
    EventResult,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Receipt,
    ServicePeriod,
)
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.tasks import reconcile_orders, send_receipt
from tests.factories import LineFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHECKOUT_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


@pytest.fixture
def customer() -> Any:
    return UserFactory(
        email="kari@example.test",
        full_name="Kari Nordmann",
        street_address="Storgata 5",
        postal_code="0155",
        city="Oslo",
    )


def browser_signed_in_as(user: Any) -> requests.Session:
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return browser


def csrf_token(browser: requests.Session, page_url: str) -> tuple[str, str]:
    """(the page's HTML, its CSRF token); the GET also sets the CSRF cookie."""
    page = browser.get(page_url, timeout=10)
    assert page.status_code == 200, page.text[:2000]
    match = CSRF_TOKEN.search(page.text)
    assert match, page.text[:2000]
    return page.text, match[1]


def card_order_by_checkout(live_server: Any, line: Any, plan: Any) -> tuple[Order, str]:
    """The customer sends the checkout form; (the order, the page the
    browser is sent to)."""
    browser = browser_signed_in_as(line.owner)
    url = f"{live_server.url}/lines/{line.pk}/renew/{plan.code}/"
    html, token = csrf_token(browser, url)
    key = CHECKOUT_KEY.search(html)
    assert key
    form = {
        "csrfmiddlewaretoken": token,
        "idempotency_key": key[1],
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": PaymentMethod.CARD,
    }
    placed = browser.post(url, data=form, allow_redirects=False, timeout=10)
    assert placed.status_code == 302, placed.text[:2000]
    return Order.objects.get(idempotency_key=key[1]), placed.headers["Location"]


def card_order(live_server: Any, line: Any, plan: Any, *, key: str) -> Order:
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.CARD)
    return order_place(
        owner=line.owner,
        request=request,
        billing=Billing(name="Kari Nordmann"),
        idempotency_key=key,
        site_url=live_server.url,
    )


def runs_of(finished_tasks: list[Any], task: Any) -> list[str]:
    return [run.state for run in finished_tasks if run.name == task.name]


def paid(order: Order) -> Order | None:
    order.refresh_from_db()
    return order if order.status == OrderStatus.PAID else None


def test_the_worker_delivers_the_approved_payments_callback_and_emails_the_receipt(
    live_server, celery_worker, finished_tasks, sender_of, wait_until, customer, line, plan
):
    before = line.expires_at
    order, payment_page = card_order_by_checkout(live_server, line, plan)
    assert payment_page == f"{live_server.url}/sandbox-pay/{order.provider_payment_id}/"
    tester = requests.Session()
    _, token = csrf_token(tester, payment_page)

    answered = tester.post(
        payment_page, data={"csrfmiddlewaretoken": token, "outcome": "approve"}, allow_redirects=False, timeout=10
    )

    # The browser is not sent back: only the callback can settle the order.
    assert answered.headers["Location"] == f"{live_server.url}/orders/{order.public_id}/return/"
    wait_until(lambda: paid(order), what="the callback to settle the order")
    [receipt_email] = wait_until(lambda: list(mail.outbox), what="the receipt email")
    assert runs_of(finished_tasks, send_callback) == ["SUCCESS"]
    payment = SandboxPayment.objects.get()
    assert payment.callbacks_sent == 1
    event = PaymentEvent.objects.get()
    assert (event.event_id, event.result, event.order) == (f"evt_{payment.payment_id}_paid", EventResult.APPLIED, order)
    receipt = Receipt.objects.get()
    assert receipt.order == order
    line.refresh_from_db()
    assert line.expires_at == plan.end_of_period_starting(before)
    assert receipt_email.to == ["kari@example.test"]
    assert receipt.number in receipt_email.subject
    assert sender_of(receipt_email).task == send_receipt.name
    assert sender_of(receipt_email).is_worker
    [(filename, content, mimetype)] = receipt_email.attachments
    assert (filename, mimetype) == (f"receipt-{receipt.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_a_replayed_callback_is_delivered_and_changes_nothing(
    live_server, celery_worker, finished_tasks, wait_until, line, plan
):
    order = card_order(live_server, line, plan, key="form-key")
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    wait_until(lambda: paid(order) and mail.outbox, what="the order paid and its receipt emailed")
    line.refresh_from_db()
    expires_at = line.expires_at
    tester = requests.Session()
    _, token = csrf_token(tester, order.provider_url)

    replayed = tester.post(
        f"{order.provider_url}replay/", data={"csrfmiddlewaretoken": token}, allow_redirects=False, timeout=10
    )

    assert replayed.status_code == 302
    wait_until(lambda: len(runs_of(finished_tasks, send_callback)) == 2, what="the replayed callback")
    assert runs_of(finished_tasks, send_callback) == ["SUCCESS", "SUCCESS"]
    assert SandboxPayment.objects.get().callbacks_sent == 2
    assert PaymentEvent.objects.get().result == EventResult.APPLIED
    assert Receipt.objects.count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    line.refresh_from_db()
    assert line.expires_at == expires_at
    assert len(mail.outbox) == 1


def test_the_reconciling_sweep_settles_a_lost_callback_and_abandons_a_payment_nobody_answers(
    live_server, celery_worker, finished_tasks, sender_of, wait_until, settings, line, plan
):
    settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS = 0
    settings.PAYMENT_ABANDON_AFTER_SECONDS = 0
    unanswered = card_order(live_server, line, plan, key="never-answered")
    sandbox_decide(payment_id=unanswered.provider_payment_id, outcome=SandboxOutcome.NEVER_ANSWER)
    other_line = LineFactory(owner=line.owner, with_period=plan)
    lost = card_order(live_server, other_line, plan, key="callback-lost")
    # The sandbox took this payment, but its callback never reached us.
    SandboxPayment.objects.filter(payment_id=lost.provider_payment_id).update(
        outcome=SandboxOutcome.APPROVE, state=PaymentState.PAID, decided_at=timezone.now()
    )

    sweep = reconcile_orders.delay()

    [run] = wait_until(lambda: [run for run in finished_tasks if run.id == sweep.id], what="the reconciling sweep")
    assert run.state == "SUCCESS"
    unanswered.refresh_from_db()
    assert (unanswered.status, unanswered.decline_reason) == (OrderStatus.ABANDONED, "timeout")
    assert paid(lost)
    assert Receipt.objects.get().order == lost
    [receipt_email] = wait_until(lambda: list(mail.outbox), what="the receipt email of the settled order")
    assert sender_of(receipt_email).is_worker
    assert ServicePeriod.objects.filter(line=line).count() == 1
