"""Forms of checkout: the name and address for the receipt with the form's
idempotency key, and what is bought (a renewal, a top-up)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.formatting import format_nok
from subscriptions.forms.fields import NokAmountField
from subscriptions.models import PaymentMethod
from subscriptions.selectors.orders import payment_method_last_chosen
from subscriptions.services.checkout import Billing

# The longest checkout key an order keeps (Order.idempotency_key).
KEY_LENGTH = 64


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
        """The form filled from the profile, offering first the way the
        customer last paid on a provider's page (card or Vipps MobilePay)."""
        initial = {
            "full_name": user.full_name,
            "street_address": user.street_address,
            "postal_code": user.postal_code,
            "city": user.city,
            "idempotency_key": uuid.uuid4().hex,
            "method": payment_method_last_chosen(user=user),
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
        choices=[
            (PaymentMethod.CARD, PaymentMethod.CARD.label),
            (PaymentMethod.VIPPS, PaymentMethod.VIPPS.label),
            (PaymentMethod.BALANCE, PaymentMethod.BALANCE.label),
        ],
        initial=PaymentMethod.CARD,
        widget=forms.RadioSelect,
    )
    promo_code = forms.CharField(
        label=_("Promotion code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class HostedPaymentForm(CheckoutForm):
    """A checkout paid on a provider's page: by card or Vipps MobilePay."""

    # Left out (an older page), it is the card.
    method = forms.ChoiceField(
        label=_("Pay with"),
        choices=[(PaymentMethod.CARD, PaymentMethod.CARD.label), (PaymentMethod.VIPPS, PaymentMethod.VIPPS.label)],
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_method(self) -> str:
        return str(self.cleaned_data.get("method") or PaymentMethod.CARD)


class TopUpForm(HostedPaymentForm):
    amount = NokAmountField(label=_("Amount"), help_text=_("In kroner."))

    field_order = ["amount"]

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if not settings.TOPUP_MIN_ORE <= amount * 100 <= settings.TOPUP_MAX_ORE:
            raise forms.ValidationError(
                _("Top up between %(min)s and %(max)s.")
                % {"min": format_nok(settings.TOPUP_MIN_ORE), "max": format_nok(settings.TOPUP_MAX_ORE)}
            )
        return amount

    @property
    def amount_ore(self) -> int:
        return int(self.cleaned_data["amount"] * 100)
