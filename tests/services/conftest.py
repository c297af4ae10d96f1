"""A real Celery worker for the service tests.

`celery_worker` runs our own app (portal.celery.app, which knows the tasks)
in a thread of the test process, over the real Redis broker, with the solo
pool: no eager mode, every task goes through Redis as JSON and comes back. The
worker shares the process, so it sees the test database (with
``django_db(transaction=True)``) and every settings override a test makes.

The locmem backends are replaced by ones that also note which Celery task, in
which thread, handed them each message: that is how a test tells a message the
worker delivered from one the request sent itself.

`smtp_server` and `sms_gateway` run the fakes of tests/fakes/ (a real SMTP
server, an HTTP SMS gateway) and point the portal's backends at them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from celery import current_task, signals
from celery.contrib.testing.worker import start_worker
from celery.utils.time import get_exponential_backoff_interval
from django.core.mail import EmailMessage
from django.core.mail.backends import locmem

from portal import sms
from portal.celery import app
from tests.fakes.sms_gateway import LocalSmsGateway, sms_gateway_serving
from tests.fakes.smtp import LocalSmtpServer

T = TypeVar("T")
WAIT_SECONDS = 10.0


# --- Who sent a message ---------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """The Celery task (None outside a task) and the thread that sent a message."""

    task: str | None
    thread: str

    @classmethod
    def current(cls) -> Sender:
        return cls(task=current_task.name if current_task else None, thread=threading.current_thread().name)

    @property
    def is_worker(self) -> bool:
        return self.task is not None and self.thread != threading.main_thread().name


class SenderNotingEmailBackend(locmem.EmailBackend):
    """Django's locmem backend; each message in the outbox gets a ``sender``."""

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            message.sender = Sender.current()
        return super().send_messages(email_messages)


sms_senders: dict[str, Sender] = {}


class SenderNotingSmsBackend(sms.LocmemBackend):
    """Our locmem SMS backend; ``sms_senders[message.id]`` says who sent it."""

    def send(self, message: sms.SmsMessage) -> None:
        sms_senders[message.id] = Sender.current()
        super().send(message)


@pytest.fixture(autouse=True)
def _backends_that_note_the_sender(settings: Any) -> Iterator[None]:
    settings.EMAIL_BACKEND = f"{__name__}.SenderNotingEmailBackend"
    settings.SMS_BACKEND = f"{__name__}.SenderNotingSmsBackend"
    sms_senders.clear()
    yield
    sms_senders.clear()


@pytest.fixture
def sender_of() -> Callable[[EmailMessage | sms.SmsMessage], Sender]:
    """Who sent an email from ``mail.outbox`` or an SMS from ``sms.outbox``."""

    def sender_of(message: EmailMessage | sms.SmsMessage) -> Sender:
        if isinstance(message, sms.SmsMessage):
            return sms_senders[message.id]
        sender: Sender = message.sender  # type: ignore[union-attr]
        return sender

    return sender_of


# --- Waiting ------------------------------------------------------------------------


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(condition, what=...)`` polls until the condition returns
    something truthy and returns it, or fails the test after a timeout."""

    def wait_until(condition: Callable[[], T], *, what: str, timeout: float = WAIT_SECONDS) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
            time.sleep(0.05)

    return wait_until


# --- The worker --------------------------------------------------------------------


def _keep_django_logging(**kwargs: Any) -> None:
    """A receiver of ``setup_logging`` tells Celery to leave logging alone:
    the worker would otherwise replace the root logger's handlers (Django's
    LOGGING and pytest's capture) and lower its level."""


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[Any]:
    """A real worker for portal.celery.app, consuming from the Redis broker.

    It needs the transactional database: inside the usual per-test
    transaction the worker's own connection would not see the test's rows.
    Stale messages (from an earlier, interrupted run, or a retry still
    scheduled when the previous test stopped its worker) are purged before it
    starts and after it stops, so no test sees another's tasks. The worker is
    stopped warm: start_worker joins its thread and fails if it hangs.
    """
    signals.setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="services-tests-keep-logging")
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=15,
    ) as worker:
        yield worker
    app.control.purge()


@dataclass(frozen=True)
class TaskRun:
    id: str
    name: str
    state: str  # SUCCESS, RETRY or FAILURE


@pytest.fixture
def finished_tasks() -> Iterator[list[TaskRun]]:
    """Every task run the worker finished during the test, in order."""
    runs: list[TaskRun] = []

    def record(sender: Any, task_id: str, state: str | None = None, **kwargs: Any) -> None:
        runs.append(TaskRun(id=task_id, name=sender.name, state=state or ""))

    signals.task_postrun.connect(record, weak=False)
    yield runs
    signals.task_postrun.disconnect(record)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries in one second instead of the tasks' real backoff.

    Our tasks retry with ``retry_backoff=30`` (30 s, 60 s, ... with full
    jitter), which a test cannot wait for. Celery's autoretry still raises
    Retry and sends the task back through Redis with an ETA, and the worker
    still picks it up; only the countdown is shortened. The list collects the
    countdowns the tasks' own settings asked for (without jitter), so a test
    can check them.
    """
    asked_for: list[float] = []

    def one_second(**kwargs: Any) -> float:
        asked_for.append(get_exponential_backoff_interval(**{**kwargs, "full_jitter": False}))
        return 1

    monkeypatch.setattr("celery.app.autoretry.get_exponential_backoff_interval", one_second)
    return asked_for


# --- The outside world's servers (tests/fakes/) ----------------------------------------


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[LocalSmtpServer]:
    """A running local SMTP server, and Django's SMTP backend pointed at it
    (the in-process worker sees these settings)."""
    server = LocalSmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def sms_gateway(settings: Any) -> Iterator[LocalSmsGateway]:
    """An HTTP server on 127.0.0.1 playing the SMS gateway, and the HTTP
    gateway backend pointed at it (the in-process worker sees these settings)."""
    with sms_gateway_serving(settings) as gateway:
        yield gateway
