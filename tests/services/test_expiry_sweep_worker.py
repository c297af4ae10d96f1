"""The expiry sweep run by a real worker over Redis, twice at once, on
PostgreSQL: each lapsed line expires once, with one audit row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from subscriptions.models import AuditEvent, Line, LineStatus
from subscriptions.tasks import expire_lapsed_lines
from tests.factories import LineFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_sweeps_queued_together_expire_each_line_once(
    celery_worker: Any, finished_tasks: Any, wait_until: Any
) -> None:
    lapsed = [LineFactory(with_period=True) for _ in range(5)]
    Line.objects.filter(pk__in=[line.pk for line in lapsed]).update(expires_at=timezone.now() - timedelta(seconds=5))
    current = LineFactory(with_period=True)

    expire_lapsed_lines.delay()
    expire_lapsed_lines.delay()

    def sweep_outcomes() -> list[str] | None:
        states = [run.state for run in finished_tasks if run.name == expire_lapsed_lines.name]
        return states if len(states) == 2 else None

    assert wait_until(sweep_outcomes, what="the worker to finish both sweeps") == ["SUCCESS", "SUCCESS"]
    assert Line.objects.filter(status=LineStatus.EXPIRED).count() == 5
    assert AuditEvent.objects.filter(action="expire").count() == 5
    current.refresh_from_db()
    assert current.status == LineStatus.ACTIVE
