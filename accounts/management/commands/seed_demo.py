"""Load the demo people and their lines (idempotent: run it as often as you like)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.demo import demo_identity_seed, demo_seed
from subscriptions.demo import demo_lines_seed, demo_offers_seed


class Command(BaseCommand):
    help = "Create or refresh the demo support agent, supervisor and customers, the plan catalogue and the demo lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fresh-lines",
            action="store_true",
            help="Retire the demo lines (quarantined, their history kept) and build new ones as of now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for login, created in demo_seed():
            state = "created" if created else "exists"
            self.stdout.write(f"{state:<8} {login.role:<22} {login.email:<28} {login.password}")
            if login.totp_secret:
                self.stdout.write(f"         two-factor (TOTP) secret {login.totp_secret}")
        document = demo_identity_seed()
        if document is not None:
            self.stdout.write(
                f"created  a pending identity document for {document.owner.email} (admin: identity documents)"
            )
        result = demo_lines_seed(fresh=options["fresh_lines"])
        for line in result.lines_created:
            self.stdout.write(f"created  line {line.number:<17} {line.owner_email:<28} {line.story}")
        self.stdout.write(
            f"plans: {result.plans_created} created; lines: {len(result.lines_created)} created; "
            f"spare eSIM profiles: {result.spare_profiles_created} created; "
            f"numbers in the pool: {result.pool_numbers_created} added"
        )
        offers = demo_offers_seed()
        if offers.promo_created:
            self.stdout.write(f"created  promotion code {offers.promo_code}: 20 % off one renewal per customer")
        if offers.voucher_codes:
            self.stdout.write("created  demo vouchers worth 100 kr (shown this once, like the printer's CSV):")
            for code in offers.voucher_codes:
                self.stdout.write(f"         {code}")
            self.stdout.write("         (more: manage.py demo_vouchers)")
