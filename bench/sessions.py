"""Signed-in customers for the load tool: a session for each of a random
sample of the dataset's customers, and the file wrk's script reads them from.

Sessions are made fresh on every run (the old bench sessions are removed
first), signed with the settings' key, in whatever session engine the
settings use: on the database engines they are written in one bulk insert,
otherwise one ``create()`` each.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User
from subscriptions.models import Line, LineStatus

KEY_PREFIX = "bench"
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
DB_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}
# What a customer's sign-in with a password stores in the session.
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class SignedIn:
    """One customer's session and the lines their dashboard links to."""

    session_key: str
    user_id: int
    line_ids: tuple[int, ...]


def sessions_create(*, count: int, seed: int, also: Iterable[int] = ()) -> list[SignedIn]:
    """Sign in ``count`` customers drawn at random (seeded) from those with a
    line to show, and the customers ``also`` names."""
    rng = random.Random(seed)  # noqa: S311 (a sample, not a secret)
    customers = sorted(
        Line.objects.exclude(status=LineStatus.QUARANTINED).values_list("owner_id", flat=True).distinct().order_by()
    )
    chosen = sorted(set(rng.sample(customers, min(count, len(customers)))) | set(also))
    lines: dict[int, list[int]] = {user_id: [] for user_id in chosen}
    for owner_id, line_id in (
        Line.objects.filter(owner_id__in=chosen)
        .exclude(status=LineStatus.QUARANTINED)
        .order_by("owner_id", "id")
        .values_list("owner_id", "id")
    ):
        lines[owner_id].append(line_id)
    hashes = {user.pk: user.get_session_auth_hash() for user in User.objects.filter(pk__in=chosen).only("password")}
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    sessions_clear()
    signed_in: list[SignedIn] = []
    rows: list[Session] = []
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    for user_id in chosen:
        data = {SESSION_KEY: str(user_id), BACKEND_SESSION_KEY: SIGN_IN_BACKEND, HASH_SESSION_KEY: hashes[user_id]}
        if settings.SESSION_ENGINE in DB_ENGINES:
            key = KEY_PREFIX + get_random_string(32 - len(KEY_PREFIX), KEY_CHARS)
            rows.append(Session(session_key=key, session_data=store_class().encode(data), expire_date=expires))
        else:
            store = store_class()
            store.update(data)
            store.create()
            key = store.session_key or ""
        signed_in.append(SignedIn(session_key=key, user_id=user_id, line_ids=tuple(lines[user_id])))
    Session.objects.bulk_create(rows, batch_size=2_000)
    _sessions_cache_warm(store_class, rows)
    return signed_in


def _sessions_cache_warm(store_class: type, rows: list[Session]) -> None:
    """A real sign-in writes a cached_db session to the cache as well as to
    the database; so do these, or the first request of each customer would
    measure a cache miss (a session query and a cache write) that signed-in
    customers do not pay."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.cached_db" or not rows:
        return
    cache = caches[settings.SESSION_CACHE_ALIAS]
    for start in range(0, len(rows), 2_000):
        chunk = rows[start : start + 2_000]
        cache.set_many(
            {store_class(row.session_key).cache_key: store_class().decode(row.session_data) for row in chunk},
            timeout=settings.SESSION_COOKIE_AGE,
        )


def sessions_clear() -> None:
    """Remove the sessions an earlier run made (database engines only;
    other stores let them expire)."""
    if settings.SESSION_ENGINE in DB_ENGINES:
        Session.objects.filter(session_key__startswith=KEY_PREFIX).delete()


def sessions_file_write(path: Path, signed_in: list[SignedIn]) -> Path:
    """One line per customer for wrk's script: the session key, then the ids
    of the customer's lines, separated by spaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{entry.session_key} {' '.join(map(str, entry.line_ids))}\n" for entry in signed_in))
    return path
