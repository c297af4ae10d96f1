"""System checks for the payment set-up. They run with every management
command that checks (``check``, ``check --deploy``, ``migrate``,
``runserver``), and ``portal.wsgi`` and the Celery worker run them before
serving, so a deployment that would take pretend money, or none, does not
start."""

from __future__ import annotations

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
    real_only = settings.PAYMENTS_MUST_BE_REAL
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


def refuse_to_start_on_unsafe_payments() -> None:
    """Raise when the payment check finds an error: web and worker
    processes call this as they start, since gunicorn and Celery run no
    system checks of their own."""
    errors = [message for message in check_payment_provider() if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{error.msg} {error.hint}" for error in errors))
