"""Calls released together in threads, for the tests that race requests or
services against each other (on PostgreSQL in tests/services, and on SQLite
where a test shows what the embedded database does)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def at_once(calls: list[Callable[[], Any]], *, timeout: float = 30) -> list[Any]:
    """Run the calls in threads released together by a barrier and return
    what each returned; fail with what any of them raised (the test client
    re-raises a view's exception). Each thread has its own database
    connection and closes it; ``timeout`` bounds the wait for each thread."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            start.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # reported by the test, not lost in the thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    raised = [result for result in results if isinstance(result, Exception)]
    assert not raised, f"{len(raised)} of {len(calls)} raised: {sorted(set(map(repr, raised)))}"
    return results
