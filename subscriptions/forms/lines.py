"""Forms of the line page: the low-balance alert and the usage filter."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from subscriptions.forms.fields import NokAmountField
from subscriptions.models import UsageKind
from subscriptions.selectors import recent_months

FILTER_MONTHS = 12


class LowBalanceThresholdForm(forms.Form):
    """The balance below which the customer is alerted; empty turns it off.
    The service checks the range, with a message that writes its sums as
    the page does."""

    amount = NokAmountField(
        label=_("Alert me when the balance is below"),
        required=False,
        help_text=_("In kroner. Leave it empty to turn the alert off."),
    )

    @classmethod
    def for_threshold(cls, threshold_ore: int | None) -> LowBalanceThresholdForm:
        initial = None if threshold_ore is None else formats.number_format(Decimal(threshold_ore) / 100, 2)
        return cls(initial={"amount": initial})

    @property
    def threshold_ore(self) -> int | None:
        amount: Decimal | None = self.cleaned_data.get("amount")
        return None if amount is None else int(amount * 100)


class UsageFilterForm(forms.Form):
    """Usage history by kind and by Oslo calendar month (the last twelve)."""

    kind = forms.ChoiceField(label=_("Kind"), required=False, widget=forms.Select)
    month = forms.ChoiceField(label=pgettext_lazy("calendar month", "Month"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind: forms.ChoiceField = self.fields["kind"]  # type: ignore[assignment]
        kind.choices = [("", _("All kinds")), *UsageKind.choices]
        month: forms.ChoiceField = self.fields["month"]  # type: ignore[assignment]
        months = tuple(recent_months(count=FILTER_MONTHS, now=now))
        month.choices = [("", _("All months")), *_month_choices(months, translation.get_language())]
        for name in ("kind", "month"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def filters(self) -> tuple[str, str]:
        """(kind, month) to filter by; nothing when the input is not valid."""
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["kind"], self.cleaned_data["month"]


@functools.lru_cache(maxsize=64)
def _month_choices(months: tuple[date, ...], language: str | None) -> tuple[tuple[str, str], ...]:
    """("2026-11", "November 2026") for each month, newest first, in the
    language: the same twelve for a whole month, so written once a month and
    language rather than on every line page."""
    return tuple((f"{day:%Y-%m}", formats.date_format(day, "YEAR_MONTH_FORMAT")) for day in reversed(months))
