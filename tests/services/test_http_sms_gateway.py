"""deliver_sms, run by the real worker, posts to a real local HTTP SMS gateway
through portal.sms.HttpGatewayBackend, and retries when the gateway fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import signals
from celery.exceptions import Retry
from django.db import transaction

from accounts import services
from portal.sms import SmsDeliveryError
from tests.fakes.sms_gateway import TOKEN, LocalSmsGateway

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BODY = "Your Nordlys Mobil code is 482913. 您的验证码。"


@pytest.fixture
def retry_reasons() -> Iterator[list[BaseException]]:
    """The errors that made the worker retry a task, in order."""
    reasons: list[BaseException] = []

    def record(reason: Retry, **kwargs: Any) -> None:
        reasons.append(reason.exc if reason.exc is not None else reason)

    signals.task_retry.connect(record, weak=False)
    yield reasons
    signals.task_retry.disconnect(record)


def queue_sms() -> None:
    with transaction.atomic():
        services.sms_send(to="+4791234567", body=BODY)


def test_it_posts_the_sms_to_the_gateway_with_the_bearer_token(
    celery_worker: Any, sms_gateway: LocalSmsGateway, wait_until: Any
) -> None:
    queue_sms()

    [request] = wait_until(lambda: sms_gateway.received, what="the gateway to receive the SMS")
    assert request["path"] == "/v1/messages"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "from": "Nordlys",
        "to": "+4791234567",
        "text": BODY,
        "reference": request["json"]["reference"],
    }
    # The reference is the delivering task's id (a UUID), the same on every retry.
    assert uuid.UUID(request["json"]["reference"])


def test_it_retries_the_sms_when_the_gateway_answers_500(
    celery_worker: Any,
    sms_gateway: LocalSmsGateway,
    fast_retries: list[float],
    retry_reasons: list[BaseException],
    finished_tasks: Any,
    wait_until: Any,
) -> None:
    sms_gateway.answers = [500]

    queue_sms()

    wait_until(lambda: [run for run in finished_tasks if run.state == "SUCCESS"], what="the retried SMS to go through")
    [reason] = retry_reasons
    assert isinstance(reason, SmsDeliveryError)
    assert str(reason) == "SMS gateway answered 500"
    assert fast_retries == [30]
    assert [run.state for run in finished_tasks] == ["RETRY", "SUCCESS"]
    assert [request["json"]["text"] for request in sms_gateway.received] == [BODY, BODY]


def test_it_retries_the_sms_when_the_gateway_is_unreachable(
    celery_worker: Any,
    sms_gateway: LocalSmsGateway,
    fast_retries: list[float],
    retry_reasons: list[BaseException],
    finished_tasks: Any,
    settings: Any,
    wait_until: Any,
) -> None:
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/v1/messages"  # the discard port: nothing listens

    queue_sms()

    wait_until(lambda: retry_reasons, what="the first attempt to fail")
    assert isinstance(retry_reasons[0], SmsDeliveryError)
    assert str(retry_reasons[0]) == "SMS gateway unreachable: ConnectionError"
    settings.SMS_GATEWAY_URL = sms_gateway.url
    [request] = wait_until(lambda: sms_gateway.received, what="the retried SMS to reach the gateway")
    assert request["json"]["to"] == "+4791234567"


def test_a_retried_sms_keeps_its_reference_so_the_gateway_can_drop_the_duplicate(
    celery_worker: Any, sms_gateway: LocalSmsGateway, fast_retries: list[float], finished_tasks: Any, wait_until: Any
) -> None:
    # A 500 after the gateway may already have taken the message: the retry
    # must carry the same reference, as HttpGatewayBackend's docstring promises.
    sms_gateway.answers = [500]

    queue_sms()

    wait_until(lambda: len(sms_gateway.received) == 2, what="the retry to reach the gateway")
    first, second = (request["json"]["reference"] for request in sms_gateway.received)
    assert first == second
