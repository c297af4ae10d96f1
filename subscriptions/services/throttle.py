"""Limits on guessing codes (vouchers, promotion codes): each refused
attempt is a row, and the refusals of the last window are counted per scope
(the customer, their IP address, a line). Attempts that share a scope wait
for each other in the transaction that counts and records them, so parallel
guesses are counted one after another and no more get checked than the
limits allow."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

THROTTLE_WINDOW = timedelta(hours=1)


def throttle_hold(*, name: str, scopes: Iterable[str]) -> None:
    """Make attempts of the throttle ``name`` that share one of ``scopes``
    wait for each other until the calling transaction ends, so that each
    counts the failures recorded by those before it.

    On PostgreSQL, a transaction-level advisory lock per scope: an address
    has no row to lock, and an advisory lock keeps the customer's and the
    line's rows free for the writes that own them (sign-in, renewals, usage).
    The locks are taken in the order of their keys, so two attempts never
    hold one each while waiting for the other's. On SQLite (the embedded
    default) every transaction begins IMMEDIATE, which already lets one
    writer in at a time and keeps the others waiting on the database lock."""
    if connection.vendor != "postgresql":
        return
    # The ORM has no advisory locks.
    with connection.cursor() as cursor:
        for key in sorted({throttle_lock_key(name=name, scope=scope) for scope in scopes}):
            cursor.execute("SELECT pg_advisory_xact_lock(%s::bigint)", [key])


def throttle_lock_key(*, name: str, scope: str) -> int:
    """The 64-bit advisory lock key of a scope of the throttle ``name``."""
    digest = hashlib.blake2b(f"{name}:{scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def throttle_free_at(
    *, failures: QuerySet[Any], scopes: Mapping[str, Q], limits: Mapping[str, int], now: datetime
) -> datetime | None:
    """When the next attempt is let in, if the ``failures`` (rows with a
    ``created_at``) of the last window matching a scope's condition reached
    that scope's limit; else None. Counting is one query; the waiting time is
    looked up only when a limit is reached."""
    recent = failures.filter(created_at__gt=now - THROTTLE_WINDOW)
    counts = recent.filter(reduce(or_, scopes.values())).aggregate(
        **{scope: Count("pk", filter=condition) for scope, condition in scopes.items()}
    )
    free_at: datetime | None = None
    for scope, condition in scopes.items():
        limit = limits[scope]
        if counts[scope] < limit:
            continue
        # Once the limit-th newest failure leaves the window, fewer than the
        # limit are left in it.
        newest = recent.filter(condition).order_by("-created_at").values_list("created_at", flat=True)
        scope_free_at = newest[limit - 1] + THROTTLE_WINDOW
        free_at = scope_free_at if free_at is None else max(free_at, scope_free_at)
    return free_at


def throttle_minutes(*, free_at: datetime, now: datetime) -> int:
    """Whole minutes to wait until ``free_at``, at least one and never more
    than the window: a clock read a microsecond behind a parallel attempt's
    (this machine's clock is not monotonic) must not say "61 minutes"."""
    window_minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
    return min(window_minutes, max(1, math.ceil((free_at - now).total_seconds() / 60)))
