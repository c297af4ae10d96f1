"""Vipps MobilePay's ePayment API behind our payment-provider interface.

A payment is reserved first and captured when we deliver: the customer
approves it in the Vipps MobilePay app (AUTHORIZED, money reserved), the
portal fulfils the order and then captures the amount
(``subscriptions.services.capture``). An authorisation we cannot fulfil is
cancelled, which releases the reservation.

- Our order's public id is the payment's ``reference`` (Vipps's own id for
  it), so ``payment_id`` and ``reference`` are the same string here.
- Every request carries an access token (``POST /accesstoken/get``, cached
  until shortly before it expires), the subscription key, the merchant
  serial number and the system headers; every request that changes money an
  ``Idempotency-Key`` derived from our order, so a retry is harmless.
- Webhooks (registered once with the Webhooks API, which gives the secret,
  ``VIPPS_WEBHOOK_SECRET``) are signed with HMAC-SHA256 over
  ``POST\\n<path and query>\\n<x-ms-date>;<host>;<x-ms-content-sha256>``;
  the content hash is the base64 SHA-256 of the body.

What each of Vipps's payment states and events means for our order:

=========== ===================================================================
CREATED     the payment waits in the app: the order stays pending
AUTHORIZED  approved, money reserved: the order is fulfilled, then captured
ABORTED     the customer said no in the app: the order is closed, nothing paid
EXPIRED     nobody approved it in time: the order is closed, nothing paid
TERMINATED  we cancelled it before approval: the order is closed, nothing paid
CAPTURED    the money is ours: the capture of a fulfilled order is done
CANCELLED   a reservation released: an order still pending is closed
REFUNDED    money given back: recorded, the order is not changed
=========== ===================================================================
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from subscriptions.models import PaymentState
from subscriptions.payments.base import (
    AgreementUpdate,
    CreatedPayment,
    InvalidCallback,
    MalformedUpdate,
    PaymentInProgress,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
    checked_amount,
    checked_payload,
    checked_text,
)

REQUEST_TIMEOUT_SECONDS = 20
# A token is fetched again this long before Vipps says it expires.
TOKEN_MARGIN_SECONDS = 60
SYSTEM_NAME = "nordlys-portal"
SYSTEM_VERSION = "1.0"
PLUGIN_NAME = "nordlys-vipps"
PLUGIN_VERSION = "1.0"
CURRENCY = "NOK"
AUTHORIZATION_PREFIX = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
# Vipps's answer to a request whose idempotency key an unfinished one uses.
IN_FLIGHT_STATUS = 409
NO_CONTENT = 204

# (our state, decline reason) for each of Vipps's payment states.
STATES: dict[str, tuple[PaymentState, str]] = {
    "CREATED": (PaymentState.PENDING, ""),
    "AUTHORIZED": (PaymentState.AUTHORIZED, ""),
    "ABORTED": (PaymentState.CANCELLED, "vipps_aborted"),
    "EXPIRED": (PaymentState.CANCELLED, "vipps_expired"),
    "TERMINATED": (PaymentState.CANCELLED, "vipps_terminated"),
}
# ... and for each webhook event's name.
EVENTS: dict[str, tuple[PaymentState, str]] = {
    **STATES,
    "CAPTURED": (PaymentState.PAID, ""),
    "CANCELLED": (PaymentState.CANCELLED, "vipps_cancelled"),
    "REFUNDED": (PaymentState.REFUNDED, ""),
}


def vipps_message(name: str) -> str:
    """What a Vipps state or event means, for the customer."""
    messages = {
        "CREATED": _("Waiting for you to approve the payment in the Vipps MobilePay app."),
        "AUTHORIZED": _("You approved the payment in Vipps MobilePay. The amount is reserved until we deliver."),
        "ABORTED": _("You stopped the payment in Vipps MobilePay. Nothing was charged."),
        "EXPIRED": _("The payment was not approved in Vipps MobilePay in time. Nothing was charged."),
        "TERMINATED": _("The payment was stopped before you approved it. Nothing was charged."),
        "CAPTURED": _("The payment with Vipps MobilePay is complete."),
        "CANCELLED": _("The reserved amount was released in Vipps MobilePay. Nothing was charged."),
        "REFUNDED": _("The payment was refunded to you through Vipps MobilePay."),
    }
    return messages.get(name, _("The payment was not completed. Nothing was charged."))


# One token per process and API key, kept until shortly before it expires.
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def tokens_forget() -> None:
    """Forget the cached tokens (tests, or after a key change)."""
    with _tokens_lock:
        _tokens.clear()


class VippsProvider:
    name = "vipps"
    required_settings: tuple[str, ...] = (
        "VIPPS_CLIENT_ID",
        "VIPPS_CLIENT_SECRET",
        "VIPPS_SUBSCRIPTION_KEY",
        "VIPPS_MSN",
        "VIPPS_BASE_URL",
        "VIPPS_WEBHOOK_SECRET",
    )

    @property
    def webhook_secret(self) -> str:
        return str(settings.VIPPS_WEBHOOK_SECRET)

    @property
    def merchant_serial_number(self) -> str:
        return str(settings.VIPPS_MSN)

    # --- the interface -------------------------------------------------------------

    def create_payment(
        self,
        *,
        reference: str,
        amount_ore: int,
        description: str,
        idempotency_key: str,
        return_url: str,
        cancel_url: str,
        notify_url: str,
        language: str,
        expires_at: datetime,
        customer_phone: str = "",
        on_phone: bool = False,
    ) -> CreatedPayment:
        """A payment the customer approves in the app. On a phone the app
        opens by itself (NATIVE_REDIRECT); elsewhere Vipps's landing page
        asks for the number (prefilled) and the app is opened on the phone.
        Vipps returns the browser to ``return_url`` whatever the outcome, so
        ``cancel_url`` is not used; a payment not approved expires by itself
        and the sweep gives the order up, so neither is ``expires_at``."""
        body: dict[str, Any] = {
            "amount": {"currency": CURRENCY, "value": amount_ore},
            "paymentMethod": {"type": "WALLET"},
            "reference": reference,
            "returnUrl": return_url,
            "userFlow": "NATIVE_REDIRECT" if on_phone else "WEB_REDIRECT",
            "paymentDescription": description[:100],
        }
        if customer_phone:
            # Vipps wants the number with its country code, digits only.
            body["customer"] = {"phoneNumber": customer_phone.lstrip("+")}
        answer = self._call("POST", "/epayment/v1/payments", body=body, idempotency_key=idempotency_key)
        try:
            url = checked_text("redirect url", answer["redirectUrl"], max_length=2000)
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentProviderError(f"Vipps's answer about {reference} has no page: {error!r}"[:300]) from None
        return CreatedPayment(payment_id=reference, redirect_url=url)

    def verify_callback(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> PaymentUpdate | SetupUpdate | AgreementUpdate | None:
        """Check the content hash, the signature and its age, then read the
        event field by field. None for an event that reports a failure
        (``success: false``: nothing happened to the payment) or about
        another merchant's payment."""
        self._check_signature(body=body, headers=headers)
        try:
            event = checked_payload(json.loads(body))
            name = checked_text("event name", event["name"], max_length=20)
            if name not in EVENTS:
                return None
            if event.get("msn") != self.merchant_serial_number or event.get("success") is not True:
                return None
            reference = checked_text("reference", event["reference"], max_length=64)
            psp = checked_text("psp reference", event["pspReference"], max_length=64)
            amount = event["amount"]
            if amount["currency"] != CURRENCY:
                raise MalformedUpdate("currency is not NOK")
            state, reason = EVENTS[name]
            return PaymentUpdate(
                event_id=f"webhook:{reference}:{name}:{psp}",
                payment_id=reference,
                reference=reference,
                state=state,
                amount_ore=checked_amount("amount", amount["value"]),
                reason=reason,
                payload=event,
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            raise InvalidCallback(f"malformed webhook: {error!r}"[:300]) from None

    def fetch_status(self, *, payment_id: str) -> PaymentUpdate:
        answer = self._call("GET", f"/epayment/v1/payments/{payment_id}")
        return _status_update(answer, payment_id=payment_id)

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """Cancel a payment not captured: one still waiting in the app is
        TERMINATED, a reservation released. One Vipps will not cancel
        (captured already) is answered with its status."""
        try:
            answer = self._call(
                "POST", f"/epayment/v1/payments/{payment_id}/cancel", body={}, idempotency_key=f"cancel-{payment_id}"
            )
        except VippsRefused:
            return self.fetch_status(payment_id=payment_id)
        # Cancelled after approval, Vipps keeps the state AUTHORIZED and
        # moves the amount to cancelledAmount (read as CANCELLED).
        return _status_update(answer, payment_id=payment_id)

    def capture_payment(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> PaymentUpdate:
        """Capture a reserved amount; the same key again captures nothing more."""
        body = {"modificationAmount": {"currency": CURRENCY, "value": amount_ore}}
        answer = self._call(
            "POST", f"/epayment/v1/payments/{payment_id}/capture", body=body, idempotency_key=idempotency_key
        )
        return _status_update(answer, payment_id=payment_id)

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        """Give the money back: a reservation not captured is cancelled
        (released), a captured amount refunded. Returns Vipps's reference
        of the operation."""
        status = self._call("GET", f"/epayment/v1/payments/{payment_id}")
        captured = _aggregate(status, "capturedAmount")
        if captured == 0 and _aggregate(status, "cancelledAmount") > 0:
            return f"cancel:{_psp(status)}"  # released already
        if captured == 0:
            answer = self._call(
                "POST", f"/epayment/v1/payments/{payment_id}/cancel", body={}, idempotency_key=idempotency_key
            )
            return f"cancel:{_psp(answer)}"
        body = {"modificationAmount": {"currency": CURRENCY, "value": min(amount_ore, captured)}}
        answer = self._call(
            "POST", f"/epayment/v1/payments/{payment_id}/refund", body=body, idempotency_key=idempotency_key
        )
        return f"refund:{_psp(answer)}"

    # Vipps saves no cards: auto-renew with a card goes through the card provider.

    def create_card_setup(
        self,
        *,
        reference: str,
        customer_reference: str,
        customer_email: str,
        idempotency_key: str,
        return_url: str,
        language: str,
    ) -> CreatedPayment:
        raise PaymentProviderError("Vipps MobilePay does not save cards")

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        raise PaymentProviderError("Vipps MobilePay does not save cards")

    def charge_saved_card(
        self,
        *,
        method: SavedMethod,
        reference: str,
        amount_ore: int,
        description: str,
        idempotency_key: str,
        pay_by: date | None = None,
    ) -> PaymentUpdate:
        raise PaymentProviderError("Vipps MobilePay does not save cards")

    # --- the wire --------------------------------------------------------------------

    def _check_signature(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        # Without our secret anyone could sign with the empty key: a site
        # that has not set up Vipps takes no Vipps callback at all.
        if not self.webhook_secret:
            raise InvalidCallback("no Vipps webhook secret is configured")
        date = headers.get("x-ms-date", "")
        content_hash = headers.get("x-ms-content-sha256", "")
        authorization = headers.get("Authorization", "")
        host = headers.get("Host", "")
        if not (date and content_hash and authorization and host) or not all(
            value.isascii() for value in (date, content_hash, authorization, host)
        ):
            raise InvalidCallback("no signature")
        expected_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if not hmac.compare_digest(content_hash.encode(), expected_hash.encode()):
            raise InvalidCallback("the content hash does not match the body")
        path = reverse("payment_callback", args=[self.name])
        expected = AUTHORIZATION_PREFIX + webhook_signature(
            secret=self.webhook_secret, path_and_query=path, date=date, host=host, content_hash=content_hash
        )
        if not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise InvalidCallback("bad signature")
        try:
            sent_at = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            raise InvalidCallback("bad x-ms-date") from None
        if abs(time.time() - sent_at) > settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS:
            raise InvalidCallback("stale signature")

    def _headers(self) -> dict[str, str]:
        return {
            "Ocp-Apim-Subscription-Key": settings.VIPPS_SUBSCRIPTION_KEY,
            "Merchant-Serial-Number": self.merchant_serial_number,
            "Vipps-System-Name": SYSTEM_NAME,
            "Vipps-System-Version": SYSTEM_VERSION,
            "Vipps-System-Plugin-Name": PLUGIN_NAME,
            "Vipps-System-Plugin-Version": PLUGIN_VERSION,
        }

    def _token(self) -> str:
        """The access token, fetched once and kept until shortly before it expires."""
        key = (settings.VIPPS_BASE_URL, settings.VIPPS_CLIENT_ID)
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        headers = self._headers() | {
            "client_id": settings.VIPPS_CLIENT_ID,
            "client_secret": settings.VIPPS_CLIENT_SECRET,
        }
        answer = self._send("POST", "/accesstoken/get", headers=headers, body=None)
        try:
            token = checked_text("access token", answer["access_token"], max_length=8000)
            # Vipps sends expires_in as a string of seconds.
            lifetime = int(str(answer["expires_in"]))
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentProviderError(f"Vipps's access token answer is malformed: {error!r}"[:300]) from None
        with _tokens_lock:
            _tokens[key] = (token, time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0))
        return token

    def _call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, idempotency_key: str = ""
    ) -> dict[str, Any]:
        headers = self._headers() | {"Authorization": f"Bearer {self._token()}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key[:50]
        return self._send(method, path, headers=headers, body=body)

    def _send(self, method: str, path: str, *, headers: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
        """One request; PaymentProviderError when Vipps cannot be reached or
        answers with an error (VippsRefused for a 4xx about the request)."""
        url = str(settings.VIPPS_BASE_URL).rstrip("/") + path
        try:
            response = requests.request(method, url, headers=headers, json=body, timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise PaymentProviderError(f"Vipps could not be reached for {method} {path}: {error}") from error
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return answer_read(response.status_code, answer, what=f"{method} {path}")


class VippsRefused(PaymentProviderError):
    """Vipps refused the request itself (a 4xx): asking again the same way
    will not help."""


# The ePayment events the portal's webhook is registered for.
WEBHOOK_EVENTS = [
    f"epayments.payment.{name.lower()}.v1"
    for name in ("CREATED", "AUTHORIZED", "ABORTED", "EXPIRED", "TERMINATED", "CAPTURED", "CANCELLED", "REFUNDED")
]


def webhook_register(*, provider: VippsProvider, url: str, events: list[str] | None = None) -> tuple[str, str]:
    """Register ``url`` for ``events`` (the ePayment events unless given;
    ``POST /webhooks/v1/webhooks``); returns (Vipps's webhook id, the secret
    it signs with)."""
    body = {"url": url, "events": events or WEBHOOK_EVENTS}
    answer = provider._call("POST", "/webhooks/v1/webhooks", body=body)
    try:
        return checked_text("webhook id", answer["id"]), checked_text(
            "webhook secret", answer["secret"], max_length=500
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PaymentProviderError(
            f"Vipps's answer to the webhook registration is malformed: {error!r}"[:300]
        ) from None


def answer_read(status: int, answer: Any, *, what: str) -> dict[str, Any]:
    """Vipps's answer as a JSON object, or the error it means."""
    if status == IN_FLIGHT_STATUS:
        raise PaymentInProgress(f"Vipps is still busy with {what}")
    if 400 <= status < 500:
        raise VippsRefused(f"Vipps refused {what}: {status} {str(answer)[:200]}")
    if status >= 500:
        raise PaymentProviderError(f"Vipps failed {what}: {status}")
    if status == NO_CONTENT:
        return {}
    if not isinstance(answer, dict):
        raise PaymentProviderError(f"Vipps's answer to {what} is not a JSON object")
    return answer


def webhook_signature(*, secret: str, path_and_query: str, date: str, host: str, content_hash: str) -> str:
    """The base64 HMAC-SHA256 Vipps signs a webhook with."""
    signed = f"POST\n{path_and_query}\n{date};{host};{content_hash}"
    return base64.b64encode(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()


def _aggregate(answer: Mapping[str, Any], field: str) -> int:
    try:
        value = checked_amount(field, answer["aggregate"][field]["value"])
    except (KeyError, TypeError, ValueError) as error:
        raise PaymentProviderError(f"Vipps's answer has no {field}: {error!r}"[:300]) from None
    return value or 0


def _psp(answer: Mapping[str, Any]) -> str:
    try:
        return checked_text("psp reference", answer["pspReference"], max_length=64)
    except (KeyError, TypeError, ValueError) as error:
        raise PaymentProviderError(f"Vipps's answer has no pspReference: {error!r}"[:300]) from None


def _status_update(answer: Mapping[str, Any], *, payment_id: str) -> PaymentUpdate:
    """A payment as Vipps describes it (its state and aggregate amounts), as
    one of our updates: AUTHORIZED and fully captured is PAID; AUTHORIZED
    and fully cancelled is CANCELLED (released)."""
    try:
        name = checked_text("state", answer["state"], max_length=20)
        if name not in STATES:
            raise MalformedUpdate(f"unknown state {name!r}"[:60])
        amount = checked_amount("amount", answer["amount"]["value"])
        captured = _aggregate(answer, "capturedAmount")
        cancelled = _aggregate(answer, "cancelledAmount")
        state, reason = STATES[name]
        if state == PaymentState.AUTHORIZED and amount and captured >= amount:
            state = PaymentState.PAID
        elif state == PaymentState.AUTHORIZED and amount and cancelled >= amount:
            state, reason = PaymentState.CANCELLED, "vipps_cancelled"
        return PaymentUpdate(
            event_id=f"status:{payment_id}:{name}:{captured}:{cancelled}",
            payment_id=payment_id,
            reference=payment_id,
            state=state,
            amount_ore=amount,
            reason=reason,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PaymentProviderError(f"Vipps's answer about {payment_id} is malformed: {error!r}"[:300]) from None
