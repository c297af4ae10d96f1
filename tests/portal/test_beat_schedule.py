"""Beat runs each sweep once, on the interval the settings give."""

from datetime import timedelta

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from portal.celery import app

pytestmark = pytest.mark.django_db

SWEEPS = [
    ("subscriptions.tasks.expire_lapsed_lines", 5),
    ("subscriptions.tasks.reconcile_orders", 1),
    ("subscriptions.tasks.charge_auto_renewals", 10),
    ("subscriptions.tasks.email_unsent_receipts", 5),
    ("accounts.tasks.delete_expired_identity_files", 60),
    ("subscriptions.tasks.anonymise_old_bookkeeping_copies", 24 * 60),
]


def test_migrations_leave_no_schedule_of_their_own():
    # What earlier migrations scheduled is gone; beat writes the settings' schedule.
    assert not PeriodicTask.objects.filter(task__startswith="subscriptions.").exists()


@pytest.mark.parametrize(("task", "minutes"), SWEEPS)
def test_beat_schedules_each_sweep_once_at_its_interval(task, minutes):
    DatabaseScheduler(app=app)
    DatabaseScheduler(app=app)  # a restart of beat adds nothing

    [row] = PeriodicTask.objects.select_related("interval").filter(task=task)
    assert row.enabled
    assert timedelta(**{row.interval.period: row.interval.every}) == timedelta(minutes=minutes)


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
