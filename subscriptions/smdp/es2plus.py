"""A real SM-DP+ over GSMA SGP.22 ES2+: JSON over HTTPS.

Each function is ``POST {SMDP_URL}/gsma/rsp2/es2plus/<function>`` with the
header ``X-Admin-Protocol: gsma/rsp/v2.<x>.<y>`` and a body whose ``header``
holds ``functionRequesterIdentifier`` (who we are to the SM-DP+,
``SMDP_FUNCTION_REQUESTER_ID``) and ``functionCallIdentifier`` (our request
id, the same on every retry). The answer's
``header.functionExecutionStatus.status`` says ``Executed-Success`` (or
``-WithWarning``), or ``Failed`` with ``statusCodeData`` (subject and reason
codes), or ``Expired``.

ES2+ authenticates both sides with TLS: the SM-DP+ knows us by our client
certificate (``SMDP_CLIENT_CERT`` and ``SMDP_CLIENT_KEY``, PEM file paths,
issued for the operator), and we know it by its certificate, checked against
``SMDP_CA_BUNDLE`` when its issuer is not in the system's store. Some
vendors also want a bearer token (``SMDP_TOKEN``). Its download-progress
notifications reach ``/esim/notify/es2plus/`` signed with
``SMDP_NOTIFY_SECRET`` (``Nordlys-Signature``, as ``base.sign`` makes it).

Nothing here is retried: the task that calls it retries on SmdpUnavailable.
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from subscriptions.smdp.base import (
    Es2PlusFunctions,
    SmdpUnavailable,
    answer_fields,
    request_body,
)

PROTOCOL = "gsma/rsp/v2.2.0"
PATH = "/gsma/rsp2/es2plus/"


class Es2PlusSmdp(Es2PlusFunctions):
    name = "es2plus"
    required_settings = (
        "SMDP_URL",
        "SMDP_FUNCTION_REQUESTER_ID",
        "SMDP_CLIENT_CERT",
        "SMDP_CLIENT_KEY",
        "SMDP_NOTIFY_SECRET",
    )
    # Settings that must be https:// where only real parts run.
    https_settings = ("SMDP_URL",)

    def _call(self, function: str, request_id: str, **fields: Any) -> dict[str, Any]:
        body = request_body(requester=settings.SMDP_FUNCTION_REQUESTER_ID, request_id=request_id, **fields)
        headers = {"X-Admin-Protocol": PROTOCOL, "Content-Type": "application/json", "Accept": "application/json"}
        if settings.SMDP_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMDP_TOKEN}"
        cert = (settings.SMDP_CLIENT_CERT, settings.SMDP_CLIENT_KEY) if settings.SMDP_CLIENT_CERT else None
        try:
            response = requests.post(
                settings.SMDP_URL.rstrip("/") + PATH + function,
                json=body,
                headers=headers,
                cert=cert,
                verify=settings.SMDP_CA_BUNDLE or True,
                timeout=settings.SMDP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as error:
            raise SmdpUnavailable(f"{function}: SM-DP+ not reached: {error.__class__.__name__}") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise SmdpUnavailable(f"{function}: SM-DP+ answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise SmdpUnavailable(f"{function}: SM-DP+ answered {response.status_code} without JSON") from None
        # ES2+ answers a refusal as 200 with "Failed"; a 4xx with an ES2+ body
        # is read the same way, and one without is not an answer we can use.
        return answer_fields(answer)

    def _address(self) -> str:
        return settings.SMDP_ADDRESS or (settings.SMDP_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0])
