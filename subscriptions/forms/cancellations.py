"""The cancellation request's form: why, what to do with the prepaid
balance (a refund to a Norwegian bank account, checked by its MOD-11 digit,
or giving it up), and that the customer understands what is lost."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from subscriptions.bank_accounts import bank_account_normalize, is_valid_bank_account
from subscriptions.forms.checkout import KEY_LENGTH
from subscriptions.models import BalanceChoice, CancellationReason
from subscriptions.services.cancellations import bank_account_error

BALANCE_CHOICES = [
    (BalanceChoice.REFUND.value, _("Refund it to my bank account")),
    (BalanceChoice.GIVE_UP.value, _("I give it up")),
]


class CancellationForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why do you want to cancel?"),
        choices=CancellationReason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose why you want to cancel."),
            "invalid_choice": _("Choose why you want to cancel."),
        },
    )
    balance_choice = forms.ChoiceField(
        label=_("Your prepaid balance"),
        choices=BALANCE_CHOICES,
        widget=forms.RadioSelect,
        required=False,
        error_messages={"invalid_choice": _("Choose what we do with your prepaid balance.")},
    )
    refund_account = forms.CharField(
        label=_("Norwegian bank account number"),
        required=False,
        max_length=20,
        help_text=_("11 digits, e.g. 1234.56.78903. The refund is paid to an account in your name."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    understood = forms.BooleanField(
        label=_("I understand that the number is lost for good if I do not come back in time."),
        error_messages={"required": _("Confirm that you understand what is lost.")},
    )
    idempotency_key = forms.CharField(max_length=KEY_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args: Any, balance_ore: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.balance_ore = balance_ore
        self.fields["idempotency_key"].error_messages["required"] = _("This form has expired. Please start again.")

    @classmethod
    def fresh(cls, *, balance_ore: int) -> CancellationForm:
        return cls(initial={"idempotency_key": uuid.uuid4().hex}, balance_ore=balance_ore)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.balance_ore <= 0:
            data["balance_choice"], data["refund_account"] = BalanceChoice.NONE, ""
            return data
        choice = data.get("balance_choice")
        if not choice:
            self.add_error("balance_choice", _("Choose what we do with your prepaid balance."))
        elif choice == BalanceChoice.REFUND:
            account = bank_account_normalize(data.get("refund_account") or "")
            if not is_valid_bank_account(account):
                self.add_error("refund_account", bank_account_error())
            else:
                data["refund_account"] = account
        else:
            data["refund_account"] = ""
        return data
