"""The one interface every SM-DP+ speaks: GSMA SGP.22 ES2+, the operator's
side of remote SIM provisioning.

An eSIM profile is ordered for download (DownloadOrder), confirmed with its
matching ID (ConfirmOrder, which may release it at once), released when it
was confirmed without (ReleaseProfile), or given back (CancelOrder). Every
call carries our request id as ES2+'s ``functionCallIdentifier``: a retry
sends the same id, and an SM-DP+ that has answered it answers the same again.

The SM-DP+ reports what the phone did with a profile through
HandleDownloadProgressInfo, a signed notification to
``/esim/notify/<provider>/``; ``verify_notification`` checks its signature
and reads it field by field into a ``DownloadProgress`` before anything uses it.

Errors say whether to try again:

- ``SmdpUnavailable``: not reached, too slow, a 5xx, or an answer we cannot
  read. Nothing is known to have happened; the same call with the same
  request id is safe to repeat (the worker retries with backoff).
- ``SmdpRefused``: the SM-DP+ answered ``Failed`` with SGP.22's subject and
  reason codes. Repeating will not help; support looks at the codes.

Neither is for the customer's eyes: the customer is told their eSIM is being
prepared, or that support is looking at it, never the codes. Likewise
``InvalidNotification`` (a notification that is forged, stale or malformed)
is answered 400 and logged, and never reaches a page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings

from subscriptions.iccid import is_valid_iccid
from subscriptions.payments.base import MalformedUpdate, checked_payload, checked_text

# ES2+'s answer statuses (SGP.22 5.3: functionExecutionStatus.status).
SUCCESS = "Executed-Success"
WITH_WARNING = "Executed-WithWarning"
FAILED = "Failed"
EXPIRED = "Expired"
STATUSES = (SUCCESS, WITH_WARNING, FAILED, EXPIRED)

# HandleDownloadProgressInfo's notification points (SGP.22 5.3.5).
ELIGIBILITY_CHECK = 1
CONFIRMATION_FAILURE = 2
BPP_DOWNLOAD = 3
BPP_INSTALL = 4

# CancelOrder's finalProfileStatusIndicator.
PROFILE_AVAILABLE = "Available"
PROFILE_UNAVAILABLE = "Unavailable"

# Our notifications are signed like the sandbox payment provider's callbacks:
# ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
SIGNATURE_HEADER = "Nordlys-Signature"
TIMESTAMP_DIGITS = 10
# A matching ID, by SGP.22's activation code rules (DESIGN.md 5).
MATCHING_ID = re.compile(r"^[A-Za-z0-9-]{1,255}$")
HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
EID = re.compile(r"^[0-9]{32}$")
# "2026-03-01T12:00:00Z", with fractions or an offset at most this long.
TIMESTAMP_LENGTH = 40
CODE_LENGTH = 20
MESSAGE_LENGTH = 500


class SmdpError(Exception):
    """Something went wrong talking to the SM-DP+. Never shown to a customer."""


class SmdpUnavailable(SmdpError):
    """Transient: not reached, timed out, a 5xx, ``Expired``, or an answer we
    could not read. Retry the same call with the same request id."""


class SmdpRefused(SmdpError):
    """The SM-DP+ refused (``Failed``), with SGP.22's codes, e.g. subject
    ``8.2.1`` (Profile ICCID) reason ``3.9`` (unknown). Do not retry; support
    sees the codes."""

    def __init__(self, *, subject_code: str, reason_code: str, message: str = "") -> None:
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.message = message
        super().__init__(f"SM-DP+ refused: subject {subject_code}, reason {reason_code}: {message}"[:300])


class InvalidNotification(Exception):
    """A notification whose signature, age or body is wrong: answer 400."""


@dataclass(frozen=True)
class ConfirmedOrder:
    """ConfirmOrder's answer: where and with what the phone downloads it."""

    matching_id: str
    smdp_address: str


@dataclass(frozen=True)
class DownloadProgress:
    """A HandleDownloadProgressInfo notification, checked field by field."""

    call_id: str
    iccid: str
    notification_point: int
    succeeded: bool
    at: datetime
    profile_type: str = ""
    eid: str = ""

    @property
    def installed(self) -> bool:
        return self.notification_point == BPP_INSTALL and self.succeeded


class SmdpProvider(Protocol):
    name: str
    # The settings it cannot work without; the system check refuses to start
    # a deployment whose SM-DP+ lacks one.
    required_settings: tuple[str, ...]

    def download_order(self, *, iccid: str, request_id: str, eid: str = "", profile_type: str = "") -> str:
        """Reserve the profile ``iccid`` for download; returns its ICCID."""
        ...

    def confirm_order(
        self,
        *,
        iccid: str,
        request_id: str,
        matching_id: str = "",
        eid: str = "",
        confirmation_code: str = "",
        release: bool = True,
    ) -> ConfirmedOrder:
        """Confirm the order (with our matching ID, or one the SM-DP+ makes);
        with ``release`` the phone may download it at once. A
        ``confirmation_code`` is kept by the SM-DP+, which then asks the
        phone's user to type it before the download."""
        ...

    def cancel_order(
        self, *, iccid: str, request_id: str, matching_id: str = "", final_status: str = PROFILE_UNAVAILABLE
    ) -> None:
        """Give the order up; the profile ends ``Available`` for reuse or
        ``Unavailable`` (never to be downloaded: a lost phone's)."""
        ...

    def release_profile(self, *, iccid: str, request_id: str) -> None:
        """Let the phone download a profile confirmed without release."""
        ...

    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> DownloadProgress:
        """A genuine HandleDownloadProgressInfo, or InvalidNotification."""
        ...


# --- what the ES2+ adapters share ---------------------------------------------------------


def request_body(*, requester: str, request_id: str, **fields: Any) -> dict[str, Any]:
    """An ES2+ request: the header, then the function's fields (empty
    optional ones left out)."""
    body: dict[str, Any] = {"header": {"functionRequesterIdentifier": requester, "functionCallIdentifier": request_id}}
    body.update({name: value for name, value in fields.items() if value not in ("", None)})
    return body


def answer_fields(answer: Any) -> dict[str, Any]:
    """The fields of an ES2+ answer that succeeded; SmdpRefused for
    ``Failed``; SmdpUnavailable for ``Expired`` or an answer without a
    status we know."""
    try:
        status = answer["header"]["functionExecutionStatus"]
        verdict = status["status"]
    except (KeyError, TypeError):
        raise SmdpUnavailable("the SM-DP+'s answer has no functionExecutionStatus") from None
    if verdict in (SUCCESS, WITH_WARNING):
        return dict(answer)
    if verdict == FAILED:
        codes = status.get("statusCodeData") if isinstance(status, dict) else None
        codes = codes if isinstance(codes, dict) else {}
        raise SmdpRefused(
            subject_code=_printable(codes.get("subjectCode"), CODE_LENGTH),
            reason_code=_printable(codes.get("reasonCode"), CODE_LENGTH),
            message=_printable(codes.get("message"), MESSAGE_LENGTH),
        )
    if verdict == EXPIRED:
        raise SmdpUnavailable("the SM-DP+ let the function expire")
    raise SmdpUnavailable(f"the SM-DP+ answered an unknown status {str(verdict)[:40]!r}")


def answered_iccid(fields: Mapping[str, Any], *, asked: str) -> str:
    iccid = fields.get("iccid", asked)
    if not isinstance(iccid, str) or not is_valid_iccid(iccid):
        raise SmdpUnavailable("the SM-DP+ answered with an ICCID that is not one")
    return iccid


def confirmed_order(fields: Mapping[str, Any], *, matching_id: str, default_address: str) -> ConfirmedOrder:
    """ConfirmOrder's matching ID and SM-DP+ address, each as SGP.22's
    activation code allows (no ``$``, no spaces), or SmdpUnavailable."""
    matching = fields.get("matchingId", matching_id)
    address = fields.get("smdpAddress", default_address)
    if not isinstance(matching, str) or not MATCHING_ID.match(matching):
        raise SmdpUnavailable("the SM-DP+ answered with a matching ID that is not one")
    if not isinstance(address, str) or not HOST_NAME.match(address):
        raise SmdpUnavailable("the SM-DP+ answered with an address that is not a host name")
    return ConfirmedOrder(matching_id=matching, smdp_address=address)


def _printable(value: Any, length: int) -> str:
    return value[:length] if isinstance(value, str) and value.isprintable() else ""


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(*, body: bytes, headers: Mapping[str, str], secret: str, tolerance_seconds: int) -> None:
    """InvalidNotification unless the signature header is ours over this
    body and no older (or newer) than ``tolerance_seconds``."""
    if not secret:
        raise InvalidNotification("no signing secret is configured")
    header = headers.get(SIGNATURE_HEADER, "")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= TIMESTAMP_DIGITS) or not given:
        raise InvalidNotification("no signature")
    timestamp = int(stamp)
    expected = sign(body, timestamp=timestamp, secret=secret).split("v1=", 1)[1]
    # As bytes: compare_digest refuses a str that is not ASCII.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InvalidNotification("bad signature")
    if abs(time.time() - timestamp) > tolerance_seconds:
        raise InvalidNotification("stale signature")


def download_progress(body: bytes) -> DownloadProgress:
    """Read a HandleDownloadProgressInfo body field by field: every field the
    type and length SGP.22 gives it, the ICCID a real one, no NUL or lone
    surrogate anywhere; InvalidNotification otherwise."""
    try:
        message = checked_payload(json.loads(body))
        header = message["header"]
        if not isinstance(header, dict):
            raise MalformedUpdate("header is not an object")
        call_id = checked_text("functionCallIdentifier", header["functionCallIdentifier"])
        checked_text("functionRequesterIdentifier", header.get("functionRequesterIdentifier", ""), required=False)
        iccid = checked_text("iccid", message["iccid"], max_length=20)
        if not is_valid_iccid(iccid) or not iccid.isascii():
            raise MalformedUpdate("iccid is not an ICCID")
        point = message["notificationPointId"]
        if type(point) is not int or not 1 <= point <= 99:
            raise MalformedUpdate("notificationPointId is not a number from 1 to 99")
        point_status = message["notificationPointStatus"]
        if not isinstance(point_status, dict) or point_status.get("status") not in STATUSES:
            raise MalformedUpdate("notificationPointStatus has no status we know")
        stamp = checked_text("timestamp", message["timestamp"], max_length=TIMESTAMP_LENGTH)
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise MalformedUpdate("timestamp has no time zone")
        eid = checked_text("eid", message.get("eid", ""), max_length=32, required=False)
        if eid and not EID.match(eid):
            raise MalformedUpdate("eid is not 32 digits")
        profile_type = checked_text("profileType", message.get("profileType", ""), max_length=100, required=False)
        return DownloadProgress(
            call_id=call_id,
            iccid=iccid,
            notification_point=point,
            succeeded=point_status["status"] in (SUCCESS, WITH_WARNING),
            at=at,
            profile_type=profile_type,
            eid=eid,
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # ValueError covers MalformedUpdate, bad JSON and a bad timestamp.
        raise InvalidNotification(f"malformed notification: {error}"[:300]) from None


class Es2PlusFunctions:
    """The ES2+ functions, written once over any transport: an adapter
    subclasses it with ``_call`` (send one function's body, return the
    answer's fields or raise) and ``_address`` (where phones download from
    when ConfirmOrder does not say)."""

    def download_order(self, *, iccid: str, request_id: str, eid: str = "", profile_type: str = "") -> str:
        fields = self._call("downloadOrder", request_id, iccid=iccid, eid=eid, profileType=profile_type)
        return answered_iccid(fields, asked=iccid)

    def confirm_order(
        self,
        *,
        iccid: str,
        request_id: str,
        matching_id: str = "",
        eid: str = "",
        confirmation_code: str = "",
        release: bool = True,
    ) -> ConfirmedOrder:
        fields = self._call(
            "confirmOrder",
            request_id,
            iccid=iccid,
            eid=eid,
            matchingId=matching_id,
            confirmationCode=confirmation_code,
            releaseFlag=release,
        )
        return confirmed_order(fields, matching_id=matching_id, default_address=self._address())

    def cancel_order(
        self, *, iccid: str, request_id: str, matching_id: str = "", final_status: str = PROFILE_UNAVAILABLE
    ) -> None:
        self._call(
            "cancelOrder", request_id, iccid=iccid, matchingId=matching_id, finalProfileStatusIndicator=final_status
        )

    def release_profile(self, *, iccid: str, request_id: str) -> None:
        self._call("releaseProfile", request_id, iccid=iccid)

    def verify_notification(self, *, body: bytes, headers: Mapping[str, str]) -> DownloadProgress:
        verify_signature(
            body=body,
            headers=headers,
            secret=settings.SMDP_NOTIFY_SECRET,
            tolerance_seconds=settings.SMDP_NOTIFY_TOLERANCE_SECONDS,
        )
        return download_progress(body)

    def _call(self, function: str, request_id: str, **fields: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _address(self) -> str:
        raise NotImplementedError
