"""Our Vipps MobilePay adapter speaking to the sandbox's pretend Vipps
(``sandbox.vipps``) instead of the network: every request and answer is the
real adapter's, only the transport differs, so every path of a Vipps payment
runs in development."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from sandbox import vipps as sandbox_vipps
from subscriptions.payments.vipps import VippsProvider, answer_read
from subscriptions.payments.vipps_recurring import VippsRecurringProvider


class SandboxVippsProvider(VippsProvider):
    name = "sandbox_vipps"
    required_settings: tuple[str, ...] = ("SANDBOX_VIPPS_WEBHOOK_SECRET",)

    @property
    def webhook_secret(self) -> str:
        return str(settings.SANDBOX_VIPPS_WEBHOOK_SECRET)

    @property
    def merchant_serial_number(self) -> str:
        return sandbox_vipps.MSN

    def create_payment(self, **arguments: Any) -> Any:
        # The approval page is served by the site the portal gave as its own.
        url = urlsplit(arguments["return_url"])
        self._site = f"{url.scheme}://{url.netloc}"
        return super().create_payment(**arguments)

    def _call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, idempotency_key: str = ""
    ) -> dict[str, Any]:
        status, answer = sandbox_vipps.vipps_api(
            method=method,
            path=path,
            body=body,
            idempotency_key=idempotency_key,
            site=getattr(self, "_site", settings.SITE_URL),
        )
        return answer_read(status, answer, what=f"{method} {path}")


class SandboxVippsRecurringProvider(SandboxVippsProvider, VippsRecurringProvider):
    """The Recurring adapter (auto-renew with Vipps MobilePay) speaking to
    the sandbox's pretend Vipps."""

    name = "sandbox_recurring"

    def create_card_setup(self, **arguments: Any) -> Any:
        url = urlsplit(arguments["return_url"])
        self._site = f"{url.scheme}://{url.netloc}"
        return super().create_card_setup(**arguments)
