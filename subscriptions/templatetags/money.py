"""Money on pages: integer øre shown as kroner in the reader's language
("123,45 kr", "NOK 123.45", "123.45 克朗")."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import pgettext

register = template.Library()

MINUS = "\u2212"
NBSP = "\xa0"


def format_nok(ore: int) -> str:
    """Kroner with two decimals, grouped thousands and the translated unit;
    the pieces are joined by no-break spaces so a phone never splits them."""
    amount = formats.number_format(Decimal(abs(ore)) / 100, 2, use_l10n=True, force_grouping=True)
    # Translators: a sum of Norwegian kroner; put the unit where your language does.
    text = pgettext("money", "NOK %(amount)s") % {"amount": amount}
    return (MINUS if ore < 0 else "") + text.replace(" ", NBSP)


@register.filter
def nok(ore: int | None) -> str:
    if ore is None or ore == "":
        return ""
    return format_nok(int(ore))
