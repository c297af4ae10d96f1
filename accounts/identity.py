"""Identity documents: a customer uploads one, support approves or rejects
it, and its file is deleted some time after the decision.

The flows that need a checked identity (a replacement for a lost phone, a
new line, a cancellation) upload with their ``purpose`` and listen to
``identity_document_decided``, sent inside the deciding transaction, so a
request they keep moves on (or stops) atomically with the decision.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.identity_files import CheckedFile
from accounts.messaging import email_send, sms_send
from accounts.models import IdentityDocument, IdentityDocumentAccess, User, private_storage
from accounts.phone import format_phone

logger = logging.getLogger(__name__)

UPLOAD_WINDOW = timedelta(hours=1)
SWEEP_BATCH = 500

# Sent with ``document`` (decided, saved) inside the transaction that decided it.
identity_document_decided = Signal()
# Sent with ``document`` (saved, pending) inside the transaction that stored it.
identity_document_uploaded = Signal()


class IdentityDocumentError(Exception):
    """Refused for a reason the person can act on; ``str()`` is translated."""


# --- reads ---------------------------------------------------------------------------


def identity_documents_of(*, user: User) -> QuerySet[IdentityDocument]:
    """The customer's documents, newest first (what their page lists)."""
    return IdentityDocument.objects.filter(owner=user).order_by("-uploaded_at", "-pk")


def identity_document_get_owned(*, user: User, document_id: int) -> IdentityDocument:
    """The customer's own document; anyone else's is a 404."""
    return get_object_or_404(IdentityDocument, pk=document_id, owner=user)


# --- uploading -----------------------------------------------------------------------


def identity_document_upload(
    *, owner: User, kind: str, purpose: str, file: CheckedFile, now: datetime | None = None
) -> IdentityDocument:
    """Store a checked file as a new pending document of ``owner``.

    1. Lock the customer's row, so that parallel uploads by one customer
       are counted one after another.
    2. Refuse (IdentityDocumentError) when the customer has uploaded
       ``IDENTITY_DOCUMENT_UPLOADS_PER_HOUR`` files in the last hour.
    3. Write the file under a random name in the private storage and the
       row; a failure before the commit deletes the file again.
    """
    stored_name = ""
    try:
        with transaction.atomic():
            User.objects.select_for_update().filter(pk=owner.pk).exists()
            at = now or timezone.now()
            limit = settings.IDENTITY_DOCUMENT_UPLOADS_PER_HOUR
            recent = IdentityDocument.objects.filter(owner=owner, uploaded_at__gt=at - UPLOAD_WINDOW).count()
            if recent >= limit:
                raise IdentityDocumentError(
                    ngettext(
                        "You have uploaded %(count)d document in the last hour. Try again in an hour.",
                        "You have uploaded %(count)d documents in the last hour. Try again in an hour.",
                        recent,
                    )
                    % {"count": recent}
                )
            document = IdentityDocument(
                owner=owner,
                kind=kind,
                purpose=purpose,
                content_type=file.content_type,
                size=len(file.content),
                uploaded_at=at,
            )
            document.file.save(f"document{file.extension}", ContentFile(file.content), save=False)
            stored_name = document.file.name or ""
            document.save()
            identity_document_uploaded.send(sender=IdentityDocument, document=document)
    except BaseException:
        if stored_name:
            private_storage().delete(stored_name)
        raise
    logger.info("identity document %s uploaded by user %s (%s)", document.pk, owner.pk, purpose)
    return document


# --- reviewing -----------------------------------------------------------------------


@transaction.atomic
def identity_document_approve(*, document: IdentityDocument, by: User, note: str = "") -> IdentityDocument:
    """Approve a pending document and tell the customer."""
    return _decide(document=document, by=by, status=IdentityDocument.Status.APPROVED, reason="", note=note)


@transaction.atomic
def identity_document_reject(*, document: IdentityDocument, by: User, reason: str, note: str = "") -> IdentityDocument:
    """Reject a pending document with one of the standard reasons (which the
    customer reads, translated) and tell the customer what to do."""
    if reason not in IdentityDocument.Reason.values:
        raise IdentityDocumentError(_("Choose the reason the customer will read."))
    return _decide(document=document, by=by, status=IdentityDocument.Status.REJECTED, reason=reason, note=note)


def _decide(*, document: IdentityDocument, by: User, status: str, reason: str, note: str) -> IdentityDocument:
    """Under the document's row lock: only a pending document is decided,
    once; who and when are kept; the customer hears on commit."""
    locked = IdentityDocument.objects.select_for_update().select_related("owner").get(pk=document.pk)
    if locked.is_decided:
        raise IdentityDocumentError(
            _("This document was already decided (%(status)s).") % {"status": locked.get_status_display()}
        )
    locked.status = status
    locked.reason = reason
    locked.staff_note = note.strip()
    locked.decided_by = by
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "reason", "staff_note", "decided_by", "decided_at"])
    identity_document_decided.send(sender=IdentityDocument, document=locked)
    _tell_owner(locked)
    logger.info("identity document %s %s by user %s", locked.pk, status, by.pk)
    document.refresh_from_db()
    return locked


def _tell_owner(document: IdentityDocument) -> None:
    """The decision by email in the customer's language (by text when the
    account has no email address), sent once the decision commits."""
    owner = document.owner
    approved = document.status == IdentityDocument.Status.APPROVED
    with translation.override(owner.language):
        context = {
            "user": owner,
            "document": document,
            "approved": approved,
            "upload_url": settings.SITE_URL + reverse("identity_documents"),
            "support_phone": format_phone(settings.SUPPORT["phone"]),
            "retention_days": settings.IDENTITY_DOCUMENT_RETENTION_DAYS,
        }
        if owner.email:
            subject = render_to_string("emails/identity_document_subject.txt", context).strip()
            body = render_to_string("emails/identity_document_message.txt", context)
            email_send(message=EmailMessage(subject=subject, body=body, to=[owner.email]))
        elif owner.phone:
            sms_send(to=owner.phone, body=render_to_string("emails/identity_document_sms.txt", context).strip())


# --- looking at the file -------------------------------------------------------------


def identity_document_access_record(
    *, document: IdentityDocument, by: User, client_address: str | None
) -> IdentityDocumentAccess:
    """Record one look at the file by a member of staff (the caller checked
    the permission)."""
    access = IdentityDocumentAccess.objects.create(document=document, viewed_by=by, client_address=client_address)
    logger.info("identity document %s file viewed by user %s from %s", document.pk, by.pk, client_address)
    return access


# --- retention -----------------------------------------------------------------------


def identity_files_delete_expired(*, now: datetime | None = None) -> int:
    """Delete the files of documents decided more than
    ``IDENTITY_DOCUMENT_RETENTION_DAYS`` ago, and of deleted accounts'
    documents, keeping their rows. Returns
    how many were deleted. Safe to run twice, or in two workers at once:
    each document is taken under its row lock and skipped when another
    sweep holds it; a sweep stopped between deleting a file and marking the
    row is finished by the next (deleting a missing file does nothing)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IDENTITY_DOCUMENT_RETENTION_DAYS)
    decided = Q(status__in=[IdentityDocument.Status.APPROVED, IdentityDocument.Status.REJECTED], decided_at__lte=cutoff)
    # A deleted account's documents go whatever their state: pending ones
    # will never be decided (the deletion erases them itself; this catches
    # a file it could not delete).
    due = IdentityDocument.objects.filter(decided | Q(owner__deleted_at__isnull=False), file_deleted_at__isnull=True)
    deleted = 0
    while True:
        batch = list(due.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
        deleted_in_batch = sum(_delete_file(due=due, document_id=document_id, now=now) for document_id in batch)
        deleted += deleted_in_batch
        if len(batch) < SWEEP_BATCH or deleted_in_batch == 0:
            break
    if deleted:
        logger.info("identity document files deleted after retention: %d", deleted)
    return deleted


@transaction.atomic
def _delete_file(*, due: QuerySet[IdentityDocument], document_id: int, now: datetime) -> bool:
    document = due.select_for_update(skip_locked=True).filter(pk=document_id).first()
    if document is None:  # another sweep has it, or had it
        return False
    if document.file.name:
        private_storage().delete(document.file.name)
    document.file = ""
    document.file_deleted_at = now
    document.save(update_fields=["file", "file_deleted_at"])
    return True


def identity_files_erase(*, user: User, now: datetime) -> int:
    """Delete every identity document file of ``user`` at once (their
    account is being deleted), keeping the rows with their decisions.
    Returns how many files were deleted."""
    due = IdentityDocument.objects.filter(owner=user, file_deleted_at__isnull=True)
    return sum(
        _delete_file(due=due, document_id=document_id, now=now)
        for document_id in list(due.values_list("pk", flat=True))
    )
