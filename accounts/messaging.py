"""Outbound email and SMS: queued for a Celery worker once the surrounding
transaction commits, so nothing is sent for a change that was rolled back."""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction


def email_to_payload(message: EmailMessage) -> dict[str, Any]:
    """A JSON-safe copy of a rendered message (the broker speaks JSON only)."""
    alternatives = [[content, mimetype] for content, mimetype in getattr(message, "alternatives", [])]
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "headers": dict(message.extra_headers),
        "content_subtype": message.content_subtype,
        "alternatives": alternatives,
    }


def email_from_payload(payload: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        headers=payload.get("headers") or None,
    )
    message.content_subtype = payload.get("content_subtype", "plain")
    for content, mimetype in payload.get("alternatives", []):
        message.attach_alternative(content, mimetype)
    return message


def email_send(*, message: EmailMessage) -> None:
    from accounts.tasks import deliver_email

    payload = email_to_payload(message)
    transaction.on_commit(lambda: deliver_email.delay(payload))


def sms_send(*, to: str, body: str, sender: str | None = None) -> None:
    """Queue a text once the transaction commits; from SMS_SENDER unless
    ``sender`` is given."""
    from accounts.tasks import deliver_sms

    transaction.on_commit(lambda: deliver_sms.delay(to, body, sender))
