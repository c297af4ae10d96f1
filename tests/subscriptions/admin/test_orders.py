"""Support staff and payments in the admin: orders, provider events and
receipts are looked up, never edited; only a supervisor refunds, and only a
payment flagged for a refund."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages

from sandbox.models import SandboxPayment, SandboxVippsPayment
from sandbox.vipps import vipps_decide
from subscriptions.models import EventResult, Order, OrderStatus, PaymentMethod, Receipt
from subscriptions.payments import PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.payments.sandbox_vipps import SandboxVippsProvider
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.settlement import payment_update_apply
from tests.factories import LineFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

ORDERS = "/admin/subscriptions/order/"
EVENTS = "/admin/subscriptions/paymentevent/"
RECEIPTS = "/admin/subscriptions/receipt/"


def staff_in(client, group_name):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


@pytest.fixture
def late_payment():
    """A card payment that arrived after its order was abandoned."""
    line = LineFactory(number="+4791234567", with_period=True)
    plan = line.periods.get().plan
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.CARD)
    order = order_place(
        owner=line.owner, request=request, billing=Billing(name="王小明"), idempotency_key="k", site_url="http://x"
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED)
    SandboxPayment.objects.update(state="paid")
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    return payment_update_apply(provider="sandbox", update=update)


def test_an_agent_finds_an_order_by_the_number_typed_any_way(client, late_payment):
    staff_in(client, "Support agent")

    html = client.get(ORDERS, {"q": "912 34 567"}).content.decode()

    assert str(late_payment.order.public_id) in html


def test_an_agent_sees_payments_flagged_for_a_refund_but_cannot_refund(client, late_payment):
    staff_in(client, "Support agent")

    listing = client.get(EVENTS, {"result__exact": "refund_due"})
    client.post(EVENTS, {"action": "refund", "_selected_action": [late_payment.pk]})

    assert late_payment.payment_id in listing.content.decode()
    assert 'value="refund"' not in listing.content.decode()
    late_payment.refresh_from_db()
    assert late_payment.result == EventResult.REFUND_DUE
    assert SandboxPayment.objects.get().refunded_ore == 0


def test_a_supervisor_refunds_a_flagged_payment_through_the_provider(client, late_payment):
    staff_in(client, "Supervisor")

    response = client.post(EVENTS, {"action": "refund", "_selected_action": [late_payment.pk]})

    late_payment.refresh_from_db()
    assert response.status_code == 302
    assert late_payment.result == EventResult.REFUNDED
    assert SandboxPayment.objects.get().refunded_ore == late_payment.amount_ore
    assert "1 payment refunded." in [str(m) for m in get_messages(response.wsgi_request)]


def test_orders_events_and_receipts_cannot_be_edited_or_added(client, late_payment):
    staff_in(client, "Supervisor")

    assert client.get(f"{ORDERS}add/").status_code == 403
    assert client.get(f"{EVENTS}add/").status_code == 403
    assert client.get(f"{RECEIPTS}add/").status_code == 403
    page = client.get(f"{ORDERS}{late_payment.order.pk}/change/").content.decode()
    assert 'name="amount_ore"' not in page


def test_a_paid_order_shows_its_receipt_number(client):
    staff_in(client, "Support agent")
    line = LineFactory(with_period=True)
    plan = line.periods.get().plan
    order = order_place(
        owner=line.owner,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari"),
        idempotency_key="k2",
        site_url="http://x",
    )
    SandboxPayment.objects.update(state="paid")
    payment_update_apply(
        provider="sandbox",
        update=PaymentUpdate(
            event_id="e1", payment_id=order.provider_payment_id, reference=str(order.public_id), state="paid"
        ),
    )

    html = client.get(ORDERS).content.decode()

    assert f"{order.receipt.number}" in html
    assert order.receipt.number in client.get(RECEIPTS).content.decode()


def test_an_agent_sees_when_a_receipts_email_was_queued_and_sent_and_the_plan_name_paid_for(client):
    staff_in(client, "Support agent")
    line = LineFactory(with_period=True)
    plan = line.periods.get().plan
    plan.name_en, plan.name_nb, plan.name_zh_hans = "Fjord 10 GB", "Fjord 10 GB måned", "峡湾 10 GB"
    plan.save()
    order = order_place(
        owner=line.owner,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari"),
        idempotency_key="k3",
        site_url="http://x",
    )
    SandboxPayment.objects.update(state="paid")
    payment_update_apply(
        provider="sandbox", update=SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    )
    receipt = Receipt.objects.get(order=order)
    Receipt.objects.filter(pk=receipt.pk).update(
        email_queued_at=datetime(2026, 3, 5, 12, 7, tzinfo=UTC), emailed_at=datetime(2026, 3, 5, 12, 9, tzinfo=UTC)
    )
    plan.name_en = "Aurora Max"
    plan.save()

    page = client.get(f"{RECEIPTS}{receipt.pk}/change/").content.decode()

    assert "<label>Email queued:</label>" in page
    assert "March 5, 2026, 1:07 PM" in page  # Oslo time
    assert "<label>Emailed:</label>" in page
    assert "March 5, 2026, 1:09 PM" in page
    for name in ("Fjord 10 GB", "Fjord 10 GB måned", "峡湾 10 GB"):
        assert f'<div class="readonly">{name}</div>' in page
    assert "Nordlys Mobil AS<br>Organisation number NO 929 384 756 MVA<br>Storgata 1" in page
    assert 'name="emailed_at"' not in page
    assert 'name="plan_name_en"' not in page


def test_a_supervisor_releases_a_vipps_reservation_flagged_for_a_refund(client):
    """A Vipps MobilePay approval that came after its order was given up,
    whose automatic release has not run: the admin's refund cancels the
    reservation at Vipps."""
    line = LineFactory(number="+4791234567", with_period=True)
    plan = line.periods.get().plan
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.VIPPS)
    order = order_place(
        owner=line.owner, request=request, billing=Billing(name="Kari"), idempotency_key="v", site_url="http://x"
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED)
    vipps_decide(reference=str(order.public_id), outcome="approve")
    update = SandboxVippsProvider().fetch_status(payment_id=order.provider_payment_id)
    event = payment_update_apply(provider="sandbox_vipps", update=update)
    assert event.result == EventResult.REFUND_DUE
    staff_in(client, "Supervisor")

    client.post(EVENTS, {"action": "refund", "_selected_action": [event.pk]})

    event.refresh_from_db()
    assert event.result == EventResult.REFUNDED
    assert SandboxVippsPayment.objects.get().cancelled_ore == plan.price_ore
