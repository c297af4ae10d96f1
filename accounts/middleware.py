"""Per-request rules about the signed-in person: a customer sees the portal in
the language stored on the account (the language cookie follows it); the
support admin opens only for staff who passed two-factor."""

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext


class UserLanguageMiddleware:
    """The support admin is in English for everyone: much of it comes from
    libraries whose Norwegian and Chinese are incomplete, and one language on
    a page beats two (README, "Accessibility")."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_prefix = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._admin_prefix:
            self._admin_prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        language = getattr(user, "language", None) if user is not None and user.is_authenticated else None
        if request.path_info.startswith(self._admin_prefix):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        elif language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # The view may have changed the stored language (the switcher does).
        language = getattr(user, "language", None) if user is not None and user.is_authenticated else None
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
                httponly=False,
            )
        return response


class StaffTwoFactorMiddleware:
    """No page of the support admin opens for a session that has not passed
    two-factor: staff without TOTP are sent to set it up, staff with TOTP
    whose session lacks a TOTP step (signed in before activating it, or
    otherwise without the challenge) are asked for a code. A signed-in
    customer gets the refusal page straight away, without the exception
    (and its logged traceback) the admin's own refusal raises."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_prefix = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._admin_prefix:
            self._admin_prefix = reverse("admin:index")
        if request.path_info.startswith(self._admin_prefix) and request.user.is_authenticated:
            refusal = staff_admin_refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)


def staff_admin_refusal(request: HttpRequest) -> HttpResponse | None:
    """What a signed-in person meets instead of an admin page, or None."""
    user = request.user
    if not (user.is_staff and user.is_active):
        return render(request, "403.html", status=403)
    if not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
        messages.warning(request, gettext("Set up two-factor authentication before you open the support admin."))
        return redirect("mfa_activate_totp")
    if not any(record.get("method") == "mfa" for record in get_authentication_records(request, user)):
        return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': request.get_full_path()})}")
    return None
