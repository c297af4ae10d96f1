"""The reconciling sweep: orders the callback never reached are settled or given up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.models import (
    EventResult,
    OrderStatus,
    PaymentEvent,
    PaymentState,
    Receipt,
)
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.reconcile import orders_reconcile
from tests.subscriptions.services.orders.steps import place

pytestmark = pytest.mark.django_db


# --- the reconciling sweep ------------------------------------------------------------------


def test_the_sweep_settles_an_order_the_callback_never_reached(customer, line, plan, settings):
    order = place(customer, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS + 1)

    counts = orders_reconcile(now=later)

    order.refresh_from_db()
    assert counts == {"checked": 1, "settled": 1, "abandoned": 0}
    assert order.status == OrderStatus.PAID


def test_the_sweep_leaves_a_young_pending_order_alone(customer, line, plan):
    order = place(customer, line, plan)

    assert orders_reconcile()["checked"] == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_the_sweep_abandons_an_order_the_provider_never_answered(customer, line, plan, settings):
    order = place(customer, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.NEVER_ANSWER)
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS + 1)

    counts = orders_reconcile(now=later)
    again = orders_reconcile(now=later)

    order.refresh_from_db()
    assert counts["abandoned"] == 1
    assert again["abandoned"] == 0
    assert (order.status, order.decline_reason) == (OrderStatus.ABANDONED, "timeout")


def test_the_sweep_closes_the_providers_page_before_abandoning_so_a_late_approval_pays_nothing(
    customer, line, plan, settings
):
    order = place(customer, line, plan)
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS + 1)

    counts = orders_reconcile(now=later)
    # The customer comes back to the provider's old page and approves.
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    order.refresh_from_db()
    assert counts == {"checked": 1, "settled": 0, "abandoned": 1}
    assert order.status == OrderStatus.ABANDONED
    assert SandboxPayment.objects.get(payment_id=order.provider_payment_id).state == PaymentState.CANCELLED
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()
    assert not Receipt.objects.exists()


def test_one_order_the_sweep_cannot_settle_does_not_leave_the_others_pending(
    customer, line, plan, settings, monkeypatch
):
    broken = place(customer, line, plan, key="a")
    fine = place(customer, line, plan, key="b")
    sandbox_decide(payment_id=fine.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    fetch_status = SandboxProvider.fetch_status

    def surprising(self, *, payment_id):
        if payment_id == broken.provider_payment_id:
            raise RuntimeError("a bug")
        return fetch_status(self, payment_id=payment_id)

    monkeypatch.setattr(SandboxProvider, "fetch_status", surprising)
    later = timezone.now() + timedelta(seconds=settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS + 1)

    counts = orders_reconcile(now=later)

    fine.refresh_from_db()
    assert counts == {"checked": 2, "settled": 1, "abandoned": 0}
    assert fine.status == OrderStatus.PAID


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_the_providers_call_holds_no_transaction_and_so_no_database_lock(customer, line, plan, monkeypatch):
    """SQLite's transactions begin IMMEDIATE here: one open for the length
    of the provider's call would stop every other writer of the database."""
    create_payment = SandboxProvider.create_payment
    seen = []

    def create(self, **kwargs):
        seen.append(connection.in_atomic_block)
        return create_payment(self, **kwargs)

    monkeypatch.setattr(SandboxProvider, "create_payment", create)

    order = place(customer, line, plan)

    assert connection.vendor == "sqlite"
    assert seen == [False]
    assert order.provider_url
