"""Usage quantities on pages, in the customer's units (subscriptions.formatting)."""

from __future__ import annotations

from django import template

from subscriptions.formatting import KB_PER_MB, format_call, format_data, format_minutes, format_texts
from subscriptions.models import UsageKind

register = template.Library()


@register.filter
def usage_amount(quantity: int | None, kind: str) -> str:
    """An allowance or a total in the customer's units (minutes rounded down)."""
    if quantity is None:
        return ""
    if kind == UsageKind.DATA:
        return format_data(int(quantity))
    if kind == UsageKind.VOICE:
        return format_minutes(int(quantity))
    return format_texts(int(quantity))


@register.filter
def usage_record_amount(quantity: int | None, kind: str) -> str:
    """One usage record: calls to the second."""
    if quantity is not None and kind == UsageKind.VOICE:
        return format_call(int(quantity))
    return usage_amount(quantity, kind)


@register.filter
def megabytes(mb: int | None) -> str:
    """A period's data allowance (held in MB on the period)."""
    return "" if mb is None else format_data(int(mb) * KB_PER_MB)
