"""The eSIM profile inventory, received from the SIM vendor as CSV batch files.

A file is checked row by row and saved whole or not at all. Matching IDs are
the secret half of an activation code: no message and no log line here holds
one (an error about a matching ID names its row, never its value).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from subscriptions.csv_files import CsvRow, UnreadableCsvFile, read_csv
from subscriptions.errors import CustomerError
from subscriptions.iccid import is_valid_iccid
from subscriptions.models import EsimProfile, InventoryBatch
from subscriptions.services.provisioning import provisioning_queue_due

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("iccid", "imsi", "smdp_address", "matching_id")
OPTIONAL_COLUMNS = ("confirmation_code_required",)
NORWEGIAN_ICCID_PREFIX = "8947"  # 89 telecom, 47 Norway's country code (ITU-T E.118)
NORWEGIAN_MCC = "242"
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"{HOST_LABEL}(?:\.{HOST_LABEL})+")
MATCHING_ID = re.compile(r"[A-Za-z0-9-]{1,255}")
BOOLEANS = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}
LOOKUP_CHUNK = 2000


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)d, %(column)s: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("Row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


class InventoryFileRejected(CustomerError):
    """The file was not imported; ``errors`` says what is wrong where."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(
            ngettext(
                "Nothing was imported: the file has %(count)d error.",
                "Nothing was imported: the file has %(count)d errors.",
                len(self.errors),
            )
            % {"count": len(self.errors)}
        )


class InventoryFileAlreadyImported(CustomerError):
    """The very same file (by its SHA-256) was uploaded before."""

    def __init__(self, batch: InventoryBatch) -> None:
        self.batch = batch
        super().__init__(
            _(
                "This file was already uploaded on %(when)s as “%(filename)s” (%(count)d profiles added); "
                "nothing was added this time."
            )
            % {
                "when": date_format(localtime(batch.uploaded_at), "DATETIME_FORMAT"),
                "filename": batch.filename,
                "count": batch.profile_count,
            }
        )


class InventoryImportConflict(CustomerError):
    """Another upload added some of the same profiles at the same moment."""


@dataclass(frozen=True)
class _Profile:
    row: int
    iccid: str
    imsi: str
    smdp_address: str
    matching_id: str
    confirmation_code_required: bool


def _check_iccid(value: str) -> str | None:
    if not value:
        return _("This field is required.")
    if not (value.isdigit() and 19 <= len(value) <= 20):
        return _("An ICCID has 19 or 20 digits.")
    if not value.startswith(NORWEGIAN_ICCID_PREFIX):
        return _("Not a Norwegian ICCID: it must start with 8947.")
    if not is_valid_iccid(value):
        return _("The check digit is wrong: a digit is probably mistyped.")
    return None


def _check_imsi(value: str) -> str | None:
    if not value:
        return _("This field is required.")
    if not (value.isdigit() and 14 <= len(value) <= 15):
        return _("An IMSI has 14 or 15 digits.")
    if not value.startswith(NORWEGIAN_MCC):
        return _("Not a Norwegian IMSI: it must start with 242.")
    return None


def _check_smdp_address(value: str) -> str | None:
    if not value:
        return _("This field is required.")
    if "://" in value:
        return _("Give the host name only, without https://.")
    if "$" in value:
        return _("It may not contain “$”.")
    if any(char.isspace() for char in value):
        return _("It may not contain spaces.")
    if len(value) > 253 or not HOST_NAME.fullmatch(value):
        return _("Not a host name (such as smdp.example.com).")
    return None


def _check_matching_id(value: str) -> str | None:
    if not value:
        return _("This field is required.")
    if len(value) > 255:
        return _("At most 255 characters.")
    if "$" in value:
        return _("It may not contain “$”.")
    if not MATCHING_ID.fullmatch(value):
        return _("Only letters A–Z, digits and hyphens are allowed.")
    return None


def _check_confirmation_code_required(value: str) -> str | None:
    if value.lower() not in BOOLEANS:
        return _("Write 1 or 0 (or true or false).")
    return None


CHECKS = {
    "iccid": _check_iccid,
    "imsi": _check_imsi,
    "smdp_address": _check_smdp_address,
    "matching_id": _check_matching_id,
    "confirmation_code_required": _check_confirmation_code_required,
}


def _parse(rows: Iterator[CsvRow]) -> tuple[list[_Profile], list[RowError]]:
    """Check every row, and each one against the rows before it."""
    profiles: list[_Profile] = []
    errors: list[RowError] = []
    first_row_with: dict[tuple[str, str], int] = {}
    for row in rows:
        values = row.values
        row_errors = [
            RowError(row=row.number, column=column, message=message)
            for column, check in CHECKS.items()
            if column in values and (message := check(values[column])) is not None
        ]
        if row.extra_fields:
            row_errors.append(
                RowError(row=row.number, column="", message=_("The row has more fields than the header."))
            )
        if row_errors:
            errors.extend(row_errors)
            continue
        profile = _Profile(
            row=row.number,
            iccid=values["iccid"],
            imsi=values["imsi"],
            smdp_address=values["smdp_address"].lower(),
            matching_id=values["matching_id"],
            confirmation_code_required=BOOLEANS[values.get("confirmation_code_required", "").lower()],
        )
        # Two rows with the same activation code (address and matching ID)
        # would send two customers to one profile.
        keys = {
            "iccid": profile.iccid,
            "imsi": profile.imsi,
            "matching_id": f"{profile.smdp_address}${profile.matching_id}",
        }
        duplicate = False
        for column, key in keys.items():
            earlier = first_row_with.setdefault((column, key), row.number)
            if earlier != row.number:
                duplicate = True
                errors.append(
                    RowError(
                        row=row.number,
                        column=column,
                        message=_("The same value as row %(row)d.") % {"row": earlier},
                    )
                )
        if not duplicate:
            profiles.append(profile)
    return profiles, errors


def _in_stock(iccids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(iccids), LOOKUP_CHUNK):
        chunk = iccids[start : start + LOOKUP_CHUNK]
        found.update(EsimProfile.objects.filter(iccid__in=chunk).values_list("iccid", flat=True))
    return found


def inventory_import(*, filename: str, content: bytes, by: User | None) -> InventoryBatch:
    """Add the profiles of a vendor batch file to the inventory.

    1. Refuse a file uploaded before (same SHA-256), naming the earlier batch.
    2. Read and check every row; any error rejects the whole file with the
       list of errors (InventoryFileRejected).
    3. In one transaction, record the batch and bulk-create the profiles
       whose ICCID is not in stock yet. The returned batch's
       ``profiles_skipped`` says how many were already there.
    """
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = InventoryBatch.objects.filter(sha256=sha256).first()
    if earlier is not None:
        raise InventoryFileAlreadyImported(earlier)

    try:
        table = read_csv(content, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS)
        profiles, errors = _parse(table.rows)
    except UnreadableCsvFile as error:
        profiles, errors = [], [RowError(row=error.row or 1, column="", message=str(error))]
    if not profiles and not errors:
        errors = [RowError(row=2, column="", message=_("The file holds no profiles."))]
    if errors:
        logger.info("inventory file %r rejected with %d errors", filename, len(errors))
        raise InventoryFileRejected(errors)

    in_stock = _in_stock([profile.iccid for profile in profiles])
    new = [profile for profile in profiles if profile.iccid not in in_stock]
    try:
        with transaction.atomic():
            batch = InventoryBatch.objects.create(
                filename=filename[:200],
                sha256=sha256,
                profile_count=len(new),
                uploaded_by=by if by is not None and by.pk else None,
            )
            EsimProfile.objects.bulk_create(
                [
                    EsimProfile(
                        iccid=profile.iccid,
                        imsi=profile.imsi,
                        smdp_address=profile.smdp_address,
                        matching_id=profile.matching_id,
                        confirmation_code_required=profile.confirmation_code_required,
                        batch=batch,
                    )
                    for profile in new
                ],
                batch_size=1000,
            )
    except IntegrityError:
        # Someone uploaded the same file, or profiles with the same ICCIDs,
        # between our look and our write. Their upload stands.
        earlier = InventoryBatch.objects.filter(sha256=sha256).first()
        if earlier is not None:
            raise InventoryFileAlreadyImported(earlier) from None
        raise InventoryImportConflict(
            _("Another upload added some of these profiles at the same moment. Upload the file again.")
        ) from None
    batch.profiles_skipped = len(profiles) - len(new)
    # Jobs waiting for stock go on once the new profiles are committed.
    transaction.on_commit(provisioning_queue_due, robust=True)
    logger.info(
        "inventory batch %s from %r: %d profiles added, %d already in stock",
        batch.pk,
        filename,
        len(new),
        batch.profiles_skipped,
    )
    return batch
