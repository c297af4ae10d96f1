"""Our allauth adapter: where phone numbers are stored, how codes and emails
leave (through Celery, in the customer's language), and sign-up side effects."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts import services
from accounts.forms import MobileNumberField, SignupForm
from accounts.models import SentText, User
from accounts.phone import normalize_phone


class AccountAdapter(DefaultAccountAdapter):
    # --- phone numbers ------------------------------------------------------

    def phone_form_field(self, **kwargs: Any) -> MobileNumberField:
        return MobileNumberField(**kwargs)

    def set_phone(self, user: User, phone: str, verified: bool) -> None:
        services.user_set_phone(user=user, phone=phone, verified=verified)

    def get_phone(self, user: User) -> tuple[str, bool] | None:
        if not user.phone:
            return None
        return user.phone, user.phone_verified

    def set_phone_verified(self, user: User, phone: str) -> None:
        services.user_set_phone(user=user, phone=phone, verified=True)

    def get_user_by_phone(self, phone: str) -> User | None:
        # The password login form hands us what the person typed, unnormalised.
        try:
            e164 = normalize_phone(phone)
        except ValidationError:
            return None
        return User.objects.filter(phone=e164).first()

    def send_verification_code_sms(self, user: User, phone: str, code: str, **kwargs: Any) -> None:
        language = user.language if user and user.pk else translation.get_language()
        with translation.override(language):
            body = gettext("Your Nordlys Mobil code is %(code)s. It is valid for a few minutes; never share it.") % {
                "code": code
            }
        services.text_send(to=phone, body=body, purpose=SentText.Purpose.CODE, client_address=self._client_address())

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """Nothing: a text to a number without an account would let anyone
        have us pay for texts to numbers of their choosing. The visitor sees
        the same "code sent" page either way."""

    def send_account_already_exists_sms(self, phone: str) -> None:
        owner = self.get_user_by_phone(phone)
        with translation.override(owner.language if owner else translation.get_language()):
            body = gettext("Someone tried to sign up with this number, which already has a Nordlys Mobil account.")
        services.text_send(
            to=phone, body=body, purpose=SentText.Purpose.ACCOUNT_EXISTS, client_address=self._client_address()
        )

    def _client_address(self) -> str | None:
        """The address of the visitor whose request makes us send a text, as
        allauth finds it for its rate limits (None outside a request)."""
        request = allauth_context.request
        if request is None:
            return None
        try:
            return self.get_client_ip(request)
        except PermissionDenied:
            return None

    # --- email --------------------------------------------------------------

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render in the recipient's stored language (the current one for a
        stranger), then hand the message to a Celery task on commit."""
        recipient = User.objects.filter(email__iexact=email).only("language").first()
        language = recipient.language if recipient else translation.get_language()
        with translation.override(language):
            request = allauth_context.request
            site = get_current_site(request)
            # allauth's emails greet from the site's name, which is the host
            # name ("Hello from 127.0.0.1:8000!") without the sites framework.
            site.name = settings.SITE_NAME
            ctx = {"request": request, "email": email, "current_site": site}
            ctx.update(context)
            message = self.render_mail(template_prefix, email, ctx)
        services.email_send(message=message)

    # --- sign-in and sign-up -----------------------------------------------------

    def get_login_stages(self) -> list[str]:
        """allauth's stages, with its email verification replaced by ours
        for sign-ups (accounts/stages.py)."""
        stages: list[str] = super().get_login_stages()
        ours = "accounts.stages.SignupEmailVerificationStage"
        return [ours if path == "allauth.account.stages.EmailVerificationStage" else path for path in stages]

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """allauth's failed-sign-in counter, one per identifier typed: the
        lowercased email or the E.164 number. allauth reads only the email, so
        every phone sign-in would share one counter and five bad guesses at
        any number would lock all phone sign-ins out. Not one per account: a
        shared lock-out would tell a guesser which email and number belong
        together."""
        site = get_current_site(request)
        email = (credentials.get("email") or "").strip().lower()
        if email:
            return f"{site.domain}:email:{email}"
        phone = (credentials.get("phone") or "").strip()
        try:
            phone = normalize_phone(phone)
        except ValidationError:
            phone = phone.lower()
        return f"{site.domain}:phone:{phone}"

    def login(self, request: HttpRequest, user: User) -> None:
        super().login(request, user)
        # Messages added after sign-in ("Successfully signed in…") speak the
        # account's language, not the browser's.
        if user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Staff work in the support admin, not on the customer dashboard.
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=False)
        user.email = user.email or None
        if isinstance(form, SignupForm):
            user.full_name = form.cleaned_data["full_name"].strip()
        user.language = translation.get_language() or user.language
        if commit:
            with transaction.atomic():
                user.save()
                services.user_welcome(user=user, client_address=self._client_address())
        return user
