"""Usage quantities on pages. Usage records hold data in kilobytes, calls in
seconds and texts as a count; customers read MB/GB, minutes and texts."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import gettext, ngettext

from subscriptions.models import UsageKind

register = template.Library()

KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024


def _number(value: Decimal | int, decimals: int = 0) -> str:
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=True)


def format_data(kb: int) -> str:
    """1.25 GB from a gigabyte up, whole MB from 100 MB, else one decimal."""
    if kb >= KB_PER_GB:
        return gettext("%(amount)s GB") % {"amount": _number(Decimal(kb) / KB_PER_GB, 2)}
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
