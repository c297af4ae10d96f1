"""The SIM Swap API's answers and its clients' tokens: a bank asks whether a
number's SIM changed recently before it trusts a code sent to it. A SIM
change here is a fulfilled replacement eSIM request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from subscriptions.models import Line, ReplacementStatus, SimSwapClient

TOKEN_BYTES = 32


def _token_hash(token: str) -> str:
    # A random 256-bit token needs no slow hash: SHA-256 cannot be reversed.
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def sim_swap_client_create(*, name: str) -> tuple[SimSwapClient, str]:
    """A client and its bearer token, which is shown this once and kept
    only as a hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    client = SimSwapClient.objects.create(name=name, token_hash=_token_hash(token), token_prefix=token[:8])
    return client, token


def sim_swap_client_authenticate(*, token: str) -> SimSwapClient | None:
    """The active client holding ``token`` (its last use noted), or None."""
    if not token:
        return None
    client = SimSwapClient.objects.filter(token_hash=_token_hash(token), is_active=True).first()
    if client is not None:
        SimSwapClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return client


def sim_swap_latest(*, line: Line) -> datetime | None:
    """When the line's SIM last changed (its latest fulfilled replacement)."""
    latest: datetime | None = line.replacement_requests.filter(status=ReplacementStatus.FULFILLED).aggregate(
        at=Max("fulfilled_at")
    )["at"]
    return latest


def sim_swap_monitored_days(*, line: Line, now: datetime | None = None) -> int:
    """How many days back our records of the line's SIM go: since the line began."""
    now = now or timezone.now()
    return max(0, (now - line.created_at).days)


def sim_swap_since(*, line: Line, max_age_hours: int, now: datetime | None = None) -> bool:
    """Whether the SIM changed within the last ``max_age_hours``."""
    now = now or timezone.now()
    latest = sim_swap_latest(line=line)
    return latest is not None and latest >= now - timedelta(hours=max_age_hours)
