"""Signed-in customers for the load tool: a session for each of a random
sample of the dataset's customers, and the file wrk's script reads them from.

Sessions are made fresh on every run (the old bench sessions are removed
first), signed with the settings' key, in whatever session engine the
settings use: on the database engines they are written in one bulk insert,
otherwise one ``create()`` each.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path

from allauth.account.internal.flows import login as allauth_login
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User
from subscriptions.models import EsimProfile, Line, LineStatus
from subscriptions.selectors.esim_install import READY_STATES

KEY_PREFIX = "bench"
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
DB_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}
# What a customer's sign-in with a password stores in the session.
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class SignedIn:
    """One customer's session, the lines their dashboard links to, and those
    of them with an eSIM ready to install (whose Install page shows a code)."""

    session_key: str
    user_id: int
    line_ids: tuple[int, ...]
    install_line_ids: tuple[int, ...] = ()


def install_customers(*, count: int, seed: int) -> list[int]:
    """Up to ``count`` customers drawn at random (seeded) from those with an
    eSIM ready to install, so that the Install page has visitors."""
    rng = random.Random(seed)  # noqa: S311 (a sample, not a secret)
    owners = sorted(
        EsimProfile.objects.filter(state__in=READY_STATES, line__isnull=False)
        .values_list("line__owner_id", flat=True)
        .distinct()
        .order_by()
    )
    return rng.sample(owners, min(count, len(owners)))


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
    install_lines: dict[int, list[int]] = {user_id: [] for user_id in chosen}
    for owner_id, line_id in (
        EsimProfile.objects.filter(line__owner_id__in=chosen, state__in=READY_STATES)
        .order_by("line__owner_id", "line_id")
        .values_list("line__owner_id", "line_id")
        .distinct()
    ):
        install_lines[owner_id].append(line_id)
    hashes = {user.pk: user.get_session_auth_hash() for user in User.objects.filter(pk__in=chosen).only("password")}
    signed_in_at = time.time()
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    sessions_clear()
    signed_in: list[SignedIn] = []
    rows: list[Session] = []
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    for user_id in chosen:
        data = {
            SESSION_KEY: str(user_id),
            BACKEND_SESSION_KEY: SIGN_IN_BACKEND,
            HASH_SESSION_KEY: hashes[user_id],
            # Each customer has just entered their password again, as the
            # Install page asks (bench.settings holds it fresh for the run).
            allauth_login.AUTHENTICATION_METHODS_SESSION_KEY: [
                {"method": "password", "at": signed_in_at, "reauthenticated": True}
            ],
            allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY: str(user_id),
        }
        if settings.SESSION_ENGINE in DB_ENGINES:
            key = KEY_PREFIX + get_random_string(32 - len(KEY_PREFIX), KEY_CHARS)
            rows.append(Session(session_key=key, session_data=store_class().encode(data), expire_date=expires))
        else:
            store = store_class()
            store.update(data)
            store.create()
            key = store.session_key or ""
        signed_in.append(
            SignedIn(
                session_key=key,
                user_id=user_id,
                line_ids=tuple(lines[user_id]),
                install_line_ids=tuple(install_lines[user_id]),
            )
        )
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


def sessions_file_write(path: Path, signed_in: list[SignedIn], *, install: bool = False) -> Path:
    """One line per customer for wrk's script: the session key, then the ids
    of the customer's lines, separated by spaces. With ``install``, only the
    customers with an eSIM ready to install, and only those lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        (entry.session_key, entry.install_line_ids if install else entry.line_ids)
        for entry in signed_in
        if entry.install_line_ids or not install
    ]
    path.write_text("".join(f"{key} {' '.join(map(str, line_ids))}\n" for key, line_ids in rows))
    return path
