"""Forms of a replacement eSIM request: the reason, the emailed code, and
the fee's checkout."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from subscriptions.forms.checkout import KEY_LENGTH, HostedPaymentForm
from subscriptions.models import ReplacementReason


class ReplacementReasonForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why do you need a new eSIM?"),
        choices=ReplacementReason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose why you need a new eSIM."),
            "invalid_choice": _("Choose why you need a new eSIM."),
        },
    )
    idempotency_key = forms.CharField(max_length=KEY_LENGTH, widget=forms.HiddenInput)

    @classmethod
    def fresh(cls) -> ReplacementReasonForm:
        return cls(initial={"idempotency_key": uuid.uuid4().hex})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].error_messages["required"] = _("This form has expired. Please start again.")


class ReplacementCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the email"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={
            "required": _("Enter the six-digit code from the email."),
            "min_length": _("Enter the six-digit code from the email."),
            "max_length": _("Enter the six-digit code from the email."),
        },
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("Enter the six-digit code from the email."))
        return code


class ReplacementFeeForm(HostedPaymentForm):
    """Name and address for the fee's receipt; paid by card or Vipps MobilePay."""
