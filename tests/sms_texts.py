"""Texts to the service number as the SMS gateway posts them to
/sms/inbound/, signed with the portal's key, for the tests that post them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings

from subscriptions.sms_gateway import SIGNATURE_HEADER, signed_headers

URL = "/sms/inbound/"


def text_body(sender: str, words: str, *, message_id: str | None = None, **changes: Any) -> dict[str, Any]:
    body = {
        "id": message_id or f"gw-{uuid.uuid4().hex}",
        "from": sender,
        "to": settings.SMS_SERVICE_NUMBER,
        "text": words,
        "received_at": "2026-03-01T12:00:00Z",
    }
    return body | changes


def signed(body: dict[str, Any] | bytes, *, at: float | None = None, secret: str | None = None) -> dict[str, Any]:
    """Keyword arguments for the test client's post: the body and its signature."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(raw, secret=secret, at=at)
    return {"data": raw, "content_type": "application/json", "headers": {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}}
