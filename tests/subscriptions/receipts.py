"""Receipts as the payment service leaves them, and the text of their PDF,
for the tests of the receipt's PDF, email and copies."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader

from subscriptions.models import Order, OrderKind, OrderStatus, PaymentMethod, Receipt
from tests.factories import LineFactory, PlanFactory, UserFactory

ISSUED = datetime(2026, 3, 5, 12, 7, tzinfo=UTC)  # 13:07 in Oslo
ENDS = datetime(2026, 4, 5, 11, 7, tzinfo=UTC)  # 13:07 in Oslo, summer time


def make_receipt(*, kind: str = OrderKind.RENEWAL, owner: Any = None, **fields: Any) -> Receipt:
    """A paid order and its receipt, the way the payment service leaves them:
    a renewal of 199 kr with 25 % VAT inside, or a top-up of 200 kr without."""
    owner = owner or UserFactory()
    line = LineFactory(owner=owner, number="+4791234567")
    renewal = kind == OrderKind.RENEWAL
    plan = (
        PlanFactory(name_en="Fjord 10 GB", name_nb="Fjord 10 GB måned", name_zh_hans="峡湾 10 GB") if renewal else None
    )
    total = 199_00 if renewal else 200_00
    method = fields.pop("method", PaymentMethod.CARD)
    provider = fields.pop("provider", "")
    order = Order.objects.create(
        provider=provider,
        owner=owner,
        line=line,
        kind=kind,
        plan=plan,
        amount_ore=total,
        method=method,
        status=OrderStatus.PAID,
        idempotency_key=f"key-{Order.objects.count()}",
        billing_name="Kari Nordmann",
    )
    values: dict[str, Any] = {
        "order": order,
        "owner": owner,
        "year": 2026,
        "sequence": Receipt.objects.count() + 1,
        "issued_at": ISSUED,
        "kind": kind,
        "method": method,
        "customer_name": "Kari Nordmann",
        "customer_address": "Storgata 5\n0155 Oslo",
        "line_number": line.number,
        "plan": plan,
        "plan_name_en": plan.name_en if plan else "",
        "plan_name_nb": plan.name_nb if plan else "",
        "plan_name_zh_hans": plan.name_zh_hans if plan else "",
        "period_starts_at": ISSUED if renewal else None,
        "period_ends_at": ENDS if renewal else None,
        "total_ore": total,
        "vat_ore": 39_80 if renewal else 0,
        "vat_rate_percent": 25 if renewal else 0,
    }
    values.update(fields)
    return Receipt.objects.create(**values)


def pdf_text(data: bytes) -> str:
    """The text a reader copies out of the PDF, with no-break spaces as spaces."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\xa0", " ")
