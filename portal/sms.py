"""The SMS interface: ``send(to=..., body=...)`` through the backend named by
``settings.SMS_BACKEND``.

Backends:
- ``ConsoleBackend`` prints each message;
- ``FileBackend`` writes one file per message under ``SMS_FILE_PATH`` (and
  echoes it to the console when ``SMS_FILE_ECHO`` is set);
- ``LocmemBackend`` appends to ``portal.sms.outbox`` (tests);
- ``HttpGatewayBackend`` posts JSON to an SMS gateway (production).
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings
from django.utils.module_loading import import_string


class SmsDeliveryError(Exception):
    """The gateway did not take the message; worth retrying later."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sender: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class BaseBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"SMS from {message.sender} to {message.to}: {message.body}\n")
        sys.stdout.flush()


class FileBackend(BaseBackend):
    def send(self, message: SmsMessage) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{message.created[:19].replace(':', '')}-{message.id}.json"
        (folder / name).write_text(json.dumps(asdict(message), ensure_ascii=False, indent=2), encoding="utf-8")
        if getattr(settings, "SMS_FILE_ECHO", False):
            ConsoleBackend().send(message)


outbox: list[SmsMessage] = []
_outbox_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    def send(self, message: SmsMessage) -> None:
        with _outbox_lock:
            outbox.append(message)


class HttpGatewayBackend(BaseBackend):
    """Posts ``{"from", "to", "text", "reference"}`` with a bearer token; any
    non-2xx answer or network error is a SmsDeliveryError (the task retries,
    and the reference lets the gateway drop a duplicate)."""

    def send(self, message: SmsMessage) -> None:
        if not settings.SMS_GATEWAY_URL:
            raise SmsDeliveryError("SMS_GATEWAY_URL is not set")
        try:
            response = requests.post(
                settings.SMS_GATEWAY_URL,
                json={"from": message.sender, "to": message.to, "text": message.body, "reference": message.id},
                headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
                timeout=settings.SMS_GATEWAY_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise SmsDeliveryError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise SmsDeliveryError(f"SMS gateway answered {response.status_code}")


def get_backend() -> BaseBackend:
    backend: BaseBackend = import_string(settings.SMS_BACKEND)()
    return backend


def send(*, to: str, body: str, reference: str | None = None, sender: str | None = None) -> SmsMessage:
    """Send one text, from SMS_SENDER unless ``sender`` says otherwise (a
    reply to a command comes from the service number, so the customer can
    text back). ``reference`` stays the same across retries of one message
    (the Celery task id), so the gateway can drop a duplicate."""
    # Pages keep numbers and sums together with no-break spaces; a text gets
    # plain ones, since GSM-7 has no no-break space and one would make the
    # whole text UCS-2 (70 characters a part instead of 160).
    body = body.replace("\u00a0", " ").replace("\u202f", " ")
    message = SmsMessage(to=to, body=body, sender=sender or settings.SMS_SENDER, id=reference or uuid.uuid4().hex)
    get_backend().send(message)
    return message
