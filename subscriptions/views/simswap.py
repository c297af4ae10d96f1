"""The SIM Swap API for banks, shaped like CAMARA's SIM Swap API:
``POST /sim-swap/v0/retrieve-date {phoneNumber}`` and
``POST /sim-swap/v0/check {phoneNumber, maxAge}``, each behind a client's
bearer token. Errors are CAMARA's: ``{"status", "code", "message"}``."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.phone import normalize_phone
from subscriptions.models import Line
from subscriptions.services.simswap import (
    sim_swap_client_authenticate,
    sim_swap_latest,
    sim_swap_monitored_days,
    sim_swap_since,
)

# CAMARA's bounds on maxAge, in hours, and its default.
MAX_AGE_MIN, MAX_AGE_MAX, MAX_AGE_DEFAULT = 1, 2400, 240


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JsonResponse:
        return JsonResponse({"status": self.status, "code": self.code, "message": self.message}, status=self.status)


def _authenticate(request: HttpRequest) -> None:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or sim_swap_client_authenticate(token=token.strip()) is None:
        raise ApiError(
            401, "UNAUTHENTICATED", "Request not authenticated due to missing, invalid, or expired credentials."
        )


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_ARGUMENT", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_ARGUMENT", "The request body must be a JSON object.")
    return body


def _line(body: dict[str, Any]) -> Line:
    raw = body.get("phoneNumber")
    # CAMARA asks for E.164 with its plus sign: "+4791234567".
    if not isinstance(raw, str) or not raw.startswith("+") or not raw[1:].isdigit():
        raise ApiError(400, "INVALID_ARGUMENT", "phoneNumber must be in E.164 format, e.g. +4791234567.")
    try:
        number = normalize_phone(raw)
    except ValidationError:
        raise ApiError(400, "INVALID_ARGUMENT", "phoneNumber is not a valid mobile number.") from None
    line = Line.objects.filter(number=number).first()
    if line is None:
        raise ApiError(404, "IDENTIFIER_NOT_FOUND", "The phone number is not one of ours.")
    return line


def _max_age(body: dict[str, Any]) -> int:
    value = body.get("maxAge", MAX_AGE_DEFAULT)
    if isinstance(value, bool) or not isinstance(value, int) or not MAX_AGE_MIN <= value <= MAX_AGE_MAX:
        raise ApiError(
            400, "OUT_OF_RANGE", f"maxAge must be a whole number of hours from {MAX_AGE_MIN} to {MAX_AGE_MAX}."
        )
    return value


@csrf_exempt
@require_POST
def retrieve_date(request: HttpRequest) -> JsonResponse:
    """When the number's SIM last changed; null with the days we can vouch for."""
    try:
        _authenticate(request)
        line = _line(_body(request))
    except ApiError as error:
        return error.response()
    latest = sim_swap_latest(line=line)
    if latest is None:
        return JsonResponse({"latestSimChange": None, "monitoredPeriod": sim_swap_monitored_days(line=line)})
    return JsonResponse({"latestSimChange": latest.isoformat().replace("+00:00", "Z")})


@csrf_exempt
@require_POST
def check(request: HttpRequest) -> JsonResponse:
    """Whether the number's SIM changed in the last ``maxAge`` hours."""
    try:
        _authenticate(request)
        body = _body(request)
        max_age = _max_age(body)
        line = _line(body)
    except ApiError as error:
        return error.response()
    return JsonResponse({"swapped": sim_swap_since(line=line, max_age_hours=max_age)})
