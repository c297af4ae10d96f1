"""Forms of the line page (the low-balance alert, the usage filter) and of
checkout (a renewal, a top-up)."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.models import Line, PaymentMethod, Plan, SavedCard, UsageKind
from subscriptions.selectors import recent_months
from subscriptions.services.checkout import Billing

MAX_THRESHOLD_NOK = Decimal(100_000)
# "1,000" is a thousand (nobody types kroner to three decimals); "1.000" is
# left alone and refused for its three decimals rather than guessed at.
COMMA_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
FILTER_MONTHS = 12
# The longest checkout key an order keeps (Order.idempotency_key).
KEY_LENGTH = 64


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

    kind = forms.ChoiceField(label=_("Kind"), required=False, widget=forms.Select)
    month = forms.ChoiceField(label=_("Month"), required=False, widget=forms.Select)

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


def _usable_key(value: Any) -> bool:
    key = str(value).strip()
    return 0 < len(key) <= KEY_LENGTH


class CheckoutForm(forms.Form):
    """Name and address for the receipt (pre-filled from the profile), and
    the key that makes this form one order however often it is sent."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    street_address = forms.CharField(
        label=_("Street address"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    city = forms.CharField(
        label=_("City"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    idempotency_key = forms.CharField(max_length=KEY_LENGTH, required=False, widget=forms.HiddenInput)

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # A form sent without a usable key (a stale, hand-made or tampered
        # page) is refused and shown again with a new key, so sending it once
        # more works. The refusal is the form's own error: an error on the
        # hidden field would be shown nowhere.
        self.key_missing = data is not None and not _usable_key(data.get("idempotency_key", ""))
        if self.key_missing:
            data = data.copy()
            data["idempotency_key"] = uuid.uuid4().hex
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.key_missing:
            raise forms.ValidationError(_("This checkout form has expired. Please check it and send it again."))
        return cleaned

    @classmethod
    def for_customer(cls, user: User, **kwargs: Any) -> Any:
        initial = {
            "full_name": user.full_name,
            "street_address": user.street_address,
            "postal_code": user.postal_code,
            "city": user.city,
            "idempotency_key": uuid.uuid4().hex,
        }
        return cls(initial=initial, **kwargs)

    def clean_full_name(self) -> str:
        name: str = self.cleaned_data["full_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter the name to put on the receipt."))
        return name

    def clean_postal_code(self) -> str:
        code: str = self.cleaned_data["postal_code"].strip()
        if code and not (code.isdigit() and len(code) == 4):
            raise forms.ValidationError(_("A Norwegian postal code has four digits, for example 0150."))
        return code

    @property
    def billing(self) -> Billing:
        data = self.cleaned_data
        return Billing(
            name=data["full_name"],
            street=data["street_address"].strip(),
            postal_code=data["postal_code"],
            city=data["city"].strip(),
        )


class RenewalForm(CheckoutForm):
    method = forms.ChoiceField(
        label=_("Pay with"),
        choices=[(PaymentMethod.CARD, PaymentMethod.CARD.label), (PaymentMethod.BALANCE, PaymentMethod.BALANCE.label)],
        initial=PaymentMethod.CARD,
        widget=forms.RadioSelect,
    )
    promo_code = forms.CharField(
        label=_("Promotion code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class TopUpForm(CheckoutForm):
    amount = NokAmountField(label=_("Amount"), help_text=_("In kroner."))

    field_order = ["amount"]

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        low, high = settings.TOPUP_MIN_ORE // 100, settings.TOPUP_MAX_ORE // 100
        if not low <= amount <= high:
            raise forms.ValidationError(_("Top up between %(min)s and %(max)s kr.") % {"min": low, "max": high})
        return amount

    @property
    def amount_ore(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


class AutoRenewForm(forms.Form):
    """Which plan to renew with, and which saved card (none: a new one)."""

    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), label=_("Renew with"), empty_label=None)
    card = forms.ModelChoiceField(
        queryset=SavedCard.objects.none(), label=_("Card"), required=False, empty_label=_("A new card")
    )

    def __init__(self, *args: Any, line: Line, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan: forms.ModelChoiceField = self.fields["plan"]  # type: ignore[assignment]
        plan.queryset = Plan.objects.filter(kind=line.kind, is_active=True).order_by("price_ore")
        card: forms.ModelChoiceField = self.fields["card"]  # type: ignore[assignment]
        card.queryset = SavedCard.objects.filter(owner=user, removed_at__isnull=True)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select"
