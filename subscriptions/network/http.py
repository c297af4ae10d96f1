"""The operator's provisioning API over HTTPS: a small JSON REST interface.

Four requests, each ``POST`` with ``Authorization: Bearer <NETWORK_TOKEN>``,
``Content-Type: application/json`` and our request id both as the
``Idempotency-Key`` header and in the body:

- ``{NETWORK_URL}/v1/subscribers/{msisdn}/block``   ``{"requestId"}``
- ``{NETWORK_URL}/v1/subscribers/{msisdn}/unblock`` ``{"requestId"}``
- ``{NETWORK_URL}/v1/subscribers/{msisdn}/imsi``    ``{"requestId", "oldImsi", "newImsi"}``
- ``{NETWORK_URL}/v1/subscribers/{msisdn}/release`` ``{"requestId", "imsi"}`` (a
  cancelled line: the number leaves its SIM)

``{msisdn}`` is E.164 with its ``+`` encoded (``%2B4791234567``). The
answers:

- ``200 {"requestId", "status": "done"}``: done now, or done before with
  this request id (the network keeps ids, so a retry changes nothing);
- ``4xx {"error": {"code", "message"}}``: refused. Codes: ``unknown_msisdn``,
  ``imsi_mismatch`` (the number is not on ``oldImsi``), ``imsi_in_use``
  (``newImsi`` belongs to another number), ``request_id_reused`` (this id
  came with another request), ``invalid_request``;
- ``409 {"error": {"code": "request_in_progress"}}``, any 5xx, 408 or 429,
  a timeout or a closed connection: not known; the same request again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from subscriptions.network.base import NetworkRefused, NetworkUnavailable
from subscriptions.payments.base import MalformedUpdate, checked_text

IN_PROGRESS = "request_in_progress"


class HttpNetwork:
    name = "http"
    required_settings = ("NETWORK_URL", "NETWORK_TOKEN")
    https_settings = ("NETWORK_URL",)

    def block_line(self, *, msisdn: str, request_id: str) -> None:
        self._post(msisdn, "block", request_id, {})

    def unblock_line(self, *, msisdn: str, request_id: str) -> None:
        self._post(msisdn, "unblock", request_id, {})

    def swap_imsi(self, *, msisdn: str, old_imsi: str, new_imsi: str, request_id: str) -> None:
        self._post(msisdn, "imsi", request_id, {"oldImsi": old_imsi, "newImsi": new_imsi})

    def release_imsi(self, *, msisdn: str, imsi: str, request_id: str) -> None:
        self._post(msisdn, "release", request_id, {"imsi": imsi})

    def _post(self, msisdn: str, action: str, request_id: str, fields: dict[str, str]) -> None:
        url = f"{settings.NETWORK_URL.rstrip('/')}/v1/subscribers/{quote(msisdn, safe='')}/{action}"
        try:
            response = requests.post(
                url,
                json={"requestId": request_id, **fields},
                headers={
                    "Authorization": f"Bearer {settings.NETWORK_TOKEN}",
                    "Idempotency-Key": request_id,
                    "Accept": "application/json",
                },
                timeout=settings.NETWORK_TIMEOUT_SECONDS,
            )
        except requests.RequestException as error:
            raise NetworkUnavailable(f"{action}: network not reached: {error.__class__.__name__}") from None
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise NetworkUnavailable(f"{action}: network answered {status}")
        try:
            answer: Any = response.json()
        except ValueError:
            raise NetworkUnavailable(f"{action}: network answered {status} without JSON") from None
        if 200 <= status < 300:
            if not isinstance(answer, dict) or answer.get("status") != "done":
                raise NetworkUnavailable(f"{action}: network answered {status} without saying done")
            return
        code, message = _error(answer)
        if status == 409 and code == IN_PROGRESS:
            raise NetworkUnavailable(f"{action}: an earlier request with this id is still running")
        if 400 <= status < 500 and code:
            raise NetworkRefused(code=code, message=message)
        raise NetworkUnavailable(f"{action}: network answered {status}")


def _error(answer: Any) -> tuple[str, str]:
    """The error's code and message, each printable and short; empty when
    the answer holds none we can read."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return "", ""
    try:
        code = checked_text("error code", error.get("code"), max_length=40)
    except MalformedUpdate:
        return "", ""
    message = error.get("message")
    return code, message[:300] if isinstance(message, str) and message.isprintable() else ""
