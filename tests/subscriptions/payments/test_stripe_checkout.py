"""The Stripe Checkout adapter, tested at the HTTP boundary with payloads
shaped like Stripe's: a local server plays Stripe's API, and webhooks are
signed here the way Stripe documents it."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from subscriptions.models import (
    AutoRenewal,
    CardSetup,
    EventResult,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Receipt,
    SavedCard,
    ServicePeriod,
    SetupStatus,
)
from subscriptions.payments import (
    CreatedPayment,
    InvalidCallback,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
    get_provider,
)
from subscriptions.payments.stripe_checkout import StripeCheckoutProvider
from subscriptions.services.checkout import Billing, order_charge_saved_card, renewal_request
from subscriptions.services.settlement import payment_update_apply
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.stripe import IN_FLIGHT, ORDER, SESSION_ID, FakeStripe, checkout_session

WEBHOOK_SECRET = "whsec_test_5f2b8c1d9e"
STRIPE_CALLBACK = "/payments/callback/stripe/"
EXPIRES_AT = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@pytest.fixture
def webhook_secret(settings: Any) -> str:
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS = 300
    return WEBHOOK_SECRET


def event(event_type: str, session: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "evt_1PqR7sT8uV9wX0yZaBcDeFgH",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "type": event_type,
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }


def signed(body: bytes, *, at: float | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The headers Stripe sends: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">."""
    timestamp = int(time.time() if at is None else at)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={digest}"}


def create(provider: StripeCheckoutProvider, **changes: Any) -> CreatedPayment:
    arguments: dict[str, Any] = {
        "reference": ORDER,
        "amount_ore": 199_00,
        "description": "Fornyelse av 912 34 567, 30 dager",
        "idempotency_key": f"order-{ORDER}",
        "return_url": f"https://portal.test/orders/{ORDER}/return/",
        "cancel_url": f"https://portal.test/orders/{ORDER}/return/?cancelled=1",
        "notify_url": "https://portal.test/payments/callback/stripe/",
        "language": "nb",
        "expires_at": EXPIRES_AT,
    }
    return provider.create_payment(**(arguments | changes))


# --- creating a payment -------------------------------------------------------------------


def test_it_is_the_provider_settings_call_stripe(stripe_api: FakeStripe) -> None:
    assert isinstance(get_provider("stripe"), StripeCheckoutProvider)
    assert get_provider("stripe").name == "stripe"


def test_it_creates_a_checkout_session_with_the_idempotency_key(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", "/v1/checkout/sessions", checkout_session())

    created = create(StripeCheckoutProvider())

    assert created == CreatedPayment(payment_id=SESSION_ID, redirect_url=checkout_session()["url"])
    [request] = stripe_api.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.headers["Idempotency-Key"] == f"order-{ORDER}"
    assert request.headers["Authorization"] == "Bearer sk_test_51Nordlys"
    assert request.form == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "nok",
        "line_items[0][price_data][unit_amount]": "19900",
        "line_items[0][price_data][product_data][name]": "Fornyelse av 912 34 567, 30 dager",
        "line_items[0][quantity]": "1",
        "success_url": f"https://portal.test/orders/{ORDER}/return/",
        "cancel_url": f"https://portal.test/orders/{ORDER}/return/?cancelled=1",
        "expires_at": str(int(EXPIRES_AT.timestamp())),
        "client_reference_id": ORDER,
        "metadata[order]": ORDER,
        "payment_intent_data[metadata][order]": ORDER,
        "locale": "nb",
    }


@pytest.mark.parametrize(("language", "locale"), [("nb", "nb"), ("zh-hans", "zh"), ("en", "en"), ("de", "en")])
def test_it_shows_checkout_in_the_customers_language(stripe_api: FakeStripe, language: str, locale: str) -> None:
    stripe_api.answer("POST", "/v1/checkout/sessions", checkout_session())

    create(StripeCheckoutProvider(), language=language)

    assert stripe_api.requests[0].form["locale"] == locale


def test_it_reports_an_api_error_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "POST",
        "/v1/checkout/sessions",
        {"error": {"type": "api_error", "message": "An unknown error occurred"}},
        status=500,
    )

    with pytest.raises(PaymentProviderError, match="unknown error") as raised:
        create(StripeCheckoutProvider())

    assert raised.value.__cause__ is not None
    assert len(stripe_api.requests) == 1  # asked once, no retries sleeping in the customer's request


def test_it_reports_a_refused_request_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "POST",
        "/v1/checkout/sessions",
        {"error": {"type": "invalid_request_error", "message": "Invalid currency: nok", "param": "currency"}},
        status=400,
    )

    with pytest.raises(PaymentProviderError, match="Invalid currency"):
        create(StripeCheckoutProvider())


def test_it_reports_an_unreachable_stripe_as_a_provider_error(settings: Any) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    settings.STRIPE_SECRET_KEY = "sk_test_51Nordlys"

    with pytest.raises(PaymentProviderError):
        create(StripeCheckoutProvider())


# --- webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "payment_status", "state", "reason"),
    [
        ("checkout.session.completed", "paid", PaymentState.PAID, ""),
        ("checkout.session.completed", "no_payment_required", PaymentState.PAID, ""),
        ("checkout.session.completed", "unpaid", PaymentState.PENDING, ""),
        ("checkout.session.async_payment_succeeded", "paid", PaymentState.PAID, ""),
        ("checkout.session.async_payment_failed", "unpaid", PaymentState.DECLINED, "card_declined"),
        ("checkout.session.expired", "unpaid", PaymentState.CANCELLED, ""),
    ],
)
def test_it_reads_what_each_checkout_event_says_about_the_payment(
    webhook_secret: str, event_type: str, payment_status: str, state: PaymentState, reason: str
) -> None:
    body = json.dumps(event(event_type, checkout_session(status="complete", payment_status=payment_status))).encode()

    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))

    assert update is not None
    assert (update.state, update.reason) == (state, reason)


def test_it_keeps_the_event_its_session_and_the_order_in_the_update(webhook_secret: str) -> None:
    payload = event("checkout.session.completed", checkout_session(status="complete", payment_status="paid"))
    body = json.dumps(payload).encode()

    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))

    assert update is not None
    assert update.event_id == "evt_1PqR7sT8uV9wX0yZaBcDeFgH"
    assert update.payment_id == SESSION_ID
    assert update.reference == ORDER
    assert update.amount_ore == 199_00
    assert update.payload == payload
    json.dumps(update.payload)  # storable as it came


def test_it_finds_the_order_in_the_metadata_without_a_client_reference(webhook_secret: str) -> None:
    session = checkout_session(status="complete", payment_status="paid", client_reference_id=None)
    body = json.dumps(event("checkout.session.completed", session)).encode()

    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))

    assert update is not None
    assert update.reference == ORDER


def test_it_ignores_a_session_that_is_not_an_order_of_ours(webhook_secret: str) -> None:
    session = checkout_session(status="complete", payment_status="paid", client_reference_id=None, metadata={})
    body = json.dumps(event("checkout.session.completed", session)).encode()

    assert StripeCheckoutProvider().verify_callback(body=body, headers=signed(body)) is None


def test_it_ignores_an_unrelated_event(webhook_secret: str) -> None:
    intent = {"id": "pi_3PqR7sT8uV9wX0yZ", "object": "payment_intent", "status": "succeeded", "amount": 199_00}
    body = json.dumps(event("payment_intent.succeeded", intent)).encode()

    assert StripeCheckoutProvider().verify_callback(body=body, headers=signed(body)) is None


def test_it_refuses_a_webhook_signed_with_another_secret(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="paid"))).encode()

    with pytest.raises(InvalidCallback, match="signature"):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body, secret="whsec_someone_else"))


def test_it_refuses_a_webhook_whose_body_was_changed(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="unpaid"))).encode()
    headers = signed(body)

    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body.replace(b'"unpaid"', b'"paid"'), headers=headers)


def test_it_refuses_a_webhook_without_a_signature(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="paid"))).encode()

    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body, headers={"Content-Type": "application/json"})


def test_it_refuses_a_stale_webhook(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="paid"))).encode()

    with pytest.raises(InvalidCallback, match="tolerance"):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body, at=time.time() - 301))


def test_it_refuses_a_webhook_signed_in_the_future(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="paid"))).encode()

    with pytest.raises(InvalidCallback, match="future"):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body, at=time.time() + 600))


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["t=1,v1=éé", f"t={int(time.time())},v1=签名", "t=1,v1=00,v1=é"])
def test_the_webhook_endpoint_refuses_a_signature_that_is_not_ascii(
    client: Client, webhook_secret: str, signature: str
) -> None:
    body = json.dumps(event("checkout.session.completed", checkout_session(payment_status="paid"))).encode()

    response = client.post(
        STRIPE_CALLBACK, data=body, content_type="application/json", headers={"Stripe-Signature": signature}
    )

    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize("body", [b"<html>not json</html>", b'["an", "array"]', b'{"id": "evt_1", "object": "event"}'])
def test_it_refuses_a_signed_body_that_is_not_an_event(webhook_secret: str, body: bytes) -> None:
    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))


# --- asking for a payment's status --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "payment_status", "state"),
    [
        ("open", "unpaid", PaymentState.PENDING),
        ("complete", "paid", PaymentState.PAID),
        ("complete", "unpaid", PaymentState.PENDING),
        ("expired", "unpaid", PaymentState.CANCELLED),
    ],
)
def test_it_asks_stripe_how_the_session_stands(
    stripe_api: FakeStripe, status: str, payment_status: str, state: PaymentState
) -> None:
    session = checkout_session(status=status, payment_status=payment_status)
    stripe_api.answer("GET", f"/v1/checkout/sessions/{SESSION_ID}", session)

    update = StripeCheckoutProvider().fetch_status(payment_id=SESSION_ID)

    assert update.state == state
    assert update.event_id == f"status:{SESSION_ID}:{state}"
    assert (update.payment_id, update.reference, update.amount_ore) == (SESSION_ID, ORDER, 199_00)
    assert [(r.method, r.path) for r in stripe_api.requests] == [("GET", f"/v1/checkout/sessions/{SESSION_ID}")]


def test_it_reports_an_unknown_session_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "GET",
        "/v1/checkout/sessions/cs_test_gone",
        {"error": {"type": "invalid_request_error", "message": "No such checkout.session: 'cs_test_gone'"}},
        status=404,
    )

    with pytest.raises(PaymentProviderError, match="No such"):
        StripeCheckoutProvider().fetch_status(payment_id="cs_test_gone")


# --- refunds ----------------------------------------------------------------------------------


def test_it_refunds_the_sessions_payment_intent_with_the_idempotency_key(stripe_api: FakeStripe) -> None:
    paid = checkout_session(status="complete", payment_status="paid")
    stripe_api.answer("GET", f"/v1/checkout/sessions/{SESSION_ID}", paid)
    stripe_api.answer(
        "POST",
        "/v1/refunds",
        {
            "id": "re_3PqR7sT8uV9wX0yZ1aBcDeFg",
            "object": "refund",
            "amount": 50_00,
            "currency": "nok",
            "payment_intent": "pi_3PqR7sT8uV9wX0yZ",
            "status": "succeeded",
        },
    )

    refund_id = StripeCheckoutProvider().refund(payment_id=SESSION_ID, amount_ore=50_00, idempotency_key="refund-42")

    assert refund_id == "re_3PqR7sT8uV9wX0yZ1aBcDeFg"
    lookup, refund = stripe_api.requests
    assert (lookup.method, lookup.path) == ("GET", f"/v1/checkout/sessions/{SESSION_ID}")
    assert (refund.method, refund.path) == ("POST", "/v1/refunds")
    assert refund.form == {"payment_intent": "pi_3PqR7sT8uV9wX0yZ", "amount": "5000"}
    assert refund.headers["Idempotency-Key"] == "refund-42"


def test_it_refuses_to_refund_a_session_that_took_no_payment(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", f"/v1/checkout/sessions/{SESSION_ID}", checkout_session(payment_intent=None))

    with pytest.raises(PaymentProviderError, match="no payment"):
        StripeCheckoutProvider().refund(payment_id=SESSION_ID, amount_ore=50_00, idempotency_key="refund-42")

    assert [r.path for r in stripe_api.requests] == [f"/v1/checkout/sessions/{SESSION_ID}"]


def test_it_reports_a_refused_refund_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", f"/v1/checkout/sessions/{SESSION_ID}", checkout_session(payment_status="paid"))
    stripe_api.answer(
        "POST",
        "/v1/refunds",
        {
            "error": {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_3PqR7sT8uV9wX0yZ has already been refunded.",
            }
        },
        status=400,
    )

    with pytest.raises(PaymentProviderError, match="already been refunded"):
        StripeCheckoutProvider().refund(payment_id=SESSION_ID, amount_ore=50_00, idempotency_key="refund-42")


# --- saving a card for auto-renew ---------------------------------------------------------------

SETUP = "3e8f1c2a-6b4d-4f0e-8a7c-5d9b2e1f0a63"
SETUP_SESSION_ID = "cs_test_c1S2e3T4u5P6v7W8"
SETUP_INTENT_ID = "seti_1PqR7sT8uV9wX0yZsEtUp"
CUSTOMER_ID = "cus_QpR7sT8uV9wX0y"
METHOD_ID = "pm_1PqR7sT8uV9wX0yZcArD"
INTENT_ID = "pi_3PqS8tU9vW0xY1zA"


def setup_session(**changes: Any) -> dict[str, Any]:
    session = {
        "id": SETUP_SESSION_ID,
        "object": "checkout.session",
        "url": f"https://checkout.stripe.com/c/pay/{SETUP_SESSION_ID}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        "mode": "setup",
        "status": "open",
        "payment_status": "no_payment_required",
        "amount_total": None,
        "currency": "nok",
        "client_reference_id": SETUP,
        "customer": CUSTOMER_ID,
        "metadata": {"card_setup": SETUP},
        "payment_intent": None,
        "setup_intent": SETUP_INTENT_ID,
        "livemode": False,
    }
    return session | changes


def card_method() -> dict[str, Any]:
    return {
        "id": METHOD_ID,
        "object": "payment_method",
        "type": "card",
        "customer": CUSTOMER_ID,
        "card": {
            "brand": "visa",
            "country": "NO",
            "exp_month": 8,
            "exp_year": 2031,
            "funding": "debit",
            "last4": "4242",
        },
        "livemode": False,
    }


def setup_intent(**changes: Any) -> dict[str, Any]:
    intent = {
        "id": SETUP_INTENT_ID,
        "object": "setup_intent",
        "status": "requires_payment_method",
        "usage": "off_session",
        "customer": CUSTOMER_ID,
        "payment_method": None,
        "metadata": {"card_setup": SETUP, "portal_customer": "user-17"},
        "livemode": False,
    }
    return intent | changes


def customer(**changes: Any) -> dict[str, Any]:
    found = {
        "id": CUSTOMER_ID,
        "object": "customer",
        "email": "kari@example.no",
        "metadata": {"portal_customer": "user-17"},
        "livemode": False,
    }
    return found | changes


def search_result(*customers: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "search_result",
        "url": "/v1/customers/search",
        "has_more": False,
        "next_page": None,
        "data": list(customers),
    }


def create_setup(provider: StripeCheckoutProvider, **changes: Any) -> CreatedPayment:
    arguments: dict[str, Any] = {
        "reference": SETUP,
        "customer_reference": "user-17",
        "customer_email": "kari@example.no",
        "idempotency_key": f"setup-{SETUP}",
        "return_url": f"https://portal.test/auto-renew/{SETUP}/return/",
        "language": "nb",
    }
    return provider.create_card_setup(**(arguments | changes))


def test_it_saves_a_card_on_a_new_customer_with_the_idempotency_keys(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", "/v1/customers/search", search_result())
    stripe_api.answer("POST", "/v1/customers", customer())
    stripe_api.answer("POST", "/v1/checkout/sessions", setup_session())

    created = create_setup(StripeCheckoutProvider())

    assert created == CreatedPayment(payment_id=SETUP_SESSION_ID, redirect_url=setup_session()["url"])
    search, made, session = stripe_api.requests
    assert (search.method, search.path) == ("GET", "/v1/customers/search")
    assert search.query == {"query": "metadata['portal_customer']:'user-17'", "limit": "1"}
    assert (made.method, made.path) == ("POST", "/v1/customers")
    assert made.form == {"email": "kari@example.no", "metadata[portal_customer]": "user-17"}
    assert made.headers["Idempotency-Key"] == f"setup-{SETUP}-customer"
    assert (session.method, session.path) == ("POST", "/v1/checkout/sessions")
    assert session.headers["Idempotency-Key"] == f"setup-{SETUP}"
    assert session.form == {
        "mode": "setup",
        "currency": "nok",
        "allowed_payment_method_types[0]": "card",
        "customer": CUSTOMER_ID,
        "success_url": f"https://portal.test/auto-renew/{SETUP}/return/",
        "cancel_url": f"https://portal.test/auto-renew/{SETUP}/return/",
        "client_reference_id": SETUP,
        "metadata[card_setup]": SETUP,
        "setup_intent_data[metadata][card_setup]": SETUP,
        "setup_intent_data[metadata][portal_customer]": "user-17",
        "locale": "nb",
    }


def test_it_saves_a_card_on_the_customer_stripe_already_has(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", "/v1/customers/search", search_result(customer(id="cus_Earlier1")))
    stripe_api.answer("POST", "/v1/checkout/sessions", setup_session(customer="cus_Earlier1"))

    create_setup(StripeCheckoutProvider(), language="zh-hans")

    assert [(r.method, r.path) for r in stripe_api.requests] == [
        ("GET", "/v1/customers/search"),
        ("POST", "/v1/checkout/sessions"),
    ]
    assert stripe_api.requests[1].form["customer"] == "cus_Earlier1"
    assert stripe_api.requests[1].form["locale"] == "zh"


def test_it_makes_a_customer_without_an_email_for_a_customer_who_has_none(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", "/v1/customers/search", search_result())
    stripe_api.answer("POST", "/v1/customers", customer(email=None))
    stripe_api.answer("POST", "/v1/checkout/sessions", setup_session())

    create_setup(StripeCheckoutProvider(), customer_email="")

    assert stripe_api.requests[1].form == {"metadata[portal_customer]": "user-17"}


def test_it_reports_a_refused_card_setup_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", "/v1/customers/search", search_result(customer()))
    stripe_api.answer(
        "POST",
        "/v1/checkout/sessions",
        {"error": {"type": "invalid_request_error", "message": "Invalid currency: nok", "param": "currency"}},
        status=400,
    )

    with pytest.raises(PaymentProviderError, match="Invalid currency"):
        create_setup(StripeCheckoutProvider())


def test_it_reports_a_failed_customer_search_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "GET",
        "/v1/customers/search",
        {"error": {"type": "api_error", "message": "An unknown error occurred"}},
        status=500,
    )

    with pytest.raises(PaymentProviderError, match="unknown error"):
        create_setup(StripeCheckoutProvider())

    assert len(stripe_api.requests) == 1  # no customer made, no session


def test_it_reads_the_saved_card_once_the_setup_succeeded(stripe_api: FakeStripe) -> None:
    saved = setup_intent(status="succeeded", payment_method=card_method())
    stripe_api.answer(
        "GET", f"/v1/checkout/sessions/{SETUP_SESSION_ID}", setup_session(status="complete", setup_intent=saved)
    )

    result = StripeCheckoutProvider().fetch_card_setup(setup_id=SETUP_SESSION_ID)

    assert result == SetupResult(
        state=PaymentState.PAID,
        method=SavedMethod(
            method_id=METHOD_ID, customer_id=CUSTOMER_ID, brand="visa", last4="4242", exp_month=8, exp_year=2031
        ),
    )
    [request] = stripe_api.requests
    assert (request.method, request.path) == ("GET", f"/v1/checkout/sessions/{SETUP_SESSION_ID}")
    assert request.query == {"expand[0]": "setup_intent", "expand[1]": "setup_intent.payment_method"}


@pytest.mark.parametrize(
    ("status", "intent_status", "state"),
    [
        ("open", "requires_payment_method", PaymentState.PENDING),
        ("complete", "processing", PaymentState.PENDING),
        ("expired", "requires_payment_method", PaymentState.CANCELLED),
        ("complete", "canceled", PaymentState.CANCELLED),
    ],
)
def test_it_has_no_card_until_the_setup_succeeded(
    stripe_api: FakeStripe, status: str, intent_status: str, state: PaymentState
) -> None:
    session = setup_session(status=status, setup_intent=setup_intent(status=intent_status))
    stripe_api.answer("GET", f"/v1/checkout/sessions/{SETUP_SESSION_ID}", session)

    assert StripeCheckoutProvider().fetch_card_setup(setup_id=SETUP_SESSION_ID) == SetupResult(state=state)


def test_it_reports_an_unknown_setup_session_as_a_provider_error(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "GET",
        "/v1/checkout/sessions/cs_test_gone",
        {"error": {"type": "invalid_request_error", "message": "No such checkout.session: 'cs_test_gone'"}},
        status=404,
    )

    with pytest.raises(PaymentProviderError, match="No such"):
        StripeCheckoutProvider().fetch_card_setup(setup_id="cs_test_gone")


# --- charging a saved card ----------------------------------------------------------------------

SAVED = SavedMethod(method_id=METHOD_ID, customer_id=CUSTOMER_ID)


def payment_intent(**changes: Any) -> dict[str, Any]:
    intent = {
        "id": INTENT_ID,
        "object": "payment_intent",
        "amount": 199_00,
        "amount_received": 199_00,
        "currency": "nok",
        "status": "succeeded",
        "customer": CUSTOMER_ID,
        "payment_method": METHOD_ID,
        "description": "Fjord 30 dager for 912 34 567",
        "metadata": {"order": ORDER, "charge": "saved_card"},
        "last_payment_error": None,
        "livemode": False,
    }
    return intent | changes


def card_error(code: str, decline_code: str | None, message: str) -> dict[str, Any]:
    """Stripe's 402 answer to an off-session charge that did not go through:
    the error, with the PaymentIntent it left waiting for another card."""
    error: dict[str, Any] = {
        "type": "card_error",
        "code": code,
        "message": message,
        "charge": "ch_3PqS8tU9vW0xY1zA0bCdEfGh",
        "doc_url": f"https://docs.stripe.com/error-codes/{code}",
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_test_1",
    }
    if decline_code:
        error["decline_code"] = decline_code
    intent = payment_intent(status="requires_payment_method", amount_received=0, last_payment_error=dict(error))
    return {"error": error | {"payment_intent": intent, "payment_method": card_method()}}


def charge(provider: StripeCheckoutProvider, **changes: Any) -> PaymentUpdate:
    arguments: dict[str, Any] = {
        "method": SAVED,
        "reference": ORDER,
        "amount_ore": 199_00,
        "description": "Fjord 30 dager for 912 34 567",
        "idempotency_key": f"order-{ORDER}",
    }
    return provider.charge_saved_card(**(arguments | changes))


def test_it_charges_the_saved_card_off_session_with_the_idempotency_key(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", payment_intent())

    update = charge(StripeCheckoutProvider())

    assert update == PaymentUpdate(
        event_id=f"charge:{INTENT_ID}:{PaymentState.PAID}",
        payment_id=INTENT_ID,
        reference=ORDER,
        state=PaymentState.PAID,
        amount_ore=199_00,
    )
    [request] = stripe_api.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.headers["Idempotency-Key"] == f"order-{ORDER}"
    assert request.form == {
        "amount": "19900",
        "currency": "nok",
        "customer": CUSTOMER_ID,
        "payment_method": METHOD_ID,
        "off_session": "true",
        "confirm": "true",
        "description": "Fjord 30 dager for 912 34 567",
        "metadata[order]": ORDER,
        "metadata[charge]": "saved_card",
    }


def test_it_asks_again_with_the_same_key_and_gets_the_same_charge(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", payment_intent())
    provider = StripeCheckoutProvider()

    first, again = charge(provider), charge(provider)

    assert first == again  # one event id: our books record it once
    assert [r.headers["Idempotency-Key"] for r in stripe_api.requests] == [f"order-{ORDER}"] * 2


@pytest.mark.parametrize(
    ("code", "decline_code", "message", "reason"),
    [
        ("card_declined", "insufficient_funds", "Your card has insufficient funds.", "insufficient_funds"),
        ("card_declined", "generic_decline", "Your card was declined.", "generic_decline"),
        (
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
            "authentication_required",
        ),
        ("expired_card", None, "Your card has expired.", "expired_card"),
    ],
)
def test_it_reads_a_card_error_as_a_decline_with_its_code(
    stripe_api: FakeStripe, code: str, decline_code: str | None, message: str, reason: str
) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", card_error(code, decline_code, message), status=402)

    update = charge(StripeCheckoutProvider())

    assert (update.state, update.reason) == (PaymentState.DECLINED, reason)


def test_it_keeps_the_payment_intent_a_declined_charge_left(stripe_api: FakeStripe) -> None:
    answer = card_error("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    stripe_api.answer("POST", "/v1/payment_intents", answer, status=402)

    update = charge(StripeCheckoutProvider())

    assert update.event_id == f"charge:{INTENT_ID}:{PaymentState.DECLINED}"
    assert (update.payment_id, update.reference, update.amount_ore) == (INTENT_ID, ORDER, 199_00)
    assert update.payload == answer
    assert len(stripe_api.requests) == 1


def test_it_declines_a_card_stripe_no_longer_has(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "POST",
        "/v1/payment_intents",
        {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "payment_method",
                "message": f"No such PaymentMethod: '{METHOD_ID}'",
            }
        },
        status=400,
    )

    update = charge(StripeCheckoutProvider())

    assert (update.state, update.reason, update.payment_id) == (PaymentState.DECLINED, "resource_missing", "")
    assert update.event_id == f"charge:order-{ORDER}:{PaymentState.DECLINED}"


@pytest.mark.parametrize("status", ["processing", "requires_action"])
def test_it_leaves_a_charge_stripe_has_not_decided_pending(stripe_api: FakeStripe, status: str) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", payment_intent(status=status, amount_received=0))

    update = charge(StripeCheckoutProvider())

    assert (update.state, update.payment_id) == (PaymentState.PENDING, INTENT_ID)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}),
        (
            400,
            {
                "error": {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                }
            },
        ),
        (400, {"error": {"type": "invalid_request_error", "message": "Invalid currency: nok", "param": "currency"}}),
    ],
)
def test_it_reports_a_charge_stripe_did_not_make_as_a_provider_error(
    stripe_api: FakeStripe, status: int, body: dict[str, Any]
) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", body, status=status)

    with pytest.raises(PaymentProviderError, match=body["error"]["message"][:20]):
        charge(StripeCheckoutProvider())

    assert len(stripe_api.requests) == 1


def test_it_asks_stripe_how_a_saved_card_charge_stands(stripe_api: FakeStripe) -> None:
    stripe_api.answer("GET", f"/v1/payment_intents/{INTENT_ID}", payment_intent(status="processing"))

    update = StripeCheckoutProvider().fetch_status(payment_id=INTENT_ID)

    assert update.event_id == f"status:{INTENT_ID}:{PaymentState.PENDING}"
    assert (update.state, update.payment_id, update.reference) == (PaymentState.PENDING, INTENT_ID, ORDER)
    assert [(r.method, r.path) for r in stripe_api.requests] == [("GET", f"/v1/payment_intents/{INTENT_ID}")]


def test_it_refunds_a_saved_card_charge_on_its_payment_intent(stripe_api: FakeStripe) -> None:
    stripe_api.answer(
        "POST",
        "/v1/refunds",
        {"id": "re_3PqS8tU9vW0xY1zA", "object": "refund", "amount": 199_00, "payment_intent": INTENT_ID},
    )

    refund_id = StripeCheckoutProvider().refund(payment_id=INTENT_ID, amount_ore=199_00, idempotency_key="refund-7")

    assert refund_id == "re_3PqS8tU9vW0xY1zA"
    [refund] = stripe_api.requests  # no session to look up
    assert refund.form == {"payment_intent": INTENT_ID, "amount": "19900"}
    assert refund.headers["Idempotency-Key"] == "refund-7"


# --- webhooks about saved cards -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "intent", "state", "reason"),
    [
        ("payment_intent.succeeded", payment_intent(), PaymentState.PAID, ""),
        (
            "payment_intent.payment_failed",
            card_error("card_declined", "insufficient_funds", "Your card has insufficient funds.")["error"][
                "payment_intent"
            ],
            PaymentState.DECLINED,
            "insufficient_funds",
        ),
        ("payment_intent.canceled", payment_intent(status="canceled"), PaymentState.CANCELLED, ""),
    ],
)
def test_it_reads_what_each_event_says_about_a_saved_card_charge(
    webhook_secret: str, event_type: str, intent: dict[str, Any], state: PaymentState, reason: str
) -> None:
    payload = event(event_type, intent)
    body = json.dumps(payload).encode()

    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))

    assert update == PaymentUpdate(
        event_id="evt_1PqR7sT8uV9wX0yZaBcDeFgH",
        payment_id=INTENT_ID,
        reference=ORDER,
        state=state,
        amount_ore=199_00,
        reason=reason,
        payload=payload,
    )


def test_it_leaves_the_payment_intent_of_a_checkout_payment_to_its_session(webhook_secret: str) -> None:
    body = json.dumps(event("payment_intent.succeeded", payment_intent(metadata={"order": ORDER}))).encode()

    assert StripeCheckoutProvider().verify_callback(body=body, headers=signed(body)) is None


@pytest.mark.parametrize("event_type", ["checkout.session.completed", "checkout.session.expired"])
def test_it_reads_the_end_of_a_card_setup_as_a_setup_to_ask_about(webhook_secret: str, event_type: str) -> None:
    body = json.dumps(event(event_type, setup_session(status="complete"))).encode()

    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))

    assert update == SetupUpdate(event_id="evt_1PqR7sT8uV9wX0yZaBcDeFgH", setup_id=SETUP_SESSION_ID, reference=SETUP)


def test_it_ignores_a_card_setup_that_is_not_ours(webhook_secret: str) -> None:
    session = setup_session(status="complete", client_reference_id=None, metadata={})
    body = json.dumps(event("checkout.session.completed", session)).encode()

    assert StripeCheckoutProvider().verify_callback(body=body, headers=signed(body)) is None


# --- a card saved at Stripe, with or without the browser coming back -------------------------------


@pytest.fixture
def card_shop(shop: Shop) -> Shop:
    """The customer has asked to turn auto-renew on with a new card and is on
    Stripe's setup page."""
    shop.stripe.answer("GET", "/v1/customers/search", search_result(customer()))
    shop.stripe.answer("POST", "/v1/checkout/sessions", setup_session())
    sent = shop.client.post(f"/lines/{shop.line.pk}/auto-renew/", {"plan": shop.plan.pk, "card": ""})
    assert sent["Location"] == setup_session()["url"]
    saved = setup_intent(status="succeeded", payment_method=card_method())
    setup = CardSetup.objects.get()
    shop.stripe.answer(
        "GET",
        f"/v1/checkout/sessions/{SETUP_SESSION_ID}",
        setup_session(status="complete", setup_intent=saved, client_reference_id=str(setup.public_id)),
    )
    return shop


def setup_completed(setup: CardSetup) -> dict[str, Any]:
    reference = str(setup.public_id)
    return setup_session(status="complete", client_reference_id=reference, metadata={"card_setup": reference})


def test_a_card_saved_at_stripe_turns_auto_renew_on_from_the_webhook_alone(card_shop: Shop) -> None:
    setup = CardSetup.objects.get()

    response = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")

    setup.refresh_from_db()
    card_shop.line.refresh_from_db()
    assert response.status_code == 200
    assert setup.status == SetupStatus.SAVED
    assert card_shop.line.auto_renew
    card = SavedCard.objects.get()
    assert (card.method_id, card.provider_customer_id, card.last4) == (METHOD_ID, CUSTOMER_ID, "4242")
    assert AutoRenewal.objects.get(line=card_shop.line).card == card


def test_the_browser_back_after_the_setup_webhook_finds_it_done_and_asks_stripe_nothing(card_shop: Shop) -> None:
    setup = CardSetup.objects.get()
    card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")
    asked = len(card_shop.stripe.requests)

    page = card_shop.client.get(f"/lines/auto-renew/{setup.public_id}/return/", follow=True).content.decode()
    replay = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")

    assert "Your card is saved and auto-renew is on: " in page
    assert replay.status_code == 200
    assert len(card_shop.stripe.requests) == asked
    assert SavedCard.objects.count() == 1


def test_the_setup_webhook_after_the_browser_back_adds_nothing(card_shop: Shop) -> None:
    setup = CardSetup.objects.get()
    card_shop.client.get(f"/lines/auto-renew/{setup.public_id}/return/")

    response = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")

    setup.refresh_from_db()
    assert response.status_code == 200
    assert setup.status == SetupStatus.SAVED
    assert SavedCard.objects.count() == 1
    assert AutoRenewal.objects.count() == 1


def test_a_setup_webhook_for_a_line_cancelled_meanwhile_is_taken_and_leaves_auto_renew_off(card_shop: Shop) -> None:
    setup = CardSetup.objects.get()
    Line.objects.filter(pk=card_shop.line.pk).update(status=LineStatus.CANCELLED)

    response = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")

    card_shop.line.refresh_from_db()
    assert response.status_code == 200
    assert not card_shop.line.auto_renew
    assert not AutoRenewal.objects.exists()


# --- with the orders it pays ----------------------------------------------------------------------


@pytest.fixture
def saved_card_order(db: Any, settings: Any) -> Callable[[], Order]:
    """A renewal paid with a card saved at Stripe, charged the way auto-renew does it."""
    settings.PAYMENT_PROVIDER = "stripe"
    owner = UserFactory()
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    line = LineFactory(owner=owner, with_period=plan)
    card = SavedCard.objects.create(
        owner=owner,
        provider="stripe",
        method_id=METHOD_ID,
        provider_customer_id=CUSTOMER_ID,
        brand="visa",
        last4="4242",
    )

    def place() -> Order:
        return order_charge_saved_card(
            owner=owner,
            request=renewal_request(line=line, plan=plan, method=PaymentMethod.SAVED_CARD),
            billing=Billing(name="Kari Nordmann"),
            idempotency_key="auto-renew-1-1",
            card=card,
        )

    return place


def intent_for(order: Order, **changes: Any) -> dict[str, Any]:
    return payment_intent(metadata={"order": str(order.public_id), "charge": "saved_card"}, **changes)


def webhook(event_type: str, intent: dict[str, Any]) -> PaymentEvent:
    """The webhook as the callback view takes it: verified, then applied."""
    body = json.dumps(event(event_type, intent) | {"id": f"evt_{event_type}"}).encode()
    update = StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))
    assert update is not None
    return payment_update_apply(provider="stripe", update=update)


def test_a_saved_card_charge_pays_the_order_and_its_webhook_changes_nothing(
    stripe_api: FakeStripe, webhook_secret: str, saved_card_order: Callable[[], Order]
) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", payment_intent())

    order = saved_card_order()

    assert (order.status, order.provider, order.provider_payment_id) == (OrderStatus.PAID, "stripe", INTENT_ID)
    late = webhook("payment_intent.succeeded", intent_for(order))
    assert (late.order, late.result) == (order, EventResult.NO_CHANGE)
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()


def test_a_declined_saved_card_closes_the_order_with_the_decline_code(
    stripe_api: FakeStripe, webhook_secret: str, saved_card_order: Callable[[], Order]
) -> None:
    answer = card_error("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    stripe_api.answer("POST", "/v1/payment_intents", answer, status=402)

    order = saved_card_order()

    assert (order.status, order.decline_reason, order.provider_payment_id) == (
        OrderStatus.DECLINED,
        "insufficient_funds",
        INTENT_ID,
    )
    late = webhook("payment_intent.payment_failed", answer["error"]["payment_intent"])
    assert (late.order, late.result) == (order, EventResult.NO_CHANGE)


def test_a_saved_card_charge_stripe_is_still_processing_is_settled_by_its_webhook(
    stripe_api: FakeStripe, webhook_secret: str, saved_card_order: Callable[[], Order]
) -> None:
    stripe_api.answer("POST", "/v1/payment_intents", payment_intent(status="processing", amount_received=0))

    order = saved_card_order()
    assert (order.status, order.provider_payment_id) == (OrderStatus.PENDING, INTENT_ID)

    settled = webhook("payment_intent.succeeded", intent_for(order))

    order.refresh_from_db()
    assert (settled.result, order.status) == (EventResult.APPLIED, OrderStatus.PAID)


# --- at the portal's pages, with Stripe as the provider ----------------------------------------------


@dataclass
class Shop:
    client: Client
    line: Any
    plan: Any
    stripe: FakeStripe

    def checkout(self, key: str = "form-key-1") -> tuple[Order, Any]:
        """Send the renewal form, paying by card."""
        form = {"full_name": "Kari Nordmann", "method": "card", "idempotency_key": key}
        response = self.client.post(f"/lines/{self.line.pk}/renew/{self.plan.code}/", form)
        return Order.objects.get(idempotency_key=key), response

    def session(self, order: Order, **changes: Any) -> dict[str, Any]:
        """The order's Checkout Session as Stripe shows it."""
        reference = str(order.public_id)
        return checkout_session(client_reference_id=reference, metadata={"order": reference}, **changes)

    def stripe_says(self, order: Order, **changes: Any) -> None:
        self.stripe.answer("GET", f"/v1/checkout/sessions/{SESSION_ID}", self.session(order, **changes))

    def webhook(self, event_type: str, session: dict[str, Any], *, event_id: str = "evt_1") -> Any:
        body = json.dumps(event(event_type, session) | {"id": event_id}).encode()
        headers = signed(body)
        return self.client.post(
            STRIPE_CALLBACK,
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": headers["Stripe-Signature"]},
        )


@pytest.fixture
def shop(db: Any, settings: Any, client: Client, stripe_api: FakeStripe, webhook_secret: str) -> Shop:
    settings.PAYMENT_PROVIDER = "stripe"
    owner = UserFactory(full_name="Kari Nordmann")
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    line = LineFactory(owner=owner, with_period=plan)
    client.force_login(owner)
    stripe_api.answer("POST", "/v1/checkout/sessions", checkout_session())
    return Shop(client=client, line=line, plan=plan, stripe=stripe_api)


EXPIRE = f"/v1/checkout/sessions/{SESSION_ID}/expire"


def test_the_checkout_session_has_a_cancel_link_and_closes_when_the_order_would_be_abandoned(
    shop: Shop, settings: Any
) -> None:
    order, response = shop.checkout()

    assert response["Location"] == checkout_session()["url"]
    [created] = shop.stripe.requests
    back = f"http://testserver/orders/{order.public_id}/return/"
    assert (created.form["success_url"], created.form["cancel_url"]) == (back, back + "?cancelled=1")
    closes = order.created_at + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS)
    assert created.form["expires_at"] == str(int(closes.timestamp()))


def test_the_checkout_session_stays_open_at_least_the_30_minutes_stripe_asks_for(shop: Shop, settings: Any) -> None:
    settings.PAYMENT_ABANDON_AFTER_SECONDS = 60

    before = time.time()
    shop.checkout()

    expires_at = int(shop.stripe.requests[0].form["expires_at"])
    assert before + 30 * 60 < expires_at < time.time() + 24 * 3600


def test_a_customer_who_cancels_on_stripes_page_sees_the_order_closed_at_once(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe_says(order)
    shop.stripe.answer("POST", EXPIRE, shop.session(order, status="expired"))

    page = shop.client.get(f"/orders/{order.public_id}/return/?cancelled=1", follow=True)

    order.refresh_from_db()
    assert (order.status, order.decline_reason) == (OrderStatus.ABANDONED, "cancelled")
    assert 'data-status="abandoned"' in page.content.decode()
    assert ("POST", EXPIRE) in shop.stripe.calls()
    late = shop.webhook("checkout.session.expired", shop.session(order, status="expired"))
    assert late.status_code == 200
    assert PaymentEvent.objects.get(event_id="evt_1").result == EventResult.NO_CHANGE


def test_the_plain_return_leaves_an_open_session_alone(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe_says(order)

    page = shop.client.get(f"/orders/{order.public_id}/return/", follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert 'data-status="pending"' in page.content.decode()
    assert ("POST", EXPIRE) not in shop.stripe.calls()


def test_a_cancel_link_after_the_payment_went_through_shows_it_paid(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe_says(order, status="complete", payment_status="paid")

    page = shop.client.get(f"/orders/{order.public_id}/return/?cancelled=1", follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert 'data-status="paid"' in page.content.decode()
    assert ("POST", EXPIRE) not in shop.stripe.calls()
    assert Receipt.objects.filter(order=order).count() == 1


def test_a_session_paid_just_before_stripe_was_asked_to_expire_it_is_settled_as_paid(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe.answer_in_turn(
        "GET",
        f"/v1/checkout/sessions/{SESSION_ID}",
        (200, shop.session(order)),
        (200, shop.session(order, status="complete", payment_status="paid")),
    )
    not_open = {
        "error": {
            "type": "invalid_request_error",
            "message": 'Only Checkout Sessions with a status in ["open"] can be expired.',
        }
    }
    shop.stripe.answer("POST", EXPIRE, not_open, status=400)

    shop.client.get(f"/orders/{order.public_id}/return/?cancelled=1")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()


def test_a_payment_that_gets_through_after_the_cancel_is_kept_for_a_refund(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe_says(order)
    shop.stripe.answer("POST", EXPIRE, {"error": {"type": "api_error", "message": "Try again"}}, status=500)

    shop.client.get(f"/orders/{order.public_id}/return/?cancelled=1")
    order.refresh_from_db()
    assert order.status == OrderStatus.ABANDONED
    paid = shop.webhook("checkout.session.completed", shop.session(order, status="complete", payment_status="paid"))

    order.refresh_from_db()
    assert paid.status_code == 200
    assert order.status == OrderStatus.ABANDONED
    assert PaymentEvent.objects.get(event_id="evt_1").result == EventResult.REFUND_DUE
    assert not Receipt.objects.exists()
    page = shop.client.get(f"/orders/{order.public_id}/").content.decode()
    assert "It will be refunded to your card" in page


def test_a_second_submit_while_stripe_is_busy_with_the_first_goes_to_the_same_page(shop: Shop) -> None:
    shop.stripe.answer_in_turn("POST", "/v1/checkout/sessions", (409, IN_FLIGHT), (200, checkout_session()))

    order, response = shop.checkout()

    assert response.status_code == 302
    assert response["Location"] == order.provider_url == checkout_session()["url"]
    assert order.provider_payment_id == SESSION_ID
    first, again = shop.stripe.requests
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"] == f"order-{order.public_id}"
    assert first.form == again.form  # the same parameters, as Stripe requires for one key


def test_a_stripe_that_stays_busy_says_so_calmly_and_charges_nothing(shop: Shop) -> None:
    shop.stripe.answer("POST", "/v1/checkout/sessions", IN_FLIGHT, status=409)

    order, response = shop.checkout()

    assert response.status_code == 200
    assert "The payment service did not answer. Nothing was charged" in response.content.decode()
    assert (order.status, order.provider_url) == (OrderStatus.PENDING, "")


# --- a Stripe Checkout order from end to end ------------------------------------------------------


def test_a_stripe_checkout_is_paid_once_by_its_webhook_and_a_replay_changes_nothing(shop: Shop) -> None:
    before = shop.line.expires_at
    order, _ = shop.checkout()
    completed = shop.session(order, status="complete", payment_status="paid")

    first = shop.webhook("checkout.session.completed", completed, event_id="evt_completed")
    replay = shop.webhook("checkout.session.completed", completed, event_id="evt_completed")

    order.refresh_from_db()
    shop.line.refresh_from_db()
    assert (first.status_code, replay.status_code) == (200, 200)
    assert order.status == OrderStatus.PAID
    assert ServicePeriod.objects.filter(line=shop.line).count() == 2  # the factory's and the one bought
    assert order.period is not None and order.period.starts_at == before
    assert shop.line.expires_at == order.period.ends_at
    assert Receipt.objects.filter(order=order).count() == 1
    assert PaymentEvent.objects.get().result == EventResult.APPLIED
    page = shop.client.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()
    assert 'data-status="paid"' in page
    assert shop.stripe.calls() == [("POST", "/v1/checkout/sessions")]  # a paid order asks Stripe nothing more


def test_the_browser_back_from_stripe_before_the_webhook_shows_it_paid_and_the_webhook_adds_nothing(
    shop: Shop,
) -> None:
    order, _ = shop.checkout()
    completed = shop.session(order, status="complete", payment_status="paid")
    shop.stripe_says(order, status="complete", payment_status="paid")

    page = shop.client.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()
    late = shop.webhook("checkout.session.completed", completed, event_id="evt_completed")

    order.refresh_from_db()
    assert 'data-status="paid"' in page
    assert late.status_code == 200
    assert order.status == OrderStatus.PAID
    assert ServicePeriod.objects.filter(line=shop.line).count() == 2
    assert Receipt.objects.filter(order=order).count() == 1
    assert PaymentEvent.objects.get(event_id="evt_completed").result == EventResult.NO_CHANGE
    assert not PaymentEvent.objects.filter(result=EventResult.REFUND_DUE).exists()


def test_a_setup_webhook_stripe_cannot_confirm_when_asked_is_answered_so_it_comes_again(card_shop: Shop) -> None:
    setup = CardSetup.objects.get()
    confirmed = card_shop.stripe.answers["GET", f"/v1/checkout/sessions/{SETUP_SESSION_ID}"][0]
    card_shop.stripe.answer_in_turn(
        "GET",
        f"/v1/checkout/sessions/{SETUP_SESSION_ID}",
        (500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}),
        confirmed,
    )

    first = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")
    setup.refresh_from_db()
    assert (first.status_code, setup.status) == (503, SetupStatus.PENDING)
    again = card_shop.webhook("checkout.session.completed", setup_completed(setup), event_id="evt_setup")

    setup.refresh_from_db()
    assert (again.status_code, setup.status) == (200, SetupStatus.SAVED)


def test_another_customer_cannot_cancel_an_order_by_its_cancel_link(shop: Shop) -> None:
    order, _ = shop.checkout()
    stranger = Client()
    stranger.force_login(UserFactory())

    response = stranger.get(f"/orders/{order.public_id}/return/?cancelled=1")

    order.refresh_from_db()
    assert response.status_code == 404
    assert order.status == OrderStatus.PENDING
    assert shop.stripe.calls() == [("POST", "/v1/checkout/sessions")]


# --- webhooks and answers with absurd fields ------------------------------------------------------

# Each a change to the paid session of a genuine checkout.session.completed.
ABSURD_SESSIONS: dict[str, dict[str, Any]] = {
    "an amount too large for a float": {"amount_total": float("inf")},
    "an amount too large for the database": {"amount_total": 99999999999999999999999},
    "a negative amount": {"amount_total": -199_00},
    "an amount with a fraction": {"amount_total": 199.5},
    "an amount that is a boolean": {"amount_total": True},
    "an amount that is a string": {"amount_total": "19900"},
    "a session id with a NUL": {"id": f"{SESSION_ID}\x00"},
    "a session id of 300 characters": {"id": "cs_" + "x" * 300},
    "a session id that is a number": {"id": 12},
    "a reference that is an object": {"client_reference_id": {"order": ORDER}},
    "a NUL in a field we do not read": {"currency": "nok\x00"},
    "a lone surrogate in a field we do not read": {"currency": "\ud800"},
    "a number that is not a number in a field we do not read": {"livemode": float("nan")},
}


@pytest.mark.parametrize("changes", ABSURD_SESSIONS.values(), ids=ABSURD_SESSIONS.keys())
def test_a_signed_webhook_with_an_absurd_field_is_refused_and_credits_nothing(
    shop: Shop, changes: dict[str, Any]
) -> None:
    order, _ = shop.checkout()
    paid = shop.session(order, status="complete", payment_status="paid")

    refused = shop.webhook("checkout.session.completed", paid | changes, event_id="evt_absurd")
    taken = shop.webhook("checkout.session.completed", paid, event_id="evt_genuine")

    order.refresh_from_db()
    assert (refused.status_code, taken.status_code) == (400, 200)
    assert order.status == OrderStatus.PAID
    assert list(PaymentEvent.objects.values_list("event_id", flat=True)) == ["evt_genuine"]


@pytest.mark.parametrize("event_id", [12, "evt_\x00", "evt_" + "x" * 300])
def test_a_signed_webhook_whose_event_id_is_absurd_is_refused(shop: Shop, event_id: Any) -> None:
    order, _ = shop.checkout()

    response = shop.webhook(
        "checkout.session.completed", shop.session(order, status="complete", payment_status="paid"), event_id=event_id
    )

    order.refresh_from_db()
    assert response.status_code == 400
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()


def test_a_signed_webhook_nested_past_what_the_parser_goes_is_refused(webhook_secret: str) -> None:
    body = b'{"id": "evt_1", "type": "checkout.session.completed", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))


@pytest.mark.parametrize(
    "changes", [{"amount": 10**23}, {"id": "pi_\x00"}, {"last_payment_error": {"decline_code": ["x"]}}]
)
def test_a_signed_saved_card_webhook_with_an_absurd_field_is_refused(
    webhook_secret: str, changes: dict[str, Any]
) -> None:
    intent = payment_intent(status="requires_payment_method", metadata={"order": ORDER, "charge": "saved_card"})
    body = json.dumps(event("payment_intent.payment_failed", intent | changes)).encode()

    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))


def test_a_signed_setup_webhook_with_an_absurd_session_id_is_refused(webhook_secret: str) -> None:
    body = json.dumps(event("checkout.session.completed", setup_session(id=f"{SETUP_SESSION_ID}\x00"))).encode()

    with pytest.raises(InvalidCallback):
        StripeCheckoutProvider().verify_callback(body=body, headers=signed(body))


def test_the_return_page_takes_an_absurd_status_answer_as_no_answer(shop: Shop) -> None:
    order, _ = shop.checkout()
    shop.stripe_says(order, status="complete", payment_status="paid", amount_total=10**23)

    page = shop.client.get(f"/orders/{order.public_id}/return/", follow=True)

    order.refresh_from_db()
    assert page.status_code == 200
    assert 'data-status="pending"' in page.content.decode()
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize("card", [{"exp_month": 13}, {"exp_year": 10**23}, {"last4": "42\x0042"}, {"brand": 7}])
def test_it_reports_a_saved_card_it_cannot_keep_as_a_provider_error(stripe_api: FakeStripe, card: Any) -> None:
    method = card_method()
    method["card"] = method["card"] | card
    saved = setup_intent(status="succeeded", payment_method=method)
    stripe_api.answer(
        "GET", f"/v1/checkout/sessions/{SETUP_SESSION_ID}", setup_session(status="complete", setup_intent=saved)
    )

    with pytest.raises(PaymentProviderError, match="malformed"):
        StripeCheckoutProvider().fetch_card_setup(setup_id=SETUP_SESSION_ID)


# --- detaching a deleted account's saved card ----------------------------------------------

DETACH = f"/v1/payment_methods/{METHOD_ID}/detach"
NOT_ATTACHED = {
    "error": {
        "type": "invalid_request_error",
        "message": "The payment method you provided is not attached to a customer so detachment is impossible.",
    }
}


def saved_method() -> SavedMethod:
    return SavedMethod(method_id=METHOD_ID, customer_id=CUSTOMER_ID)


def test_it_detaches_a_saved_card_from_its_customer(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", DETACH, card_method() | {"customer": None})

    StripeCheckoutProvider().detach_saved_card(method=saved_method())

    assert stripe_api.calls() == [("POST", DETACH)]


def test_a_card_stripe_already_detached_counts_as_detached(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", DETACH, NOT_ATTACHED, status=400)
    stripe_api.answer("GET", f"/v1/payment_methods/{METHOD_ID}", card_method() | {"customer": None})

    StripeCheckoutProvider().detach_saved_card(method=saved_method())

    assert stripe_api.calls() == [("POST", DETACH), ("GET", f"/v1/payment_methods/{METHOD_ID}")]


def test_a_card_stripe_does_not_know_counts_as_detached(stripe_api: FakeStripe) -> None:
    missing = {
        "error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such PaymentMethod"}
    }
    stripe_api.answer("POST", DETACH, missing, status=404)
    stripe_api.answer("GET", f"/v1/payment_methods/{METHOD_ID}", missing, status=404)

    StripeCheckoutProvider().detach_saved_card(method=saved_method())


def test_a_refused_detach_of_a_card_still_attached_is_a_provider_error(stripe_api: FakeStripe) -> None:
    refused = {"error": {"type": "invalid_request_error", "message": "Something else is wrong"}}
    stripe_api.answer("POST", DETACH, refused, status=400)
    stripe_api.answer("GET", f"/v1/payment_methods/{METHOD_ID}", card_method())

    with pytest.raises(PaymentProviderError, match="did not detach"):
        StripeCheckoutProvider().detach_saved_card(method=saved_method())


def test_a_failed_detach_is_a_provider_error_the_task_retries(stripe_api: FakeStripe) -> None:
    stripe_api.answer("POST", DETACH, {"error": {"type": "api_error", "message": "An unknown error"}}, status=500)

    with pytest.raises(PaymentProviderError, match="did not detach"):
        StripeCheckoutProvider().detach_saved_card(method=saved_method())
