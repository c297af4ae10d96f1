"""Expiry reminders end to end on PostgreSQL: two sweeps queued at once fan
out into chunks that a real worker runs over Redis, the emails reach a real
SMTP server (aiosmtpd) and the texts the SMS backend; each reminder arrives
once."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from portal import sms
from subscriptions.models import Line, Notification, NotificationState
from subscriptions.periods import OSLO
from subscriptions.services import notifications
from subscriptions.tasks import deliver_notification, send_expiry_reminder_chunk, send_expiry_reminders
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.smtp import LocalSmtpServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

NOON_OSLO = datetime(2026, 12, 10, 12, 0, tzinfo=OSLO)
LINES = 23


def due_lines(count: int) -> list[Line]:
    """``count`` lines of a month's plan ending in two days and three hours
    (their 3-day reminder is due), owned by customers in the three languages."""
    plan = PlanFactory(code="fjord-month", name_zh_hans="峡湾 10 GB")
    ends = NOON_OSLO + timedelta(days=2, hours=3)
    lines = [
        LineFactory(owner=UserFactory(language=["en", "nb", "zh-hans"][n % 3]), with_period=plan) for n in range(count)
    ]
    Line.objects.filter(pk__in=[line.pk for line in lines]).update(expires_at=ends)
    for line in lines:
        line.periods.update(ends_at=ends)
    return lines


def test_two_sweeps_at_once_send_each_reminder_once(
    celery_worker: Any,
    smtp_server: LocalSmtpServer,
    finished_tasks: Any,
    wait_until: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Noon in Oslo for the test and its in-process worker: texts may go.
    monkeypatch.setattr(timezone, "now", lambda: NOON_OSLO)
    monkeypatch.setattr(notifications, "SWEEP_CHUNK", 5)
    sms.outbox.clear()
    lines = due_lines(LINES)

    send_expiry_reminders.delay()
    send_expiry_reminders.delay()

    wait_until(lambda: len(smtp_server.received) >= LINES, what="an email per line at the SMTP server", timeout=30)
    wait_until(
        lambda: not Notification.objects.filter(state=NotificationState.QUEUED).exists(),
        what="every message to be delivered",
        timeout=30,
    )
    sweeps = [run for run in finished_tasks if run.name == send_expiry_reminders.name]
    assert len(sweeps) == 2
    assert len(smtp_server.received) == LINES
    recipients = sorted(envelope.rcpt_tos[0] for envelope in smtp_server.received)
    assert recipients == sorted(line.owner.email for line in lines)
    assert sorted(text.to for text in sms.outbox) == sorted(line.number for line in lines)
    assert Notification.objects.filter(state=NotificationState.SENT).count() == 2 * LINES
    chinese = next(
        email.message_from_bytes(envelope.content, policy=email.policy.default)
        for envelope in smtp_server.received
        if envelope.rcpt_tos[0] == lines[2].owner.email
    )
    assert "到期" in chinese["Subject"]
    assert chinese["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert chinese.get_body(("html",)) is not None


def test_reminders_go_out_while_later_chunks_are_still_claiming(
    celery_worker: Any,
    smtp_server: LocalSmtpServer,
    finished_tasks: Any,
    wait_until: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deliveries have a queue of their own, which the worker takes from
    before the chunks' queue: each chunk's reminders are sent before the
    next chunk claims its own. On one queue the sweep's chunks, all queued
    before any claim, would all run first; on queues taken in turn, one
    message would go out per chunk."""
    monkeypatch.setattr(timezone, "now", lambda: NOON_OSLO)
    monkeypatch.setattr(notifications, "SWEEP_CHUNK", 1)
    lines = due_lines(8)

    send_expiry_reminders.delay()

    wait_until(
        lambda: Notification.objects.filter(state=NotificationState.SENT).count() == 2 * len(lines),
        what="every reminder to be sent",
        timeout=30,
    )
    runs = [run.name for run in finished_tasks]
    chunks = [index for index, name in enumerate(runs) if name == send_expiry_reminder_chunk.name]
    deliveries = [index for index, name in enumerate(runs) if name == deliver_notification.name]
    assert len(chunks) == len(lines)  # each chunk once: the queues do not share a routing key
    assert len(deliveries) == 2 * len(lines)
    assert deliveries[1] < chunks[1], runs  # the first chunk's email and text, then the second chunk
    assert len(smtp_server.received) == len(lines)


def test_a_reminder_is_retried_with_backoff_until_the_mail_server_is_back(
    celery_worker: Any,
    smtp_server: LocalSmtpServer,
    fast_retries: list[float],
    finished_tasks: Any,
    wait_until: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOON_OSLO)
    line = LineFactory(owner=UserFactory(language="nb"), with_period=PlanFactory(code="fjord-month"))
    ends = NOON_OSLO + timedelta(days=2, hours=3)
    Line.objects.filter(pk=line.pk).update(expires_at=ends)
    line.periods.update(ends_at=ends)
    smtp_server.stop()

    send_expiry_reminders.delay()

    def email_runs() -> list[str]:
        return [run.state for run in finished_tasks if run.name == "subscriptions.tasks.deliver_notification"]

    wait_until(lambda: "RETRY" in email_runs(), what="the first delivery to fail and be retried")
    assert fast_retries[0] == 30  # the task's own backoff before its first retry, in seconds
    email_row = Notification.objects.get(line=line, channel="email")
    assert email_row.state == NotificationState.QUEUED and email_row.attempts >= 1
    assert "Connection" in email_row.error or "refused" in email_row.error.lower()
    smtp_server.start()

    [envelope] = wait_until(lambda: smtp_server.received, what="the retried email", timeout=20)
    assert envelope.rcpt_tos == [line.owner.email]
    # The row commits as sent just after the server has the email.
    wait_until(
        lambda: Notification.objects.filter(pk=email_row.pk, state=NotificationState.SENT).exists(),
        what="the email's row to say sent",
    )


def test_the_reminder_sweep_can_reach_due_lines_through_the_partial_index() -> None:
    """The sweep's query on PostgreSQL, with sequential scans off (a tiny
    table would otherwise be read whole): the planner takes the partial
    index on the expiry of lines without auto-renew."""
    from django.db import connection, transaction

    query = notifications.lines_near_reminder(now=NOON_OSLO).values("pk", "paid_plan_period")
    sql, params = query.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "line_reminder_expiry" in plan, plan
