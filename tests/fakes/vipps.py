"""Vipps MobilePay's access token and ePayment APIs played by a local HTTP
server that keeps its payments in memory, and the webhooks it signs (shaped
as Vipps documents them): the adapter under test makes real HTTP requests to
it. The ``vipps_api`` fixture (tests/conftest.py) serves one for a test."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from subscriptions.payments.vipps import AUTHORIZATION_PREFIX, tokens_forget, webhook_signature

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
SUBSCRIPTION_KEY = "fake-subscription-key"
MSN = "123456"
WEBHOOK_SECRET = "fake-webhook-secret"
RECURRING_WEBHOOK_SECRET = "fake-recurring-webhook-secret"
OSLO = ZoneInfo("Europe/Oslo")
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class FakePayment:
    reference: str
    amount: int
    state: str = "CREATED"
    captured: int = 0
    cancelled: int = 0
    refunded: int = 0
    body: dict[str, Any] = field(default_factory=dict)

    def answer(self) -> dict[str, Any]:
        def nok(value: int) -> dict[str, Any]:
            return {"currency": "NOK", "value": value}

        return {
            "reference": self.reference,
            "pspReference": f"psp-{uuid.uuid4().hex[:12]}",
            "state": self.state,
            "amount": nok(self.amount),
            "paymentMethod": {"type": "WALLET"},
            "aggregate": {
                "authorizedAmount": nok(self.amount if self.state == "AUTHORIZED" else 0),
                "capturedAmount": nok(self.captured),
                "cancelledAmount": nok(self.cancelled),
                "refundedAmount": nok(self.refunded),
            },
        }


@dataclass
class FakeVipps:
    """The APIs as far as the adapter uses them, with their rules: one
    payment per reference, one operation per idempotency key, capture only
    what is reserved, refund only what is captured."""

    requests: list[Request] = field(default_factory=list)
    payments: dict[str, FakePayment] = field(default_factory=dict)
    # Answers to operations already done, by idempotency key.
    done: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Errors to answer with first, by the path's last part ("capture", ...).
    failures: dict[str, list[int]] = field(default_factory=dict)
    token_lifetime: int = 3600
    # The Recurring API's agreements: {id: {"status", "body", "charges": {id: {...}}}}.
    agreements: dict[str, Any] = field(default_factory=dict)
    # Webhook registrations received.
    webhooks: list[Any] = field(default_factory=list)

    def fail(self, operation: str, *statuses: int) -> None:
        self.failures[operation] = list(statuses)

    def approve(self, reference: str) -> None:
        self.payments[reference].state = "AUTHORIZED"

    def recurring_event(self, *, site: str, event: str, agreement: str, charge: str = "", **fields: Any) -> int:
        """Move an agreement or a charge on as Vipps would (a charge
        captured, failed, ...; an agreement stopped or expired) and send the
        signed webhook about it to ``site`` over HTTP, as Vipps does; the
        portal's answer's status code."""
        statuses = {
            "charge-captured": "CHARGED",
            "charge-failed": "FAILED",
            "charge-canceled": "CANCELLED",
            "agreement-stopped": "STOPPED",
            "agreement-expired": "EXPIRED",
        }
        found = self.agreements[agreement]
        amount = None
        if charge:
            found["charges"][charge]["status"] = statuses.get(event, found["charges"][charge]["status"])
            amount = found["charges"][charge]["amount"]
        elif event in statuses:
            found["status"] = statuses[event]
        url = urlsplit(site)
        path = "/payments/callback/vipps_recurring/"
        body, headers = recurring_webhook(
            event=event, agreement=agreement, charge=charge, amount=amount, path=path, host=url.netloc, **fields
        )
        return requests.post(site.rstrip("/") + path, data=body, headers=headers, timeout=10).status_code

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        parts = request.path.strip("/").split("/")
        if request.path == "/accesstoken/get":
            return self._token(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"title": "Unauthorized", "status": 401}
        if request.headers.get("Ocp-Apim-Subscription-Key") != SUBSCRIPTION_KEY:
            return 401, {"title": "Bad subscription key", "status": 401}
        operation = parts[-1]
        pending = self.failures.get(operation) or []
        if pending:
            return pending.pop(0), {"title": "Fake failure", "status": 500}
        if request.method == "GET" and parts[:3] == ["epayment", "v1", "payments"] and len(parts) == 4:
            payment = self.payments.get(parts[3])
            return (200, payment.answer()) if payment else (404, {"title": "Not found", "status": 404})
        if parts[:2] == ["recurring", "v3"]:
            return self._recurring(request, parts[2:])
        if request.method == "POST" and request.path == "/webhooks/v1/webhooks":
            self.webhooks.append(request.json)
            # Each registration has its own id and secret.
            events = request.json.get("events") or [""]
            if all(event.startswith("recurring.") for event in events):
                return 201, {"id": "7d4c0b7e-59a1-4b8e-a3c4-0f6f1f0a2b11", "secret": RECURRING_WEBHOOK_SECRET}
            return 201, {"id": "0b52e5bd-be1e-42a1-acf2-e331f52c68ac", "secret": WEBHOOK_SECRET}
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return 400, {"title": "Idempotency-Key is missing", "status": 400}
        if key in self.done:
            return self.done[key]
        if request.method == "POST" and request.path == "/epayment/v1/payments":
            answer = self._create(request.json)
        elif request.method == "POST" and len(parts) == 5:
            payment = self.payments.get(parts[3])
            if payment is None:
                return 404, {"title": "Not found", "status": 404}
            answer = self._modify(payment, operation, request.json or {})
        else:
            return 404, {"title": "Not found", "status": 404}
        if answer[0] < 500:
            self.done[key] = answer
        return answer

    def _recurring(self, request: Request, parts: list[str]) -> tuple[int, dict[str, Any]]:
        """The Recurring API's agreements and charges, as far as the adapter uses them."""
        key = request.headers.get("Idempotency-Key", "")
        if request.method in ("POST", "PATCH", "DELETE") and not key:
            return 400, {"title": "Idempotency-Key is missing", "status": 400}
        if key and key in self.done:
            return self.done[key]
        answer: tuple[int, dict[str, Any]]
        if request.method == "POST" and parts == ["agreements"]:
            agreement = f"agr_{len(self.agreements) + 1}"
            self.agreements[agreement] = {"status": "PENDING", "body": request.json, "charges": {}}
            answer = 201, {"agreementId": agreement, "vippsConfirmationUrl": f"https://pay.vipps.test/agr/{agreement}"}
        elif len(parts) >= 2 and parts[0] == "agreements" and parts[1] in self.agreements:
            agreement = self.agreements[parts[1]]
            if request.method == "GET" and len(parts) == 2:
                return 200, {"id": parts[1], "status": agreement["status"]}
            if request.method == "PATCH" and len(parts) == 2:
                agreement["status"] = request.json["status"]
                answer = 204, {}
            elif request.method == "POST" and parts[2:] == ["charges"]:
                if agreement["status"] != "ACTIVE":
                    return 400, {"title": "The agreement is not active", "status": 400}
                # The Recurring API's rules: a charge is made at the latest the
                # day before it is due (Oslo), and retried at most 14 days.
                due = date.fromisoformat(request.json["due"])
                if due < datetime.now(OSLO).date() + timedelta(days=1):
                    return 400, {"title": "The due date must be at least one day ahead", "status": 400}
                if not 0 <= request.json.get("retryDays", 0) <= 14:
                    return 400, {"title": "retryDays must be from 0 to 14", "status": 400}
                charge = f"chr_{len(agreement['charges']) + 1}"
                agreement["charges"][charge] = {"status": "PENDING", **request.json}
                answer = 201, {"chargeId": charge}
            elif request.method == "DELETE" and len(parts) == 4 and parts[3] in agreement["charges"]:
                found = agreement["charges"][parts[3]]
                if found["status"] not in ("PENDING", "DUE", "RESERVED"):
                    return 400, {"title": f"A charge that is {found['status']} cannot be cancelled", "status": 400}
                found["status"] = "CANCELLED"
                answer = 204, {}
            elif request.method == "GET" and len(parts) == 4 and parts[3] in agreement["charges"]:
                found = agreement["charges"][parts[3]]
                return 200, {
                    "id": parts[3],
                    "status": found["status"],
                    "amount": found["amount"],
                    "orderId": found["orderId"],
                }
            else:
                return 404, {"title": "Not found", "status": 404}
        else:
            return 404, {"title": "Not found", "status": 404}
        self.done[key] = answer
        return answer

    def _token(self, request: Request) -> tuple[int, dict[str, Any]]:
        if (request.headers.get("client_id"), request.headers.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        return 200, {
            "token_type": "Bearer",
            "expires_in": str(self.token_lifetime),
            "ext_expires_in": str(self.token_lifetime),
            "access_token": TOKEN,
        }

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        reference = body["reference"]
        if reference in self.payments:
            return 409, {"title": "Reference already used", "status": 409}
        self.payments[reference] = FakePayment(reference=reference, amount=body["amount"]["value"], body=body)
        return 201, {"redirectUrl": f"https://pay.vipps.test/?token={reference}", "reference": reference}

    def _modify(self, payment: FakePayment, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        value = (body.get("modificationAmount") or {}).get("value", 0)
        if operation == "capture":
            if payment.state != "AUTHORIZED" or payment.captured + payment.cancelled + value > payment.amount:
                return 400, {"title": "Cannot capture", "status": 400}
            payment.captured += value
        elif operation == "cancel":
            if payment.state == "CREATED":
                payment.state = "TERMINATED"
            elif payment.state == "AUTHORIZED" and payment.captured == 0:
                payment.cancelled = payment.amount
            else:
                return 400, {"title": "Cannot cancel", "status": 400}
        elif operation == "refund":
            if payment.refunded + value > payment.captured:
                return 400, {"title": "Cannot refund more than captured", "status": 400}
            payment.refunded += value
        else:
            return 404, {"title": "Not found", "status": 404}
        return 200, payment.answer()


class VippsHandler(BaseHTTPRequestHandler):
    server: VippsServer

    def do_GET(self) -> None:
        self.reply()

    def do_POST(self) -> None:
        self.reply()

    def do_PATCH(self) -> None:
        self.reply()

    def do_DELETE(self) -> None:
        self.reply()

    def reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw) if raw else None
        request = Request(self.command, urlsplit(self.path).path, dict(self.headers.items()), body)
        self.server.fake.requests.append(request)
        status, answer = self.server.fake.handle(request)
        content = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class VippsServer(ThreadingHTTPServer):
    fake: FakeVipps


@contextmanager
def vipps_serving(fake: FakeVipps, settings: Any) -> Iterator[FakeVipps]:
    """``fake`` answering on a loopback port, and the settings pointing the
    adapter at it with its keys, until the block ends."""
    server = VippsServer(("127.0.0.1", 0), VippsHandler)
    server.daemon_threads = True
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.VIPPS_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.VIPPS_CLIENT_ID = CLIENT_ID
    settings.VIPPS_CLIENT_SECRET = CLIENT_SECRET
    settings.VIPPS_SUBSCRIPTION_KEY = SUBSCRIPTION_KEY
    settings.VIPPS_MSN = MSN
    settings.VIPPS_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.VIPPS_RECURRING_WEBHOOK_SECRET = RECURRING_WEBHOOK_SECRET
    tokens_forget()
    try:
        yield fake
    finally:
        tokens_forget()
        server.shutdown()
        server.server_close()
        thread.join(5)


def webhook(
    *,
    reference: str,
    name: str,
    amount: int,
    path: str,
    psp: str = "psp-1",
    secret: str = WEBHOOK_SECRET,
    host: str = "portal.example.no",
    date: str | None = None,
    msn: str = MSN,
    success: bool = True,
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and headers as Vipps sends them, signed with ``secret``."""
    return signed(
        {
            "msn": msn,
            "reference": reference,
            "pspReference": psp,
            "name": name,
            "amount": {"currency": "NOK", "value": amount},
            "timestamp": "2026-12-04T10:00:00.000Z",
            "idempotencyKey": None,
            "success": success,
        },
        path=path,
        secret=secret,
        host=host,
        date=date,
    )


def recurring_webhook(
    *,
    event: str,
    agreement: str,
    charge: str = "",
    amount: int | None = None,
    path: str = "/payments/callback/vipps_recurring/",
    secret: str = RECURRING_WEBHOOK_SECRET,
    host: str = "portal.example.no",
    date: str | None = None,
    **fields: Any,
) -> tuple[bytes, dict[str, str]]:
    """A Recurring API webhook (``recurring.<event>.v1``) as Vipps sends it,
    signed with ``secret``: an agreement event, or a charge event when
    ``charge`` is given. ``fields`` change or add body fields (None drops one)."""
    body: dict[str, Any] = {
        "msn": MSN,
        "agreementId": agreement,
        "eventType": f"recurring.{event}.v1",
        "occurred": "2026-12-04T10:00:00Z",
        "actor": "USER",
    }
    if charge:
        body |= {"chargeId": charge, "amount": amount, "currency": "NOK", "chargeType": "RECURRING"}
        body.pop("actor")
    for name, value in fields.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return signed(body, path=path, secret=secret, host=host, date=date)


def signed(
    payload: dict[str, Any], *, path: str, secret: str, host: str, date: str | None
) -> tuple[bytes, dict[str, str]]:
    """``payload`` as a webhook's body and the headers that sign it as Vipps does."""
    body = json.dumps(payload).encode()
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    date = date or formatdate(usegmt=True)
    signature = webhook_signature(secret=secret, path_and_query=path, date=date, host=host, content_hash=content_hash)
    headers = {
        "Host": host,
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": AUTHORIZATION_PREFIX + signature,
        "Content-Type": "application/json",
    }
    return body, headers
