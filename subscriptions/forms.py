"""Forms on the line page: the low-balance alert and the usage filter."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from subscriptions.models import UsageKind
from subscriptions.selectors import recent_months

MAX_THRESHOLD_NOK = Decimal(100_000)
# "1,000" is a thousand (nobody types kroner to three decimals); "1.000" is
# left alone and refused for its three decimals rather than guessed at.
COMMA_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
FILTER_MONTHS = 12


class NokAmountField(forms.DecimalField):
    """Kroner as people type them on a phone: "50", "50,5", "50.50",
    "1 000,00", "1.000,00", "1,000" or "1,000.00"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 9)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # as in the stubs' DecimalField
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0\u202f]|kr|nok", "", value.strip(), flags=re.IGNORECASE)
            if COMMA_THOUSANDS.match(value):
                value = value.replace(",", "")
            elif "," in value and "." in value:
                # The last separator is the decimal one.
                decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
                thousands = "." if decimal_mark == "," else ","
                value = value.replace(thousands, "").replace(decimal_mark, ".")
            else:
                value = value.replace(",", ".")
        result: Decimal | None = super().to_python(value)
        return result


class LowBalanceThresholdForm(forms.Form):
    """The balance below which the customer is alerted; empty turns it off."""

    amount = NokAmountField(
        label=_("Alert me when the balance is below"),
        required=False,
        min_value=Decimal(0),
        max_value=MAX_THRESHOLD_NOK,
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

    kind = forms.ChoiceField(label=_("Kind"), required=False)
    month = forms.ChoiceField(label=_("Month"), required=False)

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind: forms.ChoiceField = self.fields["kind"]  # type: ignore[assignment]
        kind.choices = [("", _("All kinds")), *UsageKind.choices]
        month: forms.ChoiceField = self.fields["month"]  # type: ignore[assignment]
        months = reversed(recent_months(count=FILTER_MONTHS, now=now))
        month.choices = [
            ("", _("All months")),
            *((f"{day:%Y-%m}", formats.date_format(day, "YEAR_MONTH_FORMAT")) for day in months),
        ]
        for name in ("kind", "month"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def filters(self) -> tuple[str, str]:
        """(kind, month) to filter by; nothing when the input is not valid."""
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["kind"], self.cleaned_data["month"]
