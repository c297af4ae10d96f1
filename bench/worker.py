"""The Celery app the benchmark's reminder workers run (`celery -A bench.worker`):
the portal's own, with one change for the run.

Texts go out only between 09:00 and 21:00 Oslo time; a run at night would
hold every text until 09:00 and measure the emails alone. So in the
benchmark's workers texts may go at any hour (quiet hours have their own
tests: tests/subscriptions/services/test_notifications.py, the clock at 22:00 Oslo).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from celery import signals

from portal.celery import app

__all__ = ["app"]


@signals.worker_process_init.connect
def _texts_at_any_hour(**kwargs: Any) -> None:
    from subscriptions.services import notifications

    notifications.TEXTS_FROM = time.min
    notifications.TEXTS_UNTIL = time.max
