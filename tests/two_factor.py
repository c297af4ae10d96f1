"""Two-factor in tests: a staff member signed in as the support admin
requires, and the code an authenticator app would show."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.test import Client, RequestFactory

TOTP_PERIOD = 30


def staff_sign_in(client: Client, user: Any) -> None:
    """Give ``user`` TOTP (unless they have it) and sign them in with the
    session marked as having passed it, recorded the way allauth's two-factor
    step records it."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        authenticator = TOTP.activate(user, generate_totp_secret()).instance
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
    request.session.save()


def code_for(secret: str, *, at: float) -> str:
    """The code an authenticator app holding ``secret`` shows at Unix time ``at``."""
    return format_hotp_value(hotp_value(secret, int(at) // TOTP_PERIOD))


def totp_code(user: Any, *, at: float) -> str:
    """The code ``user``'s authenticator app shows at Unix time ``at``."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return code_for(decrypt(authenticator.data["secret"]), at=at)


class PinnedClock:
    """The clock allauth's TOTP check reads, pinned to the middle of the
    current 30-second window. allauth refuses a code used already, so a second
    code must come from a later window: ``next_window`` moves there."""

    def __init__(self) -> None:
        self.now = float((int(time.time()) // TOTP_PERIOD) * TOTP_PERIOD + TOTP_PERIOD // 2)

    def time(self) -> float:
        return self.now

    def next_window(self) -> None:
        self.now += TOTP_PERIOD
