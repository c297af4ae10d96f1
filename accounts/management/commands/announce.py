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

        lines = [
            "",
            "=" * 64,
            f"  Nordlys Mobil portal is up: {url}",
            f"  Support admin: {url}/admin/",
            "",
            "  Demo logins:",
        ]
        for login in DEMO_LOGINS:
            lines.append(f"    {login.role:<22} {login.email:<28} {login.password}")
        lines += ["", "  Mail lands in var/mail/, SMS in var/sms/ (and both on this console).", "=" * 64, ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        if not options["exit"]:
            signal.pause()
