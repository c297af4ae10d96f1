"""The international rate table for supervisors (agents look it up): what
calls and texts to countries outside Norway and the EU/EEA cost. A rate
that has charged usage keeps its prefix and prices; a new price is a new row
from a date, with the old one ended the day before."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from subscriptions.admin.base import SupportAdmin, nok
from subscriptions.international import calling_code_is_free, calling_code_of
from subscriptions.models import InternationalRate


class InternationalRateForm(forms.ModelForm):
    class Meta:
        model = InternationalRate
        fields = [
            "prefix",
            "name_en",
            "name_nb",
            "name_zh_hans",
            "per_minute_ore",
            "per_text_ore",
            "valid_from",
            "valid_until",
        ]

    def clean_prefix(self) -> str:
        prefix: str = self.cleaned_data["prefix"].strip().removeprefix("+")
        if not (prefix.isascii() and prefix.isdigit()):
            raise forms.ValidationError(_("Digits only, without + or 00, e.g. 44."))
        code = calling_code_of(prefix)
        if code is None:
            raise forms.ValidationError(_("This does not start with a country calling code."))
        if calling_code_is_free(code):
            raise forms.ValidationError(_("Calls and texts to Norway and the EU/EEA are free: they need no rate."))
        return prefix

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        prefix, start, end = data.get("prefix"), data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end must come after the start."))
            return data
        if prefix:
            overlapping = InternationalRate.objects.filter(prefix=prefix).exclude(pk=self.instance.pk)
            if end is not None:
                overlapping = overlapping.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=end))
            if start is not None:
                overlapping = overlapping.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=start))
            if overlapping.exists():
                self.add_error(
                    None,
                    _("Another rate for this calling code is valid on some of these days: end it the day before."),
                )
        return data


@admin.register(InternationalRate)
class InternationalRateAdmin(SupportAdmin):
    form = InternationalRateForm
    list_display = [
        "calling_code",
        "name_en",
        "name_nb",
        "name_zh_hans",
        "per_minute",
        "per_text",
        "valid_from",
        "valid_until",
    ]
    search_fields = ["prefix", "name_en", "name_nb", "name_zh_hans"]
    ordering = ["prefix", "valid_from"]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> tuple[Any, bool]:
        # "+44" and "0044" find the rate of 44, as staff write the code.
        term = search_term.strip()
        if term.startswith("00"):
            term = term[2:]
        return super().get_search_results(request, queryset, term.lstrip("+"))

    def get_readonly_fields(self, request: HttpRequest, obj: InternationalRate | None = None) -> list[str]:
        # Charged usage points at the rate it was charged at.
        if obj is not None and obj.usage.exists():
            return ["prefix", "per_minute_ore", "per_text_ore", "valid_from"]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: InternationalRate | None = None) -> bool:
        if obj is not None and obj.usage.exists():
            return False  # end it instead (valid until)
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("calling code"), ordering="prefix")
    def calling_code(self, rate: InternationalRate) -> str:
        return f"+{rate.prefix}"

    @admin.display(description=_("per started minute"), ordering="per_minute_ore")
    def per_minute(self, rate: InternationalRate) -> str:
        return nok(rate.per_minute_ore)

    @admin.display(description=_("per text"), ordering="per_text_ore")
    def per_text(self, rate: InternationalRate) -> str:
        return nok(rate.per_text_ore)
