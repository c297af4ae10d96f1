"""Suspend and resume on PostgreSQL with a real worker over Redis: the
network blocks the line once and unblocks it once, each call retried with
the same request id while the network cannot be reached; the data export
is built and announced by the worker."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from sandbox.network import network_history, network_subscriber
from subscriptions.models import DataExport, DataExportStatus, LineStatus, LineSuspension, SuspensionReason
from subscriptions.network import NetworkUnavailable
from subscriptions.network.sandbox import SandboxNetwork
from subscriptions.services.customer_data import data_export_request
from subscriptions.services.suspensions import line_suspension_end, line_suspension_start
from tests.factories import LineFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_worker_blocks_a_suspended_line_once_and_unblocks_it_once(celery_worker, wait_until, finished_tasks):
    customer = UserFactory()
    line = LineFactory(owner=customer, with_period=True)

    line_suspension_start(line=line, by=customer, reason=SuspensionReason.TRAVELLING)
    wait_until(lambda: LineSuspension.objects.get(line=line).blocked_at, what="the block")
    assert network_subscriber(msisdn=line.number).blocked

    line_suspension_end(line=line, by=customer)
    suspension = wait_until(
        lambda: LineSuspension.objects.filter(line=line).exclude(unblocked_at=None).first(), what="the unblock"
    )

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert not network_subscriber(msisdn=line.number).blocked
    assert [(request.action, request.request_id) for request in network_history(msisdn=line.number)] == [
        ("block", suspension.request_id("block")),
        ("unblock", suspension.request_id("unblock")),
    ]
    assert [run.name.rsplit(".", 1)[-1] for run in finished_tasks] == ["block_suspended_line", "unblock_resumed_line"]


def test_a_block_the_network_could_not_take_is_retried_with_the_same_request_id(
    celery_worker, fast_retries, monkeypatch, wait_until
):
    customer = UserFactory()
    line = LineFactory(owner=customer, with_period=True)
    real = SandboxNetwork.block_line
    calls: list[str] = []

    def flaky(self, **kwargs):
        calls.append(kwargs["request_id"])
        if len(calls) < 3:
            raise NetworkUnavailable("timed out")
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxNetwork, "block_line", flaky)
    with transaction.atomic():
        line_suspension_start(line=line, by=customer, reason=SuspensionReason.LOST_PHONE)

    wait_until(lambda: LineSuspension.objects.get(line=line).blocked_at, what="the block")
    assert len(calls) == 3 and len(set(calls)) == 1
    assert fast_retries == [10, 20]
    assert [request.action for request in network_history(msisdn=line.number)] == ["block"]


def test_the_worker_builds_the_data_export_and_emails_its_link(celery_worker, wait_until, sender_of):
    customer = UserFactory()
    LineFactory(owner=customer, with_period=True)

    export = data_export_request(user=customer)

    wait_until(lambda: DataExport.objects.get(pk=export.pk).status == DataExportStatus.READY, what="the export")
    message = wait_until(lambda: mail.outbox and mail.outbox[-1], what="the email")
    assert f"/account/data/export/{export.public_id}/" in message.body
    assert sender_of(message).is_worker
