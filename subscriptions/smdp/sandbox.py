"""Our adapter for the sandbox's pretend SM-DP+ (``sandbox.smdp``, which
production does not install). It builds the same ES2+ bodies as the HTTP
adapter and reads the answers the same way; only the transport differs (a
function call instead of HTTPS), so the sandbox exercises the code that
reads a real SM-DP+'s answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from sandbox import smdp as sandbox
from subscriptions.smdp.base import (
    PROFILE_UNAVAILABLE,
    ConfirmedOrder,
    DownloadProgress,
    answer_fields,
    answered_iccid,
    confirmed_order,
    download_progress,
    request_body,
    verify_signature,
)

REQUESTER = "nordlys-portal"


class SandboxSmdp:
    name = "sandbox"
    required_settings = ("SMDP_NOTIFY_SECRET",)
    https_settings: tuple[str, ...] = ()

    def download_order(self, *, iccid: str, request_id: str, eid: str = "", profile_type: str = "") -> str:
        fields = self._call("downloadOrder", request_id, iccid=iccid, eid=eid, profileType=profile_type)
        return answered_iccid(fields, asked=iccid)

    def confirm_order(
        self, *, iccid: str, request_id: str, matching_id: str = "", eid: str = "", release: bool = True
    ) -> ConfirmedOrder:
        fields = self._call(
            "confirmOrder", request_id, iccid=iccid, eid=eid, matchingId=matching_id, releaseFlag=release
        )
        return confirmed_order(fields, matching_id=matching_id, default_address=settings.SANDBOX_SMDP_ADDRESS)

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
        return answer_fields(
            sandbox.es2plus(function, request_body(requester=REQUESTER, request_id=request_id, **fields))
        )
