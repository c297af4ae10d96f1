"""deliver_email, run by the real worker, speaks SMTP to a real local server
(aiosmtpd) with Django's SMTP backend, and retries while the server is down."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from django.core.mail import EmailMessage
from django.db import transaction

from accounts import services
from tests.fakes.smtp import LocalSmtpServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SUBJECT = "欢迎"
BODY = "您好，王伟：\n\n欢迎使用 Nordlys Mobil。您的账户已经准备好了。\n"


def queue_email() -> None:
    """What the adapter and services do: queue deliver_email on commit."""
    with transaction.atomic():
        services.email_send(message=EmailMessage(subject=SUBJECT, body=BODY, to=["wang.wei@example.test"]))


def parse(envelope: Envelope) -> email.message.EmailMessage:
    assert isinstance(envelope.content, bytes)
    message: email.message.EmailMessage = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return message


def test_it_delivers_a_chinese_email_to_the_smtp_server_through_the_worker(
    celery_worker: Any, smtp_server: LocalSmtpServer, wait_until: Any
) -> None:
    queue_email()

    [envelope] = wait_until(lambda: smtp_server.received, what="the SMTP server to receive the email")
    assert envelope.mail_from == "kundeservice@nordlys.test"
    assert envelope.rcpt_tos == ["wang.wei@example.test"]
    message = parse(envelope)
    assert message["To"] == "wang.wei@example.test"
    assert message["From"] == "Nordlys Mobil <kundeservice@nordlys.test>"
    assert message["Subject"] == SUBJECT
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == BODY  # SMTP lines end in CRLF


def test_it_retries_an_email_until_the_smtp_server_is_back(
    celery_worker: Any, smtp_server: LocalSmtpServer, fast_retries: list[float], finished_tasks: Any, wait_until: Any
) -> None:
    smtp_server.stop()

    queue_email()

    [first] = wait_until(lambda: finished_tasks, what="the first delivery attempt")
    assert (first.name, first.state) == ("accounts.tasks.deliver_email", "RETRY")
    assert fast_retries[0] == 30  # the task's own backoff before the first retry, in seconds
    assert smtp_server.received == []
    smtp_server.start()
    [envelope] = wait_until(lambda: smtp_server.received, what="the retried email to arrive")
    assert envelope.rcpt_tos == ["wang.wei@example.test"]
    assert parse(envelope)["Subject"] == SUBJECT
    wait_until(lambda: finished_tasks[-1].state == "SUCCESS", what="the retry to finish")
    assert len(smtp_server.received) == 1
