"""SQL per request, measured in this process: Django's test client sends each
page through the whole middleware stack as a signed-in customer, and an
execute wrapper on the connection sees every statement that reaches the
database and how long it took there (the round trip included).

The same requests give the time the page takes in one process with nothing
else running, and how much of it is SQL: the rest is Python (middleware,
selectors, templates). Under load the server's figures add to this the
queueing, the other processes and wrk on the same CPUs.

(With CONN_HEALTH_CHECKS on, a reused connection also gets a ``SELECT 1``
from psycopg directly, which Django does not count: one round trip more
per request than these figures show.)"""

from __future__ import annotations

import cProfile
import functools
import io
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from django.conf import settings
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client

from bench.load import Page
from bench.sessions import SignedIn

# How much of each statement of the worst request the report keeps.
STATEMENT_CHARS = 600


@dataclass
class QueryCount:
    page: str
    samples: int = 0
    max: int = 0
    mean: float = 0.0
    # Medians over the sample: the whole request in this process, and the
    # part of it spent in SQL.
    app_ms: float = 0.0
    sql_ms: float = 0.0
    # The statements of the request that ran the most, shortened, each with
    # its time ("1.23 ms  SELECT ...").
    worst: list[str] = field(default_factory=list)
    worst_user_id: int | None = None
    worst_path: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "samples": self.samples,
            "max": self.max,
            "mean": round(self.mean, 2),
            "app_ms": round(self.app_ms, 2),
            "sql_ms": round(self.sql_ms, 2),
            "worst_user_id": self.worst_user_id,
            "worst_path": self.worst_path,
            "worst": self.worst,
        }


@dataclass
class Measured:
    """One request: its response, its statements with their seconds, and
    how long it took in all."""

    response: HttpResponseBase
    statements: list[tuple[str, float]]
    seconds: float

    @property
    def sql_seconds(self) -> float:
        return sum(seconds for _, seconds in self.statements)


def request_measure(client: Client, path: str) -> Measured:
    statements: list[tuple[str, float]] = []

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, time.perf_counter() - started))

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        response = client.get(path)
    return Measured(response=response, statements=statements, seconds=time.perf_counter() - started)


@functools.cache
def _shared_client() -> Client:
    # One client for every request: a new one builds the middleware chain
    # again on its first request (whitenoise scans the static files then),
    # ~20 ms that no request to a running server pays.
    return Client(HTTP_HOST="127.0.0.1")


def _client(entry: SignedIn | None) -> Client:
    """The shared client, with only ``entry``'s session cookie, if any."""
    client = _shared_client()
    client.cookies = SimpleCookie()
    if entry is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = entry.session_key
    return client


def page_lines(page: Page, entry: SignedIn) -> tuple[int, ...]:
    return entry.install_line_ids if page.install else entry.line_ids


def page_path(page: Page, entry: SignedIn, which: int = 0) -> str:
    if "{line}" not in page.path:
        return page.path
    line_ids = page_lines(page, entry)
    return page.path.replace("{line}", str(line_ids[which % len(line_ids)]))


def queries_count(page: Page, sample: list[SignedIn]) -> QueryCount:
    """Request ``page`` once per customer in ``sample`` (the line page once
    per line they hold; an Install page once per line ready to install, for
    the customers who have one) and count the queries of each request."""
    counts: list[int] = []
    app_ms: list[float] = []
    sql_ms: list[float] = []
    result = QueryCount(page=page.name)
    if page.install:
        sample = [entry for entry in sample if entry.install_line_ids]
    if sample:  # compiles the page's templates, which every server worker does once
        _client(sample[0] if page.signed_in else None).get(page_path(page, sample[0]))
    for entry in sample:
        client = _client(entry if page.signed_in else None)
        paths = (
            [page_path(page, entry, index) for index in range(len(page_lines(page, entry)))]
            if "{line}" in page.path
            else [page.path]
        )
        for path in paths:
            measured = request_measure(client, path)
            if measured.response.status_code != 200:
                raise RuntimeError(f"{path} answered {measured.response.status_code} for customer {entry.user_id}")
            count = len(measured.statements)
            counts.append(count)
            app_ms.append(measured.seconds * 1000)
            sql_ms.append(measured.sql_seconds * 1000)
            if count > result.max or not result.worst_path:
                result.max = count
                result.worst_user_id = entry.user_id if page.signed_in else None
                result.worst_path = path
                result.worst = [
                    f"{seconds * 1000:.2f} ms  {sql[:STATEMENT_CHARS]}" for sql, seconds in measured.statements
                ]
    result.samples = len(counts)
    result.mean = statistics.fmean(counts) if counts else 0.0
    result.app_ms = statistics.median(app_ms) if app_ms else 0.0
    result.sql_ms = statistics.median(sql_ms) if sql_ms else 0.0
    return result


def statement_shapes(statements: list[str]) -> Counter[str]:
    """How many times each statement ran, by its first 80 characters: a
    statement repeated per row shows as a count above one."""
    return Counter(statement[:80] for statement in statements)


def request_profile(path: str, entry: SignedIn | None, *, repeat: int = 20, top: int = 25) -> str:
    """cProfile of ``repeat`` requests to ``path`` (after one to warm up),
    the ``top`` functions by cumulative time, as text."""
    client = _client(entry)
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()
