"""Wait until the portal answers /healthz, then print where it is and how to
sign in. Stays up afterwards (honcho stops every process when one exits)."""

import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import DEMO_LOGINS
from accounts.phone import format_phone
from subscriptions.demo import DEMO_PROMO_CODE
from subscriptions.tasks import send_auto_renew_notices, send_expiry_reminders


class Command(BaseCommand):
    help = "Wait for the portal to be healthy, then print its URL and the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--timeout", type=float, default=120)
        parser.add_argument("--exit", action="store_true", help="exit once announced instead of staying up")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"].rstrip("/")
        deadline = time.monotonic() + options["timeout"]
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=3) as response:  # noqa: S310
                    body = json.loads(response.read())
                    if body.get("status") == "ok":
                        break
                    last = json.dumps(body)
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.5)
        else:
            raise CommandError(f"The portal did not become healthy at {url}/healthz: {last}")

        # Beat runs the reminder sweeps first after their interval; start them
        # now, so the demo's due reminders arrive while someone is looking.
        send_expiry_reminders.delay()
        send_auto_renew_notices.delay()
        self.stdout.write("\n".join(banner(url)))
        self.stdout.flush()
        if not options["exit"]:
            signal.pause()


def banner(url: str) -> list[str]:
    """Where the portal is, who can sign in and how, and what to try."""
    lines = [
        "",
        "=" * 78,
        f"  Nordlys Mobil portal is up: {url}",
        f"  Support admin: {url}/admin/ (staff sign in with a two-factor code)",
        "",
        "  Demo logins (email, or the mobile number, and the password):",
    ]
    for login in DEMO_LOGINS:
        phone = format_phone(login.phone) if login.phone else ""
        lines.append(f"    {login.role:<19} {login.email:<27} {phone:<15} {login.password}")
    lines += ["", "  Staff two-factor: add the secret to an authenticator app, or print the code:"]
    for login in DEMO_LOGINS:
        if login.totp_secret:
            lines.append(f"    {login.email:<27} {login.totp_secret}")
    lines += [
        "    .venv/bin/python manage.py demo_totp_code support@nordlys.test",
        "",
        f"  Promotion code {DEMO_PROMO_CODE}: 20 % off one renewal per customer.",
        "  Vouchers: .venv/bin/python manage.py demo_vouchers makes and prints new codes.",
        "  Mail lands in var/mail/, SMS in var/sms/ (both summed up on this console).",
        f"  Pretend phone (text BALANCE or 余额 to the service number): {url}/sandbox/phone/",
        "=" * 78,
        "",
    ]
    return lines
