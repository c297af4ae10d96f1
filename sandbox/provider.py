"""The pretend payment provider's side: what a real provider's API and hosted
page do, in this process.

Its hosted page (``sandbox.views``, under /sandbox-pay/) lets a tester pick
what happens: approve, decline, insufficient funds, never answer, or cancel
(for saving a card: save one, save one that declines, or cancel). It then
tells the portal the way a real provider does, with an HMAC-signed
server-to-server callback sent by a Celery task (asynchronous, retried, and
replayable from the hosted page), and sends the browser back to the portal's
return URL.

Callbacks are signed like Stripe's: the header ``Sandbox-Signature`` holds
``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A replay carries the
same event id (one per payment and state), so the portal records it once.

The functions below are its API: the portal's adapter
(``subscriptions.payments.sandbox``) calls them as it would call a real
provider over HTTP, and gets ``SandboxRefused`` where a real one would answer
with an error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from sandbox.models import SandboxCard, SandboxMode, SandboxOutcome, SandboxPayment
from subscriptions.models import PaymentState

SIGNATURE_HEADER = "Sandbox-Signature"
CALLBACK_TIMEOUT_SECONDS = 10

# What each choice on the hosted page makes of the payment.
OUTCOMES: dict[str, tuple[PaymentState, str]] = {
    SandboxOutcome.APPROVE: (PaymentState.PAID, ""),
    SandboxOutcome.DECLINE: (PaymentState.DECLINED, "card_declined"),
    SandboxOutcome.INSUFFICIENT_FUNDS: (PaymentState.DECLINED, "insufficient_funds"),
    SandboxOutcome.NEVER_ANSWER: (PaymentState.PENDING, ""),
    SandboxOutcome.CANCEL: (PaymentState.CANCELLED, ""),
}
SETUP_OUTCOMES = {SandboxOutcome.SAVE_CARD, SandboxOutcome.SAVE_DECLINING_CARD, SandboxOutcome.CANCEL}


class SandboxRefused(Exception):
    """What a real provider answers with a 4xx or 5xx: nothing was done."""


class CallbackNotTaken(Exception):
    """The portal did not take a callback: the task sends it again."""


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def hosted_page(payment: SandboxPayment, *, site: str) -> str:
    """The hosted page's address, on the site the portal gave as its own."""
    return urljoin(site, reverse("sandbox_pay", args=[payment.payment_id]))


# --- its API --------------------------------------------------------------------------


def payment_open(
    *,
    idempotency_key: str,
    reference: str,
    amount_ore: int,
    description: str,
    return_url: str,
    notify_url: str,
    language: str,
) -> SandboxPayment:
    """One payment per idempotency key, as a real provider keeps it: the same
    key again returns the same payment; with another amount it is refused."""
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
        raise SandboxRefused("idempotency key reused with other parameters")
    return payment


def payment_get(*, payment_id: str) -> SandboxPayment:
    payment = SandboxPayment.objects.filter(payment_id=payment_id).first()
    if payment is None:
        raise SandboxRefused(f"no sandbox payment {payment_id}")
    return payment


def payment_refund(*, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
    """The refund's id; the same key again refunds nothing more."""
    refund_id = "sbr_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
    with transaction.atomic():
        payment = SandboxPayment.objects.select_for_update().filter(payment_id=payment_id).first()
        if payment is None or payment.state != PaymentState.PAID:
            raise SandboxRefused(f"sandbox payment {payment_id} was not paid")
        if refund_id in payment.refund_ids:
            return refund_id
        if payment.refunded_ore + amount_ore > payment.amount_ore:
            raise SandboxRefused("refund larger than the payment")
        payment.refunded_ore += amount_ore
        payment.refund_ids = [*payment.refund_ids, refund_id]
        payment.save(update_fields=["refunded_ore", "refund_ids"])
    return refund_id


def setup_open(
    *, idempotency_key: str, reference: str, customer_reference: str, return_url: str, notify_url: str, language: str
) -> SandboxPayment:
    """A page on which to save a card, one per idempotency key."""
    setup, _created = SandboxPayment.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "payment_id": f"sbs_{secrets.token_hex(12)}",
            "mode": SandboxMode.SETUP,
            "reference": reference,
            "amount_ore": 0,
            "description": customer_reference,
            "return_url": return_url,
            "notify_url": notify_url,
            "language": language,
        },
    )
    return setup


def setup_get(*, setup_id: str) -> SandboxPayment:
    setup = SandboxPayment.objects.select_related("card").filter(payment_id=setup_id, mode=SandboxMode.SETUP).first()
    if setup is None:
        raise SandboxRefused(f"no sandbox card setup {setup_id}")
    return setup


def card_charge(
    *, method_id: str, reference: str, amount_ore: int, description: str, idempotency_key: str
) -> SandboxPayment:
    """Charged at once: paid, or declined if the card was saved as one that
    declines. The same key again answers with the first charge."""
    card = SandboxCard.objects.filter(method_id=method_id).first()
    if card is None:
        raise SandboxRefused(f"no sandbox card {method_id}")
    if card.detached_at is not None:
        raise SandboxRefused(f"sandbox card {method_id} was detached")
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
        raise SandboxRefused("idempotency key reused with other parameters")
    return payment


def card_detach(*, method_id: str) -> None:
    """The card can no longer be charged. Detaching it again, or a card the
    sandbox does not know, changes nothing (as at Stripe, done is done)."""
    SandboxCard.objects.filter(method_id=method_id, detached_at=None).update(detached_at=timezone.now())


# --- the hosted page's decision and its callbacks ---------------------------------------


def sandbox_decide(*, payment_id: str, outcome: str) -> SandboxPayment | None:
    """Record the tester's choice once (a second choice changes nothing) and,
    unless it is "never answer", queue the callback. None if the payment is
    unknown."""
    from sandbox.tasks import send_callback

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
            transaction.on_commit(lambda: send_callback.delay(payment_id), robust=True)
    return payment


def _setup_decide(setup: SandboxPayment, outcome: str) -> SandboxPayment:
    """Saving a card: the card is kept (one that declines later charges, if
    asked), or the setup is cancelled. The portal learns it from the
    callback, or when the browser comes back and it asks, whichever comes
    first."""
    from sandbox.tasks import send_callback

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
    transaction.on_commit(lambda: send_callback.delay(payment_id), robust=True)
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
    """POST the callback to the portal's notify URL. CallbackNotTaken when
    the portal did not take it (the task retries)."""
    payment = SandboxPayment.objects.filter(payment_id=payment_id).first()
    if payment is None or payment.state == PaymentState.PENDING:
        return  # nothing to tell (a payment gone with its test database, or undecided)
    body, headers = sandbox_callback(payment)
    try:
        response = requests.post(payment.notify_url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise CallbackNotTaken(f"callback to {payment.notify_url} failed: {error}") from error
    if response.status_code >= 300:
        raise CallbackNotTaken(f"callback to {payment.notify_url} answered {response.status_code}")
    SandboxPayment.objects.filter(pk=payment.pk).update(callbacks_sent=F("callbacks_sent") + 1)
