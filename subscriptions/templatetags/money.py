"""Money on pages: ``{{ order.amount_ore|nok }}`` (subscriptions.formatting)."""

from __future__ import annotations

from django import template

from subscriptions.formatting import format_nok

register = template.Library()


@register.filter
def nok(ore: int | None) -> str:
    if ore is None or ore == "":
        return ""
    return format_nok(int(ore))
