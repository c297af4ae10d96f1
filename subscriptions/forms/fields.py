"""Form fields shared by the customer's and the admin's forms."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# "1,000" is a thousand (nobody types kroner to three decimals); "1.000" is
# left alone and refused for its three decimals rather than guessed at.
COMMA_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")


class NokAmountField(forms.DecimalField):
    """Kroner as people type them on a phone: "50", "50,5", "50.50",
    "1 000,00", "1.000,00", "1,000" or "1,000.00". Its errors speak of
    kroner in our words (Django's say "value" and "digits")."""

    default_error_messages = {
        "invalid": _("Enter an amount in kroner, for example 50 or 49.90."),
        "max_decimal_places": _("Use at most two decimals."),
        "max_digits": _("This amount is too large."),
        "max_whole_digits": _("This amount is too large."),
    }

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
