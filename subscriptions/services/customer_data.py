"""The customer's own data (GDPR): "download my data", "delete my account",
and the retention sweeps.

- An export is asked for on the web, built by a worker into a ZIP in
  private storage (each table as JSON and CSV, the receipts as PDF), and
  announced by email with a link that carries a token (only its hash is
  kept). The link works once, within ``DATA_EXPORT_VALID_HOURS``, for the
  signed-in owner; the file is deleted when it is downloaded, and by the
  sweep when it was not.
- An account can be deleted when every line is cancelled or quarantined and
  no order waits for payment. Its personal data is erased (the user row is
  kept, with no name, address, email or number, and cannot sign in), its
  identity document files and exports are deleted, its receipts are kept
  for the bookkeeping period with the name and address printed on them, and
  the deletion is recorded (``AccountDeletion`` and an audit row per line).
- Beat sweeps delete export files past their day, and usage records older
  than ``USAGE_RETENTION_DAYS``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import logging
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.messaging import email_send
from accounts.models import IdentityDocument, User, private_storage
from accounts.services import user_erase
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AccountDeletion,
    AuditEvent,
    CancellationRequest,
    CreditNote,
    DataExport,
    DataExportStatus,
    LedgerEntry,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Receipt,
    ServicePeriod,
    UsageRecord,
)
from subscriptions.models.autorenew import SavedCard
from subscriptions.models.cancellations import OPEN_STATUSES
from subscriptions.periods import OSLO
from subscriptions.receipt_pdf import receipt_pdf
from subscriptions.services.audit import audit_record
from subscriptions.services.saved_cards import saved_cards_detach_queue

logger = logging.getLogger(__name__)

S = DataExportStatus
# A line in these states holds nothing that stops its owner from leaving.
GONE = (LineStatus.CANCELLED, LineStatus.QUARANTINED)
SWEEP_BATCH = 1000


# --- download my data -----------------------------------------------------------------


def data_export_request(*, user: User) -> DataExport:
    """Ask for an export; a second request while one is being prepared
    finds that one. The worker is queued on commit."""
    if not user.email:
        raise CustomerError(_("Your account has no email address to send the link to. Add one on your profile first."))
    building = DataExport.objects.filter(owner=user, status=S.BUILDING).first()
    if building is not None:
        return building
    try:
        with transaction.atomic():
            export = DataExport.objects.create(owner=user)
            export_id = export.pk
            transaction.on_commit(lambda: _queue_build(export_id), robust=True)
    except IntegrityError:
        return DataExport.objects.get(owner=user, status=S.BUILDING)
    return export


def _queue_build(export_id: int) -> None:
    from subscriptions.tasks import build_data_export

    build_data_export.delay(export_id)


def data_export_build(*, export_id: int) -> bool:
    """Build the ZIP and announce it, once. False when there was nothing to
    do (built already). Two runs at once build twice; one keeps its file and
    sends the email, the other deletes its own."""
    export = DataExport.objects.select_related("owner").get(pk=export_id)
    if export.status != S.BUILDING:
        return False
    owner = export.owner
    with translation.override(owner.language):
        content = customer_data_zip(user=owner)
    name = private_storage().save(DataExport.file.field.generate_filename(export, "export.zip"), ContentFile(content))
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        done = DataExport.objects.filter(pk=export.pk, status=S.BUILDING).update(
            status=S.READY,
            file=name,
            size=len(content),
            ready_at=now,
            expires_at=now + timedelta(hours=settings.DATA_EXPORT_VALID_HOURS),
            token_hash=_token_hash(token),
        )
        if done:
            export.refresh_from_db()
            _ready_email_send(export, token)
    if not done:
        private_storage().delete(name)
    return bool(done)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ready_email_send(export: DataExport, token: str) -> None:
    owner = export.owner
    if not owner.email:  # removed after the request; the page still says ready
        logger.warning("data export %s is ready but its owner has no email address", export.pk)
        return
    link = settings.SITE_URL + reverse("data_export_download", args=[export.public_id, token])
    with translation.override(owner.language):
        context = {"link": link, "hours": settings.DATA_EXPORT_VALID_HOURS, "user": owner}
        message = EmailMessage(
            subject=render_to_string("emails/data_export_subject.txt", context).strip(),
            body=render_to_string("emails/data_export_message.txt", context),
            from_email=None,
            to=[owner.email],
        )
    email_send(message=message)


# An export still being prepared this long after it was asked for lost its
# task (the queue was down at commit, or the worker died): it is queued again.
BUILD_STALE_AFTER = timedelta(minutes=10)


def data_exports_queue_stale(*, now: datetime | None = None) -> int:
    """Queue again the exports left being prepared; building is safe to run twice."""
    now = now or timezone.now()
    export_ids = list(
        DataExport.objects.filter(status=S.BUILDING, requested_at__lt=now - BUILD_STALE_AFTER).values_list(
            "pk", flat=True
        )
    )
    for export_id in export_ids:
        _queue_build(export_id)
    return len(export_ids)


def data_export_get_owned(*, user: User, public_id: str) -> DataExport:
    """The export if ``user`` asked for it; Http404 otherwise."""
    export = DataExport.objects.filter(public_id=public_id, owner=user).first()
    if export is None:
        raise Http404("No such export")
    return export


def data_export_take(*, export: DataExport, token: str) -> bytes:
    """The ZIP, once: the token must match, the link be in time and not
    used. The download is claimed by a conditional update (two clicks at
    once get it once) and the file deleted after it is read."""
    if not export.token_hash or not hmac.compare_digest(export.token_hash, _token_hash(token)):
        raise Http404("Wrong token")
    now = timezone.now()
    if export.status == S.DOWNLOADED:
        raise CustomerError(_("This link was already used. Ask for a new export on the Your data page."))
    if export.status != S.READY or export.expires_at is None or export.expires_at <= now:
        raise CustomerError(_("This link has expired. Ask for a new export on the Your data page."))
    with transaction.atomic():
        taken = DataExport.objects.filter(pk=export.pk, status=S.READY, expires_at__gt=now).update(
            status=S.DOWNLOADED, downloaded_at=now
        )
        if not taken:
            raise CustomerError(_("This link was already used. Ask for a new export on the Your data page."))
        with private_storage().open(export.file.name, "rb") as handle:
            content = handle.read()
    _file_delete(export.pk, now=now)
    return content


def _file_delete(export_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        export = DataExport.objects.select_for_update(skip_locked=True).filter(pk=export_id).first()
        if export is None or export.file_deleted_at is not None:
            return False
        if export.file.name:
            private_storage().delete(export.file.name)
        export.file = ""
        export.file_deleted_at = now
        export.save(update_fields=["file", "file_deleted_at"])
    return True


def data_exports_delete_expired(*, now: datetime | None = None) -> int:
    """The sweep: delete export files past their link's day (downloaded
    ones are deleted at once; a crash between download and delete is caught
    here too), and mark unused exports expired. Safe to run twice."""
    now = now or timezone.now()
    DataExport.objects.filter(status=S.READY, expires_at__lte=now).update(status=S.EXPIRED)
    due = DataExport.objects.filter(status__in=[S.EXPIRED, S.DOWNLOADED], file_deleted_at=None).values_list(
        "pk", flat=True
    )
    return sum(_file_delete(export_id, now=now) for export_id in list(due[:SWEEP_BATCH]))


# --- what the ZIP holds -----------------------------------------------------------------


def customer_data_tables(*, user: User) -> dict[str, list[dict[str, Any]]]:
    """Every table of the customer's data, as rows of plain values."""
    lines = Line.objects.filter(owner=user)
    return {
        "profile": [
            {
                "email": user.email,
                "phone": user.phone,
                "phone_verified": user.phone_verified,
                "full_name": user.full_name,
                "street_address": user.street_address,
                "postal_code": user.postal_code,
                "city": user.city,
                "language": user.language,
                "date_joined": user.date_joined,
            }
        ],
        "identity_documents": _rows(
            IdentityDocument.objects.filter(owner=user)
            .order_by("uploaded_at")
            .values("kind", "purpose", "status", "reason", "uploaded_at", "decided_at", "file_deleted_at")
        ),
        "lines": _rows(
            lines.order_by("created_at").values(
                "number", "kind", "status", "status_changed_at", "expires_at", "auto_renew", "created_at"
            )
        ),
        "periods": _rows(
            ServicePeriod.objects.filter(line__owner=user)
            .order_by("line__number", "starts_at")
            .values(
                "line__number",
                "plan__code",
                "starts_at",
                "ends_at",
                "data_mb",
                "voice_minutes",
                "sms_count",
                "source",
            )
        ),
        "usage": _rows(
            UsageRecord.objects.filter(line__owner=user)
            .order_by("occurred_at", "id")
            .values("line__number", "kind", "quantity", "out_of_bundle", "charge_ore", "occurred_at", "destination")
        ),
        "ledger": [
            {
                "line": entry.line.number,
                "kind": entry.kind,
                "amount_ore": entry.amount_ore,
                "text": entry.text,
                "created_at": entry.created_at,
            }
            for entry in LedgerEntry.objects.filter(line__owner=user).select_related("line").order_by("created_at")
        ],
        "orders": _rows(
            Order.objects.filter(owner=user)
            .order_by("created_at")
            .values(
                "public_id",
                "line__number",
                "kind",
                "plan__code",
                "amount_ore",
                "discount_ore",
                "method",
                "status",
                "billing_name",
                "billing_street",
                "billing_postal_code",
                "billing_city",
                "created_at",
                "settled_at",
            )
        ),
        "receipts": [
            {
                "number": receipt.number,
                "issued_at": receipt.issued_at,
                "line": receipt.line_number,
                "plan": receipt.plan_name,
                "total_ore": receipt.total_ore,
                "vat_ore": receipt.vat_ore,
                "file": f"receipts/receipt-{receipt.number}.pdf",
            }
            for receipt in _receipts(user)
        ],
        "saved_cards": _rows(
            SavedCard.objects.filter(owner=user)
            .order_by("created_at")
            .values("provider", "brand", "last4", "exp_month", "exp_year", "created_at", "removed_at")
        ),
        # What the customer asked for on their lines, as the audit trail has it.
        "requests": _rows(
            AuditEvent.objects.filter(line__owner=user, actor=user)
            .order_by("created_at", "id")
            .values("created_at", "line__number", "action", "from_status", "to_status", "reason", "data")
        ),
    }


def _rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


def _receipts(user: User) -> Iterable[Receipt]:
    return Receipt.objects.filter(owner=user).select_related("plan").order_by("issued_at")


def customer_data_zip(*, user: User) -> bytes:
    """The ZIP: a README, each table as ``<name>.json`` and ``<name>.csv``,
    and each receipt as a PDF, in the customer's language where words are."""
    tables = customer_data_tables(user=user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", render_to_string("emails/data_export_readme.txt", {"user": user}))
        for name, rows in tables.items():
            archive.writestr(f"{name}.json", json.dumps(rows, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
            archive.writestr(f"{name}.csv", _csv(rows))
        for receipt in _receipts(user):
            archive.writestr(f"receipts/receipt-{receipt.number}.pdf", receipt_pdf(receipt))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _plain(value) for key, value in row.items()})
    return out.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return value


# --- delete my account -------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionCheck:
    # The lines still in use (not cancelled or quarantined).
    open_lines: list[Line]
    pending_orders: int

    @property
    def allowed(self) -> bool:
        return not self.open_lines and not self.pending_orders


def account_deletion_check(*, user: User) -> DeletionCheck:
    return DeletionCheck(
        # A line counts as open while its cancellation is still being done:
        # the line is cancelled midway, before its refund and final email.
        open_lines=list(
            Line.objects.filter(owner=user)
            .filter(~Q(status__in=GONE) | Q(cancellation_requests__status__in=OPEN_STATUSES))
            .distinct()
            .order_by("created_at")
        ),
        pending_orders=Order.objects.filter(owner=user, status=OrderStatus.PENDING).count(),
    )


def _refusal(check: DeletionCheck) -> CustomerError:
    if check.open_lines:
        numbers = ", ".join(f"{line.number_display} ({line.get_status_display().lower()})" for line in check.open_lines)
        return CustomerError(
            _("Your account cannot be deleted while these lines are not cancelled: %(lines)s.") % {"lines": numbers}
        )
    return CustomerError(_("Your account cannot be deleted while an order is waiting for payment."))


def account_delete(*, user: User) -> AccountDeletion:
    """Delete the account, if nothing holds it.

    1. Lock the user, check again that every line is cancelled or
       quarantined and no order waits for payment.
    2. Erase the personal data on the user row and its identity documents'
       files (``accounts.services.user_erase``), the billing details of its
       orders (the receipts keep their own copies, as bookkeeping requires),
       its saved cards (detached at the payment provider too, by a worker
       once this commits) and its exports' files.
    3. Record the deletion, with an audit row on each line.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.deleted_at is not None:
            raise CustomerError(_("This account was already deleted."))
        check = account_deletion_check(user=locked)
        if not check.allowed:
            raise _refusal(check)
        now = timezone.now()
        lines = list(Line.objects.filter(owner=locked))
        files_deleted = user_erase(user=locked, now=now)
        Order.objects.filter(owner=locked).update(
            billing_name="", billing_street="", billing_postal_code="", billing_city=""
        )
        # The credit note keeps its own copy for the payout and the books.
        CancellationRequest.objects.filter(line__owner=locked).update(refund_account="")
        cards = SavedCard.objects.filter(owner=locked, removed_at=None)
        card_ids = list(cards.values_list("pk", flat=True))
        cards.update(removed_at=now)
        saved_cards_detach_queue(card_ids=card_ids)
        for export in DataExport.objects.filter(owner=locked, file_deleted_at=None):
            transaction.on_commit(partial(_file_delete, export.pk, now=now), robust=True)
        DataExport.objects.filter(owner=locked, status__in=[S.BUILDING, S.READY]).update(status=S.EXPIRED)
        receipts = Receipt.objects.filter(owner=locked)
        last_receipt = receipts.order_by("-issued_at").values_list("issued_at", flat=True).first()
        deletion = AccountDeletion.objects.create(
            user=locked,
            deleted_at=now,
            lines=len(lines),
            receipts_kept=receipts.count(),
            receipts_kept_until=_kept_until(last_receipt) if last_receipt else None,
            identity_files_deleted=files_deleted,
        )
        for line in lines:
            audit_record(
                line=line,
                action="account_deleted",
                by=None,
                reason="deleted by the customer",
                data={"saved_cards_detached": len(card_ids)},
            )
    logger.info("account %s deleted by its owner", user.pk)
    return deletion


def _kept_until(moment: datetime) -> date:
    """The end of the bookkeeping period for a receipt issued at ``moment``:
    ``RECEIPT_RETENTION_YEARS`` after the end of its financial year (the
    Oslo year, as in the receipt's number)."""
    return date(moment.astimezone(OSLO).year + settings.RECEIPT_RETENTION_YEARS, 12, 31)


# --- receipts and credit notes past the bookkeeping period -------------------------------


def bookkeeping_copies_anonymise(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Blank the customer's name and address on the receipts, and the name
    and bank account on the credit notes, of deleted accounts once their
    bookkeeping period is over: ``RECEIPT_RETENTION_YEARS`` after the end of
    the (Oslo) year in their number. The amounts, numbers and the seller stay.

    A batch of ids at a time, each an update of rows not yet anonymised, so
    a second run (or one side by side) changes nothing more. Returns how
    many documents were anonymised."""
    now = now or timezone.now()
    # 2026's receipts are kept to the end of 2031: in 2032 the first year
    # still kept is 2027.
    first_year_kept = now.astimezone(OSLO).year - settings.RECEIPT_RETENTION_YEARS
    done = 0
    for model, blank in (
        (Receipt, {"customer_name": "", "customer_address": ""}),
        (CreditNote, {"customer_name": "", "bank_account": ""}),
    ):
        due = model.objects.filter(year__lt=first_year_kept, owner__deleted_at__isnull=False, anonymised_at=None)
        while True:
            ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            done += model.objects.filter(pk__in=ids, anonymised_at=None).update(anonymised_at=now, **blank)
    if done:
        logger.info("receipts and credit notes past the bookkeeping period anonymised: %d", done)
    return done


# --- usage records ----------------------------------------------------------------------


def usage_records_delete_old(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Delete usage records older than ``USAGE_RETENTION_DAYS``, a batch of
    ids at a time (each batch its own short transaction). Safe to run twice
    or side by side: a record deleted by the other run is simply not there."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.USAGE_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            UsageRecord.objects.filter(occurred_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        count, _per_model = UsageRecord.objects.filter(pk__in=ids).delete()
        deleted += count
    if deleted:
        logger.info("usage records past retention deleted: %d", deleted)
    return deleted
