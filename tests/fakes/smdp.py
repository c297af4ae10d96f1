"""An SM-DP+'s ES2+ interface played by a local HTTP server (see
json_api.py): it answers downloadOrder, confirmOrder, cancelOrder and
releaseProfile as a real one does, keeps each answer by
functionCallIdentifier (the same id again gets the same answer; the same id
with another body is refused), keeps the confirmation code ConfirmOrder
gives (refusing one that is not 4 to 16 digits), and takes planned answers
(a Failed status, a 5xx, a silence) ahead of its own."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.json_api import Request

ADDRESS = "smdp.vendor.test"
MATCHING_ID = "FAKE-MATCH-0001"
CONFIRMATION_CODE = re.compile(r"^[0-9]{4,16}$")


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
    bodies: dict[str, Any] = field(default_factory=dict)
    # The confirmation code each ICCID was confirmed with.
    confirmation_codes: dict[str, str] = field(default_factory=dict)
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
            if self.bodies[call_id] != request.json:
                return 200, failed("1.2", "3.3", "functionCallIdentifier already used for another call")
            return self.answered[call_id]
        self.performed += 1
        function = request.path.rsplit("/", 1)[-1]
        iccid = request.json.get("iccid", "")
        self.bodies[call_id] = request.json
        if function == "confirmOrder" and "confirmationCode" in request.json:
            code = request.json["confirmationCode"]
            if not isinstance(code, str) or not CONFIRMATION_CODE.match(code):
                self.answered[call_id] = (200, failed("8.2.7", "2.1", "confirmation code is not one"))
                return self.answered[call_id]
            self.confirmation_codes[iccid] = code
        fields: dict[str, Any] = {
            "downloadOrder": {"iccid": iccid},
            "confirmOrder": {"matchingId": request.json.get("matchingId") or MATCHING_ID, "smdpAddress": ADDRESS},
        }.get(function, {})
        self.answered[call_id] = (200, success(**fields))
        return self.answered[call_id]
