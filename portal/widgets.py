"""Form widgets that write their markup in Python.

Django renders a ``<select>`` through a template per option (the option, its
attributes): about 0.15 ms an option, 2 ms for the line page's month filter
alone, on every view of that page. ``Select`` writes the same markup from the
same context without the template engine.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """`` name="value"`` for each attribute, `` name`` alone for True, nothing
    for False: what Django's ``attrs.html`` writes, in the same order."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class Select(forms.Select):
    """``forms.Select`` without option groups, rendered in Python."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any | None = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        groups = widget["optgroups"]
        if any(group_name for group_name, _options, _index in groups):
            return super().render(name, value, attrs, renderer)
        options = format_html_join(
            "",
            '\n  <option value="{}"{}>{}</option>',
            (
                (str(option["value"]), _attributes(option["attrs"]), option["label"])
                for _group_name, group_options, _index in groups
                for option in group_options
            ),
        )
        return format_html('<select name="{}"{}>{}\n</select>', widget["name"], _attributes(widget["attrs"]), options)
