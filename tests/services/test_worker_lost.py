"""A worker killed in the middle of a task loses nothing: the task runs again.

The worker here is a real ``celery worker`` process (prefork, one pool
process) on the test's PostgreSQL database, so it can be killed with SIGKILL.
Its task is the sandbox's payment callback, which posts to a relay in this
process: the relay holds the first delivery until the test has killed the
worker under it, and passes the ones after it on to the live portal, so the
test sees the payment settled by the task's second run.

- Only the pool process dies (the kernel's OOM killer, a crash): the worker
  hands the message back at once, on Redis and on the embedded default's
  filesystem queue alike.
- The whole worker dies: Redis, and the embedded default's queue in files
  (portal/broker.py), keep the unacknowledged message and give it to the next
  worker once the visibility timeout has passed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from kombu import Connection

from portal.celery import app
from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.tasks import send_callback
from subscriptions.models import Order, OrderStatus, PaymentMethod, PaymentState
from subscriptions.services.checkout import Billing, order_place, renewal_request
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
QUEUE = "worker-lost-test"


class Relay:
    """An HTTP server standing between the sandbox's callback and the portal.
    The first POST is held open (and never passed on); the ones after are
    forwarded to ``target`` and answered with its answer."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.arrivals: list[bytes] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                relay.arrivals.append(body)
                if len(relay.arrivals) == 1:
                    relay.first_arrived.set()
                    relay.release.wait(30)
                    return
                headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
                answer = requests.post(relay.target + self.path, data=body, headers=headers, timeout=10)
                self.send_response(answer.status_code)
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


class Worker:
    """``celery -A portal worker`` in its own process group, on the test database."""

    def __init__(self, *, broker_url: str, transport_options: dict[str, Any]) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PORTAL_TEST_SERVICES": "1",
            "TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
            "TEST_WORKER_BROKER_URL": broker_url,
            "TEST_WORKER_TRANSPORT_OPTIONS": json.dumps(transport_options),
        }
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", "--concurrency=1"]
        command += ["--queues", QUEUE, "--without-gossip", "--without-mingle", "--loglevel=INFO"]
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


@pytest.fixture
def paid_sandbox_payment(live_server: Any) -> Iterator[tuple[Order, Relay]]:
    """A card order whose sandbox payment the tester approved, its callback
    not yet sent, and the relay its callback will go to."""
    relay = Relay(live_server.url)
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    line = LineFactory(owner=UserFactory(email="kari@example.test"), with_period=plan)
    order = order_place(
        owner=line.owner,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="worker-lost-1",
        site_url=relay.url,
    )
    # The tester's "Approve", without the queueing the hosted page does: this
    # test sends the callback task itself, to the broker under test.
    SandboxPayment.objects.filter(payment_id=order.provider_payment_id).update(
        outcome=SandboxOutcome.APPROVE, state=PaymentState.PAID
    )
    yield order, relay
    relay.close()


def send_callback_task(order: Order, *, broker_url: str, transport_options: dict[str, Any]) -> None:
    with Connection(broker_url, transport_options=dict(transport_options)) as broker:
        send_callback.apply_async(args=[order.provider_payment_id], queue=QUEUE, connection=broker)


def wait_for(condition: Any, *, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def redis_broker() -> tuple[str, dict[str, Any]]:
    # Away 3 s counts as lost here (hours in production); look every second.
    return settings.CELERY_BROKER_URL, {
        "visibility_timeout": 3,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }


def embedded_broker(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """The embedded default's queue in files (portal/broker.py), here with
    a 3 s visibility timeout (five minutes in `make run`)."""
    folder, control = tmp_path / "queue", tmp_path / "control"
    folder.mkdir()
    control.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(control),
        "store_processed": False,
        "visibility_timeout": 3,
    }
    return "durablefs://localhost/", options


@pytest.fixture(params=["redis", "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    url, options = redis_broker() if request.param == "redis" else embedded_broker(tmp_path)
    yield url, options
    with Connection(url, transport_options=dict(options)) as connection_:
        app.control.purge(connection=connection_)


@pytest.mark.parametrize("dies", ["its pool process", "the whole worker"])
def test_a_task_whose_worker_is_killed_under_it_runs_again(paid_sandbox_payment, broker, dies):
    order, relay = paid_sandbox_payment
    broker_url, options = broker
    worker = Worker(broker_url=broker_url, transport_options=options)
    try:
        send_callback_task(order, broker_url=broker_url, transport_options=options)
        assert relay.first_arrived.wait(60), "the worker never ran the callback task"
        if dies == "its pool process":
            worker.kill_pool_process()  # the worker hands the message back at once
        else:
            worker.kill()
            assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
            # The broker hands an unacknowledged message out again once it has
            # been away longer than the visibility timeout (3 s here).
            worker = Worker(broker_url=broker_url, transport_options=options)
        wait_for(lambda: len(relay.arrivals) >= 2, what="the callback task to run again", timeout=60)
        wait_for(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, what="the order to be paid")
        # The second run saw its callback taken (after the portal had settled the order).
        payment = SandboxPayment.objects.filter(payment_id=order.provider_payment_id)
        wait_for(lambda: payment.get().callbacks_sent == 1, what="the second run to finish")
    finally:
        worker.kill()
    # The same event, sent again.
    assert json.loads(relay.arrivals[0])["id"] == json.loads(relay.arrivals[1])["id"]
