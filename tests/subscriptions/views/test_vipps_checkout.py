"""Paying with Vipps MobilePay through the checkout, on the sandbox's pretend
Vipps (its approval page, its in-process ePayment API): renewals and top-ups
are reserved, delivered, then captured; every choice on the approval page
ends the order as the customer would expect."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from sandbox.models import SandboxVippsPayment
from sandbox.vipps import vipps_webhook
from subscriptions.models import (
    AuditEvent,
    CaptureStatus,
    EventResult,
    LedgerKind,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Receipt,
    ReplacementRequest,
    ReplacementStatus,
)
from subscriptions.payments import decline_message
from subscriptions.payments.base import PaymentUpdate
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.reconcile import reservations_finish
from subscriptions.services.replacements import replacement_request
from subscriptions.services.settlement import order_capture, payment_update_apply
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

CALLBACK = "/payments/callback/sandbox_vipps/"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def renew_with_vipps(client: Client, line: Any, plan: Any, key: str = "vipps-key-1", **headers: Any) -> Any:
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": "vipps",
        "idempotency_key": key,
    }
    response = client.post(f"/lines/{line.pk}/renew/{plan.code}/", form, **headers)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(idempotency_key=key), response


def test_the_checkout_offers_card_and_vipps_mobilepay(signed_in: Client, customer: Any, line: Any, plan: Any) -> None:
    customer.language = "nb"
    customer.save(update_fields=["language"])

    html = signed_in.get(f"/lines/{line.pk}/renew/{plan.code}/").content.decode()

    assert 'id="method-card"' in html
    assert 'id="method-vipps"' in html
    assert "Betal med Vipps" in html


def test_vipps_is_not_offered_where_it_is_not_set_up(signed_in: Client, line: Any, plan: Any, settings: Any) -> None:
    settings.VIPPS_PAYMENT_PROVIDER = ""

    html = signed_in.get(f"/lines/{line.pk}/renew/{plan.code}/").content.decode()
    refused = signed_in.post(
        f"/lines/{line.pk}/renew/{plan.code}/",
        {"full_name": "Kari Nordmann", "method": "vipps", "idempotency_key": "k"},
    )

    assert 'id="method-vipps"' not in html
    assert refused.status_code == 200
    assert not Order.objects.exists()


def test_paying_with_vipps_sends_the_browser_to_the_approval_page_with_the_number_prefilled(
    signed_in: Client, customer: Any, line: Any, plan: Any
) -> None:
    order, response = renew_with_vipps(signed_in, line, plan)

    assert response["Location"] == f"http://testserver/sandbox-pay/vipps/{order.public_id}/"
    payment = SandboxVippsPayment.objects.get()
    assert payment.amount_ore == plan.price_ore
    assert payment.phone == customer.phone.lstrip("+")
    assert payment.user_flow == "WEB_REDIRECT"
    assert (order.method, order.provider) == (PaymentMethod.VIPPS, "sandbox_vipps")


def test_on_a_phone_vipps_opens_its_app_directly(signed_in: Client, line: Any, plan: Any) -> None:
    renew_with_vipps(signed_in, line, plan, HTTP_USER_AGENT=PHONE)

    assert SandboxVippsPayment.objects.get().user_flow == "NATIVE_REDIRECT"


def test_a_double_submit_makes_one_vipps_payment(signed_in: Client, line: Any, plan: Any) -> None:
    _, first = renew_with_vipps(signed_in, line, plan)
    _, second = renew_with_vipps(signed_in, line, plan)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == SandboxVippsPayment.objects.count() == 1


def test_approved_in_vipps_the_renewal_is_delivered_then_captured(signed_in: Client, line: Any, plan: Any) -> None:
    before = line.expires_at
    order, response = renew_with_vipps(signed_in, line, plan)

    back = signed_in.post(response["Location"], {"outcome": "approve"})
    result = signed_in.get(back["Location"], follow=True)

    order.refresh_from_db()
    line.refresh_from_db()
    assert 'data-status="paid"' in result.content.decode()
    assert (order.status, order.capture_status) == (OrderStatus.PAID, CaptureStatus.DUE)
    assert line.expires_at == plan.end_of_period_starting(before)
    assert Receipt.objects.filter(order=order).exists()

    order = order_capture(order=order)

    assert order.capture_status == CaptureStatus.CAPTURED
    assert SandboxVippsPayment.objects.get().captured_ore == plan.price_ore


@pytest.mark.parametrize(
    ("outcome", "reason"), [("reject", "vipps_aborted"), ("expire", "vipps_expired")], ids=["reject", "expire"]
)
def test_a_payment_not_approved_in_vipps_charges_nothing_and_says_why(
    signed_in: Client, customer: Any, line: Any, plan: Any, outcome: str, reason: str
) -> None:
    customer.language = "nb"
    customer.save(update_fields=["language"])
    before = line.expires_at
    order, response = renew_with_vipps(signed_in, line, plan)

    back = signed_in.post(response["Location"], {"outcome": outcome})
    html = signed_in.get(back["Location"], follow=True).content.decode()

    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.decline_reason) == (OrderStatus.ABANDONED, reason)
    assert line.expires_at == before
    with translation.override("nb"):
        assert decline_message(reason) in html.replace("&#x27;", "'")


def test_a_capture_that_fails_is_tried_again_by_the_sweep_until_it_succeeds(
    signed_in: Client, line: Any, plan: Any, settings: Any
) -> None:
    settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS = 0
    order, response = renew_with_vipps(signed_in, line, plan)
    back = signed_in.post(response["Location"], {"outcome": "approve_capture_fails"})
    signed_in.get(back["Location"])

    reservations_finish()  # the first failure
    order.refresh_from_db()
    assert order.capture_status == CaptureStatus.DUE
    reservations_finish()  # the second
    counts = reservations_finish()

    order.refresh_from_db()
    assert counts["captured"] == 1
    assert order.capture_status == CaptureStatus.CAPTURED
    assert SandboxVippsPayment.objects.get().captured_ore == plan.price_ore


def test_a_reservation_for_an_order_given_up_is_released(
    signed_in: Client, client: Client, line: Any, plan: Any, settings: Any
) -> None:
    settings.PAYMENT_STATUS_CHECK_AFTER_SECONDS = 0
    order, response = renew_with_vipps(signed_in, line, plan)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED, decline_reason="timeout")
    signed_in.post(response["Location"], {"outcome": "approve"})

    payment = SandboxVippsPayment.objects.get()
    body, headers = vipps_webhook(payment, payment.events[-1])
    extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
    response = client.post(CALLBACK, body, content_type="application/json", HTTP_HOST="testserver", **extra)
    assert response.status_code == 200
    event = PaymentEvent.objects.get(order=order)
    assert event.result == EventResult.REFUND_DUE
    reservations_finish()  # the sweep releases what the worker did not

    event.refresh_from_db()
    assert event.result == EventResult.REFUNDED
    assert event.refund_id.startswith("cancel:")
    assert SandboxVippsPayment.objects.get().cancelled_ore == plan.price_ore


def test_a_top_up_with_vipps_credits_the_balance_and_is_captured(signed_in: Client, line: Any) -> None:
    balance = ledger_balance(line=line)
    form = {"amount": "200", "full_name": "Kari Nordmann", "method": "vipps", "idempotency_key": "top-up-1"}

    response = signed_in.post(f"/lines/{line.pk}/top-up/", form)
    back = signed_in.post(response["Location"], {"outcome": "approve"})
    signed_in.get(back["Location"])
    order = order_capture(order=Order.objects.get())

    assert order.kind == "topup" and order.status == OrderStatus.PAID
    assert order.capture_status == CaptureStatus.CAPTURED
    assert ledger_balance(line=line) == balance + 200_00
    assert line.ledger_entries.filter(kind=LedgerKind.TOPUP).exists()


def test_the_checkout_remembers_vipps_as_the_customers_choice(signed_in: Client, line: Any, plan: Any) -> None:
    renew_with_vipps(signed_in, line, plan)

    html = signed_in.get(f"/lines/{line.pk}/renew/{plan.code}/").content.decode()

    assert 'id="method-vipps" value="vipps" checked' in html


def test_another_customer_gets_a_404_for_a_vipps_order(
    signed_in: Client, stranger_client: Client, line: Any, plan: Any
) -> None:
    order, _ = renew_with_vipps(signed_in, line, plan)

    assert stranger_client.get(f"/orders/{order.public_id}/").status_code == 404
    assert stranger_client.get(f"/orders/{order.public_id}/return/").status_code == 404


def test_a_top_up_of_another_customers_line_is_a_404(stranger_client: Client) -> None:
    line = LineFactory()
    form = {"amount": "200", "full_name": "X", "method": "vipps", "idempotency_key": "k"}

    assert stranger_client.post(f"/lines/{line.pk}/top-up/", form).status_code == 404


def test_a_replacement_fee_paid_with_vipps_is_captured_at_once(signed_in: Client, customer: Any, line: Any) -> None:
    """The eSIM itself follows from a worker, so the fee is captured as soon
    as the replacement request takes it."""
    replacement = replacement_request(line=line, by=customer, reason="new_phone", idempotency_key="fee")
    ReplacementRequest.objects.filter(pk=replacement.pk).update(status=ReplacementStatus.PAYMENT_DUE, fee_ore=99_00)
    page = signed_in.get(f"/replacements/{replacement.public_id}/").content.decode()
    assert 'id="method-vipps"' in page
    form = {"full_name": "Kari Nordmann", "method": "vipps", "idempotency_key": "fee-order"}

    response = signed_in.post(f"/replacements/{replacement.public_id}/pay/", form)
    back = signed_in.post(response["Location"], {"outcome": "approve"})
    signed_in.get(back["Location"])

    order = Order.objects.get()
    replacement.refresh_from_db()
    assert (order.kind, order.method, order.status) == ("replacement", PaymentMethod.VIPPS, OrderStatus.PAID)
    assert replacement.status != ReplacementStatus.PAYMENT_DUE
    assert order_capture(order=order).capture_status == CaptureStatus.CAPTURED


def test_a_reservation_released_after_delivery_stops_the_captures_and_tells_support(
    signed_in: Client, line: Any, plan: Any
) -> None:
    order, response = renew_with_vipps(signed_in, line, plan)
    back = signed_in.post(response["Location"], {"outcome": "approve"})
    signed_in.get(back["Location"])
    order.refresh_from_db()
    assert order.capture_status == CaptureStatus.DUE

    payment_update_apply(
        provider=order.provider,
        update=PaymentUpdate(
            event_id="released-after-delivery",
            payment_id=order.provider_payment_id,
            reference=str(order.public_id),
            state=PaymentState.CANCELLED,
        ),
    )

    order.refresh_from_db()
    assert (order.status, order.capture_status) == (OrderStatus.PAID, CaptureStatus.LOST)
    assert order_capture(order=order).capture_status == CaptureStatus.LOST
    assert AuditEvent.objects.filter(line=line, action="payment_capture_lost").exists()
