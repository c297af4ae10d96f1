"""A JSON API played by a real HTTP server on 127.0.0.1 in a thread: each
POST is handed to the fake's ``handle(path, headers, body)``, which returns
a status and a JSON body (or sleeps, to time a client out). The SM-DP+ and
network fakes build on it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: Any


class Fake(Protocol):
    requests: list[Request]

    def handle(self, request: Request) -> tuple[int, Any]: ...


@contextmanager
def json_api_serving(fake: Fake) -> Iterator[str]:
    """``fake`` answering on a loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            request = Request(self.path, dict(self.headers.items()), body)
            fake.requests.append(request)
            status, answer = fake.handle(request)
            content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except OSError:
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
