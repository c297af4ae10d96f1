"""How the portal writes money, usage, moments and phone numbers for people, in the active
language: one place for the templates (through the ``money``, ``units`` and
``moments`` tag libraries), the receipt PDF, the admin and the services.

Money is integer øre shown as kroner ("123,45 kr", "NOK 123.45", "123.45
克朗"). Usage records hold data in kilobytes, calls in seconds and texts as a
count; customers read MB/GB, minutes and texts. Moments are written as
Django's ``date`` filter writes them, with each language's format taken apart
once (a line page shows many)."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.utils import formats
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext, pgettext

from accounts.phone import format_phone

MINUS = "\u2212"
NBSP = "\xa0"
KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024


# --- money ------------------------------------------------------------------------


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
    """How a language writes a sum, looked up once per language (a page shows
    many sums). Called with the active language, so the translation below is
    that language's."""
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


# --- phone numbers ----------------------------------------------------------------


def format_number(e164: str) -> str:
    """A phone number as the pages write it inside a sentence (a message, a
    balance-history entry): "+47 461 23 456" with no-break spaces, so a
    phone never wraps it over two lines."""
    return format_phone(e164).replace(" ", NBSP)


# --- sentences --------------------------------------------------------------------


def join_sentences(*sentences: str) -> str:
    """Sentences one after another as the active language writes them: a
    space after the full stop in English and Norwegian, none after 。 in
    Chinese. Empty ones are left out."""
    joined = ""
    for sentence in filter(None, sentences):
        # Translators: two sentences one after the other; leave out the space if your language puts none.
        joined = (
            pgettext("two sentences", "%(first)s %(second)s") % {"first": joined, "second": sentence}
            if joined
            else sentence
        )
    return joined


# --- usage ------------------------------------------------------------------------


def _number(value: Decimal | int, decimals: int = 0) -> str:
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=True)


def format_data(kb: int) -> str:
    """1.25 GB from a gigabyte up (10 GB when whole), whole MB from 100 MB,
    else one decimal."""
    if kb >= KB_PER_GB:
        # A whole number of gigabytes needs no decimals: "10 GB", not "10.00 GB".
        decimals = 0 if kb % KB_PER_GB == 0 else 2
        return gettext("%(amount)s GB") % {"amount": _number(Decimal(kb) / KB_PER_GB, decimals)}
    megabytes = Decimal(kb) / KB_PER_MB
    decimals = 0 if kb >= 100 * KB_PER_MB else 1
    return gettext("%(amount)s MB") % {"amount": _number(megabytes, decimals)}


def format_minutes(seconds: int) -> str:
    """Whole minutes, for allowances: what is left is rounded down."""
    minutes = seconds // 60
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": _number(minutes)}


def format_call(seconds: int) -> str:
    """A call's length, to the second: 3 min 05 s."""
    minutes, rest = divmod(seconds, 60)
    return gettext("%(minutes)s min %(seconds)s s") % {"minutes": _number(minutes), "seconds": f"{rest:02d}"}


def format_texts(count: int) -> str:
    return ngettext("%(count)s text", "%(count)s texts", count) % {"count": _number(count)}


# --- moments ----------------------------------------------------------------------


def format_moment(value: date | datetime, format_name: str = "DATETIME_FORMAT") -> str:
    """What ``|date:format_name`` gives in the active language, e.g.
    "22. november 2026 14:05" in Norwegian. ``value`` in the time zone it is
    to be shown in."""
    formatter = DateFormat(value)
    return "".join(
        str(getattr(formatter, piece)()) if is_code else piece
        for piece, is_code in _pieces(get_language(), format_name)
    )


@functools.cache
def _pieces(language: str | None, format_name: str) -> tuple[tuple[str, bool], ...]:
    """The language's format split into format characters (``True``) and
    literal text (``False``), the way Django's formatter reads it."""
    pieces: list[tuple[str, bool]] = []
    for index, piece in enumerate(re_formatchars.split(str(formats.get_format(format_name, language)))):
        if index % 2:
            pieces.append((piece, True))
        elif piece:
            pieces.append((re_escaped.sub(r"\1", piece), False))
    return tuple(pieces)


# --- plan prices --------------------------------------------------------------------

# One whole sentence per period: a period's label ("Day", "Month") cannot be
# slotted into a sentence in Norwegian or Chinese, where the word order and
# the measure word change with it. Keyed by the plan model's period values.
_EVERY_PERIOD = {
    "day": gettext_lazy("%(price)s every day"),
    "week": gettext_lazy("%(price)s every week"),
    "month": gettext_lazy("%(price)s every month"),
    "quarter": gettext_lazy("%(price)s every quarter"),
    "year": gettext_lazy("%(price)s every year"),
}
_FOR_ONE_PERIOD = {
    "day": gettext_lazy("%(price)s for one day"),
    "week": gettext_lazy("%(price)s for one week"),
    "month": gettext_lazy("%(price)s for one month"),
    "quarter": gettext_lazy("%(price)s for three months"),
    "year": gettext_lazy("%(price)s for one year"),
}
# Periods a month holds a whole number of times are shared out exactly;
# days and weeks are counted over a 30-day month, which no calendar month
# matches exactly, so their figure is rounded and called approximate.
_MONTHS_IN_PERIOD = {"month": 1, "quarter": 3, "year": 12}
_DAYS_IN_PERIOD = {"day": 1, "week": 7}
DAYS_IN_A_MONTH = 30


def format_price_every(price_ore: int, period: str) -> str:
    """What a repeating charge costs, as one sentence: "NOK 39.00 every day",
    "39,00 kr hver dag", "每天 39.00 克朗"."""
    return str(_EVERY_PERIOD[period]) % {"price": format_nok(price_ore)}


def format_price_for_period(price_ore: int, period: str) -> str:
    """What one purchase buys: "NOK 39.00 for one day"."""
    return str(_FOR_ONE_PERIOD[period]) % {"price": format_nok(price_ore)}


def monthly_cost(price_ore: int, period: str) -> tuple[int, bool]:
    """What a plan renewed every period costs in a month, in øre, and whether
    that figure is approximate.

    The rule: a plan of a month or longer is shared out over its months
    (a quarter's price / 3, a year's / 12, rounded to the øre) and the figure
    is exact; a day or week plan is charged as many times as it fits in a
    30-day month (30 days, 30/7 weeks), rounded to whole kroner, and the
    figure is approximate ("about 1 170 kr a month" for 39 kr a day).
    """
    if period in _MONTHS_IN_PERIOD:
        return round(price_ore / _MONTHS_IN_PERIOD[period]), False
    kroner = round(price_ore * DAYS_IN_A_MONTH / _DAYS_IN_PERIOD[period] / 100)
    return kroner * 100, True


def format_monthly_cost(price_ore: int, period: str) -> str:
    """ "about NOK 1,170.00 a month" or "NOK 249.00 a month" (see monthly_cost)."""
    amount, approximate = monthly_cost(price_ore, period)
    if approximate:
        return gettext("about %(amount)s a month") % {"amount": format_nok(amount)}
    return gettext("%(amount)s a month") % {"amount": format_nok(amount)}


def format_recurring_cost(price_ore: int, period: str) -> str:
    """The repeating charge and what it comes to in a month, e.g. "NOK 39.00
    every day, that is about NOK 1,170.00 a month"; a month plan's monthly
    figure is its price, so it is said once: "NOK 249.00 every month"."""
    every = format_price_every(price_ore, period)
    if period == "month":
        return every
    return gettext("%(every)s, that is %(monthly)s") % {
        "every": every,
        "monthly": format_monthly_cost(price_ore, period),
    }
