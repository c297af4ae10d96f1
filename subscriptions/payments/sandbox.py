"""The sandbox payment provider: a pretend third party that runs here.

Its hosted page (``subscriptions.views.payments``, under /sandbox-pay/) lets
a tester pick what happens: approve, decline, insufficient funds, never
answer, or cancel (for saving a card: save one, save one that declines, or
cancel). It then tells the portal the way a real provider does, with an
HMAC-signed server-to-server callback sent by a Celery task (asynchronous,
retried, and replayable from the hosted page), and sends the browser back to
the portal's return URL.

Callbacks are signed like Stripe's: the header ``Sandbox-Signature`` holds
``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A replay carries the
same event id (one per payment and state), so the portal records it once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import PaymentState, SandboxCard, SandboxMode, SandboxOutcome, SandboxPayment
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

SIGNATURE_HEADER = "Sandbox-Signature"
CALLBACK_TIMEOUT_SECONDS = 10
# A Unix time in seconds has ten digits until the year 2286.
TIMESTAMP_DIGITS = 10

# What each choice on the hosted page makes of the payment.
OUTCOMES: dict[str, tuple[PaymentState, str]] = {
    SandboxOutcome.APPROVE: (PaymentState.PAID, ""),
    SandboxOutcome.DECLINE: (PaymentState.DECLINED, "card_declined"),
    SandboxOutcome.INSUFFICIENT_FUNDS: (PaymentState.DECLINED, "insufficient_funds"),
    SandboxOutcome.NEVER_ANSWER: (PaymentState.PENDING, ""),
    SandboxOutcome.CANCEL: (PaymentState.CANCELLED, ""),
}


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


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
        """One payment per idempotency key, as a real provider keeps it: the
        same key again returns the same payment; with another amount it is
        refused. The hosted page's own "cancel" answers with a callback and
        sends the browser to ``return_url``, so ``cancel_url`` is not needed;
        a payment left open is abandoned by the portal's sweep, so neither is
        ``expires_at``."""
        payment, _created = SandboxPayment.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "payment_id": f"sbx_{secrets.token_hex(12)}",
                "reference": reference,
                "amount_ore": amount_ore,
                "description": description[:200],
                "return_url": return_url,
                "notify_url": notify_url,
                "language": language,
            },
        )
        if payment.amount_ore != amount_ore or payment.reference != reference:
            raise PaymentProviderError("idempotency key reused with other parameters")
        page = urljoin(return_url, reverse("sandbox_pay", args=[payment.payment_id]))
        return CreatedPayment(payment_id=payment.payment_id, redirect_url=page)

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentUpdate | SetupUpdate | None:
        """Check the signature and its age, then read the event field by
        field: each must have the type and range the sandbox sends (the
        updates check the rest), so even a signed body is refused, not
        coerced, when it is not what the sandbox sends."""
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        stamp, given = parts.get("t", ""), parts.get("v1", "")
        # Unix time in ASCII digits: int() would take other scripts' digits,
        # and a number too large for a float could not be compared with now.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= TIMESTAMP_DIGITS) or not given:
            raise InvalidCallback("no signature")
        timestamp = int(stamp)
        expected = sign(body, timestamp=timestamp, secret=settings.SANDBOX_PAY_SECRET).split("v1=", 1)[1]
        # Compared as bytes: compare_digest refuses a str that is not ASCII
        # (a TypeError), and a header is whatever the sender put in it.
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise InvalidCallback("bad signature")
        if abs(time.time() - timestamp) > settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS:
            raise InvalidCallback("stale signature")
        try:
            event = json.loads(body)
            data = event["data"]
            if data.get("mode") == SandboxMode.SETUP:
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
            payment = SandboxPayment.objects.get(payment_id=payment_id)
        except SandboxPayment.DoesNotExist:
            raise PaymentProviderError(f"no sandbox payment {payment_id}") from None
        return _update(payment, event_id=f"status:{payment.payment_id}:{payment.state}")

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """As if the tester had chosen "cancel" on the hosted page (with its
        callback); a payment answered already keeps its answer."""
        sandbox_decide(payment_id=payment_id, outcome=SandboxOutcome.CANCEL)
        return self.fetch_status(payment_id=payment_id)

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        refund_id = "sbr_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        with transaction.atomic():
            payment = SandboxPayment.objects.select_for_update().filter(payment_id=payment_id).first()
            if payment is None or payment.state != PaymentState.PAID:
                raise PaymentProviderError(f"sandbox payment {payment_id} was not paid")
            if refund_id in payment.refund_ids:
                return refund_id
            if payment.refunded_ore + amount_ore > payment.amount_ore:
                raise PaymentProviderError("refund larger than the payment")
            payment.refunded_ore += amount_ore
            payment.refund_ids = [*payment.refund_ids, refund_id]
            payment.save(update_fields=["refunded_ore", "refund_ids"])
        return refund_id

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
        setup, _created = SandboxPayment.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "payment_id": f"sbs_{secrets.token_hex(12)}",
                "mode": SandboxMode.SETUP,
                "reference": reference,
                "amount_ore": 0,
                "description": customer_reference,
                "return_url": return_url,
                # The callback goes where a payment's does (on the portal
                # that gave us the return address).
                "notify_url": urljoin(return_url, reverse("payment_callback", args=[self.name])),
                "language": language,
            },
        )
        page = urljoin(return_url, reverse("sandbox_pay", args=[setup.payment_id]))
        return CreatedPayment(payment_id=setup.payment_id, redirect_url=page)

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        setup = (
            SandboxPayment.objects.select_related("card").filter(payment_id=setup_id, mode=SandboxMode.SETUP).first()
        )
        if setup is None:
            raise PaymentProviderError(f"no sandbox card setup {setup_id}")
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
        self, *, method: SavedMethod, reference: str, amount_ore: int, description: str, idempotency_key: str
    ) -> PaymentUpdate:
        """Charged at once: paid, or declined if the card was saved as one
        that declines. The same key again answers with the first charge."""
        card = SandboxCard.objects.filter(method_id=method.method_id).first()
        if card is None:
            raise PaymentProviderError(f"no sandbox card {method.method_id}")
        state = PaymentState.DECLINED if card.declines else PaymentState.PAID
        payment, _created = SandboxPayment.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "payment_id": f"sbx_{secrets.token_hex(12)}",
                "card": card,
                "reference": reference,
                "amount_ore": amount_ore,
                "description": description[:200],
                "return_url": "",
                "notify_url": "",
                "state": state,
                "outcome": SandboxOutcome.DECLINE if card.declines else SandboxOutcome.APPROVE,
                "reason": "card_declined" if card.declines else "",
                "decided_at": timezone.now(),
            },
        )
        if payment.amount_ore != amount_ore or payment.reference != reference:
            raise PaymentProviderError("idempotency key reused with other parameters")
        return _update(payment, event_id=f"charge:{payment.payment_id}:{payment.state}")


def _update(payment: SandboxPayment, *, event_id: str) -> PaymentUpdate:
    return PaymentUpdate(
        event_id=event_id,
        payment_id=payment.payment_id,
        reference=payment.reference,
        state=PaymentState(payment.state),
        amount_ore=payment.amount_ore,
        reason=payment.reason,
    )


# --- the sandbox's side: the hosted page's decision and its callbacks ----------------------


def sandbox_decide(*, payment_id: str, outcome: str) -> SandboxPayment | None:
    """Record the tester's choice once (a second choice changes nothing) and,
    unless it is "never answer", queue the callback. None if the payment is
    unknown."""
    from subscriptions.tasks import sandbox_send_callback

    with transaction.atomic():
        payment = SandboxPayment.objects.select_for_update().filter(payment_id=payment_id).first()
        if payment is None:
            return None
        if payment.outcome:
            return payment
        if payment.mode == SandboxMode.SETUP:
            return _setup_decide(payment, outcome)
        if outcome not in OUTCOMES:
            return payment
        state, reason = OUTCOMES[outcome]
        payment.outcome = outcome
        payment.state = state
        payment.reason = reason
        payment.decided_at = timezone.now()
        payment.save(update_fields=["outcome", "state", "reason", "decided_at"])
        if state != PaymentState.PENDING:
            # Robust (Django logs a failure): the tester's choice stands even if
            # the queue is down; the portal asks for the status on the return.
            transaction.on_commit(lambda: sandbox_send_callback.delay(payment_id), robust=True)
    return payment


SETUP_OUTCOMES = {SandboxOutcome.SAVE_CARD, SandboxOutcome.SAVE_DECLINING_CARD, SandboxOutcome.CANCEL}


def _setup_decide(setup: SandboxPayment, outcome: str) -> SandboxPayment:
    """Saving a card: the card is kept (one that declines later charges, if
    asked), or the setup is cancelled. The portal learns it from the
    callback, or when the browser comes back and it asks (fetch_card_setup),
    whichever comes first."""
    from subscriptions.tasks import sandbox_send_callback

    if outcome not in SETUP_OUTCOMES:
        return setup
    if outcome == SandboxOutcome.CANCEL:
        setup.state = PaymentState.CANCELLED
    else:
        setup.card = SandboxCard.objects.create(
            method_id=f"pm_{secrets.token_hex(12)}",
            customer_ref=setup.description,
            declines=outcome == SandboxOutcome.SAVE_DECLINING_CARD,
        )
        setup.state = PaymentState.PAID
    setup.outcome = outcome
    setup.decided_at = timezone.now()
    setup.save(update_fields=["card", "state", "outcome", "decided_at"])
    payment_id = setup.payment_id
    transaction.on_commit(lambda: sandbox_send_callback.delay(payment_id), robust=True)
    return setup


def sandbox_callback(payment: SandboxPayment) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the callback for the payment's current state,
    signed now. A replay sends the same event (same id) with a fresh signature."""
    now = int(time.time())
    body = json.dumps(
        {
            "id": f"evt_{payment.payment_id}_{payment.state}",
            "type": "payment.updated",
            "created": now,
            "data": {
                "payment_id": payment.payment_id,
                "reference": payment.reference,
                "state": payment.state,
                "amount_ore": payment.amount_ore,
                "reason": payment.reason,
                "mode": payment.mode,
            },
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, timestamp=now, secret=settings.SANDBOX_PAY_SECRET),
    }
    return body, headers


def sandbox_deliver_callback(*, payment_id: str) -> None:
    """POST the callback to the portal's notify URL. PaymentProviderError
    when the portal did not take it (the task retries)."""
    payment = SandboxPayment.objects.filter(payment_id=payment_id).first()
    if payment is None or payment.state == PaymentState.PENDING:
        return  # nothing to tell (a payment gone with its test database, or undecided)
    body, headers = sandbox_callback(payment)
    try:
        response = requests.post(payment.notify_url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise PaymentProviderError(f"callback to {payment.notify_url} failed: {error}") from error
    if response.status_code >= 300:
        raise PaymentProviderError(f"callback to {payment.notify_url} answered {response.status_code}")
    SandboxPayment.objects.filter(pk=payment.pk).update(callbacks_sent=F("callbacks_sent") + 1)
