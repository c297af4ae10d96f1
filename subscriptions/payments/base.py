"""The one interface every payment provider speaks.

A provider creates a payment on its hosted page (with our idempotency key, so
asking twice makes one payment), tells us about it in signed callbacks,
answers when we ask for a payment's status, and refunds. Callbacks and status
answers both come back as a ``PaymentUpdate``; its ``event_id`` is what makes
a repeated one a no-op in our books.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from subscriptions.models import PaymentState


class PaymentProviderError(Exception):
    """The provider could not be reached or refused the request: nothing was
    charged by this call, and it may be tried again."""


class PaymentInProgress(PaymentProviderError):
    """The provider is still busy with an earlier request made with the same
    idempotency key (a second submit while the first one waits): asked again
    once that one is done, it answers with the same payment."""


class InvalidCallback(Exception):
    """A callback whose signature, timestamp or shape is wrong: ignore it."""


class MalformedUpdate(ValueError):
    """A field of what a provider sent that we will not take as it is (of
    the wrong type, out of range, too long, or with characters no column
    stores). Read from a callback it makes the callback invalid; from an
    answer to our own request, the provider's answer is unusable."""


# No provider takes more than eight digits of øre in one payment (Stripe's
# limit): anything above is nonsense.
MAX_AMOUNT_ORE = 99_999_999
ID_LENGTH = 255
REASON_LENGTH = 40
# How deep a payload kept as it came may nest (Stripe's events are about
# eight levels deep).
PAYLOAD_DEPTH = 32


def checked_text(name: str, value: Any, *, max_length: int = ID_LENGTH, required: bool = True) -> str:
    """An id or code from a provider: a string of printable characters (no
    NUL, no control characters, no lone surrogates), of at most
    ``max_length`` characters and, if ``required``, not empty."""
    if not isinstance(value, str):
        raise MalformedUpdate(f"{name} is not a string: {type(value).__name__}")
    if len(value) > max_length:
        raise MalformedUpdate(f"{name} is longer than {max_length} characters")
    if required and not value:
        raise MalformedUpdate(f"{name} is empty")
    if not value.isprintable():
        raise MalformedUpdate(f"{name} holds characters that are not printable")
    return value


def checked_amount(name: str, value: Any) -> int | None:
    """An amount in øre: None, or a whole number from 0 to MAX_AMOUNT_ORE
    (a JSON float or boolean is not one)."""
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedUpdate(f"{name} is not a whole number: {type(value).__name__}")
    if not 0 <= value <= MAX_AMOUNT_ORE:
        raise MalformedUpdate(f"{name} is out of range")
    return value


def checked_payload(value: Any) -> dict[str, Any]:
    """A message kept as it came: a JSON object that every database stores
    (no NUL or lone surrogate in any string, no infinite or NaN number, not
    nested deeper than PAYLOAD_DEPTH). Walked without recursion."""
    if not isinstance(value, dict):
        raise MalformedUpdate(f"payload is not an object: {type(value).__name__}")
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            _check_scalar(item)
            continue
        if depth > PAYLOAD_DEPTH:
            raise MalformedUpdate(f"payload is nested deeper than {PAYLOAD_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)
    return value


def _check_scalar(item: Any) -> None:
    if isinstance(item, str):
        if "\x00" in item:
            raise MalformedUpdate("payload holds a NUL character")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedUpdate("payload holds a lone surrogate") from None
    elif isinstance(item, float):
        if not math.isfinite(item):
            raise MalformedUpdate("payload holds a number that is infinite or not a number")
    elif item is not None and not isinstance(item, int):
        # int covers bool; anything else did not come from JSON.
        raise MalformedUpdate(f"payload holds a {type(item).__name__}")


@dataclass(frozen=True)
class CreatedPayment:
    payment_id: str
    # Where the customer's browser goes to pay.
    redirect_url: str


@dataclass(frozen=True)
class PaymentUpdate:
    """What a provider says about a payment, checked field by field when it
    is made (MalformedUpdate), so nothing unchecked reaches our books."""

    event_id: str
    # Empty only for a saved card's charge the provider refused without
    # making a payment.
    payment_id: str
    # Our order's public id, as we gave it to the provider.
    reference: str
    state: PaymentState
    amount_ore: int | None = None
    # A decline code (see subscriptions.payments.decline_message).
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked_text("event id", self.event_id)
        checked_text("payment id", self.payment_id, required=False)
        checked_text("reference", self.reference, required=False)
        if not isinstance(self.state, str) or self.state not in PaymentState.values:
            raise MalformedUpdate(f"state is not a payment state: {self.state!r}"[:100])
        checked_amount("amount", self.amount_ore)
        checked_text("reason", self.reason, max_length=REASON_LENGTH, required=False)
        checked_payload(self.payload)


@dataclass(frozen=True)
class SetupUpdate:
    """A signed callback saying that saving a card has moved on (saved, or
    given up). It carries no verdict of its own: what the setup came to is
    asked of the provider (``fetch_card_setup``), as on the browser's return."""

    event_id: str
    setup_id: str
    # Our card setup's public id, as we gave it to the provider.
    reference: str

    def __post_init__(self) -> None:
        checked_text("event id", self.event_id)
        checked_text("setup id", self.setup_id)
        checked_text("reference", self.reference)


@dataclass(frozen=True)
class AgreementUpdate:
    """A signed callback saying that a saved method the provider keeps (a
    Vipps MobilePay agreement) can no longer be charged: stopped in the app
    or by the provider, or expired."""

    event_id: str
    method_id: str
    # The provider's word for what happened (STOPPED, EXPIRED), for the audit row.
    status: str

    def __post_init__(self) -> None:
        checked_text("event id", self.event_id)
        checked_text("payment method id", self.method_id)
        checked_text("status", self.status, max_length=20)


@dataclass(frozen=True)
class SavedMethod:
    """A card the provider keeps for charges without the customer present."""

    method_id: str
    customer_id: str = ""
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None

    def __post_init__(self) -> None:
        checked_text("payment method id", self.method_id)
        checked_text("customer id", self.customer_id, required=False)
        checked_text("card brand", self.brand, max_length=20, required=False)
        last4 = checked_text("last four digits", self.last4, max_length=4, required=False)
        if last4 and not (last4.isascii() and last4.isdigit()):
            raise MalformedUpdate("last four digits are not digits")
        for name, value, low, high in (
            ("expiry month", self.exp_month, 1, 12),
            ("expiry year", self.exp_year, 1, 9999),
        ):
            if value is not None and (type(value) is not int or not low <= value <= high):
                raise MalformedUpdate(f"{name} is not a number from {low} to {high}")


@dataclass(frozen=True)
class SetupResult:
    """How saving a card went: still open, saved (with the card), or not."""

    state: PaymentState
    method: SavedMethod | None = None


class PaymentProvider(Protocol):
    name: str
    # The settings it cannot work without (its keys); the system check
    # refuses to start a deployment whose provider lacks one.
    required_settings: tuple[str, ...]

    def create_payment(
        self,
        *,
        reference: str,
        amount_ore: int,
        description: str,
        idempotency_key: str,
        return_url: str,
        cancel_url: str,
        notify_url: str,
        language: str,
        expires_at: datetime,
    ) -> CreatedPayment:
        """A hosted payment. The browser comes back to ``return_url``, or to
        ``cancel_url`` when the customer gives up on the provider's page; a
        provider that can closes the payment at ``expires_at``."""
        ...

    def verify_callback(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> PaymentUpdate | SetupUpdate | AgreementUpdate | None:
        """What a signed callback says about a payment, a card setup or a
        saved method that ended (None for an event about something else);
        InvalidCallback if it is not genuine."""
        ...

    def fetch_status(self, *, payment_id: str) -> PaymentUpdate: ...

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """Close a hosted payment that is still open, so it can no longer be
        paid, and say how it stands afterwards: CANCELLED, or PAID if it was
        paid first."""
        ...

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        """Refund; returns the provider's refund id."""
        ...

    # --- saved cards, for auto-renew ---

    def create_card_setup(
        self,
        *,
        reference: str,
        customer_reference: str,
        customer_email: str,
        idempotency_key: str,
        return_url: str,
        language: str,
    ) -> CreatedPayment:
        """A hosted page where the customer saves a card for later charges."""
        ...

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        """PAID with the card once saved; PENDING while open; CANCELLED or
        DECLINED when it will not be."""
        ...

    def charge_saved_card(
        self,
        *,
        method: SavedMethod,
        reference: str,
        amount_ore: int,
        description: str,
        idempotency_key: str,
        pay_by: date | None = None,
    ) -> PaymentUpdate:
        """Charge a saved card now, without the customer; the same key again
        returns the first charge's outcome instead of charging twice. A
        provider that takes the money on a later day (Vipps MobilePay's
        Recurring API) takes it no later than ``pay_by`` (an Oslo date)
        where it can."""
        ...

    def detach_saved_card(self, *, method: SavedMethod) -> None:
        """Take a saved card off the customer at the provider, so it can never
        be charged again. A card already detached, or unknown to the
        provider, counts as done (a retry is harmless)."""
        ...
