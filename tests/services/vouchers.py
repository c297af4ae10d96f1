"""Voucher codes made, and the voucher page's answer read, for the tests that
redeem or guess codes many at a time."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from subscriptions.models import VoucherValue
from subscriptions.services.vouchers import oslo_today, voucher_batch_create
from tests.factories import UserFactory


def codes(value_kind: str, plan: Any, *, count: int = 1) -> list[str]:
    _batch, made = voucher_batch_create(
        label="Narvesen Oslo S",
        value_kind=value_kind,
        amount_ore=200_00 if value_kind == VoucherValue.AMOUNT else None,
        plan=plan if value_kind == VoucherValue.PLAN else None,
        count=count,
        expires_on=oslo_today() + timedelta(days=90),
        by=UserFactory(is_staff=True),
    )
    return [code for _serial, code in made]


def outcome(response: Any) -> str:
    """ "credited" for the redirect back to the line, else the error shown
    under the code field."""
    if response.status_code == 302:
        return "credited"
    found = re.search(r'<div id="id_code_error"[^>]*>(.*?)</div>', response.content.decode(), re.S)
    if not found:
        return f"HTTP {response.status_code} without an error under the code"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())
