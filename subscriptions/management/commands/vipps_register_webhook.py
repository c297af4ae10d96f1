"""Register the portal's Vipps MobilePay webhook with Vipps's Webhooks API
and print the secret Vipps signs it with (for VIPPS_WEBHOOK_SECRET): run
once per merchant serial number, with the other VIPPS_* keys set."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from subscriptions.payments import PaymentProviderError
from subscriptions.payments.vipps import VippsProvider, webhook_register


class Command(BaseCommand):
    help = "Register /payments/callback/vipps/ for Vipps's ePayment events and print the webhook's secret."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--site", default=settings.SITE_URL, help="The portal's public address (https://…).")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["site"].rstrip("/") + reverse("payment_callback", args=[VippsProvider.name])
        try:
            webhook_id, secret = webhook_register(provider=VippsProvider(), url=url)
        except PaymentProviderError as error:
            raise CommandError(f"Vipps did not register the webhook: {error}") from error
        self.stdout.write(f"Registered {url} as webhook {webhook_id}.")
        self.stdout.write(f"Set VIPPS_WEBHOOK_SECRET={secret} (shown this once).")
