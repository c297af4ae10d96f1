"""The operator's provisioning API (subscriptions/network/http.py describes
it) played by a local HTTP server (see json_api.py): it keeps each number's
IMSI and block, answers a repeated request id as the first time, and takes
planned answers (a refusal, a 5xx, a silence) ahead of its own."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.json_api import Request

TOKEN = "network-test-token"


@dataclass
class FakeNetwork:
    requests: list[Request] = field(default_factory=list)
    planned: list[tuple[Any, Any]] = field(default_factory=list)
    imsi: dict[str, str] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)
    answered: dict[str, tuple[int, Any]] = field(default_factory=dict)
    performed: int = 0

    def handle(self, request: Request) -> tuple[int, Any]:
        while self.planned:
            status, body = self.planned.pop(0)
            if status == "sleep":
                time.sleep(body)
                continue
            return status, body
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"error": {"code": "unauthorised", "message": "bad token"}}
        request_id = request.json["requestId"]
        if request_id in self.answered:
            return self.answered[request_id]
        self.performed += 1
        _, _, _, encoded, action = request.path.split("/")
        msisdn = unquote(encoded)
        if action == "block":
            self.blocked.add(msisdn)
        elif action == "unblock":
            self.blocked.discard(msisdn)
        elif action == "release":
            if self.imsi.get(msisdn, request.json["imsi"]) != request.json["imsi"]:
                self.answered[request_id] = (409, {"error": {"code": "imsi_mismatch", "message": "not on that IMSI"}})
                return self.answered[request_id]
            self.imsi.pop(msisdn, None)
            self.released.add(msisdn)
        elif msisdn in self.released:
            # A number released from its SIM (a cancelled line) takes any new one.
            self.imsi[msisdn] = request.json["newImsi"]
            self.released.discard(msisdn)
        elif self.imsi.get(msisdn) != request.json["oldImsi"]:
            self.answered[request_id] = (409, {"error": {"code": "imsi_mismatch", "message": "not on that IMSI"}})
            return self.answered[request_id]
        else:
            self.imsi[msisdn] = request.json["newImsi"]
        self.answered[request_id] = (200, {"requestId": request_id, "status": "done"})
        return self.answered[request_id]
