"""HandleDownloadProgressInfo notifications as an SM-DP+ sends them, signed
with the portal's notification key, for the tests that post them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.conf import settings

from subscriptions.smdp.base import BPP_INSTALL, SIGNATURE_HEADER, sign


def progress_body(iccid: str, *, point: int = BPP_INSTALL, status: str = "Executed-Success", **changes: Any) -> dict:
    body = {
        "header": {"functionRequesterIdentifier": "smdp.vendor.test", "functionCallIdentifier": str(uuid.uuid4())},
        "iccid": iccid,
        "profileType": "Nordlys eSIM",
        "timestamp": "2026-03-01T12:00:00Z",
        "notificationPointId": point,
        "notificationPointStatus": {"status": status},
    }
    return body | changes


def signed(body: dict | bytes, *, at: float | None = None, secret: str | None = None) -> dict[str, Any]:
    """Keyword arguments for the test client's post: the body and its signature."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = int(time.time() if at is None else at)
    header = sign(raw, timestamp=stamp, secret=secret or settings.SMDP_NOTIFY_SECRET)
    return {"data": raw, "content_type": "application/json", "headers": {SIGNATURE_HEADER: header}}
