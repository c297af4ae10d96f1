"""Reading the CSV files partners send us: the SIM vendor's eSIM inventory
batches and the network's CDR files.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first
record row 2. Nothing here puts a cell's value into a message: some columns
(the matching ID) are secrets, and the rest does not help more than the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from subscriptions.errors import CustomerError


class UnreadableCsvFile(CustomerError):
    """The file as a whole cannot be read (encoding, header, broken quoting)."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class CsvRow:
    number: int
    values: dict[str, str]
    extra_fields: bool  # values beyond the columns the header names


@dataclass(frozen=True)
class CsvTable:
    columns: frozenset[str]
    rows: Iterator[CsvRow]


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")  # with or without a byte-order mark
    except UnicodeDecodeError:
        raise UnreadableCsvFile(_("The file is not UTF-8 text. Save it as CSV (UTF-8) and try again.")) from None


def _delimiter(header_line: str) -> str:
    """Comma, or semicolon as a spreadsheet in a Norwegian locale writes it."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_csv(content: bytes, *, required: Sequence[str], optional: Sequence[str] = ()) -> CsvTable:
    """Read a CSV file with a header row naming (in any order, in any case)
    the ``required`` columns and maybe some ``optional`` ones; other columns
    are ignored. Rows are stripped of surrounding spaces; blank rows skipped.

    Raises UnreadableCsvFile for a file that is not UTF-8, has no header or
    lacks a required column. Broken quoting further down raises it while the
    rows are iterated.
    """
    text = _decode(content)
    if not text.strip():
        raise UnreadableCsvFile(_("The file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error:
        raise UnreadableCsvFile(_("The header row cannot be read as CSV."), row=1) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise UnreadableCsvFile(
            _("The header row lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)}, row=1
        )
    wanted = {name: header.index(name) for name in [*required, *optional] if name in header}
    return CsvTable(columns=frozenset(wanted), rows=_rows(reader, wanted=wanted, width=len(header)))


def _rows(reader: Iterator[list[str]], *, wanted: dict[str, int], width: int) -> Iterator[CsvRow]:
    number = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise UnreadableCsvFile(
                _("Row %(row)d cannot be read as CSV (check its quotation marks).") % {"row": number + 1},
                row=number + 1,
            ) from None
        number += 1
        if not any(field.strip() for field in fields):
            continue
        values = {name: fields[index].strip() if index < len(fields) else "" for name, index in wanted.items()}
        yield CsvRow(number=number, values=values, extra_fields=any(field.strip() for field in fields[width:]))
