"""The Celery app of a worker process a test starts (`celery -A
tests.services.worker_app`): the portal's, with texts allowed at any hour.
A test run at 22:00 would otherwise see every text wait for 09:00 (quiet
hours have tests of their own, with the clock set)."""

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
