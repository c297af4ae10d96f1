"""Money on pages: integer øre shown as kroner in the reader's language
("123,45 kr", "NOK 123.45", "123.45 克朗")."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import NamedTuple

from django import template
from django.utils import formats
from django.utils.translation import get_language, pgettext

register = template.Library()

MINUS = "\u2212"
NBSP = "\xa0"


def format_nok(ore: int) -> str:
    """Kroner with two decimals, grouped thousands and the translated unit;
    the pieces are joined by no-break spaces so a phone never splits them."""
    style = _money_style(get_language())
    kroner, rest = divmod(abs(ore), 100)
    if isinstance(style.grouping, int):
        amount = f"{_grouped(str(kroner), style.grouping, style.thousands)}{style.decimal}{rest:02d}"
    else:  # a locale with uneven groups (none of ours): Django's general path
        amount = formats.number_format(Decimal(abs(ore)) / 100, 2, use_l10n=True, force_grouping=True)
    return (MINUS if ore < 0 else "") + style.pattern % {"amount": amount}


class _MoneyStyle(NamedTuple):
    pattern: str
    grouping: int | tuple[int, ...]
    thousands: str
    decimal: str


@functools.cache
def _money_style(language: str | None) -> _MoneyStyle:
    """How a language writes a sum, looked up once per language: a line page
    shows some 70 sums, and the per-call format and catalogue lookups were
    most of their cost. Called with the active language, so the translation
    below is that language's."""
    # Translators: a sum of Norwegian kroner; put the unit where your language does.
    pattern = pgettext("money", "NOK %(amount)s").replace(" ", NBSP)
    return _MoneyStyle(
        pattern=pattern,
        grouping=formats.get_format("NUMBER_GROUPING", language),
        thousands=formats.get_format("THOUSAND_SEPARATOR", language),
        decimal=formats.get_format("DECIMAL_SEPARATOR", language),
    )


def _grouped(digits: str, size: int, separator: str) -> str:
    """``digits`` with ``separator`` between groups of ``size`` from the right."""
    if size <= 0 or not separator:
        return digits
    head = len(digits) % size or size
    return separator.join([digits[:head], *(digits[start : start + size] for start in range(head, len(digits), size))])


@register.filter
def nok(ore: int | None) -> str:
    if ore is None or ore == "":
        return ""
    return format_nok(int(ore))
