"""The pretend SM-DP+'s side: what a real SM-DP+'s ES2+ interface does, in
this process.

``es2plus(function, body)`` takes an ES2+ request body as the real one takes
it over HTTPS and returns the answer body: ``downloadOrder``,
``confirmOrder``, ``cancelOrder`` and ``releaseProfile``, with SGP.22's
profile states (available → allocated → confirmed or released → downloaded →
installed; cancelled back to available, or unavailable). Each answer is kept
by the request's ``functionCallIdentifier``: the same id again answers the
same, and an id used for another call is refused.

The "pretend phone" page (``sandbox.views.sandbox_esim``, under
/sandbox/esim/<iccid>/) installs a released profile; the SM-DP+ then owes
the portal two HandleDownloadProgressInfo notifications (BPP download, BPP
install), signed with ``SMDP_NOTIFY_SECRET`` and sent by a Celery task until
the portal takes them.

Refusals use SGP.22's codes: subject 8.2.1 (Profile ICCID) with reason 3.9
(unknown) or 3.5 (not in a state for this function); 8.2.6 (matching ID)
with 3.3 (already in use); 8.2.7 (confirmation code) with 2.1 (invalid);
1.1 with 2.2 (a mandatory element missing); and
1.2 with 3.3 when a functionCallIdentifier comes back for another call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from sandbox.models import SandboxSmdpCall, SandboxSmdpNotification, SandboxSmdpProfile, SmdpProfileState
from subscriptions.iccid import is_valid_iccid
from subscriptions.smdp.base import (
    BPP_DOWNLOAD,
    BPP_INSTALL,
    EXPIRED,
    FAILED,
    MATCHING_ID,
    PROFILE_AVAILABLE,
    PROFILE_UNAVAILABLE,
    SIGNATURE_HEADER,
    SUCCESS,
    sign,
)

NOTIFY_TIMEOUT_SECONDS = 10
# SGP.22 leaves the confirmation code's form to the operator; ours are digits.
CONFIRMATION_CODE = re.compile(r"^[0-9]{4,16}$")
State = SmdpProfileState
# Which states each function starts from.
FROM_STATES = {
    "downloadOrder": {State.AVAILABLE},
    "confirmOrder": {State.ALLOCATED},
    "cancelOrder": {State.ALLOCATED, State.CONFIRMED, State.RELEASED},
    "releaseProfile": {State.CONFIRMED},
}


class Refusal(Exception):
    def __init__(self, subject: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.subject, self.reason, self.message = subject, reason, message


class NotificationNotTaken(Exception):
    """The portal did not take a notification: the task sends it again."""


def answer(status: str = SUCCESS, **fields: Any) -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {"status": status}}, **fields}


def refused(refusal: Refusal) -> dict[str, Any]:
    codes = {"subjectCode": refusal.subject, "reasonCode": refusal.reason, "message": refusal.message}
    return {"header": {"functionExecutionStatus": {"status": FAILED, "statusCodeData": codes}}}


# --- ES2+ ---------------------------------------------------------------------------------


def es2plus(function: str, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to one ES2+ call, the same for the same request id."""
    header = body.get("header") if isinstance(body, dict) else None
    call_id = header.get("functionCallIdentifier") if isinstance(header, dict) else None
    requester = header.get("functionRequesterIdentifier", "") if isinstance(header, dict) else ""
    if not isinstance(call_id, str) or not call_id or not isinstance(requester, str):
        return refused(Refusal("1.1", "2.2", "functionCallIdentifier is missing"))
    iccid = body.get("iccid", "")
    iccid = iccid if isinstance(iccid, str) else ""
    try:
        with transaction.atomic():
            known = SandboxSmdpCall.objects.select_for_update().filter(requester=requester, call_id=call_id).first()
            if known is not None:
                if (known.function, known.iccid) != (function, iccid):
                    return refused(Refusal("1.2", "3.3", "functionCallIdentifier already used for another call"))
                return dict(known.answer)
            result = _perform(function, body, iccid)
            SandboxSmdpCall.objects.create(
                requester=requester, call_id=call_id, function=function, iccid=iccid, answer=result
            )
            return result
    except IntegrityError:
        # The same id at the same moment: the first one's answer stands.
        known = SandboxSmdpCall.objects.get(requester=requester, call_id=call_id)
        return dict(known.answer)


def _perform(function: str, body: dict[str, Any], iccid: str) -> dict[str, Any]:
    if function not in FROM_STATES:
        return answer(EXPIRED)
    if not is_valid_iccid(iccid):
        return refused(Refusal("8.2.1", "3.9", "unknown ICCID"))
    profile, _created = SandboxSmdpProfile.objects.select_for_update().get_or_create(iccid=iccid)
    if profile.state not in FROM_STATES[function]:
        return refused(Refusal("8.2.1", "3.5", f"profile is {profile.state}"))
    try:
        fields = FUNCTIONS[function](profile, body)
    except Refusal as refusal:
        return refused(refusal)
    profile.changed_at = timezone.now()
    profile.save()
    return answer(**fields)


def _download_order(profile: SandboxSmdpProfile, body: dict[str, Any]) -> dict[str, Any]:
    eid = body.get("eid", "")
    profile.eid = eid if isinstance(eid, str) else ""
    profile.state = State.ALLOCATED
    return {"iccid": profile.iccid}


def _confirm_order(profile: SandboxSmdpProfile, body: dict[str, Any]) -> dict[str, Any]:
    matching = body.get("matchingId") or f"SBX-{secrets.token_hex(8).upper()}"
    if not isinstance(matching, str) or not MATCHING_ID.match(matching):
        raise Refusal("8.2.6", "3.9", "matching ID is not one")
    if SandboxSmdpProfile.objects.filter(matching_id=matching).exclude(pk=profile.pk).exists():
        raise Refusal("8.2.6", "3.3", "matching ID already in use")
    code = body.get("confirmationCode", "")
    if not isinstance(code, str) or (code and not CONFIRMATION_CODE.match(code)):
        raise Refusal("8.2.7", "2.1", "confirmation code is not one")
    profile.matching_id = matching
    profile.confirmation_code_hash = confirmation_code_hash(code) if code else ""
    profile.state = State.RELEASED if body.get("releaseFlag") is True else State.CONFIRMED
    return {"matchingId": matching, "smdpAddress": settings.SANDBOX_SMDP_ADDRESS}


def confirmation_code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _cancel_order(profile: SandboxSmdpProfile, body: dict[str, Any]) -> dict[str, Any]:
    final = body.get("finalProfileStatusIndicator")
    if final not in (PROFILE_AVAILABLE, PROFILE_UNAVAILABLE):
        raise Refusal("8.2.1", "2.2", "finalProfileStatusIndicator is missing")
    profile.state = State.AVAILABLE if final == PROFILE_AVAILABLE else State.UNAVAILABLE
    profile.matching_id = ""
    profile.confirmation_code_hash = ""
    return {}


def _release_profile(profile: SandboxSmdpProfile, body: dict[str, Any]) -> dict[str, Any]:
    profile.state = State.RELEASED
    return {}


FUNCTIONS: dict[str, Callable[[SandboxSmdpProfile, dict[str, Any]], dict[str, Any]]] = {
    "downloadOrder": _download_order,
    "confirmOrder": _confirm_order,
    "cancelOrder": _cancel_order,
    "releaseProfile": _release_profile,
}


# --- the pretend phone ---------------------------------------------------------------------


def smdp_profile(*, iccid: str) -> SandboxSmdpProfile | None:
    return SandboxSmdpProfile.objects.filter(iccid=iccid).first()


class WrongConfirmationCode(Exception):
    """The phone's user typed a confirmation code that is not the profile's."""


def smdp_install(*, iccid: str, confirmation_code: str = "") -> SandboxSmdpProfile | None:
    """A phone downloads and installs a released profile: it moves to
    installed and the portal is told (download, then install), on commit.
    A profile not released is left as it is (None if unknown). A profile
    confirmed with a confirmation code needs the same code typed, or
    WrongConfirmationCode (as a real SM-DP+ refuses the download)."""
    from sandbox.tasks import send_download_progress

    with transaction.atomic():
        profile = SandboxSmdpProfile.objects.select_for_update().filter(iccid=iccid).first()
        if profile is None or profile.state != State.RELEASED:
            return profile
        if profile.confirmation_code_hash and not hmac.compare_digest(
            profile.confirmation_code_hash, confirmation_code_hash(confirmation_code.strip())
        ):
            raise WrongConfirmationCode(iccid)
        now = timezone.now()
        profile.state = State.INSTALLED
        profile.changed_at = now
        profile.save(update_fields=["state", "changed_at"])
        for point in (BPP_DOWNLOAD, BPP_INSTALL):
            SandboxSmdpNotification.objects.create(call_id=str(uuid.uuid4()), iccid=iccid, point=point, happened_at=now)
        # Robust: the install stands even if the queue is down; the page
        # sends again.
        transaction.on_commit(lambda: send_download_progress.delay(iccid), robust=True)
    return profile


def notification_body(notification: SandboxSmdpNotification) -> bytes:
    return json.dumps(
        {
            "header": {
                "functionRequesterIdentifier": settings.SANDBOX_SMDP_ADDRESS,
                "functionCallIdentifier": notification.call_id,
            },
            "iccid": notification.iccid,
            "profileType": "Nordlys eSIM",
            "timestamp": notification.happened_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "notificationPointId": notification.point,
            "notificationPointStatus": {"status": notification.status},
        }
    ).encode()


def notify_url() -> str:
    return settings.SANDBOX_SMDP_NOTIFY_URL or urljoin(settings.SITE_URL, reverse("esim_notify", args=["sandbox"]))


def smdp_deliver_notifications(*, iccid: str) -> int:
    """POST the profile's notifications not yet taken, in order, each signed
    now; NotificationNotTaken at the first the portal does not take (the
    task retries). Returns how many were delivered."""
    delivered = 0
    for notification in SandboxSmdpNotification.objects.filter(iccid=iccid, delivered_at=None):
        body = notification_body(notification)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, timestamp=int(time.time()), secret=settings.SMDP_NOTIFY_SECRET),
        }
        SandboxSmdpNotification.objects.filter(pk=notification.pk).update(attempts=F("attempts") + 1)
        url = notify_url()
        try:
            response = requests.post(url, data=body, headers=headers, timeout=NOTIFY_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise NotificationNotTaken(f"notification to {url} failed: {error.__class__.__name__}") from error
        if response.status_code >= 300:
            raise NotificationNotTaken(f"notification to {url} answered {response.status_code}")
        SandboxSmdpNotification.objects.filter(pk=notification.pk).update(delivered_at=timezone.now())
        delivered += 1
    return delivered
