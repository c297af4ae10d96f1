"""A fresh sign-in for the few pages that show a secret (an eSIM's
activation code): allauth's reauthentication, held to two rules of ours.

allauth counts any reauthentication in the last
``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds; we ask, in addition, that a
customer with two-factor passed it (a password alone is not enough for them),
and that a customer with neither a password nor two-factor (an account
made by staff, signed in by code) sets a password first: allauth would let
such an account through unasked.
"""

from __future__ import annotations

import time

from allauth.account import app_settings as account_settings
from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import suspend_request
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User


def recently_reauthenticated(request: HttpRequest, *, user: User) -> bool:
    """True if the session holds a reauthentication younger than the
    timeout: by two-factor for a customer who has it, by password or
    two-factor otherwise."""
    cutoff = time.time() - account_settings.REAUTHENTICATION_TIMEOUT
    records = [
        record
        for record in get_authentication_records(request, user)
        if record.get("reauthenticated") and record.get("at", 0) > cutoff
    ]
    if is_mfa_enabled(user):
        return any(record.get("method") == "mfa" for record in records)
    return user.has_usable_password() and bool(records)


def reauthentication_response(request: HttpRequest, *, user: User) -> HttpResponse | None:
    """None if the customer signed in again recently; otherwise where to go
    to do it, coming back to this request afterwards (a form sent by POST is
    sent again then)."""
    if recently_reauthenticated(request, user=user):
        return None
    if is_mfa_enabled(user):
        return suspend_request(request, reverse("mfa_reauthenticate"))
    if user.has_usable_password():
        return suspend_request(request, reverse("account_reauthenticate"))
    messages.info(request, _("Set a password first: you will be asked for it before the code is shown."))
    return HttpResponseRedirect(reverse("account_set_password"))
