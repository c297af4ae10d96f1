"""Vipps MobilePay end to end with the real worker over Redis, against the
live server on PostgreSQL: a checkout form sent many times at once makes one
payment; the sandbox's signed webhooks reach the portal over HTTP; the
reservation is delivered, then captured by the worker; a replayed webhook
changes nothing; and a capture that fails is retried by the worker with the
same idempotency key until it succeeds."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sandbox.models import SandboxVippsOutcome, SandboxVippsPayment
from sandbox.tasks import send_vipps_webhooks
from sandbox.vipps import vipps_decide
from subscriptions.models import (
    CaptureStatus,
    EventResult,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    Receipt,
    ServicePeriod,
)
from subscriptions.tasks import capture_order_payment
from tests.concurrency import at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SUBMITS = 20


def runs_of(finished_tasks: list[Any], task: Any) -> list[str]:
    return [run.state for run in finished_tasks if run.name == task.name]


def captured(order: Order) -> Order | None:
    order.refresh_from_db()
    return order if order.capture_status == CaptureStatus.CAPTURED else None


def renew_with_vipps_at_once(live_server: Any, line: Any, plan: Any, *, times: int) -> Order:
    """The same checkout form sent ``times`` times at once (a double click
    and then some), each by its own browser of the same customer."""
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": PaymentMethod.VIPPS,
        "idempotency_key": "vipps-form-key",
    }

    def submit() -> Any:
        client = Client()
        client.force_login(line.owner)
        # As the customer's browser sends it: the portal's own address.
        host = live_server.url.removeprefix("http://")
        return client.post(f"/lines/{line.pk}/renew/{plan.code}/", form, HTTP_HOST=host)

    answers = at_once([submit] * times)
    assert {answer.status_code for answer in answers} == {302}
    assert len({answer["Location"] for answer in answers}) == 1
    return Order.objects.get()


def test_a_double_submit_makes_one_payment_and_a_replayed_webhook_changes_nothing(
    live_server, celery_worker, finished_tasks, wait_until, line, plan
):
    before = line.expires_at
    order = renew_with_vipps_at_once(live_server, line, plan, times=SUBMITS)
    assert SandboxVippsPayment.objects.count() == 1

    vipps_decide(reference=str(order.public_id), outcome=SandboxVippsOutcome.APPROVE)

    # AUTHORIZED by webhook: delivered, then captured by the worker, whose
    # capture Vipps reports with a CAPTURED webhook.
    wait_until(lambda: captured(order), what="the reservation delivered and captured")
    wait_until(lambda: runs_of(finished_tasks, send_vipps_webhooks).count("SUCCESS") >= 2, what="both webhooks")
    assert runs_of(finished_tasks, capture_order_payment) == ["SUCCESS"]
    assert SandboxVippsPayment.objects.get().captured_ore == plan.price_ore
    events = PaymentEvent.objects.count()

    send_vipps_webhooks.delay(str(order.public_id))  # Vipps sends them all again

    wait_until(lambda: runs_of(finished_tasks, send_vipps_webhooks).count("SUCCESS") >= 3, what="the replay")
    assert PaymentEvent.objects.count() == events
    assert Receipt.objects.filter(order=order).count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    line.refresh_from_db()
    assert line.expires_at == plan.end_of_period_starting(before)
    assert runs_of(finished_tasks, capture_order_payment) == ["SUCCESS"]
    order.refresh_from_db()
    assert (order.status, order.capture_status) == (OrderStatus.PAID, CaptureStatus.CAPTURED)


def test_a_capture_that_fails_is_retried_by_the_worker_with_the_same_key_until_it_succeeds(
    live_server, celery_worker, finished_tasks, fast_retries, wait_until, line, plan
):
    order = renew_with_vipps_at_once(live_server, line, plan, times=1)

    vipps_decide(reference=str(order.public_id), outcome=SandboxVippsOutcome.APPROVE_CAPTURE_FAILS)

    wait_until(lambda: captured(order), what="the capture to succeed at last", timeout=30)
    assert runs_of(finished_tasks, capture_order_payment) == ["RETRY", "RETRY", "SUCCESS"]
    payment = SandboxVippsPayment.objects.get()
    assert (payment.captured_ore, payment.capture_failures_left) == (plan.price_ore, 0)
    # One capture answered, under the order's key.
    assert list(payment.answers) == [f"capture-{order.public_id}"]
    wait_until(
        lambda: PaymentEvent.objects.filter(order=order, note="captured", result=EventResult.APPLIED).exists(),
        what="the capture recorded",
    )
