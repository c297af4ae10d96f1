"""Stripe's API played by a local HTTP server, and the bodies it answers with
(shaped like Stripe's): the adapter under test makes real HTTP requests to it.
The ``stripe_api`` fixture (tests/conftest.py) serves one for a test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

SESSION_ID = "cs_test_a1B2c3D4e5F6g7H8"
ORDER = "7b0c5a7e-3f2d-4c1e-9a51-2f8d6e4b1c90"
# Stripe's answer (409) to a request whose idempotency key another unfinished request is using.
IN_FLIGHT = {
    "error": {
        "type": "idempotency_error",
        "message": "There is currently another in-progress request using this Stripe-Idempotency-Key (that probably "
        "means you submitted twice, and the other request is still going through).",
    }
}


@dataclass
class Request:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeStripe:
    """Stripe's API as far as the adapter uses it: answers by (method, path),
    remembers every request."""

    requests: list[Request] = field(default_factory=list)
    answers: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    def answer(self, method: str, path: str, body: dict[str, Any], status: int = 200) -> None:
        self.answers[method, path] = [(status, body)]

    def answer_in_turn(self, method: str, path: str, *replies: tuple[int, dict[str, Any]]) -> None:
        """Answer each request with the next reply, then keep giving the last."""
        self.answers[method, path] = list(replies)

    def reply(self, request: Request) -> tuple[int, dict[str, Any]]:
        replies = self.answers.get((request.method, request.path))
        path = request.path
        if not replies:
            return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})."}}
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]


class StripeHandler(BaseHTTPRequestHandler):
    server: StripeServer

    def do_GET(self) -> None:
        self.reply()

    def do_POST(self) -> None:
        self.reply()

    def reply(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        request = Request(self.command, path, form, dict(self.headers.items()), query)
        fake.requests.append(request)
        status, body = fake.reply(request)
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Request-Id", "req_test_1")
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass


F = TypeVar("F", bound="FakeStripe")


class StripeServer(ThreadingHTTPServer):
    fake: FakeStripe


@contextmanager
def stripe_serving(fake: F, settings: Any) -> Iterator[F]:
    """``fake`` answering Stripe's API on a loopback port, and the settings
    pointing the adapter at it, until the block ends."""
    server = StripeServer(("127.0.0.1", 0), StripeHandler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_SECRET_KEY = "sk_test_51Nordlys"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def checkout_session(**changes: Any) -> dict[str, Any]:
    """An open Checkout Session for ORDER as Stripe returns it, with ``changes``."""
    session = {
        "id": SESSION_ID,
        "object": "checkout.session",
        "url": f"https://checkout.stripe.com/c/pay/{SESSION_ID}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": 199_00,
        "currency": "nok",
        "client_reference_id": ORDER,
        "metadata": {"order": ORDER},
        "payment_intent": "pi_3PqR7sT8uV9wX0yZ",
        "livemode": False,
    }
    return session | changes
