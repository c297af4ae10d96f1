"""Forms for vouchers: the customer's code, and a batch in the admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from subscriptions.formatting import format_nok
from subscriptions.forms.fields import NokAmountField
from subscriptions.models import Plan, VoucherValue
from subscriptions.services.voucher_codes import code_normalize
from subscriptions.services.vouchers import (
    VOUCHER_AMOUNT_MAX_ORE,
    VOUCHER_AMOUNT_MIN_ORE,
    VOUCHER_BATCH_MAX,
    oslo_today,
)


class VoucherRedeemForm(forms.Form):
    """The code as typed off the card; spaces and dashes are fine."""

    code = forms.CharField(
        label=_("Voucher code"),
        max_length=40,
        help_text=_("The 16 digits on your voucher. Spaces and dashes are fine."),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "autocorrect": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "placeholder": "1234 5678 9012 3456",
            }
        ),
    )

    def clean_code(self) -> str:
        # A code of the wrong length is a slip of the finger, answered here and
        # not counted as a guess; the check digit is the service's business.
        digits = code_normalize(self.cleaned_data["code"])
        if digits is None:
            raise forms.ValidationError(_("A voucher code has 16 digits."))
        return digits


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        plan: Plan = obj
        return f"{plan.name} ({plan.code}, {format_nok(plan.price_ore)})"


class VoucherBatchForm(forms.Form):
    """A batch for a retailer: how many codes, worth what, until when."""

    label = forms.CharField(
        label=_("Retailer label"),
        max_length=100,
        help_text=_("Who sells these codes, for example “Narvesen Oslo S, May 2026”."),
    )
    value_kind = forms.ChoiceField(
        label=_("Value"), choices=VoucherValue.choices, initial=VoucherValue.AMOUNT, widget=forms.RadioSelect
    )
    amount = NokAmountField(label=_("Amount"), required=False, help_text="")
    plan = PlanChoiceField(
        label=_("Plan"),
        queryset=Plan.objects.filter(is_active=True).order_by("kind", "price_ore"),
        required=False,
        help_text=_("One period of this plan, for a line of its kind."),
    )
    count = forms.IntegerField(label=_("Number of codes"), min_value=1, max_value=VOUCHER_BATCH_MAX)
    expires_on = forms.DateField(
        label=_("Valid until"),
        help_text=_("The last day a code can be redeemed (Oslo time)."),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = _("In kroner, from %(min)s to %(max)s.") % {
            "min": format_nok(VOUCHER_AMOUNT_MIN_ORE),
            "max": format_nok(VOUCHER_AMOUNT_MAX_ORE),
        }

    def clean_expires_on(self) -> Any:
        expires_on = self.cleaned_data["expires_on"]
        today = oslo_today()
        if expires_on <= today:
            raise forms.ValidationError(
                _("The last valid day must be after today (%(today)s).")
                % {"today": formats.date_format(today, "SHORT_DATE_FORMAT")}
            )
        return expires_on

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        kind = cleaned.get("value_kind")
        amount: Decimal | None = cleaned.get("amount")
        if kind == VoucherValue.AMOUNT:
            cleaned["plan"] = None
            if amount is None:
                self.add_error("amount", _("Enter the amount each code is worth."))
            elif not VOUCHER_AMOUNT_MIN_ORE <= amount * 100 <= VOUCHER_AMOUNT_MAX_ORE:
                self.add_error(
                    "amount",
                    _("A voucher is worth %(min)s to %(max)s.")
                    % {"min": format_nok(VOUCHER_AMOUNT_MIN_ORE), "max": format_nok(VOUCHER_AMOUNT_MAX_ORE)},
                )
        elif kind == VoucherValue.PLAN:
            cleaned["amount"] = None
            if cleaned.get("plan") is None and "plan" not in self.errors:
                self.add_error("plan", _("Choose the plan each code gives a period of."))
        return cleaned

    @property
    def amount_ore(self) -> int | None:
        amount: Decimal | None = self.cleaned_data.get("amount")
        return None if amount is None else int(amount * 100)
