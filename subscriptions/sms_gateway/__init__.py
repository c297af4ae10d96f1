"""Texts the SMS gateway received for us: the gateway posts each one as JSON
to /sms/inbound/, signed with the shared key ``SMS_INBOUND_SECRET`` the way
the SM-DP+ signs its notifications (``Nordlys-Signature: t=<unix
time>,v1=<hex HMAC-SHA256 of "<t>." + body>``)::

    {"id": "<the gateway's message id>", "from": "+4791234567",
     "to": "<the service number>", "text": "BALANCE",
     "received_at": "2026-03-01T12:00:00Z"}

``verify_inbound`` checks the signature and its age, then every field;
anything else is InvalidInbound (the view answers 400). Outbound texts go
through ``portal.sms``."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from subscriptions.payments.base import MalformedUpdate, checked_payload, checked_text

SIGNATURE_HEADER = "Nordlys-Signature"
TIMESTAMP_DIGITS = 10
MESSAGE_ID_LENGTH = 100
# A long text arrives joined from its parts: ten parts of 160 characters.
TEXT_LENGTH = 1600
TIMESTAMP_LENGTH = 40
# E.164: a plus and up to 15 digits, no leading zero.
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What a service number may be: E.164, or a short code of 3 to 8 digits.
SERVICE_NUMBER = re.compile(r"^(\+[1-9][0-9]{6,14}|[0-9]{3,8})$")
# Control characters a text may hold: line breaks and tabs, nothing else.
TEXT_CONTROLS = frozenset("\n\r\t")


class InvalidInbound(Exception):
    """A post whose signature, age or body is wrong: answer 400."""


@dataclass(frozen=True)
class InboundText:
    message_id: str
    sender: str
    to: str
    text: str
    received_at: datetime | None


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed_headers(body: bytes, *, secret: str | None = None, at: float | None = None) -> dict[str, str]:
    """The headers the gateway sends with ``body`` (the sandbox's pretend
    phone and the tests post the same)."""
    stamp = int(time.time() if at is None else at)
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, timestamp=stamp, secret=settings.SMS_INBOUND_SECRET if secret is None else secret),
    }


def verify_inbound(*, body: bytes, headers: Mapping[str, str]) -> InboundText:
    """The text, if the post is the gateway's and well formed."""
    _verify_signature(body=body, headers=headers)
    return _parse(body)


def _verify_signature(*, body: bytes, headers: Mapping[str, str]) -> None:
    secret = settings.SMS_INBOUND_SECRET
    if not secret:
        raise InvalidInbound("no signing secret is configured")
    header = headers.get(SIGNATURE_HEADER, "")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    # ASCII digits only: int() would take other scripts' digits.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= TIMESTAMP_DIGITS) or not given:
        raise InvalidInbound("no signature")
    timestamp = int(stamp)
    expected = sign(body, timestamp=timestamp, secret=secret).split("v1=", 1)[1]
    # As bytes: compare_digest refuses a str that is not ASCII.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidInbound("bad signature")
    if abs(time.time() - timestamp) > settings.SMS_INBOUND_TOLERANCE_SECONDS:
        raise InvalidInbound("stale signature")


def _parse(body: bytes) -> InboundText:
    """Every field the type and length the gateway sends, the numbers real
    ones, the text free of NUL and other control characters (line breaks
    aside), the service number ours."""
    try:
        message = checked_payload(json.loads(body))
        message_id = checked_text("id", message["id"], max_length=MESSAGE_ID_LENGTH)
        sender = checked_text("from", message["from"], max_length=16)
        if not E164.match(sender):
            raise MalformedUpdate("from is not an E.164 number")
        to = checked_text("to", message["to"], max_length=16)
        if not SERVICE_NUMBER.match(to):
            raise MalformedUpdate("to is not a phone number or short code")
        if to != settings.SMS_SERVICE_NUMBER:
            raise MalformedUpdate("to is not our service number")
        text = message["text"]
        if not isinstance(text, str):
            raise MalformedUpdate(f"text is not a string: {type(text).__name__}")
        if len(text) > TEXT_LENGTH:
            raise MalformedUpdate(f"text is longer than {TEXT_LENGTH} characters")
        if not all(character.isprintable() or character in TEXT_CONTROLS for character in text):
            raise MalformedUpdate("text holds control characters")
        received_at = None
        if message.get("received_at") is not None:
            stamp = checked_text("received_at", message["received_at"], max_length=TIMESTAMP_LENGTH)
            received_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if received_at.tzinfo is None:
                raise MalformedUpdate("received_at has no time zone")
        return InboundText(message_id=message_id, sender=sender, to=to, text=text, received_at=received_at)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # ValueError covers MalformedUpdate, bad JSON and a bad timestamp.
        raise InvalidInbound(f"malformed text: {error}"[:300]) from None
