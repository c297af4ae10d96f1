"""Our change to allauth's sign-in stages: a sign-up with an email address is
not signed in until the address is confirmed.

Verification stays optional for everyone else (a customer may sign up with a
mobile number only, which allauth's "mandatory" cannot allow). But a new
address signed straight in while a taken one was told "check your email"
would let anyone find out which addresses have accounts; now both answer
"check your email", and the owner of a taken one is told of the attempt."""

from __future__ import annotations

from typing import Any

from allauth.account import app_settings
from allauth.account.stages import EmailVerificationStage


class SignupEmailVerificationStage(EmailVerificationStage):
    def handle(self) -> tuple[Any, bool]:
        login = self.login
        if (
            login.signup
            and login.user.email
            and login.email_verification == app_settings.EmailVerificationMethod.OPTIONAL
        ):
            login.email_verification = app_settings.EmailVerificationMethod.MANDATORY
        return super().handle()
