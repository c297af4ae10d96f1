"""Register the portal's Vipps MobilePay webhooks with Vipps's Webhooks API
and print the secrets Vipps signs them with: the ePayment events at
/payments/callback/vipps/ (VIPPS_WEBHOOK_SECRET) and the Recurring API's
agreement and charge events at /payments/callback/vipps_recurring/
(VIPPS_RECURRING_WEBHOOK_SECRET). Run once per merchant serial number, with
the other VIPPS_* keys set."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from subscriptions.payments import PaymentProviderError
from subscriptions.payments.vipps import WEBHOOK_EVENTS, VippsProvider, webhook_register
from subscriptions.payments.vipps_recurring import RECURRING_WEBHOOK_EVENTS, VippsRecurringProvider


class Command(BaseCommand):
    help = (
        "Register /payments/callback/vipps/ for Vipps's ePayment events and /payments/callback/vipps_recurring/ "
        "for its Recurring events, and print each webhook's secret."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--site", default=settings.SITE_URL, help="The portal's public address (https://…).")

    def handle(self, *args: Any, **options: Any) -> None:
        site = options["site"].rstrip("/")
        registrations = (
            (VippsProvider.name, WEBHOOK_EVENTS, "VIPPS_WEBHOOK_SECRET"),
            (VippsRecurringProvider.name, RECURRING_WEBHOOK_EVENTS, "VIPPS_RECURRING_WEBHOOK_SECRET"),
        )
        for name, events, setting in registrations:
            url = site + reverse("payment_callback", args=[name])
            try:
                webhook_id, secret = webhook_register(provider=VippsProvider(), url=url, events=events)
            except PaymentProviderError as error:
                raise CommandError(f"Vipps did not register the webhook {url}: {error}") from error
            self.stdout.write(f"Registered {url} as webhook {webhook_id}.")
            self.stdout.write(f"Set {setting}={secret} (shown this once).")
