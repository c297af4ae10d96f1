"""Cancellations on PostgreSQL with real workers over Redis: a worker killed
in the middle of a deactivation finishes it later without doing any step
twice; a renewal paid at the moment of the request or of the approval has
one consistent outcome; the quarantine sweep run twice (at once, and by the
worker) quarantines each line once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from kombu import Connection

from accounts.identity import identity_document_approve, identity_document_upload
from accounts.identity_files import CheckedFile
from accounts.models import IdentityDocument
from portal.celery import app
from subscriptions.models import (
    AuditEvent,
    CancellationRequest,
    CancellationStatus,
    CreditNote,
    EsimState,
    EventResult,
    LedgerKind,
    Line,
    LineStatus,
    OrderStatus,
    PaymentMethod,
    ServicePeriod,
)
from subscriptions.services.cancellations import cancellation_approve, cancellation_request, lines_quarantine
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.ledger import ledger_add
from subscriptions.tasks import deactivate_cancelled_line, quarantine_cancelled_lines
from tests.concurrency import at_once
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.fakes.json_api import Request, json_api_serving
from tests.fakes.network import TOKEN, FakeNetwork
from tests.identity_files import jpeg_bytes
from tests.services.test_worker_lost import QUEUE, Worker, redis_broker, wait_for
from tests.subscriptions.services.orders.steps import settle

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
S = CancellationStatus
IMSI = "242010000000001"


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def pending_line(staff):
    """An active line with an installed eSIM and a balance, whose owner asked
    to cancel and whose identity document support approved."""
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    line = LineFactory(owner=UserFactory(email="kari@example.test", full_name="Kari Nordmann"), with_period=plan)
    EsimProfileFactory(line=line, state=EsimState.INSTALLED, imsi=IMSI)
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=80_00, reference="top-up-1")
    return line, plan


def request_and_check_identity(line, staff):
    cancellation = cancellation_request(
        line=line,
        by=line.owner,
        reason="moving_abroad",
        balance_choice="refund",
        refund_account="86011117947",
        idempotency_key="form-1",
    )
    document = identity_document_upload(
        owner=line.owner,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.CANCELLATION,
        file=CheckedFile(content=jpeg_bytes(), content_type="image/jpeg"),
    )
    identity_document_approve(document=document, by=staff)
    cancellation.refresh_from_db()
    return cancellation


class HoldingNetwork(FakeNetwork):
    """The operator's network, which holds the first IMSI release open until
    the test has killed the worker waiting for it (that answer never comes)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release_arrived = threading.Event()
        self.let_go = threading.Event()

    def handle(self, request: Request) -> tuple[int, Any]:
        if request.path.endswith("/release") and not self.release_arrived.is_set():
            self.release_arrived.set()
            self.let_go.wait(30)
            return 503, {"error": {"code": "unavailable"}}
        return super().handle(request)


def test_a_worker_killed_mid_deactivation_finishes_it_later_without_doing_a_step_twice(
    pending_line, staff, monkeypatch
):
    line, _plan = pending_line
    network = HoldingNetwork(imsi={line.number: IMSI})
    broker_url, options = redis_broker()
    with json_api_serving(network) as url:
        monkeypatch.setenv("NETWORK_PROVIDER", "http")
        monkeypatch.setenv("NETWORK_URL", url + "/")
        monkeypatch.setenv("NETWORK_TOKEN", TOKEN)
        cancellation = request_and_check_identity(line, staff)
        cancellation_approve(cancellation=cancellation, by=staff)
        app.control.purge()  # the approval's own message: this test sends it to its worker
        worker = Worker(broker_url=broker_url, transport_options=options)
        try:
            with Connection(broker_url, transport_options=dict(options)) as broker:
                deactivate_cancelled_line.apply_async(args=[cancellation.pk], queue=QUEUE, connection=broker)
            assert network.release_arrived.wait(60), "the worker never reached the IMSI release"
            worker.kill()
            network.let_go.set()
            cancellation.refresh_from_db()
            assert cancellation.status == S.DEACTIVATING
            assert cancellation.network_blocked_at is not None and cancellation.imsi_released_at is None
            # Redis gives the unacknowledged message to the next worker once
            # the visibility timeout (3 s here) has passed.
            worker = Worker(broker_url=broker_url, transport_options=options)
            done = CancellationRequest.objects.filter(pk=cancellation.pk, status=S.DONE)
            wait_for(done.exists, what="the deactivation to finish", timeout=60)
        finally:
            worker.kill()

    cancellation.refresh_from_db()
    line.refresh_from_db()
    assert line.status == LineStatus.CANCELLED
    assert cancellation.attempts == 2
    actions = [path.rsplit("/", 1)[1] for path in (r.path for r in network.requests)]
    # The block once; the release asked twice with one request id, done once.
    assert actions.count("block") == 1
    assert network.performed == 2
    assert line.number not in network.imsi and line.number in network.blocked
    assert CreditNote.objects.filter(cancellation=cancellation).count() == 1
    assert line.ledger_entries.filter(kind=LedgerKind.REFUND).count() == 1
    for action in ("line_blocked", "imsi_released", "cancelled", "cancellation_done", "cancellation_balance_settled"):
        assert AuditEvent.objects.filter(line=line, action=action).count() == 1, action


def card_renewal(line, plan, key="renew-1"):
    return order_place(
        owner=line.owner,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key=key,
        site_url="http://testserver",
    )


def test_a_renewal_paid_at_the_moment_of_the_approval_is_refunded_not_added(pending_line, staff):
    line, plan = pending_line
    order = card_renewal(line, plan)  # placed before the request, paid only now
    cancellation = request_and_check_identity(line, staff)
    periods = ServicePeriod.objects.filter(line=line).count()

    event, approved = at_once(
        [lambda: settle(order), lambda: cancellation_approve(cancellation=cancellation, by=staff)]
    )

    order.refresh_from_db()
    line.refresh_from_db()
    assert approved.status == S.APPROVED
    assert event.result == EventResult.REFUND_DUE
    assert order.status == OrderStatus.DECLINED
    assert ServicePeriod.objects.filter(line=line).count() == periods
    assert line.status == LineStatus.CANCELLATION_PENDING


@pytest.mark.parametrize("attempt", range(3))
def test_a_renewal_paid_at_the_moment_of_the_request_has_one_outcome(pending_line, staff, attempt):
    line, plan = pending_line
    order = card_renewal(line, plan, key=f"renew-{attempt}")
    periods = ServicePeriod.objects.filter(line=line).count()

    def request():
        return cancellation_request(
            line=line,
            by=line.owner,
            reason="not_used",
            balance_choice="give_up",
            refund_account="",
            idempotency_key="form",
        )

    event, cancellation = at_once([lambda: settle(order), request])

    order.refresh_from_db()
    line.refresh_from_db()
    assert cancellation.status == S.REQUESTED
    assert line.status == LineStatus.CANCELLATION_PENDING
    added = ServicePeriod.objects.filter(line=line).count() - periods
    if order.status == OrderStatus.PAID:  # the payment took the line first
        assert (added, event.result) == (1, EventResult.APPLIED)
    else:  # the request did: nothing added, the money to be refunded
        assert (added, event.result, order.status) == (0, EventResult.REFUND_DUE, OrderStatus.DECLINED)


def cancelled_long_ago(count: int) -> list[Line]:
    past = timezone.now() - timedelta(days=40)
    lines = [LineFactory(status=LineStatus.CANCELLED) for _ in range(count)]
    Line.objects.filter(pk__in=[line.pk for line in lines]).update(status_changed_at=past)
    return lines


def test_the_quarantine_sweep_run_twice_at_once_quarantines_each_line_once():
    lines = cancelled_long_ago(6)

    moved = at_once([lines_quarantine, lines_quarantine])

    assert sum(moved) == 6
    assert Line.objects.filter(status=LineStatus.QUARANTINED).count() == 6
    assert AuditEvent.objects.filter(action="quarantined", line__in=lines).count() == 6


def test_the_quarantine_sweep_run_twice_by_the_worker_quarantines_each_line_once(celery_worker, finished_tasks):
    lines = cancelled_long_ago(3)

    quarantine_cancelled_lines.delay()
    quarantine_cancelled_lines.delay()
    wait_for(
        lambda: len([r for r in finished_tasks if r.name.endswith("quarantine_cancelled_lines")]) == 2,
        what="the sweeps",
    )

    assert Line.objects.filter(status=LineStatus.QUARANTINED).count() == 3
    assert AuditEvent.objects.filter(action="quarantined", line__in=lines).count() == 3
