"""System checks for the outside parts: the payment provider, the SM-DP+ and
the network's provisioning. They run with every management command that
checks (``check``, ``check --deploy``, ``migrate``, ``runserver``), and
``portal.wsgi`` and the Celery worker run them before serving, so a
deployment that would take pretend money, or none, or hand out pretend
eSIMs, does not start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

TAG = "payments"
SANDBOX = "sandbox"


@checks.register(TAG)
def check_payment_provider(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The provider new payments go to exists and has its keys; where money
    must be real, it is not the sandbox unless the staging switch says so."""
    name = settings.PAYMENT_PROVIDER
    real_only = not settings.PRETEND_PARTS_ALLOWED
    if real_only and name == SANDBOX and SANDBOX not in settings.PAYMENT_PROVIDERS:
        return [
            checks.Error(
                "PAYMENT_PROVIDER=sandbox takes no money: every renewal and top-up would be credited free.",
                hint="Set PAYMENT_PROVIDER=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. Only a staging "
                "site that means to accept pretend payments sets SANDBOX_PAYMENTS_TAKE_NO_MONEY=true.",
                id="subscriptions.E001",
            )
        ]
    if not name:
        return [
            checks.Error(
                "PAYMENT_PROVIDER is not set, so no payment could be taken.",
                hint="Set PAYMENT_PROVIDER=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
                id="subscriptions.E002",
            )
        ]
    if name not in settings.PAYMENT_PROVIDERS:
        real = sorted(provider for provider in settings.PAYMENT_PROVIDERS if provider != SANDBOX)
        return [
            checks.Error(
                f"PAYMENT_PROVIDER is {name!r}, which is none of the providers configured here.",
                hint=f"Set PAYMENT_PROVIDER to one of: {', '.join(real)} (with its keys).",
                id="subscriptions.E003",
            )
        ]
    provider = import_string(settings.PAYMENT_PROVIDERS[name])
    missing = [setting for setting in provider.required_settings if not str(getattr(settings, setting, "")).strip()]
    if missing:
        return [
            checks.Error(
                f"PAYMENT_PROVIDER={name} needs {' and '.join(missing)}.",
                hint="Set them in the environment (the provider's dashboard gives them).",
                id="subscriptions.E004",
            )
        ]
    if real_only and SANDBOX in settings.PAYMENT_PROVIDERS:
        return [
            checks.Warning(
                "SANDBOX_PAYMENTS_TAKE_NO_MONEY is on: the sandbox's hosted page credits payments with no money "
                "taken. Never on a site customers use.",
                id="subscriptions.W001",
            )
        ]
    return []


VIPPS = "vipps"
SANDBOX_VIPPS = "sandbox_vipps"
VIPPS_RECURRING = "vipps_recurring"
# Vipps MobilePay's own hosts: its test environment and production.
VIPPS_HOSTS = ("https://apitest.vipps.no", "https://api.vipps.no")


@checks.register(TAG)
def check_vipps(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Vipps MobilePay, where offered, is a provider we know with all of its
    keys; a deployment with some of its keys but not all is refused rather
    than left quietly without Vipps; where money must be real it is not the
    sandbox's pretend Vipps, and it speaks to one of Vipps's hosts."""
    name = str(settings.VIPPS_PAYMENT_PROVIDER)
    given = [setting for setting in settings.VIPPS_SETTINGS if str(getattr(settings, setting, "")).strip()]
    missing = [setting for setting in settings.VIPPS_SETTINGS if setting not in given]
    real_only = not settings.PRETEND_PARTS_ALLOWED
    recurring = str(settings.VIPPS_RECURRING_PROVIDER)
    if recurring and recurring not in settings.PAYMENT_PROVIDERS:
        return [
            checks.Error(
                f"VIPPS_RECURRING_PROVIDER is {recurring!r}, which is none of the providers configured here.",
                hint="Set VIPPS_RECURRING_PROVIDER=vipps_recurring with the VIPPS_* keys, or leave it empty.",
                id="subscriptions.E045",
            )
        ]
    # Its webhooks (agreements stopped, charges taken) have a secret of their own.
    recurring_missing = missing + [
        setting for setting in ("VIPPS_RECURRING_WEBHOOK_SECRET",) if not str(getattr(settings, setting, "")).strip()
    ]
    if recurring == VIPPS_RECURRING and recurring_missing:
        return [
            checks.Error(
                f"Auto-renew with Vipps MobilePay is half configured: it needs {' and '.join(recurring_missing)}.",
                hint="Set every VIPPS_* key (`manage.py vipps_register_webhook` gives both webhook secrets), "
                "or leave VIPPS_RECURRING_PROVIDER empty.",
                id="subscriptions.E043",
            )
        ]
    if name == SANDBOX_VIPPS and (real_only and SANDBOX_VIPPS not in settings.PAYMENT_PROVIDERS):
        return [
            checks.Error(
                "VIPPS_PAYMENT_PROVIDER=sandbox_vipps takes no money: every Vipps payment would be credited free.",
                hint="Set the VIPPS_* keys for the real Vipps MobilePay, or leave VIPPS_PAYMENT_PROVIDER empty.",
                id="subscriptions.E041",
            )
        ]
    if name and name not in settings.PAYMENT_PROVIDERS:
        return [
            checks.Error(
                f"VIPPS_PAYMENT_PROVIDER is {name!r}, which is none of the providers configured here.",
                hint="Set VIPPS_PAYMENT_PROVIDER=vipps with the VIPPS_* keys, or leave it empty.",
                id="subscriptions.E042",
            )
        ]
    if (name == VIPPS or given) and missing:
        return [
            checks.Error(
                f"Vipps MobilePay is half configured: it needs {' and '.join(missing)}.",
                hint="Set every VIPPS_* key (the merchant portal gives them; the webhook secret comes from "
                "registering the webhook), or none to leave Vipps MobilePay off.",
                id="subscriptions.E043",
            )
        ]
    if name == VIPPS and real_only and str(settings.VIPPS_BASE_URL).rstrip("/") not in VIPPS_HOSTS:
        return [
            checks.Error(
                f"VIPPS_BASE_URL is {settings.VIPPS_BASE_URL!r}, which is not Vipps MobilePay's.",
                hint=f"Set it to {VIPPS_HOSTS[1]} (or {VIPPS_HOSTS[0]} for its test environment).",
                id="subscriptions.E044",
            )
        ]
    return []


@dataclass(frozen=True)
class Part:
    """An outside part chosen by a setting, as the system check sees it."""

    what: str
    setting: str
    providers_setting: str
    # The staging switch that lists the sandbox's pretend one in production.
    switch: str
    # The sandbox's one does this instead of the real thing.
    pretend: str
    # Check ids are subscriptions.E0<n>1 … E0<n>5 and W0<n>1.
    number: int


ESIM_PARTS = (
    Part(
        what="SM-DP+",
        setting="SMDP_PROVIDER",
        providers_setting="SMDP_PROVIDERS",
        switch="SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND",
        pretend="makes no real eSIM profile: a customer would be given an activation code no phone can download",
        number=1,
    ),
    Part(
        what="network provisioning",
        setting="NETWORK_PROVIDER",
        providers_setting="NETWORK_PROVIDERS",
        switch="SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND",
        pretend="blocks and moves no real number: a lost phone's line would stay open",
        number=2,
    ),
)
REAL_CHOICES = {"SMDP_PROVIDER": "es2plus", "NETWORK_PROVIDER": "http"}


@checks.register(TAG)
def check_esim_parts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The SM-DP+ and the network adapter exist and have their settings;
    where parts must be real, neither is the sandbox's (unless the staging
    switch says so) and their URLs are https."""
    messages: list[checks.CheckMessage] = []
    for part in ESIM_PARTS:
        messages.extend(_check_part(part))
    return messages


def _check_part(part: Part) -> list[checks.CheckMessage]:
    real_only = not settings.PRETEND_PARTS_ALLOWED
    name = getattr(settings, part.setting)
    providers = getattr(settings, part.providers_setting)
    real = REAL_CHOICES[part.setting]
    code = f"subscriptions.E0{part.number}"
    if real_only and name == SANDBOX and SANDBOX not in providers:
        return [
            checks.Error(
                f"{part.setting}=sandbox {part.pretend}.",
                hint=f"Set {part.setting}={real} with its settings. Only a staging site that means to use the "
                f"sandbox's pretend one sets {part.switch}=true.",
                id=f"{code}1",
            )
        ]
    if not name:
        return [
            checks.Error(
                f"{part.setting} is not set, so no eSIM could be provisioned.",
                hint=f"Set {part.setting}={real} with its settings (see the README).",
                id=f"{code}2",
            )
        ]
    if name not in providers:
        return [
            checks.Error(
                f"{part.setting} is {name!r}, which is none of the {part.what} adapters configured here.",
                hint=f"Set {part.setting} to one of: {', '.join(sorted(p for p in providers if p != SANDBOX))}.",
                id=f"{code}3",
            )
        ]
    adapter = import_string(providers[name])
    missing = [setting for setting in adapter.required_settings if not str(getattr(settings, setting, "")).strip()]
    if missing:
        return [
            checks.Error(
                f"{part.setting}={name} needs {' and '.join(missing)}.",
                hint="Set them in the environment (see the README).",
                id=f"{code}4",
            )
        ]
    plain = [
        setting for setting in adapter.https_settings if not str(getattr(settings, setting)).startswith("https://")
    ]
    if real_only and plain:
        return [
            checks.Error(
                f"{' and '.join(plain)} must be an https:// address.",
                hint=f"The {part.what} is reached over TLS only.",
                id=f"{code}5",
            )
        ]
    if real_only and SANDBOX in providers:
        return [
            checks.Warning(
                f"{part.switch} is on: the sandbox's {part.what} {part.pretend}. Never on a site customers use.",
                id=f"subscriptions.W0{part.number}1",
            )
        ]
    return []


# The development default of SMS_INBOUND_SECRET (portal/settings/base.py): public, so never real.
PUBLIC_SMS_SECRET = "sandbox-sms-inbound-key"  # noqa: S105


@checks.register(TAG)
def check_sms_inbound(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With SMS commands on, the key the gateway signs received texts with is
    set, and where parts must be real it is not the public development one:
    anyone could otherwise text as any customer (their balance, their
    vouchers)."""
    if not settings.SMS_INBOUND_ENABLED:
        return []
    secret = str(settings.SMS_INBOUND_SECRET).strip()
    if not secret or (not settings.PRETEND_PARTS_ALLOWED and secret == PUBLIC_SMS_SECRET):
        return [
            checks.Error(
                "SMS_INBOUND_ENABLED is on without SMS_INBOUND_SECRET, so received texts could not be told from "
                "forged ones.",
                hint="Set SMS_INBOUND_SECRET to the key shared with the SMS gateway, or turn SMS_INBOUND_ENABLED off.",
                id="subscriptions.E031",
            )
        ]
    if not str(settings.SMS_SERVICE_NUMBER).strip():
        return [
            checks.Error(
                "SMS_INBOUND_ENABLED is on without SMS_SERVICE_NUMBER: replies would come from no number and the "
                "help text would name none.",
                hint="Set SMS_SERVICE_NUMBER to the number customers text commands to.",
                id="subscriptions.E032",
            )
        ]
    return []


def refuse_to_start_on_pretend_parts() -> None:
    """Raise when a check here finds an error: web and worker processes
    call this as they start, since gunicorn and Celery run no system checks
    of their own."""
    errors = [
        message
        for message in [*check_payment_provider(), *check_vipps(), *check_esim_parts(), *check_sms_inbound()]
        if message.is_serious()
    ]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{error.msg} {error.hint}" for error in errors))
