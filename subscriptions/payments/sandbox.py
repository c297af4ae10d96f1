"""Our adapter for the sandbox, the pretend payment provider of development
and tests (the ``sandbox`` app, which production does not install). It
speaks to the sandbox's API (``sandbox.provider``) as the Stripe adapter
speaks to Stripe's, and checks the sandbox's signed callbacks."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse

from sandbox import provider as sandbox
from sandbox.models import SandboxPayment
from subscriptions.models import PaymentState
from subscriptions.payments.base import (
    CreatedPayment,
    InvalidCallback,
    MalformedUpdate,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
    checked_text,
)

# A Unix time in seconds has ten digits until the year 2286.
TIMESTAMP_DIGITS = 10
SETUP_MODE = "setup"


class SandboxProvider:
    name = "sandbox"
    required_settings = ("SANDBOX_PAY_SECRET",)

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
    ) -> CreatedPayment:
        """The sandbox's hosted page's "cancel" answers with a callback and
        sends the browser to ``return_url``, so ``cancel_url`` is not needed;
        a payment left open is abandoned by the portal's sweep, so neither is
        ``expires_at``."""
        try:
            payment = sandbox.payment_open(
                idempotency_key=idempotency_key,
                reference=reference,
                amount_ore=amount_ore,
                description=description,
                return_url=return_url,
                notify_url=notify_url,
                language=language,
            )
        except sandbox.SandboxRefused as error:
            raise PaymentProviderError(str(error)) from None
        return CreatedPayment(payment_id=payment.payment_id, redirect_url=sandbox.hosted_page(payment, site=return_url))

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentUpdate | SetupUpdate | None:
        """Check the signature and its age, then read the event field by
        field: each must have the type and range the sandbox sends (the
        updates check the rest), so even a signed body is refused, not
        coerced, when it is not what the sandbox sends."""
        header = headers.get(sandbox.SIGNATURE_HEADER, "")
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        # Unix time in ASCII digits: int() would take other scripts' digits,
        # and a number too large for a float could not be compared with now.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= TIMESTAMP_DIGITS) or not given:
            raise InvalidCallback("no signature")
        timestamp = int(stamp)
        expected = sandbox.sign(body, timestamp=timestamp, secret=settings.SANDBOX_PAY_SECRET).split("v1=", 1)[1]
        # Compared as bytes: compare_digest refuses a str that is not ASCII
        # (a TypeError), and a header is whatever the sender put in it.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise InvalidCallback("bad signature")
        if abs(time.time() - timestamp) > settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS:
            raise InvalidCallback("stale signature")
        try:
            event = json.loads(body)
            data = event["data"]
            if data.get("mode") == SETUP_MODE:
                return SetupUpdate(event_id=event["id"], setup_id=data["payment_id"], reference=data["reference"])
            if data["amount_ore"] is None:
                raise MalformedUpdate("amount is missing")
            return PaymentUpdate(
                event_id=event["id"],
                payment_id=checked_text("payment id", data["payment_id"]),
                reference=data["reference"],
                state=PaymentState(data["state"]),
                amount_ore=data["amount_ore"],
                reason=data.get("reason", ""),
                payload=event,
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            # ValueError includes MalformedUpdate; AttributeError: an event or
            # its data that is not a JSON object; RecursionError: JSON nested
            # deeper than the parser goes.
            raise InvalidCallback(f"malformed callback: {error}"[:300]) from None

    def fetch_status(self, *, payment_id: str) -> PaymentUpdate:
        try:
            payment = sandbox.payment_get(payment_id=payment_id)
        except sandbox.SandboxRefused as error:
            raise PaymentProviderError(str(error)) from None
        return _update(payment, event_id=f"status:{payment.payment_id}:{payment.state}")

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """As if the tester had chosen "cancel" on the hosted page (with its
        callback); a payment answered already keeps its answer."""
        sandbox.sandbox_decide(payment_id=payment_id, outcome="cancel")
        return self.fetch_status(payment_id=payment_id)

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        try:
            return sandbox.payment_refund(payment_id=payment_id, amount_ore=amount_ore, idempotency_key=idempotency_key)
        except sandbox.SandboxRefused as error:
            raise PaymentProviderError(str(error)) from None

    # --- saved cards ---

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
        setup = sandbox.setup_open(
            idempotency_key=idempotency_key,
            reference=reference,
            customer_reference=customer_reference,
            return_url=return_url,
            # The callback goes where a payment's does (on the portal that
            # gave us the return address).
            notify_url=urljoin(return_url, reverse("payment_callback", args=[self.name])),
            language=language,
        )
        return CreatedPayment(payment_id=setup.payment_id, redirect_url=sandbox.hosted_page(setup, site=return_url))

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        try:
            setup = sandbox.setup_get(setup_id=setup_id)
        except sandbox.SandboxRefused as error:
            raise PaymentProviderError(str(error)) from None
        card = setup.card
        if setup.state != PaymentState.PAID or card is None:
            return SetupResult(state=PaymentState(setup.state))
        method = SavedMethod(
            method_id=card.method_id,
            customer_id=card.customer_ref,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )
        return SetupResult(state=PaymentState.PAID, method=method)

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
        try:
            payment = sandbox.card_charge(
                method_id=method.method_id,
                reference=reference,
                amount_ore=amount_ore,
                description=description,
                idempotency_key=idempotency_key,
            )
        except sandbox.SandboxRefused as error:
            raise PaymentProviderError(str(error)) from None
        return _update(payment, event_id=f"charge:{payment.payment_id}:{payment.state}")

    def detach_saved_card(self, *, method: SavedMethod) -> None:
        sandbox.card_detach(method_id=method.method_id)


def _update(payment: SandboxPayment, *, event_id: str) -> PaymentUpdate:
    return PaymentUpdate(
        event_id=event_id,
        payment_id=payment.payment_id,
        reference=payment.reference,
        state=PaymentState(payment.state),
        amount_ore=payment.amount_ore,
        reason=payment.reason,
    )
