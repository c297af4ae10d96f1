"""The Celery app: configured from Django settings under the CELERY_ namespace."""

import os
from typing import Any

from celery import Celery, signals

from portal import broker  # noqa: F401  (registers the embedded default's queue, durablefs://)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _refuse_unsafe_payments(**kwargs: Any) -> None:
    """Celery runs no system checks: a worker that would settle pretend
    payments, or none, or provision pretend eSIMs, stops here (subscriptions/checks.py). SystemExit,
    because Celery logs and ignores an exception raised by a signal handler."""
    from django.core.exceptions import ImproperlyConfigured

    from subscriptions.checks import refuse_to_start_on_pretend_parts

    try:
        refuse_to_start_on_pretend_parts()
    except ImproperlyConfigured as error:
        raise SystemExit(f"ImproperlyConfigured: {error}") from None
