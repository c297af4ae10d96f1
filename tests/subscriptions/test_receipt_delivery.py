"""The receipt email gets out even when the task queue or the mail server
was down at the moment of payment: the payment stands and the customer sees
it paid, and a sweep queues the email again, once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.celery import app
from sandbox.models import SandboxOutcome
from sandbox.provider import sandbox_decide
from subscriptions.models import OrderStatus, Receipt
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.settlement import payment_update_apply
from subscriptions.tasks import email_unsent_receipts, send_receipt
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
QUEUE_SETTINGS = (
    "task_always_eager",
    "broker_url",
    "task_publish_retry",
    "broker_connection_retry",
    "broker_transport_options",
)


def _forget_producers() -> None:
    """Make Celery connect afresh with the broker settings as they are now
    (it keeps its producers per connection, as after a fork)."""
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def queue_is_down() -> Iterator[None]:
    """Celery publishing for real, to a broker port nobody listens on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    saved = {name: app.conf[name] for name in QUEUE_SETTINGS}
    app.conf.update(
        task_always_eager=False,
        broker_url=f"amqp://guest:guest@127.0.0.1:{port}//",
        task_publish_retry=False,
        broker_connection_retry=False,
        # Fail at the first refused connection instead of after kombu's pauses.
        broker_transport_options={"max_retries": 0},
    )
    _forget_producers()
    try:
        yield
    finally:
        app.conf.update(saved)
        _forget_producers()


@pytest.fixture
def paid_card_order():
    """Place a card renewal, approve it on the sandbox; returns a function
    that applies the provider's answer (as its callback would)."""
    owner = UserFactory(email="kari@example.test", language="nb")
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    line = LineFactory(owner=owner, with_period=plan)
    request = renewal_request(line=line, plan=plan, method="card")
    order = order_place(
        owner=owner, request=request, billing=Billing(name="Kari Nordmann"), idempotency_key="k1", site_url=SITE
    )
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    def settle():
        payment_update_apply(
            provider="sandbox", update=SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
        )
        order.refresh_from_db()
        return order

    return settle


def some_minutes_pass(minutes: float) -> None:
    """Move every receipt back in time, as if they were issued (and queued) earlier."""
    for receipt in Receipt.objects.all():
        receipt.issued_at -= timedelta(minutes=minutes)
        if receipt.email_queued_at is not None:
            receipt.email_queued_at -= timedelta(minutes=minutes)
        receipt.save(update_fields=["issued_at", "email_queued_at"])


def test_a_payment_committed_while_the_queue_is_down_stands_and_is_logged(
    paid_card_order, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    with queue_is_down(), caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        order = paid_card_order()

    assert order.status == OrderStatus.PAID
    receipt = Receipt.objects.get(order=order)
    assert (receipt.email_queued_at, receipt.emailed_at) == (None, None)
    assert mailoutbox == []
    assert f"the email of receipt {receipt.pk} could not be queued" in caplog.text


def test_the_sweep_sends_the_email_the_queue_never_took_once(
    paid_card_order, mailoutbox, django_capture_on_commit_callbacks
):
    with queue_is_down(), django_capture_on_commit_callbacks(execute=True):
        order = paid_card_order()

    assert email_unsent_receipts() == 0  # a few minutes' grace first
    some_minutes_pass(6)
    sent = email_unsent_receipts()
    again = email_unsent_receipts()

    receipt = Receipt.objects.get(order=order)
    assert (sent, again) == (1, 0)
    [message] = mailoutbox
    assert receipt.number in message.subject
    assert "Kvittering" in message.subject
    assert receipt.emailed_at is not None


def test_a_receipt_queued_normally_is_sent_once_and_the_sweep_leaves_it(
    paid_card_order, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        paid_card_order()
    some_minutes_pass(4 * 60)

    assert email_unsent_receipts() == 0
    assert len(mailoutbox) == 1
    assert Receipt.objects.get().emailed_at is not None


def test_a_receipt_queued_but_never_sent_is_queued_again_after_the_tasks_retries_would_be_done(
    paid_card_order, mailoutbox
):
    paid_card_order()  # queued on commit, which a test's transaction never reaches
    some_minutes_pass(60)
    assert email_unsent_receipts() == 0  # perhaps still retrying against the mail server

    some_minutes_pass(2 * 60 + 1)

    assert email_unsent_receipts() == 1
    assert len(mailoutbox) == 1


def test_a_receipt_email_days_late_is_not_sent(paid_card_order, mailoutbox):
    paid_card_order()
    Receipt.objects.update(email_queued_at=None, issued_at=timezone.now() - timedelta(days=4))

    assert email_unsent_receipts() == 0
    assert mailoutbox == []


def test_a_receipt_task_run_twice_sends_one_email(paid_card_order, mailoutbox):
    order = paid_card_order()

    send_receipt(order.receipt.pk)
    send_receipt(order.receipt.pk)

    assert len(mailoutbox) == 1


def test_a_receipt_of_an_owner_without_email_counts_as_done(paid_card_order, mailoutbox):
    order = paid_card_order()
    order.owner.email = ""
    order.owner.save()

    send_receipt(order.receipt.pk)
    some_minutes_pass(24 * 60)

    assert email_unsent_receipts() == 0
    assert mailoutbox == []
    assert Receipt.objects.get().emailed_at is not None
