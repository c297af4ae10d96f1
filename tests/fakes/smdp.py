"""An SM-DP+'s ES2+ interface played by a local HTTP server (see
json_api.py): it answers downloadOrder, confirmOrder, cancelOrder and
releaseProfile as a real one does, keeps each answer by
functionCallIdentifier (the same id again gets the same answer), and takes
planned answers (a Failed status, a 5xx, a silence) ahead of its own."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.json_api import Request

ADDRESS = "smdp.vendor.test"
MATCHING_ID = "FAKE-MATCH-0001"


def success(**fields: Any) -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, **fields}


def failed(subject: str, reason: str, message: str = "") -> dict[str, Any]:
    codes = {"subjectCode": subject, "reasonCode": reason, "message": message}
    return {"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData": codes}}}


@dataclass
class FakeSmdp:
    requests: list[Request] = field(default_factory=list)
    # Planned replies, each (status, body) or ("sleep", seconds).
    planned: list[tuple[Any, Any]] = field(default_factory=list)
    answered: dict[str, tuple[int, Any]] = field(default_factory=dict)
    # How many calls actually did something (not answered from memory).
    performed: int = 0

    def handle(self, request: Request) -> tuple[int, Any]:
        while self.planned:
            status, body = self.planned.pop(0)
            if status == "sleep":
                time.sleep(body)
                continue
            return status, body
        call_id = request.json["header"]["functionCallIdentifier"]
        if call_id in self.answered:
            return self.answered[call_id]
        self.performed += 1
        function = request.path.rsplit("/", 1)[-1]
        iccid = request.json.get("iccid", "")
        fields: dict[str, Any] = {
            "downloadOrder": {"iccid": iccid},
            "confirmOrder": {"matchingId": request.json.get("matchingId") or MATCHING_ID, "smdpAddress": ADDRESS},
        }.get(function, {})
        self.answered[call_id] = (200, success(**fields))
        return self.answered[call_id]
