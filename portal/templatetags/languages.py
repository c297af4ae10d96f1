"""The language menu: ``{% languages_by_own_name as LANGUAGES %}`` gives
(code, name) with each language named in itself ("English", "Norsk bokmål",
"简体中文"), whatever language the page is in. Django's
``get_available_languages`` translates the names into the page's language,
and a reader looking for their own language may not know its name in
another."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def languages_by_own_name() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)
