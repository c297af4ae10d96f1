"""Payment providers behind one interface (``base.PaymentProvider``): the
sandbox, the default everywhere, and Stripe Checkout, chosen by settings."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from subscriptions.payments.base import (
    AgreementUpdate,
    CreatedPayment,
    InvalidCallback,
    PaymentInProgress,
    PaymentProvider,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
)

__all__ = [
    "AgreementUpdate",
    "CreatedPayment",
    "InvalidCallback",
    "PaymentInProgress",
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentUpdate",
    "SavedMethod",
    "SetupResult",
    "SetupUpdate",
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


# Decline codes that say the same thing to the customer. Stripe advises
# showing a card reported lost or stolen, or suspected of fraud, as a plain
# decline: the customer's bank tells its owner the rest.
SAME_AS = {
    "generic_decline": "card_declined",
    "lost_card": "card_declined",
    "stolen_card": "card_declined",
    "pickup_card": "card_declined",
    "restricted_card": "card_declined",
    "fraudulent": "card_declined",
    "merchant_blacklist": "card_declined",
    "security_violation": "card_declined",
    "transaction_not_allowed": "card_declined",
    "invalid_cvc": "incorrect_cvc",
    "incorrect_number": "invalid_number",
    "withdrawal_count_limit_exceeded": "card_velocity_exceeded",
    "try_again_later": "processing_error",
    "issuer_not_available": "processing_error",
    "authentication_not_handled": "authentication_required",
}


def decline_message(reason: str) -> str:
    """Why a payment did not go through, in words a customer can act on.
    ``reason`` is our own code or the provider's (Stripe's decline codes and
    error codes); one we do not know gets a general answer."""
    messages = {
        "card_declined": _("Your bank declined the card. Try another card or contact your bank."),
        "do_not_honor": _(
            "Your bank declined the payment without giving a reason. Contact your bank, or try another card."
        ),
        "insufficient_funds": _("There is not enough money on the card. Try another card."),
        "expired_card": _("The card has expired. Try another card."),
        "incorrect_cvc": _("The security code (CVC) was wrong. Check the three digits on the back of the card."),
        "invalid_number": _("The card number is not right. Check it and try again."),
        "invalid_expiry_month": _("The card's expiry date is not right. Check it and try again."),
        "invalid_expiry_year": _("The card's expiry date is not right. Check it and try again."),
        "card_velocity_exceeded": _("The card has reached its spending limit. Try another card or contact your bank."),
        "authentication_required": _(
            "Your bank wanted you to confirm the payment, and it was not confirmed. Try again and confirm it "
            "in your bank's app or by code, or use another card."
        ),
        "processing_error": _("The bank could not handle the payment just now. Try again in a moment."),
        "resource_missing": _("The saved card can no longer be used. Pay with a card, or save a new one."),
        "insufficient_balance": _("The prepaid balance does not cover the price. Pay by card or top up first."),
        "amount_mismatch": _("The amount paid did not match the order. It will be refunded."),
        "not_renewable": _("The line can no longer be renewed. The payment will be refunded."),
        # Paid from the balance or made free by a promotion code: no money moved.
        "not_renewable_unpaid": _("The line can no longer be renewed. Nothing was charged."),
        "line_closed": _(
            "The line is being cancelled or is cancelled, so it cannot be topped up. The payment will be refunded."
        ),
        # Vipps MobilePay's ends of a payment not taken (see payments.vipps).
        "vipps_aborted": _("You stopped the payment in Vipps MobilePay. Nothing was charged."),
        "vipps_expired": _("The payment was not approved in Vipps MobilePay in time. Nothing was charged."),
        "vipps_terminated": _("The payment was stopped before you approved it. Nothing was charged."),
        "vipps_cancelled": _("The reserved amount was released in Vipps MobilePay. Nothing was charged."),
        "vipps_charge_failed": _(
            "Vipps MobilePay could not take the payment. Check the agreement and your card in the Vipps MobilePay app."
        ),
        "replacement_closed": _(
            "The replacement request was stopped or closed before the payment arrived. The payment will be refunded."
        ),
    }
    reason = SAME_AS.get(reason, reason)
    return messages.get(reason, _("The payment was not completed. Nothing was charged."))
