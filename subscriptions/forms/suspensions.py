"""The form to suspend a line: why."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from subscriptions.models.suspensions import CUSTOMER_REASONS


class SuspendForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you suspending the line?"),
        choices=[(reason.value, reason.label) for reason in CUSTOMER_REASONS],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose why you are suspending the line."),
            "invalid_choice": _("Choose why you are suspending the line."),
        },
    )
