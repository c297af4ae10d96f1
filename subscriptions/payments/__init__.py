"""Payment providers behind one interface (``base.PaymentProvider``): the
sandbox, the default everywhere, and Stripe Checkout, chosen by settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from subscriptions.payments.base import (
    CreatedPayment,
    InvalidCallback,
    PaymentProvider,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
)

__all__ = [
    "CreatedPayment",
    "InvalidCallback",
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentUpdate",
    "SavedMethod",
    "SetupResult",
    "decline_message",
    "get_provider",
]


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider called ``name`` in ``PAYMENT_PROVIDERS``, or the one new
    payments use (``PAYMENT_PROVIDER``). LookupError for a name we do not know."""
    name = name or settings.PAYMENT_PROVIDER
    try:
        path = settings.PAYMENT_PROVIDERS[name]
    except KeyError:
        raise LookupError(f"no payment provider called {name!r}") from None
    provider: PaymentProvider = import_string(path)()
    return provider


def decline_message(reason: str) -> str:
    """Why a payment did not go through, in words a customer can act on."""
    messages = {
        "card_declined": _("Your bank declined the card. Try another card or contact your bank."),
        "insufficient_funds": _("There is not enough money on the card. Try another card."),
        "expired_card": _("The card has expired. Try another card."),
        "amount_mismatch": _("The amount paid did not match the order. It will be refunded."),
        "not_renewable": _("The line can no longer be renewed. The payment will be refunded."),
    }
    return messages.get(reason, _("The payment was not completed. Nothing was charged."))
