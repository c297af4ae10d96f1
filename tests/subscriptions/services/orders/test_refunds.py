"""Refunds of payments flagged for one: once."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxPayment
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AuditEvent,
    EventResult,
    Order,
    OrderStatus,
)
from subscriptions.services.refunds import payment_refund
from tests.factories import UserFactory
from tests.subscriptions.services.orders.steps import place, settle

pytestmark = pytest.mark.django_db


# --- refunds -------------------------------------------------------------------------------------


def test_a_payment_flagged_for_a_refund_is_refunded_once(customer, line, plan):
    staff = UserFactory(is_staff=True)
    order = place(customer, line, plan)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED)
    event = settle(order)

    refunded = payment_refund(event=event, by=staff)

    payment = SandboxPayment.objects.get()
    assert refunded.result == EventResult.REFUNDED
    assert refunded.refund_id.startswith("sbr_")
    assert payment.refunded_ore == 199_00
    assert AuditEvent.objects.filter(line=line, action="refund", actor=staff).exists()
    with pytest.raises(CustomerError, match="Only a payment flagged for a refund"):
        payment_refund(event=refunded, by=staff)
    assert SandboxPayment.objects.get().refunded_ore == 199_00


def test_a_paid_order_is_not_refundable_by_this_path(customer, line, plan):
    order = place(customer, line, plan)
    event = settle(order)

    with pytest.raises(CustomerError):
        payment_refund(event=event, by=UserFactory(is_staff=True))
