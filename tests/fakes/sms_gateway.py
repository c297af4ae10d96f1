"""The SMS gateway played by an HTTP server on 127.0.0.1: it keeps every
message posted to it and answers with the statuses a test plans (202 once
they run out). The ``sms_gateway`` fixture (tests/services/conftest.py) runs
one and points portal.sms.HttpGatewayBackend at it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "gateway-test-token"


@dataclass
class LocalSmsGateway:
    """What the gateway was sent, and what it answers next (202 once the
    planned answers run out)."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


@contextmanager
def sms_gateway_serving(settings: Any) -> Iterator[LocalSmsGateway]:
    """A gateway answering on a loopback port, and the HTTP gateway backend
    pointed at it, until the block ends."""
    gateway = LocalSmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            gateway.received.append(
                {
                    "path": self.path,
                    "authorization": self.headers["Authorization"],
                    "content_type": self.headers["Content-Type"],
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            status = gateway.answers.pop(0) if gateway.answers else 202
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "queued"}' if status < 300 else b'{"error": "internal"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    settings.SMS_BACKEND = "portal.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_TOKEN = TOKEN
    settings.SMS_GATEWAY_TIMEOUT = 5
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
