"""The prepaid balance: entries are only ever added."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.models import User
from subscriptions.models import LedgerEntry, LedgerKind, Line


def ledger_balance(*, line: Line) -> int:
    """The balance in øre: the sum of the line's entries."""
    total = LedgerEntry.objects.filter(line=line).aggregate(total=Sum("amount_ore"))["total"]
    return int(total or 0)


def ledger_add(
    *,
    line: Line,
    kind: LedgerKind,
    amount_ore: int,
    reference: str = "",
    description: str = "",
    by: User | None = None,
) -> tuple[LedgerEntry, bool]:
    """Append an entry. With a ``reference``, a second call for the same kind
    and reference adds nothing and returns the first entry and False."""
    if reference:
        existing = LedgerEntry.objects.filter(kind=kind, reference=reference).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                line=line,
                kind=kind,
                amount_ore=amount_ore,
                reference=reference,
                description=description[:200],
                created_by=by if by is not None and by.pk else None,
            )
    except IntegrityError:
        # Someone else added the same reference between our look and our write.
        return LedgerEntry.objects.get(kind=kind, reference=reference), False
    return entry, True
