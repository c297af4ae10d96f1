"""Forms for sign-up and the profile page."""

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from accounts.identity_files import CheckedFile, DocumentFileRefused, document_file_check
from accounts.models import IdentityDocument, NotificationChannel, NotificationKind, User
from accounts.phone import normalize_phone


class MobileNumberField(forms.CharField):
    """A mobile number typed any usual way (912 34 567, +47 912 34 567,
    0046 70 123 45 67), cleaned to E.164."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+47 912 34 567"}),
        )
        kwargs.pop("validators", None)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        return normalize_phone(value)


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form with the customer's name, asking for an email
    address, a mobile number, or both."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)

    field_order = ["full_name", "email", "phone", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["full_name"].widget.attrs.update({"autocomplete": "name", "placeholder": _("Full name")})
        if "email" in self.fields:
            self.fields["email"].label = _("Email (optional)")
            self.fields["email"].help_text = _("An email address, a mobile number, or both.")
        if "phone" in self.fields:
            self.fields["phone"].label = _("Mobile number (optional)")

    email_taken = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        nothing_given = not cleaned.get("email") and not cleaned.get("phone")
        if nothing_given and not self.has_error("phone") and not self.has_error("email"):
            raise forms.ValidationError(_("Enter an email address or a mobile number, so that we can reach you."))
        return cleaned

    def validate_unique_email(self, value: str) -> str:
        """An address that has an account is no error on the form: that
        would tell anyone which addresses are customers'. allauth refuses it
        (emails must be unique and verification is optional); try_save then
        emails the owner instead of creating an account."""
        try:
            email: str = super().validate_unique_email(value)
        except forms.ValidationError as error:
            if error.code != "email_taken":
                raise
            self.email_taken = True
            return value
        return email

    def try_save(self, request: HttpRequest) -> tuple[Any, HttpResponse | None]:
        if self.email_taken:
            # The very answer a new address gets (accounts/stages.py), message included.
            adapter = get_adapter(request)
            adapter.send_account_already_exists_mail(self.cleaned_data["email"])
            adapter.add_message(
                request,
                messages.INFO,
                "account/messages/email_confirmation_sent.txt",
                {"email": self.cleaned_data["email"], "login": False, "signup": True},
            )
            return None, redirect("account_email_verification_sent")
        return super().try_save(request)


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form, its first field labelled for what it takes:
    allauth's "Login" repeats the page's heading and button."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Email or mobile number")
        self.fields["login"].widget.attrs["placeholder"] = _("Email or mobile number")


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    """allauth's "send me a sign-in code" form, which must be given an email
    address or a mobile number (allauth's own accepts neither and fails)."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        nothing_given = not cleaned.get("email") and not cleaned.get("phone")
        if nothing_given and not self.has_error("phone") and not self.has_error("email"):
            raise forms.ValidationError(_("Enter an email address or a mobile number, so that we can reach you."))
        return cleaned


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "street_address", "postal_code", "city", "language"]
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "street_address": forms.TextInput(attrs={"autocomplete": "street-address"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["full_name"].required = True
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save changes")))

    def clean_postal_code(self) -> str:
        code = self.cleaned_data["postal_code"].strip()
        if code and not (code.isdigit() and len(code) == 4):
            raise forms.ValidationError(_("A Norwegian postal code has four digits, for example 0150."))
        return code


class IdentityDocumentForm(forms.Form):
    """A document and what it is for. The file is judged by its content
    (accounts/identity_files.py); a refused file leaves the other answers
    as they were."""

    kind = forms.ChoiceField(
        label=_("Document"), choices=IdentityDocument.Kind.choices, widget=forms.RadioSelect, initial="passport"
    )
    purpose = forms.ChoiceField(label=_("What is it for?"), choices=IdentityDocument.Purpose.choices)
    file = forms.FileField(
        label=_("Photo or PDF of the document"),
        allow_empty_file=True,  # refused by the content check, in its words
        help_text=_(
            "A sharp photo (JPEG or PNG) or a PDF of the page with your photo, name and date of birth, at most 10 MB."
        ),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def clean_file(self) -> CheckedFile:
        try:
            return document_file_check(self.cleaned_data["file"])
        except DocumentFileRefused as refusal:
            raise forms.ValidationError(str(refusal), code="refused") from refusal


class NotificationSettingsForm(forms.Form):
    """One checkbox per kind of message and channel (``<kind>__<channel>``)."""

    def __init__(self, *args: Any, current: dict[tuple[str, str], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One row per kind, one cell per channel (None: that kind never goes by it).
        self.rows: list[tuple[str, list[forms.BoundField | None]]] = []
        for kind, kind_label in NotificationKind.choices:
            row: list[forms.BoundField | None] = []
            for channel, channel_label in NotificationChannel.choices:
                if (kind, channel) not in current:
                    row.append(None)
                    continue
                name = f"{kind}__{channel}"
                self.fields[name] = forms.BooleanField(
                    label=f"{kind_label}: {channel_label}", required=False, initial=current[(kind, channel)]
                )
                row.append(self[name])
            self.rows.append((str(kind_label), row))

    def choices(self) -> dict[tuple[str, str], bool]:
        return {tuple(name.split("__", 1)): bool(value) for name, value in self.cleaned_data.items()}  # type: ignore[misc]
