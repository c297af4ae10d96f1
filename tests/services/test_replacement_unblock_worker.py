"""Support unblock a stopped lost-phone request's number, on PostgreSQL with
a real worker over Redis: the worker blocks the line, support ask once, the
worker unblocks it once with the request's own id, retried with that same id
while the network cannot be reached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.network import network_history, network_subscriber
from subscriptions.models import EsimState, ReplacementReason, ReplacementRequest
from subscriptions.network import NetworkUnavailable
from subscriptions.network.sandbox import SandboxNetwork
from subscriptions.services.replacements import replacement_request, replacement_stop, replacement_unblock_ask
from tests.factories import EsimProfileFactory, LineFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_worker_unblocks_a_stopped_lost_phone_line_once_with_its_own_id(
    celery_worker, fast_retries, monkeypatch, wait_until, finished_tasks
):
    customer = UserFactory()
    agent = UserFactory(is_staff=True)
    line = LineFactory(owner=customer, with_period=True)
    EsimProfileFactory(line=line, state=EsimState.INSTALLED, assigned_at=timezone.now() - timedelta(days=9))
    replacement = replacement_request(
        line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
    )
    wait_until(lambda: ReplacementRequest.objects.get(pk=replacement.pk).blocked_at, what="the block")
    replacement_stop(replacement=replacement, by=customer, why="found it")
    real = SandboxNetwork.unblock_line
    calls: list[str] = []

    def flaky(self, **kwargs):
        calls.append(kwargs["request_id"])
        if len(calls) < 2:
            raise NetworkUnavailable("timed out")
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxNetwork, "unblock_line", flaky)
    replacement_unblock_ask(replacement=replacement, by=agent, reason="Customer found the phone")

    wait_until(lambda: ReplacementRequest.objects.get(pk=replacement.pk).unblocked_at, what="the unblock")
    assert calls == [f"{replacement.public_id}-support-unblock"] * 2
    assert not network_subscriber(msisdn=line.number).blocked
    assert [request.action for request in network_history(msisdn=line.number)] == ["block", "unblock"]
    assert fast_retries == [10]
    assert [run.name.rsplit(".", 1)[-1] for run in finished_tasks][-1] == "unblock_line_after_replacement"
