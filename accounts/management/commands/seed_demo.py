"""Load the demo people (idempotent: run it as often as you like)."""

from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import demo_seed


class Command(BaseCommand):
    help = "Create or refresh the demo support agent and customers."

    def handle(self, *args: Any, **options: Any) -> None:
        for login, created in demo_seed():
            state = "created" if created else "exists"
            self.stdout.write(f"{state:<8} {login.role:<22} {login.email:<28} {login.password}")
