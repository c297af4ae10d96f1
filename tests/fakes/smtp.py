"""An SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts. The
``smtp_server`` fixture (tests/services/conftest.py) runs one and points
Django's SMTP backend at it."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class LocalSmtpServer:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts. It can
    be stopped and started again on the same port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.received: list[Envelope] = []
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"
