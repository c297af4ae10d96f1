"""The prepaid balance: entries are only ever added."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from subscriptions.models import LedgerEntry, LedgerKind, Line
from subscriptions.services.notifications import low_balance_check


def ledger_balance(*, line: Line) -> int:
    """The balance in øre: the sum of the line's entries."""
    return Line.objects.with_balance().only("pk").get(pk=line.pk).balance_ore


def ledger_add(
    *,
    line: Line,
    kind: LedgerKind,
    amount_ore: int,
    reference: str = "",
    description: str = "",
    params: dict[str, Any] | None = None,
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
                params=params or {},
                created_by=by if by is not None and by.pk else None,
            )
    except IntegrityError:
        # Someone else added the same reference between our look and our write.
        return LedgerEntry.objects.get(kind=kind, reference=reference), False
    # A charge may take the balance below the line's alert, a top-up back above.
    low_balance_check(line_ids=[line.pk])
    return entry, True


LOOKUP_CHUNK = 2000


def ledger_add_many(*, entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """Append many entries at once, each with a reference (an import's
    charges), in a number of queries that does not grow with each entry the
    way ``ledger_add`` does. Entries whose kind and reference are already in
    the ledger (or earlier in ``entries``) are left out, as ``ledger_add``
    would; the ones written are returned.

    Call it in a transaction that serialises the writers of these references
    (a lock on the lines): a writer that slips past the look still meets the
    unique constraint and gets an IntegrityError, not a second charge.
    """
    fresh: dict[tuple[str, str], LedgerEntry] = {}
    for entry in entries:
        if not entry.reference:
            raise ValueError("ledger_add_many needs a reference on every entry")
        fresh.setdefault((entry.kind, entry.reference), entry)
    by_kind: dict[str, list[str]] = {}
    for kind, reference in fresh:
        by_kind.setdefault(kind, []).append(reference)
    for kind, references in by_kind.items():
        for start in range(0, len(references), LOOKUP_CHUNK):
            chunk = references[start : start + LOOKUP_CHUNK]
            for reference in LedgerEntry.objects.filter(kind=kind, reference__in=chunk).values_list(
                "reference", flat=True
            ):
                del fresh[(kind, reference)]
    written = LedgerEntry.objects.bulk_create(list(fresh.values()), batch_size=1000)
    low_balance_check(line_ids={entry.line_id for entry in written})
    return written
