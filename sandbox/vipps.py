"""The pretend Vipps MobilePay: its ePayment API in this process, its
approval page (``sandbox.views.sandbox_vipps``, under /sandbox-pay/vipps/)
and its webhooks, signed as Vipps signs them.

The portal's adapter (``subscriptions.payments.sandbox_vipps``) is the real
Vipps adapter with its requests handed to ``vipps_api`` instead of the
network, so the answers below are shaped as Vipps's are.

On the approval page the tester approves, rejects, lets the payment expire,
or approves but makes the next two captures fail with a server error (the
portal's worker then tries again with the same idempotency key).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from email.utils import formatdate
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from sandbox.models import SandboxVippsAgreement, SandboxVippsOutcome, SandboxVippsPayment
from subscriptions.payments.vipps import AUTHORIZATION_PREFIX, webhook_signature

MSN = "000000"
CALLBACK_TIMEOUT_SECONDS = 10
CAPTURE_FAILURES = 2
# What each choice on the approval page makes of the payment, and its event.
OUTCOMES = {
    SandboxVippsOutcome.APPROVE: "AUTHORIZED",
    SandboxVippsOutcome.REJECT: "ABORTED",
    SandboxVippsOutcome.EXPIRE: "EXPIRED",
    SandboxVippsOutcome.APPROVE_CAPTURE_FAILS: "AUTHORIZED",
}

Answer = tuple[int, dict[str, Any]]


class WebhookNotTaken(Exception):
    """The portal did not take a webhook: the task sends it again."""


def approval_page(reference: str, *, site: str) -> str:
    return urljoin(site, reverse("sandbox_vipps", args=[reference]))


def _problem(status: int, title: str) -> Answer:
    return status, {"type": "about:blank", "title": title, "status": status}


def _nok(value: int) -> dict[str, Any]:
    return {"currency": "NOK", "value": value}


def _described(payment: SandboxVippsPayment) -> dict[str, Any]:
    return {
        "reference": payment.reference,
        "pspReference": f"sbv-{secrets.token_hex(6)}",
        "state": payment.state,
        "amount": _nok(payment.amount_ore),
        "paymentMethod": {"type": "WALLET"},
        "aggregate": {
            "authorizedAmount": _nok(payment.amount_ore if payment.state == "AUTHORIZED" else 0),
            "capturedAmount": _nok(payment.captured_ore),
            "cancelledAmount": _nok(payment.cancelled_ore),
            "refundedAmount": _nok(payment.refunded_ore),
        },
    }


def _event(payment: SandboxVippsPayment, name: str, amount: int) -> None:
    payment.events = [*payment.events, {"name": name, "amount": amount, "psp": f"sbv-{secrets.token_hex(6)}"}]
    reference = payment.reference
    transaction.on_commit(lambda: _webhooks_queue(reference), robust=True)


def _webhooks_queue(reference: str) -> None:
    from sandbox.tasks import send_vipps_webhooks

    send_vipps_webhooks.delay(reference)


# --- its API ----------------------------------------------------------------------------


def vipps_api(*, method: str, path: str, body: dict[str, Any] | None, idempotency_key: str, site: str) -> Answer:
    """Answer one ePayment request as Vipps would: (status, JSON body)."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["recurring", "v3"]:
        return _recurring(method, parts[2:], body or {}, idempotency_key=idempotency_key, site=site)
    if parts[:3] != ["epayment", "v1", "payments"]:
        return _problem(404, "Not found")
    if method == "POST" and len(parts) == 3:
        return _create(body or {}, idempotency_key=idempotency_key, site=site)
    with transaction.atomic():
        payment = (
            SandboxVippsPayment.objects.select_for_update().filter(reference=parts[3] if len(parts) > 3 else "").first()
        )
        if payment is None:
            return _problem(404, "No such payment")
        if method == "GET" and len(parts) == 4:
            return 200, _described(payment)
        if method != "POST" or len(parts) != 5:
            return _problem(404, "Not found")
        if idempotency_key in payment.answers:
            status, answer = payment.answers[idempotency_key]
            return status, answer
        value = ((body or {}).get("modificationAmount") or {}).get("value", 0)
        answer = _modify(payment, parts[4], value)
        if answer[0] < 500:
            payment.answers = {**payment.answers, idempotency_key: list(answer)}
        payment.save()
        return answer


def _create(body: dict[str, Any], *, idempotency_key: str, site: str) -> Answer:
    reference = str(body.get("reference", ""))
    amount = (body.get("amount") or {}).get("value")
    if not reference or type(amount) is not int or amount <= 0:
        return _problem(400, "Invalid request")
    payment, created = SandboxVippsPayment.objects.get_or_create(
        reference=reference,
        defaults={
            "idempotency_key": idempotency_key,
            "amount_ore": amount,
            "description": str(body.get("paymentDescription", ""))[:200],
            "phone": str((body.get("customer") or {}).get("phoneNumber", ""))[:20],
            "user_flow": str(body.get("userFlow", "")),
            "return_url": str(body.get("returnUrl", "")),
            # Vipps sends webhooks where they were registered; the sandbox's
            # registration is the portal's callback for it, on the same site.
            "notify_url": urljoin(site, reverse("payment_callback", args=["sandbox_vipps"])),
        },
    )
    if not created and (payment.idempotency_key != idempotency_key or payment.amount_ore != amount):
        return _problem(409, "The reference is already used")
    return 201, {"redirectUrl": approval_page(reference, site=site), "reference": reference}


def _modify(payment: SandboxVippsPayment, operation: str, value: int) -> Answer:
    if operation == "capture":
        if payment.state != "AUTHORIZED" or payment.captured_ore + payment.cancelled_ore + value > payment.amount_ore:
            return _problem(400, "The amount cannot be captured")
        if payment.capture_failures_left:
            payment.capture_failures_left -= 1
            return _problem(500, "Capture failed (the tester asked for it)")
        payment.captured_ore += value
        _event(payment, "CAPTURED", value)
    elif operation == "cancel":
        if payment.state == "CREATED":
            payment.state = "TERMINATED"
            _event(payment, "TERMINATED", payment.amount_ore)
        elif payment.state == "AUTHORIZED" and payment.captured_ore == 0:
            payment.cancelled_ore = payment.amount_ore
            _event(payment, "CANCELLED", payment.amount_ore)
        else:
            return _problem(400, "The payment cannot be cancelled")
    elif operation == "refund":
        if payment.refunded_ore + value > payment.captured_ore:
            return _problem(400, "Cannot refund more than was captured")
        payment.refunded_ore += value
        _event(payment, "REFUNDED", value)
    else:
        return _problem(404, "Not found")
    return 200, _described(payment)


# --- the approval page's decision and the webhooks ----------------------------------------


def vipps_decide(*, reference: str, outcome: str) -> SandboxVippsPayment | None:
    """Record the tester's choice once and queue its webhook."""
    with transaction.atomic():
        payment = SandboxVippsPayment.objects.select_for_update().filter(reference=reference).first()
        if payment is None or payment.outcome or payment.state != "CREATED" or outcome not in OUTCOMES:
            return payment
        payment.outcome = outcome
        payment.state = OUTCOMES[SandboxVippsOutcome(outcome)]
        if outcome == SandboxVippsOutcome.APPROVE_CAPTURE_FAILS:
            payment.capture_failures_left = CAPTURE_FAILURES
        _event(payment, payment.state, payment.amount_ore)
        payment.save()
    return payment


def vipps_webhook(payment: SandboxVippsPayment, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """One event's body and headers, signed now for the notify URL's host and path."""
    body = json.dumps(
        {
            "msn": MSN,
            "reference": payment.reference,
            "pspReference": event["psp"],
            "name": event["name"],
            "amount": _nok(event["amount"]),
            "timestamp": payment.created_at.isoformat(),
            "idempotencyKey": None,
            "success": True,
        }
    ).encode()
    url = urlsplit(payment.notify_url)
    path = url.path + (f"?{url.query}" if url.query else "")
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    date = formatdate(usegmt=True)
    signature = webhook_signature(
        secret=settings.SANDBOX_VIPPS_WEBHOOK_SECRET,
        path_and_query=path,
        date=date,
        host=url.netloc,
        content_hash=content_hash,
    )
    headers = {
        "Content-Type": "application/json",
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": AUTHORIZATION_PREFIX + signature,
    }
    return body, headers


def vipps_deliver_webhooks(*, reference: str) -> None:
    """POST every event of the payment to the portal (a replay sends the same
    events again: the portal records each once). WebhookNotTaken when the
    portal did not take one (the task retries)."""
    payment = SandboxVippsPayment.objects.filter(reference=reference).first()
    if payment is None:
        return
    for event in payment.events:
        body, headers = vipps_webhook(payment, event)
        try:
            response = requests.post(payment.notify_url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise WebhookNotTaken(f"webhook to {payment.notify_url} failed: {error}") from error
        if response.status_code >= 300:
            raise WebhookNotTaken(f"webhook to {payment.notify_url} answered {response.status_code}")
    SandboxVippsPayment.objects.filter(pk=payment.pk).update(webhooks_sent=F("webhooks_sent") + 1)


# --- its Recurring API (auto-renew) -------------------------------------------------------


def agreement_page(agreement_id: str, *, site: str) -> str:
    return urljoin(site, reverse("sandbox_vipps_agreement", args=[agreement_id]))


def _recurring(method: str, parts: list[str], body: dict[str, Any], *, idempotency_key: str, site: str) -> Answer:
    """Agreements and their charges. A charge is taken on its due date; the
    sandbox takes it the first time it is asked about (or fails it, if the
    tester chose so on the approval page)."""
    if method == "POST" and parts == ["agreements"]:
        made, _created = SandboxVippsAgreement.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "agreement_id": f"agr_{secrets.token_hex(8)}",
                "product_name": str(body.get("productName", ""))[:100],
                "max_amount_ore": int((body.get("pricing") or {}).get("suggestedMaxAmount") or 0),
                "interval": body.get("interval") or {},
                "phone": str(body.get("phoneNumber", ""))[:20],
                "return_url": str(body.get("merchantRedirectUrl", "")),
            },
        )
        url = agreement_page(made.agreement_id, site=site)
        return 201, {"agreementId": made.agreement_id, "vippsConfirmationUrl": url}
    if len(parts) < 2 or parts[0] != "agreements":
        return _problem(404, "Not found")
    with transaction.atomic():
        agreement = SandboxVippsAgreement.objects.select_for_update().filter(agreement_id=parts[1]).first()
        if agreement is None:
            return _problem(404, "No such agreement")
        if method == "GET" and len(parts) == 2:
            return 200, {"id": agreement.agreement_id, "status": agreement.status}
        if method == "PATCH" and len(parts) == 2:
            agreement.status = str(body.get("status", agreement.status))
            agreement.save(update_fields=["status"])
            return 204, {}
        if method == "POST" and parts[2:] == ["charges"]:
            if idempotency_key in agreement.answers:
                status, answer = agreement.answers[idempotency_key]
                return status, answer
            if agreement.status != "ACTIVE":
                return _problem(400, "The agreement is not active")
            charge = {
                "id": f"chr_{secrets.token_hex(8)}",
                "amount": body.get("amount"),
                "due": body.get("due"),
                "orderId": body.get("orderId", ""),
                "status": "DUE",
            }
            agreement.charges = [*agreement.charges, charge]
            agreement.answers = {**agreement.answers, idempotency_key: [201, {"chargeId": charge["id"]}]}
            agreement.save(update_fields=["charges", "answers"])
            return 201, {"chargeId": charge["id"]}
        if method == "DELETE" and len(parts) == 4:
            found = next((charge for charge in agreement.charges if charge["id"] == parts[3]), None)
            if found is None:
                return _problem(404, "No such charge")
            if found["status"] != "DUE":
                return _problem(400, f"A charge that is {found['status']} cannot be cancelled")
            found["status"] = "CANCELLED"
            agreement.save(update_fields=["charges"])
            return 204, {}
        if method == "GET" and len(parts) == 4:
            found = next((charge for charge in agreement.charges if charge["id"] == parts[3]), None)
            if found is None:
                return _problem(404, "No such charge")
            if found["status"] == "DUE":
                found["status"] = "FAILED" if agreement.charges_fail else "CHARGED"
                agreement.save(update_fields=["charges"])
            return 200, {k: found[k] for k in ("id", "amount", "due", "orderId", "status")}
    return _problem(404, "Not found")


def agreement_decide(*, agreement_id: str, outcome: str) -> SandboxVippsAgreement | None:
    """The tester approves the agreement (its charges then go through, or
    fail if asked) or rejects it; once."""
    with transaction.atomic():
        agreement = SandboxVippsAgreement.objects.select_for_update().filter(agreement_id=agreement_id).first()
        if agreement is None or agreement.status != "PENDING":
            return agreement
        if outcome == SandboxVippsOutcome.REJECT:
            agreement.status = "STOPPED"
        elif outcome in (SandboxVippsOutcome.APPROVE, SandboxVippsOutcome.APPROVE_CHARGES_FAIL):
            agreement.status = "ACTIVE"
            agreement.charges_fail = outcome == SandboxVippsOutcome.APPROVE_CHARGES_FAIL
        else:
            return agreement
        agreement.save(update_fields=["status", "charges_fail"])
    return agreement
