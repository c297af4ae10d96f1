"""Celery tasks for identity: thin, load by id or take a JSON payload, call a
service or a backend, retry on a transient error."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import Task, shared_task
from django.template.loader import render_to_string
from django.utils import translation

from accounts import identity, services
from accounts.messaging import email_from_payload
from accounts.models import SentText
from portal import sms

logger = logging.getLogger(__name__)

TRANSIENT = (smtplib.SMTPException, OSError, sms.SmsDeliveryError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def deliver_email(payload: dict[str, Any]) -> None:
    email_from_payload(payload).send()


@shared_task(bind=True, autoretry_for=TRANSIENT, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def deliver_sms(self: Task[[str, str, str | None], None], to: str, body: str, sender: str | None = None) -> None:
    sms.send(to=to, body=body, reference=self.request.id, sender=sender)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def send_welcome(user_id: int, client_address: str | None = None) -> None:
    """Safe to run twice: the claim lets exactly one run send. A welcome by
    text counts against the hourly text caps of the address that signed up."""
    user = services.welcome_claim(user_id=user_id)
    if user is None:
        return
    try:
        with translation.override(user.language):
            context = {"user": user}
            if user.email:
                subject = render_to_string("emails/welcome_subject.txt", context).strip()
                body = render_to_string("emails/welcome_message.txt", context)
                email_from_payload({"subject": subject, "body": body, "from_email": None, "to": [user.email]}).send()
            elif user.phone and services.text_allow(
                to=user.phone, purpose=SentText.Purpose.WELCOME, client_address=client_address
            ):
                sms.send(to=user.phone, body=render_to_string("emails/welcome_sms.txt", context).strip())
    except Exception:
        # Give the claim back so a retry (or a later run) can send it. A worker
        # killed between claim and send loses the welcome: at most once, by choice.
        services.welcome_release(user_id=user_id)
        raise


@shared_task
def delete_expired_identity_files() -> int:
    """Beat's hourly sweep: identity document files past their retention."""
    return identity.identity_files_delete_expired()
