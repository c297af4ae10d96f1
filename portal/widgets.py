"""Form widgets that write their markup in Python.

Django renders a ``<select>`` through a template per option (the option, its
attributes): about 0.15 ms an option, 2 ms for the line page's month filter
alone, on every view of that page. ``Select`` writes the same markup straight
from its choices, without the template engine.
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
    """``forms.Select`` without option groups, rendered in Python from its
    choices (Django's option context, a dictionary per option, is most of
    the cost left once the templates are gone)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any | None = None
    ) -> SafeString:
        choices = list(self.choices)
        if self.allow_multiple_selected or any(isinstance(label, list | tuple) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = self.format_value(value)
        selected = next((str(option) for option, _label in choices if str(option) in chosen), None)
        options = format_html_join(
            "",
            '\n  <option value="{}"{}>{}</option>',
            ((str(option), _attributes({"selected": str(option) == selected}), label) for option, label in choices),
        )
        attributes = _attributes(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}\n</select>', name, attributes, options)
