"""The form that turns auto-renew on for a line, or changes its plan or card."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from subscriptions.models import Line, Plan, SavedCard


class AutoRenewForm(forms.Form):
    """Which plan to renew with, and which saved card (none: a new one)."""

    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(),
        label=_("Renew with"),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the plan to renew with.")},
    )
    card = forms.ModelChoiceField(
        queryset=SavedCard.objects.none(), label=_("Card"), required=False, empty_label=_("A new card")
    )

    def __init__(self, *args: Any, line: Line, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plan: forms.ModelChoiceField = self.fields["plan"]  # type: ignore[assignment]
        plan.queryset = Plan.objects.filter(kind=line.kind, is_active=True).order_by("price_ore")
        card: forms.ModelChoiceField = self.fields["card"]  # type: ignore[assignment]
        card.queryset = SavedCard.objects.filter(owner=user, removed_at__isnull=True)
        card.widget.attrs["class"] = "form-select"
