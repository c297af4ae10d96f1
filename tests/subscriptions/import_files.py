"""The files the admin's uploads take, as tests write them: the network's CDR
files and the SIM vendor's eSIM inventory files."""

from __future__ import annotations

from datetime import datetime

from tests.factories import make_iccid

CDR_COLUMNS = ["record_id", "msisdn", "kind", "started_at", "quantity", "destination"]
INVENTORY_COLUMNS = ["iccid", "imsi", "smdp_address", "matching_id", "confirmation_code_required"]


def cdr_file(rows: list[tuple], *, columns: list[str] = CDR_COLUMNS) -> bytes:
    lines = [",".join(columns)] + [",".join(str(value) for value in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def profile_row(n: int, **changes: str) -> dict[str, str]:
    row = {
        "iccid": make_iccid(n),
        "imsi": f"24201{n:010d}",
        "smdp_address": "smdp.nordlys.test",
        "matching_id": f"QR-{n:06d}-K7ZP4XW9",
        "confirmation_code_required": "0",
    }
    row.update(changes)
    return row


def vendor_file(rows: list[dict[str, str]], *, columns: list[str] = INVENTORY_COLUMNS, delimiter: str = ",") -> bytes:
    lines = [delimiter.join(columns)] + [delimiter.join(row.get(column, "") for column in columns) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode()
