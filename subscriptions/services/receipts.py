"""Receipts: numbered in the paying transaction, so the numbers of a year
run without gaps (a payment that rolls back gives its number back)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from subscriptions.models import Order, OrderKind, Receipt, ReceiptSequence
from subscriptions.models.plans import VAT_RATE_PERCENT, vat_inside
from subscriptions.periods import OSLO


def receipt_issue(*, order: Order, now: datetime) -> Receipt:
    """The receipt for a paid order. Call it inside the paying transaction,
    holding the order's lock.

    1. Take the next number of the Oslo calendar year under a lock on the
       year's sequence row (created at the year's first receipt).
    2. Copy the customer, line, plan and period as they are now.
    3. VAT: 25 % inside the price of a renewal. A top-up of the prepaid
       balance carries none: VAT is charged when the balance is spent.
    """
    assert transaction.get_connection().in_atomic_block, "receipt_issue needs the paying transaction"
    year = now.astimezone(OSLO).year
    ReceiptSequence.objects.get_or_create(year=year)
    sequence = ReceiptSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    rate = VAT_RATE_PERCENT if order.kind == OrderKind.RENEWAL else 0
    period = order.period
    return Receipt.objects.create(
        order=order,
        owner_id=order.owner_id,
        year=year,
        sequence=sequence.last_number,
        issued_at=now,
        kind=order.kind,
        method=order.method,
        customer_name=order.billing_name,
        customer_address="\n".join(order.billing_address_lines),
        line_number=order.line.number,
        plan=order.plan,
        period_starts_at=period.starts_at if period else None,
        period_ends_at=period.ends_at if period else None,
        discount_ore=order.discount_ore,
        total_ore=order.amount_ore,
        vat_ore=vat_inside(order.amount_ore, rate),
        vat_rate_percent=rate,
    )
