from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import AuditEvent, LineStatus
from subscriptions.services.lines import line_suspend, lines_expire_lapsed
from subscriptions.tasks import expire_lapsed_lines
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


def lapsed_line(**kwargs):
    line = LineFactory(with_period=True, **kwargs)
    line.expires_at = timezone.now() - timedelta(minutes=1)
    line.save(update_fields=["expires_at"])
    return line


def test_an_active_line_whose_period_ended_becomes_expired_with_an_audit_row():
    line = lapsed_line()
    assert lines_expire_lapsed() == 1
    line.refresh_from_db()
    assert line.status == LineStatus.EXPIRED
    event = AuditEvent.objects.get(line=line, action="expire")
    assert (event.from_status, event.to_status, event.actor) == ("active", "expired", None)


def test_a_line_with_paid_time_left_stays_active():
    line = LineFactory(with_period=True)
    assert lines_expire_lapsed() == 0
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_a_suspended_line_is_left_for_resume_to_judge():
    line = lapsed_line()
    line_suspend(line=line, by=None, reason="lost phone")
    assert lines_expire_lapsed() == 0
    line.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED


def test_running_the_sweep_twice_expires_each_line_once():
    lines = [lapsed_line() for _ in range(3)]
    assert lines_expire_lapsed(batch=2) == 3
    assert lines_expire_lapsed(batch=2) == 0
    assert AuditEvent.objects.filter(line__in=lines, action="expire").count() == 3


def test_the_task_runs_the_sweep():
    line = lapsed_line()
    assert expire_lapsed_lines.apply().get() == 1
    line.refresh_from_db()
    assert line.status == LineStatus.EXPIRED
