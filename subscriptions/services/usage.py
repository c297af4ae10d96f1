"""Usage from the network: CDR files imported into usage records, with the
part outside a period's bundle, and every call and text to a country outside
Norway and the EU/EEA (subscriptions/international.py), charged to the
line's prepaid balance.

An import is idempotent by record ID: a record already imported (by an
earlier file, or earlier in the same file) adds nothing, and its charge is in
the ledger under the reference ``cdr:<record ID>`` at most once. A malformed
row is rejected on its own and listed in the import's report; the good rows
are imported.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from subscriptions.csv_files import CsvRow, read_csv
from subscriptions.international import Price, RateBook, destination_name
from subscriptions.models import (
    CdrImport,
    LedgerEntry,
    LedgerKind,
    Line,
    ServicePeriod,
    UsageKind,
    UsageRecord,
    ledger_params_for_international,
)
from subscriptions.models.plans import FIELD_LANGUAGES
from subscriptions.periods import OSLO
from subscriptions.services.ledger import ledger_add_many

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("record_id", "msisdn", "kind", "started_at", "quantity")
OPTIONAL_COLUMNS = ("destination",)

# Quantities are kilobytes, seconds and texts. An allowance is in MB, minutes
# and texts; a charge is per started MB, started minute and text.
UNIT = {UsageKind.DATA: 1024, UsageKind.VOICE: 60, UsageKind.SMS: 1}
ALLOWANCE_FIELD = {UsageKind.DATA: "data_mb", UsageKind.VOICE: "voice_minutes", UsageKind.SMS: "sms_count"}
# More than this in one record is a broken record, not usage (and its charge
# would not fit the column).
MAX_QUANTITY = {UsageKind.DATA: 1024**3, UsageKind.VOICE: 31 * 24 * 3600, UsageKind.SMS: 10_000}

MSISDN = re.compile(r"\+[1-9][0-9]{7,14}")
LOOKUP_CHUNK = 2000
REPORT_MAX_ROWS = 1000


@dataclass(frozen=True)
class _Cdr:
    row: int
    record_id: str
    number: str
    kind: UsageKind
    started_at: datetime
    quantity: int
    destination: str


T = TypeVar("T")


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


def _e164(value: str) -> str | None:
    """+4791234567, 4791234567, 004791234567 or a Norwegian 91234567."""
    digits = re.sub(r"[\s-]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.isdigit() and len(digits) == 8:
        digits = "+47" + digits
    elif not digits.startswith("+"):
        digits = "+" + digits
    return digits if MSISDN.fullmatch(digits) else None


def _parse_row(row: CsvRow) -> tuple[_Cdr | None, list[str]]:
    """The record in a row, or the reasons it is refused."""
    values = row.values
    reasons: list[str] = []
    missing = [column for column in REQUIRED_COLUMNS if not values.get(column)]
    if missing:
        return None, [_("Missing %(columns)s.") % {"columns": ", ".join(missing)}]
    if row.extra_fields:
        reasons.append(_("The row has more fields than the header."))

    record_id = values["record_id"]
    if len(record_id) > 64:
        reasons.append(_("The record ID is longer than 64 characters."))
    number = _e164(values["msisdn"])
    if number is None:
        reasons.append(_("The MSISDN is not a phone number."))
    kind = values["kind"].lower()
    if kind not in UsageKind.values:
        reasons.append(_("Unknown kind: it must be data, voice or sms."))
    started_at: datetime | None = None
    try:
        started_at = datetime.fromisoformat(values["started_at"])
    except ValueError:
        reasons.append(_("The start time is not an ISO 8601 time."))
    else:
        if started_at.tzinfo is None:
            reasons.append(_("The start time has no UTC offset (add Z or +01:00)."))
            started_at = None
    quantity_text = values["quantity"]
    quantity: int | None = None
    if quantity_text.startswith("-"):
        reasons.append(_("The quantity may not be negative."))
    elif not (quantity_text.isascii() and quantity_text.isdigit()):
        reasons.append(_("The quantity must be a whole number."))
    else:
        quantity = int(quantity_text)
        if kind in UsageKind.values and quantity > MAX_QUANTITY[UsageKind(kind)]:
            reasons.append(_("The quantity is too large for one record."))
    destination = values.get("destination", "")
    if len(destination) > 40:
        reasons.append(_("The destination is longer than 40 characters."))

    if reasons or number is None or started_at is None or quantity is None:
        return None, reasons
    return (
        _Cdr(
            row=row.number,
            record_id=record_id,
            number=number,
            kind=UsageKind(kind),
            started_at=started_at.astimezone(UTC),
            quantity=quantity,
            destination=destination,
        ),
        [],
    )


def _charge_ore(*, kind: UsageKind, out_of_bundle: int) -> int:
    rates: dict[str, int] = settings.OUT_OF_BUNDLE_RATES_ORE
    return math.ceil(out_of_bundle / UNIT[kind]) * rates[kind]


class _Periods:
    """The service periods of the file's lines, and what each has used."""

    def __init__(self, *, line_ids: list[int], cdrs: list[_Cdr]) -> None:
        first = min(cdr.started_at for cdr in cdrs)
        last = max(cdr.started_at for cdr in cdrs)
        self.by_line: dict[int, list[ServicePeriod]] = defaultdict(list)
        for chunk in _chunks(line_ids):
            for period in ServicePeriod.objects.filter(
                line_id__in=chunk, starts_at__lte=last, ends_at__gt=first
            ).order_by("line_id", "starts_at"):
                self.by_line[period.line_id].append(period)
        self.starts = {line_id: [p.starts_at for p in periods] for line_id, periods in self.by_line.items()}
        # Everything already recorded in a period counts as used, whatever
        # its time: the bundle is spent in the order usage reaches us.
        # International usage is outside the bundle and spends none of it.
        self.used: dict[tuple[int, str], int] = defaultdict(int)
        period_ids = [period.pk for periods in self.by_line.values() for period in periods]
        for chunk in _chunks(period_ids):
            for row in (
                UsageRecord.objects.filter(period_id__in=chunk, international=False)
                .values("period_id", "kind")
                .annotate(total=Sum("quantity"))
                .order_by()
            ):
                self.used[(row["period_id"], row["kind"])] = int(row["total"])

    def containing(self, *, line_id: int, moment: datetime) -> ServicePeriod | None:
        index = bisect.bisect_right(self.starts.get(line_id, []), moment) - 1
        if index < 0:
            return None
        period = self.by_line[line_id][index]
        return period if moment < period.ends_at else None

    def spend(self, *, period: ServicePeriod | None, kind: UsageKind, quantity: int) -> int:
        """Count ``quantity`` against the period's bundle; return the part
        outside it."""
        if period is None:
            return quantity
        allowance: int | None = getattr(period, ALLOWANCE_FIELD[kind])
        used = self.used[(period.pk, kind)]
        self.used[(period.pk, kind)] = used + quantity
        if allowance is None:
            return 0
        left = max(0, allowance * UNIT[kind] - used)
        return max(0, quantity - left)


def _country_names(price: Price, destination: str) -> dict[str, str]:
    """The destination's name in each language, for the ledger entry."""
    if price.rate is not None:
        return {language: getattr(price.rate, f"name_{language}") for language in FIELD_LANGUAGES}
    names = {}
    for language in FIELD_LANGUAGES:
        with translation.override(language.replace("_", "-")):
            names[language] = destination_name(destination)
    return names


def ledger_entry_for_usage(*, record: UsageRecord, price: Price | None) -> LedgerEntry:
    """The (unsaved) ledger entry of a record's charge, under the reference
    that keeps it to one per record; ``price`` is the record's international
    price, if it has one."""
    entry = LedgerEntry(
        line_id=record.line_id,
        kind=LedgerKind.USAGE,
        amount_ore=-record.charge_ore,
        reference=f"cdr:{record.record_id}",
    )
    if price is not None:
        entry.params = ledger_params_for_international(
            usage=record.kind,
            country=_country_names(price, record.destination),
            number=record.destination,
            units=price.units,
        )
    return entry


def _report(rejected: list[tuple[int, list[str]]]) -> str:
    lines = [
        _("Row %(row)d: %(reasons)s") % {"row": row, "reasons": " ".join(reasons)}
        for row, reasons in rejected[:REPORT_MAX_ROWS]
    ]
    if len(rejected) > REPORT_MAX_ROWS:
        lines.append(_("… and %(count)d more rejected rows.") % {"count": len(rejected) - REPORT_MAX_ROWS})
    return "\n".join(lines)


def _import(
    *, filename: str, sha256: str, total: int, cdrs: list[_Cdr], rejected: list[tuple[int, list[str]]]
) -> CdrImport:
    """One attempt at the import, inside a transaction.

    1. Find the lines the file names and lock them, in id order. Two imports
       touching the same line therefore take turns: the second one sees the
       first one's records as duplicates (and spends the bundle after it).
    2. Leave out the records already imported, and those repeated in the file.
    3. Attach each new record to the period that contains it. Price a call
       or text to a country outside Norway and the EU/EEA from the rate
       table, as a whole; line by line in time order, count the rest against
       the period's bundle and price the part outside it.
    4. Bulk-create the records and their ledger charges; fill in the report.
    """
    rejected = list(rejected)
    line_ids_by_number: dict[str, int] = {}
    for numbers in _chunks(sorted({cdr.number for cdr in cdrs})):
        line_ids_by_number.update(Line.objects.filter(number__in=numbers).values_list("number", "pk"))
    line_ids = sorted(set(line_ids_by_number.values()))
    for ids in _chunks(line_ids):  # locked in id order, so two imports cannot deadlock
        list(Line.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))

    cdr_import = CdrImport.objects.create(filename=filename[:200], sha256=sha256, rows_total=total)

    known: list[_Cdr] = []
    for cdr in cdrs:
        if cdr.number in line_ids_by_number:
            known.append(cdr)
        else:
            rejected.append((cdr.row, [_("No line has this number.")]))
    seen: set[str] = set()
    for record_ids in _chunks([cdr.record_id for cdr in known]):
        seen.update(UsageRecord.objects.filter(record_id__in=record_ids).values_list("record_id", flat=True))
    new: list[_Cdr] = []
    for cdr in known:
        if cdr.record_id not in seen:
            seen.add(cdr.record_id)
            new.append(cdr)
    duplicates = len(known) - len(new)

    records: list[UsageRecord] = []
    prices: list[Price | None] = []
    if new:
        new.sort(key=lambda cdr: (line_ids_by_number[cdr.number], cdr.started_at, cdr.row))
        periods = _Periods(line_ids=line_ids, cdrs=new)
        rates = RateBook.load()
        for cdr in new:
            line_id = line_ids_by_number[cdr.number]
            period = periods.containing(line_id=line_id, moment=cdr.started_at)
            price = rates.price(
                kind=cdr.kind,
                quantity=cdr.quantity,
                destination=cdr.destination,
                on=cdr.started_at.astimezone(OSLO).date(),
            )
            if price is None:
                out_of_bundle = periods.spend(period=period, kind=cdr.kind, quantity=cdr.quantity)
                charge = _charge_ore(kind=cdr.kind, out_of_bundle=out_of_bundle)
            else:
                out_of_bundle, charge = cdr.quantity, price.amount_ore
            records.append(
                UsageRecord(
                    record_id=cdr.record_id,
                    line_id=line_id,
                    period=period,
                    kind=cdr.kind,
                    quantity=cdr.quantity,
                    out_of_bundle=out_of_bundle,
                    charge_ore=charge,
                    occurred_at=cdr.started_at,
                    destination=cdr.destination,
                    international=price is not None,
                    rate=price.rate if price is not None else None,
                    cdr_import=cdr_import,
                )
            )
            prices.append(price)
        UsageRecord.objects.bulk_create(records, batch_size=1000)
        ledger_add_many(
            entries=[
                ledger_entry_for_usage(record=record, price=price)
                for record, price in zip(records, prices, strict=True)
                if record.charge_ore > 0
            ]
        )

    rejected.sort()
    cdr_import.rows_imported = len(records)
    cdr_import.rows_duplicate = duplicates
    cdr_import.rows_rejected = len(rejected)
    cdr_import.report = _report(rejected)
    cdr_import.save(update_fields=["rows_imported", "rows_duplicate", "rows_rejected", "report"])
    return cdr_import


def _parse(rows: Iterable[CsvRow]) -> tuple[int, list[_Cdr], list[tuple[int, list[str]]]]:
    total = 0
    cdrs: list[_Cdr] = []
    rejected: list[tuple[int, list[str]]] = []
    for row in rows:
        total += 1
        cdr, reasons = _parse_row(row)
        if cdr is None:
            rejected.append((row.number, reasons))
        else:
            cdrs.append(cdr)
    return total, cdrs, rejected


def _import_with_one_retry(
    *, filename: str, sha256: str, total: int, cdrs: list[_Cdr], rejected: list[tuple[int, list[str]]]
) -> CdrImport:
    """The line locks make two imports of the same records take turns, so the
    unique constraints on record IDs and ledger references are only the last
    guard. They still fire if two files give one record ID to two different
    lines (locks on different rows) at the same moment: the loser's
    transaction is rolled back whole and run once more, when the winner's
    records are visible to it and count as duplicates."""
    try:
        with transaction.atomic():
            return _import(filename=filename, sha256=sha256, total=total, cdrs=cdrs, rejected=rejected)
    except IntegrityError:
        logger.warning("CDR import of %r met a concurrent import of the same records; trying again", filename)
    with transaction.atomic():
        return _import(filename=filename, sha256=sha256, total=total, cdrs=cdrs, rejected=rejected)


def cdr_import(*, filename: str, content: bytes) -> CdrImport:
    """Import a CDR file and return its CdrImport with the counts and report.

    Raises UnreadableCsvFile (a CustomerError) when the file as a whole
    cannot be read; then nothing is saved.
    """
    sha256 = hashlib.sha256(content).hexdigest()
    table = read_csv(content, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
    total, cdrs, rejected = _parse(table.rows)
    result = _import_with_one_retry(filename=filename, sha256=sha256, total=total, cdrs=cdrs, rejected=rejected)
    logger.info(
        "CDR import %s of %r: %d rows, %d imported, %d already imported, %d rejected",
        result.pk,
        filename,
        result.rows_total,
        result.rows_imported,
        result.rows_duplicate,
        result.rows_rejected,
    )
    return result
