"""Print the two-factor code a demo staff login's authenticator app would show
now, for trying the admin without a phone. Knows only the demo logins'
public secrets, never a real account's."""

from typing import Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Print the current two-factor (TOTP) code of a demo staff login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", nargs="?", default="support@nordlys.test")

    def handle(self, *args: Any, **options: Any) -> None:
        secrets = {login.email: login.totp_secret for login in DEMO_LOGINS if login.totp_secret}
        secret = secrets.get(options["email"])
        if secret is None:
            raise CommandError(f"Not a demo staff login; one of: {', '.join(secrets)}")
        now = int(timezone.now().timestamp())
        code = format_hotp_value(hotp_value(secret, now // mfa_settings.TOTP_PERIOD))
        left = mfa_settings.TOTP_PERIOD - now % mfa_settings.TOTP_PERIOD
        self.stdout.write(f"{code}  (valid for {left} more seconds)")
