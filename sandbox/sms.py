"""The pretend SMS gateway's inbound side and the pretend phone that uses it:
a text "sent" from a number to the service number is posted to the portal's
/sms/inbound/ by a Celery task, signed with SMS_INBOUND_SECRET as the real
gateway signs it, and retried until the portal takes it. The phone reads the
replies where ``portal.sms`` put them: the files under SMS_FILE_PATH (``make
run``) or the locmem outbox (tests)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import sms
from sandbox.models import SandboxText
from subscriptions.sms_gateway import signed_headers

TIMEOUT_SECONDS = 10
# The newest replies a phone page reads from the files.
REPLY_FILES = 500


class TextNotTaken(Exception):
    """The portal did not take the text (the task retries)."""


@dataclass(frozen=True)
class PhoneMessage:
    """One line of the pretend phone's conversation."""

    at: datetime
    # The pretend phone's number: the sender of an outgoing text, the
    # recipient of a reply.
    number: str
    body: str
    outgoing: bool
    delivered: bool = True


def phone_text_send(*, number: str, text: str) -> SandboxText:
    """Keep the text and post it to the portal once this commits."""
    from sandbox.tasks import send_inbound_text

    with transaction.atomic():
        sent = SandboxText.objects.create(number=number, text=text, message_id=f"sandbox-{uuid.uuid4().hex}")
        transaction.on_commit(lambda: send_inbound_text.delay(sent.pk))
    return sent


def inbound_body(sent: SandboxText) -> bytes:
    return json.dumps(
        {
            "id": sent.message_id,
            "from": sent.number,
            "to": settings.SMS_SERVICE_NUMBER,
            "text": sent.text,
            "received_at": sent.sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        },
        ensure_ascii=False,
    ).encode()


def sandbox_deliver_text(*, text_id: int) -> None:
    """POST the text to the portal, signed; TextNotTaken unless it answers 2xx."""
    sent = SandboxText.objects.filter(pk=text_id).first()
    if sent is None:
        return
    url = settings.SANDBOX_SMS_INBOUND_URL or settings.SITE_URL + reverse("sms_inbound")
    body = inbound_body(sent)
    try:
        response = requests.post(url, data=body, headers=signed_headers(body), timeout=TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise TextNotTaken(f"text to {url} failed: {error}") from error
    if not 200 <= response.status_code < 300:
        raise TextNotTaken(f"text to {url} answered {response.status_code}")
    SandboxText.objects.filter(pk=sent.pk, delivered_at=None).update(delivered_at=timezone.now())


def phone_conversation(*, number: str) -> list[PhoneMessage]:
    """What the phone sent to the service number and the texts it got, oldest first."""
    messages = [
        PhoneMessage(
            at=sent.sent_at, number=number, body=sent.text, outgoing=True, delivered=sent.delivered_at is not None
        )
        for sent in SandboxText.objects.filter(number=number)
    ]
    messages += [message for message in _received() if message.number == number]
    return sorted(messages, key=lambda message: message.at)


def _received() -> list[PhoneMessage]:
    found: list[PhoneMessage] = []
    if settings.SMS_BACKEND.endswith("FileBackend"):
        folder = Path(settings.SMS_FILE_PATH)
        files = sorted(folder.glob("*.json"))[-REPLY_FILES:] if folder.is_dir() else []
        for path in files:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append(_message(data["to"], data["body"], data["created"]))
            except (OSError, ValueError, KeyError):
                continue
    else:
        found = [_message(message.to, message.body, message.created) for message in list(sms.outbox)]
    return found


def _message(to: str, body: str, created: str) -> PhoneMessage:
    return PhoneMessage(at=datetime.fromisoformat(created), number=to, body=body, outgoing=False)
