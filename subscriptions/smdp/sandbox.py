"""Our adapter for the sandbox's pretend SM-DP+ (``sandbox.smdp``, which
production does not install). It builds the same ES2+ bodies as the HTTP
adapter and reads the answers the same way; only the transport differs (a
function call instead of HTTPS), so the sandbox exercises the code that
reads a real SM-DP+'s answers."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from sandbox import smdp as sandbox
from subscriptions.smdp.base import (
    Es2PlusFunctions,
    answer_fields,
    request_body,
)

REQUESTER = "nordlys-portal"


class SandboxSmdp(Es2PlusFunctions):
    name = "sandbox"
    required_settings = ("SMDP_NOTIFY_SECRET",)
    https_settings: tuple[str, ...] = ()

    def _call(self, function: str, request_id: str, **fields: Any) -> dict[str, Any]:
        return answer_fields(
            sandbox.es2plus(function, request_body(requester=REQUESTER, request_id=request_id, **fields))
        )

    def _address(self) -> str:
        return str(settings.SANDBOX_SMDP_ADDRESS)
