"""Make and print a new batch of demo vouchers: the first batch's codes were
printed once, by the first seed, and are stored only hashed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from subscriptions.demo import DEMO_VOUCHER_AMOUNT_ORE, DEMO_VOUCHER_COUNT, demo_vouchers_make


class Command(BaseCommand):
    help = f"Make {DEMO_VOUCHER_COUNT} demo vouchers worth {DEMO_VOUCHER_AMOUNT_ORE // 100} kr and print their codes."

    def handle(self, *args: Any, **options: Any) -> None:
        codes = demo_vouchers_make()
        if not codes:
            raise CommandError("No member of staff to make the batch: run `manage.py seed_demo` first.")
        self.stdout.write(f"New demo vouchers worth {DEMO_VOUCHER_AMOUNT_ORE // 100} kr (shown this once):")
        for code in codes:
            self.stdout.write(f"  {code}")
