"""Phone numbers on pages: ``{{ line.number|phone }}`` writes +47 461 23 456
with no-break spaces, so a narrow screen never splits a number over two
lines. Plain text, not markup: it fits in attributes and titles too."""

from __future__ import annotations

from django import template

from accounts.phone import format_phone

register = template.Library()

NBSP = "\xa0"


@register.filter
def phone(value: object) -> str:
    """The display form of a number stored in E.164 (or already spaced, as
    allauth hands a number to its templates), joined by no-break spaces.
    Anything that is not a number comes back as it was."""
    if value is None or value == "":
        return ""
    text = "".join(str(value).split())
    if not text.lstrip("+").isdigit():
        return str(value)
    return format_phone(text).replace(" ", NBSP)
