"""Paying out a credit note: support send the refunded balance from the
bank, then mark the credit note here, once."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import CreditNote
from subscriptions.periods import OSLO
from subscriptions.services.audit import audit_record


@transaction.atomic
def credit_note_mark_paid_out(*, note: CreditNote, paid_on: date, reference: str, by: User) -> CreditNote:
    """Record that the bank paid the refund on ``paid_on`` under ``reference``.

    Only a credit note with a bank refund, only once (a conditional update
    that must change exactly one row: a second click or a second agent gets
    a refusal), never for a day in the future or before the note was issued.
    The audit row goes on the cancelled line."""
    reference = reference.strip()
    if not reference:
        raise CustomerError(_("Enter the bank's reference for the payment."))
    today = timezone.now().astimezone(OSLO).date()
    if paid_on > today:
        raise CustomerError(_("The payment day cannot be in the future."))
    if paid_on < note.issued_at.astimezone(OSLO).date():
        raise CustomerError(_("The payment day cannot be before the credit note was issued."))
    if not note.bank_account:
        raise CustomerError(_("Credit note %(number)s has no refund to a bank account.") % {"number": note.number})
    now = timezone.now()
    changed = (
        CreditNote.objects.filter(pk=note.pk, paid_out_at=None)
        .exclude(bank_account="")
        .update(paid_out_at=now, paid_out_on=paid_on, paid_out_reference=reference, paid_out_by=by)
    )
    if changed != 1:
        raise CustomerError(_("Credit note %(number)s is already marked paid out.") % {"number": note.number})
    note.refresh_from_db()
    cancellation = note.cancellation
    audit_record(
        line=cancellation.line,
        action="credit_note_paid_out",
        by=by,
        reason=reference,
        data={
            "credit_note": note.number,
            "cancellation": str(cancellation.public_id),
            "amount_ore": note.amount_ore,
            "paid_on": paid_on.isoformat(),
        },
    )
    return note
