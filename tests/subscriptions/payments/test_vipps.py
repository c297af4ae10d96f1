"""The Vipps MobilePay ePayment adapter, tested at the HTTP boundary: a local
server plays Vipps's token and ePayment APIs (tests/fakes/vipps.py), and
webhooks are signed here the way Vipps documents it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from subscriptions.models import CaptureStatus, OrderStatus, PaymentEvent, PaymentMethod, PaymentState, ServicePeriod
from subscriptions.payments import InvalidCallback, PaymentInProgress, PaymentProviderError
from subscriptions.payments.vipps import STATES, VippsProvider, vipps_message
from subscriptions.services.checkout import Billing, order_place, renewal_request
from tests.factories import LineFactory
from tests.fakes.vipps import MSN, TOKEN, WEBHOOK_SECRET, FakeVipps, webhook

ORDER = "7b0c5a7e-3f2d-4c1e-9a51-2f8d6e4b1c90"
CALLBACK = "/payments/callback/vipps/"
EXPIRES_AT = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def create(provider: VippsProvider, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "reference": ORDER,
        "amount_ore": 199_00,
        "description": "Month 30 GB for 912 34 567",
        "idempotency_key": f"order-{ORDER}",
        "return_url": f"https://portal.example.no/orders/{ORDER}/return/",
        "cancel_url": f"https://portal.example.no/orders/{ORDER}/return/?cancelled=1",
        "notify_url": "https://portal.example.no/payments/callback/vipps/",
        "language": "nb",
        "expires_at": EXPIRES_AT,
        "customer_phone": "+4791234567",
    }
    return provider.create_payment(**(arguments | changes))


def test_it_creates_a_wallet_payment_in_ore_with_our_order_as_reference(vipps_api: FakeVipps) -> None:
    created = create(VippsProvider())

    assert created.payment_id == ORDER
    assert created.redirect_url.startswith("https://pay.vipps.test/")
    request = vipps_api.requests[-1]
    assert (request.method, request.path) == ("POST", "/epayment/v1/payments")
    assert request.json["amount"] == {"currency": "NOK", "value": 199_00}
    assert request.json["paymentMethod"] == {"type": "WALLET"}
    assert request.json["userFlow"] == "WEB_REDIRECT"
    assert request.json["customer"] == {"phoneNumber": "4791234567"}
    assert request.json["reference"] == ORDER
    assert request.headers["Idempotency-Key"] == f"order-{ORDER}"
    assert request.headers["Merchant-Serial-Number"] == MSN
    assert request.headers["Vipps-System-Name"] and request.headers["Vipps-System-Plugin-Name"]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_it_opens_the_app_directly_on_a_phone(vipps_api: FakeVipps) -> None:
    create(VippsProvider(), on_phone=True)

    assert vipps_api.requests[-1].json["userFlow"] == "NATIVE_REDIRECT"


def test_it_fetches_the_token_once_and_keeps_it_until_it_expires(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    provider.fetch_status(payment_id=ORDER)
    provider.fetch_status(payment_id=ORDER)

    assert vipps_api.calls().count(("POST", "/accesstoken/get")) == 1


def test_it_fetches_a_new_token_when_the_old_one_is_about_to_expire(vipps_api: FakeVipps) -> None:
    vipps_api.token_lifetime = 30  # shorter than the margin: never kept
    provider = VippsProvider()
    create(provider)
    provider.fetch_status(payment_id=ORDER)

    assert vipps_api.calls().count(("POST", "/accesstoken/get")) == 2


def test_a_second_create_with_the_same_key_gets_the_same_payment(vipps_api: FakeVipps) -> None:
    first = create(VippsProvider())
    second = create(VippsProvider())

    assert first == second
    assert len(vipps_api.payments) == 1


def test_a_create_still_in_progress_is_reported_as_such(vipps_api: FakeVipps) -> None:
    vipps_api.fail("payments", 409)

    with pytest.raises(PaymentInProgress):
        create(VippsProvider())


def test_an_unreachable_vipps_is_a_provider_error(vipps_api: FakeVipps, settings: Any) -> None:
    settings.VIPPS_BASE_URL = "http://127.0.0.1:9"

    with pytest.raises(PaymentProviderError):
        create(VippsProvider())


@pytest.mark.parametrize(
    ("vipps_state", "ours"),
    [
        ("CREATED", PaymentState.PENDING),
        ("AUTHORIZED", PaymentState.AUTHORIZED),
        ("ABORTED", PaymentState.CANCELLED),
        ("EXPIRED", PaymentState.CANCELLED),
        ("TERMINATED", PaymentState.CANCELLED),
    ],
)
def test_every_vipps_state_has_a_meaning_for_the_order(vipps_api: FakeVipps, vipps_state: str, ours: str) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.payments[ORDER].state = vipps_state

    update = provider.fetch_status(payment_id=ORDER)

    assert update.state == ours
    assert update.amount_ore == 199_00
    assert vipps_message(vipps_state)
    assert vipps_state in STATES


def test_capture_takes_the_reserved_amount_once(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)

    first = provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key=f"capture-{ORDER}")
    again = provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key=f"capture-{ORDER}")

    assert first.state == again.state == PaymentState.PAID
    assert vipps_api.payments[ORDER].captured == 199_00
    assert vipps_api.requests[-1].headers["Idempotency-Key"] == f"capture-{ORDER}"


def test_a_failed_capture_is_a_provider_error_and_a_retry_captures(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)
    vipps_api.fail("capture", 503)

    with pytest.raises(PaymentProviderError):
        provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key=f"capture-{ORDER}")
    update = provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key=f"capture-{ORDER}")

    assert update.state == PaymentState.PAID


def test_cancel_terminates_a_payment_not_yet_approved(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)

    update = provider.cancel_payment(payment_id=ORDER)

    assert update.state == PaymentState.CANCELLED
    assert vipps_api.payments[ORDER].state == "TERMINATED"


def test_cancel_releases_a_reservation(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)

    update = provider.cancel_payment(payment_id=ORDER)

    assert update.state == PaymentState.CANCELLED
    assert vipps_api.payments[ORDER].cancelled == 199_00


def test_cancel_of_a_captured_payment_says_it_is_paid(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)
    provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key="c")

    assert provider.cancel_payment(payment_id=ORDER).state == PaymentState.PAID


def test_refund_gives_back_a_captured_amount_once(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)
    provider.capture_payment(payment_id=ORDER, amount_ore=199_00, idempotency_key="c")

    first = provider.refund(payment_id=ORDER, amount_ore=199_00, idempotency_key="refund-1")
    again = provider.refund(payment_id=ORDER, amount_ore=199_00, idempotency_key="refund-1")

    assert first == again and first.startswith("refund:")
    assert vipps_api.payments[ORDER].refunded == 199_00


def test_refund_of_a_reservation_releases_it(vipps_api: FakeVipps) -> None:
    provider = VippsProvider()
    create(provider)
    vipps_api.approve(ORDER)

    refund_id = provider.refund(payment_id=ORDER, amount_ore=199_00, idempotency_key="refund-1")

    assert refund_id.startswith("cancel:")
    assert vipps_api.payments[ORDER].cancelled == 199_00


# --- webhooks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("CREATED", PaymentState.PENDING),
        ("AUTHORIZED", PaymentState.AUTHORIZED),
        ("ABORTED", PaymentState.CANCELLED),
        ("EXPIRED", PaymentState.CANCELLED),
        ("TERMINATED", PaymentState.CANCELLED),
        ("CAPTURED", PaymentState.PAID),
        ("CANCELLED", PaymentState.CANCELLED),
        ("REFUNDED", PaymentState.REFUNDED),
    ],
)
def test_a_signed_webhook_is_read_for_every_event(vipps_api: FakeVipps, name: str, state: str) -> None:
    body, headers = webhook(reference=ORDER, name=name, amount=199_00, path=CALLBACK)

    update = VippsProvider().verify_callback(body=body, headers=headers)

    assert update is not None and update.state == state
    assert update.payment_id == update.reference == ORDER
    assert update.amount_ore == 199_00
    assert vipps_message(name)


def test_a_webhook_with_a_wrong_signature_is_refused(vipps_api: FakeVipps) -> None:
    body, headers = webhook(reference=ORDER, name="AUTHORIZED", amount=199_00, path=CALLBACK, secret="not-ours")

    with pytest.raises(InvalidCallback):
        VippsProvider().verify_callback(body=body, headers=headers)


def test_a_site_without_a_vipps_webhook_secret_refuses_a_body_signed_with_the_empty_key(
    vipps_api: FakeVipps, settings: Any
) -> None:
    settings.VIPPS_WEBHOOK_SECRET = ""
    body, headers = webhook(reference=ORDER, name="CAPTURED", amount=199_00, path=CALLBACK, secret="")

    with pytest.raises(InvalidCallback, match="no Vipps webhook secret"):
        VippsProvider().verify_callback(body=body, headers=headers)


def test_a_webhook_whose_body_was_changed_is_refused(vipps_api: FakeVipps) -> None:
    body, headers = webhook(reference=ORDER, name="AUTHORIZED", amount=1_00, path=CALLBACK)

    with pytest.raises(InvalidCallback, match="content hash"):
        VippsProvider().verify_callback(body=body.replace(b"100", b"999"), headers=headers)


def test_a_webhook_signed_for_another_host_is_refused(vipps_api: FakeVipps) -> None:
    body, headers = webhook(reference=ORDER, name="AUTHORIZED", amount=199_00, path=CALLBACK)
    headers["Host"] = "evil.example"

    with pytest.raises(InvalidCallback):
        VippsProvider().verify_callback(body=body, headers=headers)


def test_an_old_webhook_is_refused(vipps_api: FakeVipps) -> None:
    old = formatdate(time.time() - 3600, usegmt=True)
    body, headers = webhook(reference=ORDER, name="AUTHORIZED", amount=199_00, path=CALLBACK, date=old)

    with pytest.raises(InvalidCallback, match="stale"):
        VippsProvider().verify_callback(body=body, headers=headers)


def test_a_webhook_for_another_merchant_or_a_failed_operation_is_ignored(vipps_api: FakeVipps) -> None:
    for changes in ({"msn": "999999"}, {"success": False}):
        body, headers = webhook(reference=ORDER, name="CAPTURED", amount=199_00, path=CALLBACK, **changes)
        assert VippsProvider().verify_callback(body=body, headers=headers) is None


@pytest.mark.parametrize("amount", [-1, 1.5, "199", 10**12])
def test_a_signed_webhook_with_a_bad_amount_is_refused(vipps_api: FakeVipps, amount: Any) -> None:
    body, headers = webhook(reference=ORDER, name="AUTHORIZED", amount=amount, path=CALLBACK)

    with pytest.raises(InvalidCallback):
        VippsProvider().verify_callback(body=body, headers=headers)


@pytest.mark.django_db
def test_a_replayed_webhook_is_recorded_once(vipps_api: FakeVipps, client: Client) -> None:
    body, headers = webhook(reference=ORDER, name="CAPTURED", amount=199_00, path=CALLBACK, host="testserver")
    extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}

    first = client.post(CALLBACK, body, content_type="application/json", **extra)
    again = client.post(CALLBACK, body, content_type="application/json", **extra)

    assert first.status_code == again.status_code == 200
    assert PaymentEvent.objects.filter(provider="vipps").count() == 1


@pytest.mark.django_db
def test_a_webhook_with_a_wrong_signature_gets_a_400(vipps_api: FakeVipps, client: Client) -> None:
    body, headers = webhook(
        reference=ORDER, name="CAPTURED", amount=199_00, path=CALLBACK, secret="x", host="testserver"
    )
    extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}

    response = client.post(CALLBACK, body, content_type="application/json", **extra)

    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


# --- the real adapter with our books ------------------------------------------------


@pytest.mark.django_db
def test_a_renewal_with_the_real_adapter_is_reserved_by_webhook_then_captured_once(
    vipps_api: FakeVipps, client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VIPPS_PAYMENT_PROVIDER = "vipps"
    line = LineFactory(with_period=True)
    plan = line.periods.get().plan
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.VIPPS)
    order = order_place(
        owner=line.owner, request=request, billing=Billing(name="Kari"), idempotency_key="k", site_url="https://x"
    )
    again = order_place(
        owner=line.owner, request=request, billing=Billing(name="Kari"), idempotency_key="k", site_url="https://x"
    )
    assert again.pk == order.pk and len(vipps_api.payments) == 1
    reference = str(order.public_id)
    vipps_api.approve(reference)
    body, headers = webhook(
        reference=reference, name="AUTHORIZED", amount=plan.price_ore, path=CALLBACK, host="testserver"
    )
    extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(CALLBACK, body, content_type="application/json", **extra)
    with django_capture_on_commit_callbacks(execute=True):
        replayed = client.post(CALLBACK, body, content_type="application/json", **extra)

    order.refresh_from_db()
    assert first.status_code == replayed.status_code == 200
    assert (order.status, order.capture_status) == (OrderStatus.PAID, CaptureStatus.CAPTURED)
    assert vipps_api.payments[reference].captured == plan.price_ore
    assert vipps_api.calls().count(("POST", f"/epayment/v1/payments/{reference}/capture")) == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert PaymentEvent.objects.filter(event_id__startswith="webhook:").count() == 1


def test_the_webhook_is_registered_for_every_epayment_event_and_its_secret_printed(vipps_api: FakeVipps) -> None:
    out = StringIO()

    call_command("vipps_register_webhook", "--site", "https://minside.nordlys.test", stdout=out)

    registration = vipps_api.webhooks[0]
    assert registration["url"] == "https://minside.nordlys.test/payments/callback/vipps/"
    assert "epayments.payment.authorized.v1" in registration["events"]
    assert len(registration["events"]) == 8
    assert f"VIPPS_WEBHOOK_SECRET={WEBHOOK_SECRET}" in out.getvalue()
