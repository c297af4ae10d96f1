"""Expiry reminders end to end: the sweep, real Celery workers over Redis, a
real SMTP server and texts written to files; how many reminders a second are
claimed and sent, and how PostgreSQL reads the lines for the sweep.

A run:

1. removes what an earlier run left (its messages, the lines it added);
2. counts the dataset's lines due for a reminder now and adds lines of its
   own (a month's plan ending in two to three days, a fifth of them
   number-keeping) until ``count`` are due, then ANALYZEs, so the sweep's
   query is planned on the whole lines table with that many due;
3. explains the sweep's read of the lines (``lines_near_reminder``) and times its
   selection (``reminders_due_chunks``) in this process;
4. starts an SMTP server in this process (aiosmtpd, counting what it
   accepts) and ``workers`` Celery worker processes (one pool process each)
   on the benchmark's database and Redis, writing texts under
   ``var/bench/sms``;
5. queues the sweep (``send_expiry_reminders``) as beat does and reads the
   messages table until every reminder is claimed and handled;
6. stops the workers and the server, checks that each message arrived once,
   and removes the messages and the added lines: the dataset stays as built.
"""

from __future__ import annotations

import json
import logging
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from accounts.models import NotificationKind, User
from bench.cpu import POSTGRES, REDIS, cpu_snapshot, cpu_used
from portal.celery import app
from subscriptions.models import Line, LineStatus, Notification, NotificationState, Plan, PlanKind, ServicePeriod
from subscriptions.services.notifications import lines_due_for_reminder, lines_near_reminder, reminders_due_chunks
from subscriptions.tasks import send_expiry_reminders

# The customers a run adds are told apart from the dataset's by their address.
ADDED_DOMAIN = "reminders.bench.nordlys.test"
# Their lines' numbers: +47 4/9 and seven digits from here, past the dataset's.
ADDED_NUMBER_BASE = 9_000_000
WORKER_NAME = "bench-reminders"
STARTUP_SECONDS = 60
POLL_SECONDS = 0.25
# Claims still this long with every claim handled: look for lines whose period ended unclaimed.
STILL_SECONDS = 5
BATCH = 2_000
DONE = (NotificationState.SENT, NotificationState.SKIPPED, NotificationState.FAILED)


@dataclass
class ReminderRun:
    """One run's figures; ``*_seconds`` count from the sweep's queueing."""

    due_lines: int
    added_lines: int
    workers: int
    chunks: int
    selection_ms: float
    plan: str
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    claimed_seconds: float = 0.0
    handled_seconds: float = 0.0
    # Sent between the last claim and the end, and in how long: the
    # delivery rate alone, once the chunks no longer share the workers.
    sent_after_claims: int = 0
    after_claims_seconds: float = 0.0
    emails_received: int = 0
    texts_written: int = 0
    duplicates: int = 0
    missing: int = 0
    # Due at the selection, but their period ended before their chunk ran:
    # no reminder, as the rule says (a long run meets a few).
    ended_unclaimed: int = 0
    finished: bool = False
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def claimed_per_second(self) -> float:
        return self.claimed / self.claimed_seconds if self.claimed_seconds else 0.0

    @property
    def sent_per_second(self) -> float:
        return self.sent / self.handled_seconds if self.handled_seconds else 0.0

    @property
    def delivered_per_second(self) -> float:
        return self.sent_after_claims / self.after_claims_seconds if self.after_claims_seconds else 0.0

    @property
    def lines_read_by(self) -> str:
        if not self.plan:
            return ""
        if f"Seq Scan on {Line._meta.db_table}" in self.plan:
            return "scan"
        return "index" if "line_reminder_expiry" in self.plan else "other"

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "claimed_per_second": round(self.claimed_per_second, 1),
            "sent_per_second": round(self.sent_per_second, 1),
            "delivered_per_second": round(self.delivered_per_second, 1),
            "after_claims_seconds": round(self.after_claims_seconds, 2),
            "claimed_seconds": round(self.claimed_seconds, 2),
            "handled_seconds": round(self.handled_seconds, 2),
            "selection_ms": round(self.selection_ms, 1),
            "cpu_seconds": {kind: round(seconds, 2) for kind, seconds in self.cpu_seconds.items()},
            "lines_read_by": self.lines_read_by,
        }


# --- the lines ---------------------------------------------------------------------------------


def reminders_leftovers_remove() -> None:
    """The messages and the added customers, lines and periods of a run (an
    earlier one cut short, or this one when it ends)."""
    Notification.objects.filter(kind=NotificationKind.EXPIRY).delete()
    added = Line.objects.filter(owner__email__endswith=f"@{ADDED_DOMAIN}")
    ServicePeriod.objects.filter(line__in=added).delete()
    added.delete()
    User.objects.filter(email__endswith=f"@{ADDED_DOMAIN}").delete()


def due_lines_add(*, count: int, now: datetime, seed: int = 2026) -> int:
    """Add customers with a line each, due for its three-day reminder, until
    ``count`` lines are due; how many were added."""
    missing = count - len(lines_due_for_reminder(now=now))
    if missing <= 0:
        return 0
    rng = random.Random(seed)  # noqa: S311 (data, not secrets)
    plans = {kind: Plan.objects.filter(kind=kind, period="month").order_by("pk").first() for kind in PlanKind.values}
    password = make_password(None)
    start = (Line.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    for first in range(0, missing, BATCH):
        numbers = range(first, min(first + BATCH, missing))
        users = User.objects.bulk_create(
            [
                User(
                    email=f"reminder{n}@{ADDED_DOMAIN}",
                    password=password,
                    full_name=f"Reminder {n}",
                    language=rng.choice(["zh-hans", "zh-hans", "nb", "nb", "en"]),
                    date_joined=now - timedelta(days=200),
                )
                for n in numbers
            ]
        )
        lines = []
        for n, user in zip(numbers, users, strict=True):
            kind = PlanKind.NUMBER_KEEPING if rng.random() < 0.2 else PlanKind.ESIM
            expires = now + timedelta(days=2, seconds=rng.randint(600, 86_000))
            number = ADDED_NUMBER_BASE + start + n
            lines.append(
                Line(
                    owner=user,
                    number=f"+47{4 if number % 2 else 9}{number:07d}",
                    kind=kind,
                    status=LineStatus.ACTIVE,
                    expires_at=expires,
                    auto_renew=False,
                    created_at=now - timedelta(days=200),
                )
            )
        Line.objects.bulk_create(lines)
        periods = []
        for line in lines:
            plan = plans[line.kind] or plans[PlanKind.ESIM]
            assert plan is not None and line.expires_at is not None
            periods.append(
                ServicePeriod(
                    line=line,
                    plan=plan,
                    starts_at=line.expires_at - timedelta(days=30),
                    ends_at=line.expires_at,
                    data_mb=plan.data_mb,
                    voice_minutes=plan.voice_minutes,
                    sms_count=plan.sms_count,
                )
            )
        ServicePeriod.objects.bulk_create(periods)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (User, Line, ServicePeriod):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return missing


def sweep_explain(*, now: datetime) -> str:
    """How PostgreSQL runs the sweep's read of the lines near their end
    (``lines_near_reminder``), with ANALYZE and BUFFERS; empty elsewhere
    than PostgreSQL."""
    if connection.vendor != "postgresql":
        return ""
    query = lines_near_reminder(now=now).only("id", "expires_at").order_by("pk")
    return str(query.explain(analyze=True, buffers=True))


# --- the servers -------------------------------------------------------------------------------


class CountingSmtpServer:
    """An SMTP server on 127.0.0.1 that counts what it accepts, by recipient
    (and keeps nothing else, so 50,000 messages cost no memory)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.received: Counter[str] = Counter()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> CountingSmtpServer:
        # aiosmtpd logs every command at INFO: tens of thousands of lines, and
        # this process's CPU, in a run.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for recipient in envelope.rcpt_tos:
            self.received[recipient] += 1
        return "250 Message accepted for delivery"


@contextmanager
def workers_running(*, count: int, env: dict[str, str], log_dir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` Celery workers (prefork, one pool process each) on the
    benchmark's settings, each in its own process group; yields once all of
    them answer a ping, stops them (and only them) after."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    names = [f"{WORKER_NAME}-{number}@{socket.gethostname()}" for number in range(1, count + 1)]
    try:
        for name in names:
            command = [sys.executable, "-m", "celery", "-A", "bench.worker", "worker", "--pool=prefork"]
            command += ["--concurrency=1", "-n", name, "--without-gossip", "--without-mingle", "--loglevel=WARNING"]
            command += ["--logfile", str(log_dir / f"{name.split('@')[0]}.log")]
            processes.append(
                subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                    command,
                    cwd=settings.BASE_DIR,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        _wait_ready(names, processes, log_dir)
        yield processes
    finally:
        for process in processes:
            _stop(process)


def _wait_ready(names: list[str], processes: list[subprocess.Popen[bytes]], log_dir: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a reminder worker exited as it started; see {log_dir}")
        answered = {name for reply in app.control.ping(destination=names, timeout=1) or [] for name in reply}
        if answered >= set(names):
            return
    raise RuntimeError(f"the reminder workers did not answer within {STARTUP_SECONDS} s; see {log_dir}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # a warm shutdown: the pool process finishes its task
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class _CpuMeter:
    """The CPU seconds spent from now on by the workers (their processes and
    pool processes), this process (the SMTP server, the counting), and
    PostgreSQL and Redis (all of their processes: other work on the machine
    counts there too)."""

    def __init__(self, worker_pids: list[int]) -> None:
        self.worker_pids = worker_pids
        self.before = self._read()

    def _read(self) -> dict[str, float]:
        snapshot = cpu_snapshot()
        parents = {pid: _parent(pid) for pid in snapshot}
        mine = set(self.worker_pids)
        workers = sum(seconds for pid, (_, seconds) in snapshot.items() if pid in mine or parents[pid] in mine)
        shared = cpu_used({}, snapshot)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "workers": workers,
            "bench process": usage.ru_utime + usage.ru_stime,
            POSTGRES: shared.get(POSTGRES, 0.0),
            REDIS: shared.get(REDIS, 0.0),
        }

    def used(self) -> dict[str, float]:
        after = self._read()
        return {kind: max(after[kind] - self.before.get(kind, 0.0), 0.0) for kind in after}


def _parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


# --- the run -----------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    expiry = Notification.objects.filter(kind=NotificationKind.EXPIRY)
    counts: dict[str, int] = expiry.aggregate(
        claimed=Count("pk"),
        handled=Count("pk", filter=Q(state__in=DONE)),
        sent=Count("pk", filter=Q(state=NotificationState.SENT)),
        skipped=Count("pk", filter=Q(state=NotificationState.SKIPPED)),
        failed=Count("pk", filter=Q(state=NotificationState.FAILED)),
    )
    return counts


def reminders_run(
    *,
    count: int,
    workers: int,
    timeout: float = 1_800,
    stall: float = 60,
    say: Callable[[str], None] = lambda message: None,
) -> ReminderRun:
    """Measure the reminders of ``count`` due lines sent by ``workers``
    workers (see the module's docstring); gives up after ``timeout``
    seconds, or ``stall`` seconds without progress."""
    now = timezone.now()
    reminders_leftovers_remove()
    added = due_lines_add(count=count, now=now)
    started = time.perf_counter()
    chunks = reminders_due_chunks(now=now)
    selection_ms = (time.perf_counter() - started) * 1000
    due = sum(len(chunk) for chunk in chunks)
    run = ReminderRun(
        due_lines=due,
        added_lines=added,
        workers=workers,
        chunks=len(chunks),
        selection_ms=selection_ms,
        plan=sweep_explain(now=now),
    )
    say(f"  {due:,} lines due ({added:,} added), {len(chunks)} chunks; the sweep's selection {selection_ms:.0f} ms")
    texts_dir = Path(settings.VAR_DIR) / "bench" / "sms"
    shutil.rmtree(texts_dir, ignore_errors=True)
    try:
        with CountingSmtpServer() as smtp:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "bench.settings"),
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp.port),
                "EMAIL_USE_TLS": "false",
                "SMS_BACKEND": "portal.sms.FileBackend",
                "BENCH_SMS_FILE_PATH": str(texts_dir),
            }
            app.control.purge()  # tasks an interrupted run left on the bench's Redis
            with workers_running(count=workers, env=env, log_dir=Path(settings.VAR_DIR) / "bench") as processes:
                meter = _CpuMeter([process.pid for process in processes])
                due_ids = [line_id for chunk in chunks for line_id in chunk]
                _follow(run, due_ids=due_ids, timeout=timeout, stall=stall, say=say)
                run.cpu_seconds = meter.used()
            run.emails_received = sum(smtp.received.values())
            run.texts_written, run.duplicates, run.missing = _delivered_check(smtp.received, texts_dir)
    finally:
        app.control.purge()
        reminders_leftovers_remove()
        shutil.rmtree(texts_dir, ignore_errors=True)
    return run


def _follow(run: ReminderRun, *, due_ids: list[int], timeout: float, stall: float, say: Callable[[str], None]) -> None:
    """Queue the sweep, then read the counts until every message is handled:
    two per due line, but none for a line whose period ended before its
    chunk ran."""
    started = time.perf_counter()
    send_expiry_reminders.delay()
    expected = 2 * len(due_ids)
    last = {"claimed": -1, "handled": -1}
    progressed = started
    reported = started
    looked_for_ended = started
    sent_when_claimed = 0
    while True:
        time.sleep(POLL_SECONDS)
        moment = time.perf_counter()
        counts = _counts()
        if counts["claimed"] != last["claimed"]:
            run.claimed_seconds = moment - started
            sent_when_claimed = counts["sent"]
        if counts["handled"] != last["handled"]:
            run.handled_seconds = moment - started
        if counts["claimed"] != last["claimed"] or counts["handled"] != last["handled"]:
            progressed = moment
        last = counts
        run.claimed, run.sent, run.skipped, run.failed = (
            counts["claimed"],
            counts["sent"],
            counts["skipped"],
            counts["failed"],
        )
        run.sent_after_claims = counts["sent"] - sent_when_claimed
        run.after_claims_seconds = max(run.handled_seconds - run.claimed_seconds, 0.0)
        if moment - reported >= 10:
            say(f"    {moment - started:5.0f} s: {counts['claimed']:,} claimed, {counts['handled']:,} handled")
            reported = moment
        if counts["handled"] >= counts["claimed"]:
            if counts["claimed"] >= expected:
                run.finished = True
                return
            # Every claim handled, some lines unclaimed: done if each of those has ended.
            if moment - run.claimed_seconds - started >= STILL_SECONDS and moment - looked_for_ended >= STILL_SECONDS:
                looked_for_ended = moment
                if not _unclaimed_still_running(due_ids):
                    run.ended_unclaimed = (expected - counts["claimed"]) // 2
                    run.finished = True
                    return
        if moment - started > timeout or moment - progressed > stall:
            say(f"    gave up: {counts['claimed']:,} of {expected:,} claimed, {counts['handled']:,} handled")
            return


def _unclaimed_still_running(line_ids: list[int]) -> bool:
    """Whether any of these lines has no expiry reminder claimed for its
    current period and that period has not ended: a chunk still to run."""
    claimed = Notification.objects.filter(
        line=OuterRef("pk"), kind=NotificationKind.EXPIRY, period_end=OuterRef("expires_at")
    )
    unclaimed = Line.objects.filter(pk__in=line_ids).exclude(Exists(claimed))
    return unclaimed.filter(expires_at__gt=timezone.now()).exists()


def _delivered_check(emails: Counter[str], texts_dir: Path) -> tuple[int, int, int]:
    """How many texts were written; how many messages arrived more often than
    their rows say they were sent, and how many sent ones never arrived (by
    email address and by number)."""
    texts: Counter[str] = Counter()
    for path in texts_dir.glob("*.json") if texts_dir.is_dir() else []:
        texts[json.loads(path.read_text(encoding="utf-8"))["to"]] += 1
    sent = Notification.objects.filter(kind=NotificationKind.EXPIRY, state=NotificationState.SENT)
    emails_expected: Counter[str] = Counter()
    texts_expected: Counter[str] = Counter()
    for channel, address, number in sent.values_list("channel", "owner__email", "line__number"):
        if channel == "email":
            emails_expected[address or ""] += 1
        else:
            texts_expected[number or ""] += 1
    duplicates = sum((emails - emails_expected).values()) + sum((texts - texts_expected).values())
    missing = sum((emails_expected - emails).values()) + sum((texts_expected - texts).values())
    return sum(texts.values()), duplicates, missing
