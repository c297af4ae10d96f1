"""'Your eSIM is ready': told to the customer once per provisioning job.

The email goes to the account; the text goes to the line only when the
line's number is on a phone the customer still has (a replacement for a new
phone, a deleted profile or a failed install). Not to a line reported lost
or stolen (the text would reach whoever has it) and not to a new line (its
number is on no phone yet). Both carry a link to My eSIM, never the
activation code, which the install page shows after a fresh sign-in.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.messaging import email_send, sms_send
from portal.support import support_contact_get
from subscriptions.models import ProvisioningJob, ReplacementReason, ReplacementRequest


def _replacement_of(job: ProvisioningJob) -> ReplacementRequest | None:
    prefix, _colon, public_id = job.key.partition(":")
    if prefix != "replacement":
        return None
    try:
        return ReplacementRequest.objects.filter(public_id=uuid.UUID(public_id)).first()
    except ValueError:
        return None


def _text_the_line(job: ProvisioningJob) -> bool:
    if job.replacing_id is None:
        return False
    replacement = _replacement_of(job)
    return replacement is None or replacement.reason != ReplacementReason.LOST_OR_STOLEN


@transaction.atomic
def esim_ready_notify(*, job: ProvisioningJob) -> bool:
    """Email the account and (see the module's docstring) text the line that
    the eSIM is ready, on commit. The conditional update on the job lets one
    caller send; returns whether this one did."""
    claimed = ProvisioningJob.objects.filter(pk=job.pk, ready_notice_at=None, ready_at__isnull=False).update(
        ready_notice_at=timezone.now()
    )
    if claimed != 1:
        return False
    line = job.line
    owner = line.owner
    with translation.override(owner.language):
        context = {
            "number": line.number_display,
            "link": settings.SITE_URL + reverse("my_esim", args=[line.pk]),
            "support": support_contact_get(),
        }
        if owner.email:
            email_send(
                message=EmailMessage(
                    subject=render_to_string("emails/esim_ready_subject.txt", context).strip(),
                    body=render_to_string("emails/esim_ready_message.txt", context),
                    from_email=None,
                    to=[owner.email],
                )
            )
        if _text_the_line(job):
            sms_send(to=line.number, body=render_to_string("emails/esim_ready_sms.txt", context).strip())
    return True
