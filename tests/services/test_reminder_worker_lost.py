"""A worker killed in the middle of a chunk of expiry reminders loses none
and sends none twice.

The worker is a real ``celery worker`` process (prefork, one pool process)
on the test's PostgreSQL database and Redis, sending its emails to a real
SMTP server (aiosmtpd, in this process) and its texts to files. To stop it
in the middle of a chunk, the test holds a row lock on the fourth line of
six: the chunk claims the first three lines' reminders (each line in a
transaction of its own, committed and queued) and then waits on the fourth
(its message rows refer to the line, checked as the transaction commits).
The test kills the worker there, lets go of the lock, and the chunk runs
again (acks late; a message whose worker was lost is handed back): the
claims made stay made, the rest are made, the one whose commit outlived its
worker is queued by the next minute's sweep of waiting messages (its row says
the queue never took it), and each customer gets
each reminder once.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection
from psycopg import sql

from portal.celery import app
from subscriptions.models import Line, Notification, NotificationState
from subscriptions.services.notifications import HANDOFF_GRACE, notifications_queue_due
from subscriptions.tasks import deliver_notification, send_expiry_reminders
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.smtp import LocalSmtpServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
LINES = 6
HELD = 3  # the index of the line whose row the test locks: the fourth
# Away 3 s counts as lost here (hours in production); look every second.
TRANSPORT_OPTIONS = {"visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}


class Worker:
    """``celery worker`` in its own process group, on the test database,
    mailing ``smtp_port`` and writing texts under ``texts``."""

    def __init__(self, *, smtp_port: int, texts: Path) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PORTAL_TEST_SERVICES": "1",
            "TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
            "TEST_WORKER_BROKER_URL": settings.CELERY_BROKER_URL,
            "TEST_WORKER_TRANSPORT_OPTIONS": json.dumps(TRANSPORT_OPTIONS),
            "TEST_WORKER_EMAIL_PORT": str(smtp_port),
            "TEST_WORKER_SMS_FILE_PATH": str(texts),
        }
        command = [sys.executable, "-m", "celery", "-A", "tests.services.worker_app", "worker", "--pool=prefork"]
        command += ["--concurrency=1", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
        command += ["--logfile", str(texts.parent / "worker.log")]  # kept in the test's tmp_path
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def pool_processes(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def kill_pool_process(self) -> None:
        for pid in self.pool_processes():
            os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def wait_for(condition: Callable[[], Any], *, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return value


def waiting_on_a_lock() -> int:
    """Sessions of the test database waiting for a lock (the worker's, on the held line)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


class RowLock:
    """A row of the lines table locked FOR UPDATE in a connection of its own
    until ``release``."""

    def __init__(self, line: Line) -> None:
        params = connection.settings_dict
        self.connection = psycopg.connect(
            host=params["HOST"],
            port=params["PORT"],
            user=params["USER"],
            password=params["PASSWORD"] or None,
            dbname=params["NAME"],
        )
        statement = sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(sql.Identifier(Line._meta.db_table))
        self.connection.execute(statement, [line.pk])

    def release(self) -> None:
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()


@pytest.fixture
def due_lines() -> list[Line]:
    """Six lines renewed by hand whose paid period ends in two days and a bit
    (their three-day reminder is due), their owners in the three languages."""
    plan = PlanFactory(code="fjord-month", name_zh_hans="峡湾 10 GB")
    lines = [
        LineFactory(owner=UserFactory(language=["zh-hans", "nb", "en"][n % 3]), with_period=plan) for n in range(LINES)
    ]
    ends = timezone.now() + timedelta(days=2, hours=3)
    for line in lines:
        Line.objects.filter(pk=line.pk).update(expires_at=ends)
        line.periods.update(ends_at=ends)
    return sorted(lines, key=lambda line: line.pk)


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    server = LocalSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker() -> Iterator[None]:
    """The test's Redis, empty before and after."""
    with Connection(settings.CELERY_BROKER_URL, transport_options=dict(TRANSPORT_OPTIONS)) as broker_connection:
        app.control.purge(connection=broker_connection)
        yield
        app.control.purge(connection=broker_connection)


def texts_written(folder: Path) -> Counter[str]:
    return Counter(json.loads(path.read_text(encoding="utf-8"))["to"] for path in folder.glob("*.json"))


@pytest.mark.parametrize("dies", ["its pool process", "the whole worker"])
def test_a_worker_killed_in_the_middle_of_a_chunk_loses_no_reminder_and_sends_none_twice(
    due_lines: list[Line], smtp_server: LocalSmtpServer, broker: None, tmp_path: Path, dies: str
) -> None:
    texts = tmp_path / "sms"
    held = RowLock(due_lines[HELD])
    worker = Worker(smtp_port=smtp_server.port, texts=texts)
    try:
        send_expiry_reminders.delay()  # as beat does: the sweep, then its one chunk

        wait_for(waiting_on_a_lock, what="the chunk to reach the fourth line")
        before = set(Notification.objects.values_list("line_id", "channel"))
        assert before == {(line.pk, channel) for line in due_lines[:HELD] for channel in ("email", "sms")}
        if dies == "its pool process":
            worker.kill_pool_process()  # the worker hands the chunk back at once
        else:
            worker.kill()
            # Redis hands the unacknowledged chunk out again once it has been
            # away longer than the visibility timeout (3 s here).
            worker = Worker(smtp_port=smtp_server.port, texts=texts)
        held.release()

        others = [line.pk for line in due_lines if line != due_lines[HELD]]
        wait_for(
            lambda: (
                Notification.objects.filter(line__in=others, state=NotificationState.SENT).count() == 2 * len(others)
            ),
            what="the reminders of the other lines to be sent",
        )
        # The fourth line's claim was committed by PostgreSQL after the worker
        # died waiting on it (the foreign key is checked at commit), so its
        # delivery was never queued and the chunk's second run finds it
        # claimed. Its row says the queue never took it, so beat's
        # one-minute sweep of waiting messages queues it once its hand-over
        # is overdue (HANDOFF_GRACE): run it as if that minute had passed.
        held_rows = Notification.objects.filter(line=due_lines[HELD])
        assert set(held_rows.values_list("state", flat=True)) <= {NotificationState.QUEUED, NotificationState.SENT}
        assert set(held_rows.filter(state=NotificationState.QUEUED).values_list("queued_at", flat=True)) <= {None}
        for notification_id in notifications_queue_due(now=timezone.now() + HANDOFF_GRACE):
            deliver_notification.delay(notification_id)

        wait_for(lambda: len(smtp_server.received) >= LINES, what="an email for every line")
        wait_for(lambda: sum(texts_written(texts).values()) >= LINES, what="a text for every line")
        wait_for(
            lambda: not Notification.objects.exclude(state=NotificationState.SENT).exists(),
            what="every message to be sent",
        )
        time.sleep(1)  # a message sent twice would arrive by now
    finally:
        held.release()
        worker.kill()

    rows = Counter(Notification.objects.values_list("line_id", "channel"))
    assert rows == {(line.pk, channel): 1 for line in due_lines for channel in ("email", "sms")}
    assert set(Notification.objects.values_list("step", flat=True)) == {"3d"}
    assert Counter(envelope.rcpt_tos[0] for envelope in smtp_server.received) == {
        line.owner.email: 1 for line in due_lines
    }
    assert texts_written(texts) == {line.number: 1 for line in due_lines}
    chinese = next(
        email.message_from_bytes(envelope.content, policy=email.policy.default)
        for envelope in smtp_server.received
        if envelope.rcpt_tos == [due_lines[0].owner.email]
    )
    assert "到期" in chinese["Subject"]
