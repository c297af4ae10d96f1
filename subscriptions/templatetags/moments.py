"""Moments on pages, as Django's ``date`` filter writes them
(subscriptions.formatting):

    <time datetime="{{ row.occurred_at|isoformat }}">{{ row.occurred_at|moment }}</time>
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from subscriptions.formatting import format_moment

register = template.Library()


@register.filter(expects_localtime=True)
def isoformat(value: date | datetime | None) -> str:
    """What ``|date:'c'`` gives: ISO 8601 in the current time zone."""
    if not isinstance(value, date):
        return ""
    return value.isoformat()


@register.filter(expects_localtime=True)
def moment(value: date | datetime | None, format_name: str = "DATETIME_FORMAT") -> str:
    """What ``|date:format_name`` gives in the active language."""
    if not isinstance(value, date):
        return ""
    return format_moment(value, format_name)


@register.filter(expects_localtime=True)
def time_element(value: date | datetime | None, format_name: str = "DATETIME_FORMAT") -> SafeString | str:
    """The moment as a ``<time>`` element, to go inside a translated sentence
    as one of its placeholders: ``{% blocktranslate with when=x|time_element %}``."""
    if not isinstance(value, date):
        return ""
    return format_html(
        '<time datetime="{}" class="fw-semibold">{}</time>', value.isoformat(), format_moment(value, format_name)
    )
