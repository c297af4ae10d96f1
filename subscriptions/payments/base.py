"""The one interface every payment provider speaks.

A provider creates a payment on its hosted page (with our idempotency key, so
asking twice makes one payment), tells us about it in signed callbacks,
answers when we ask for a payment's status, and refunds. Callbacks and status
answers both come back as a ``PaymentUpdate``; its ``event_id`` is what makes
a repeated one a no-op in our books.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class CreatedPayment:
    payment_id: str
    # Where the customer's browser goes to pay.
    redirect_url: str


@dataclass(frozen=True)
class PaymentUpdate:
    event_id: str
    payment_id: str
    # Our order's public id, as we gave it to the provider.
    reference: str
    state: PaymentState
    amount_ore: int | None = None
    # A decline code (see subscriptions.payments.decline_message).
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupUpdate:
    """A signed callback saying that saving a card has moved on (saved, or
    given up). It carries no verdict of its own: what the setup came to is
    asked of the provider (``fetch_card_setup``), as on the browser's return."""

    event_id: str
    setup_id: str
    # Our card setup's public id, as we gave it to the provider.
    reference: str


@dataclass(frozen=True)
class SavedMethod:
    """A card the provider keeps for charges without the customer present."""

    method_id: str
    customer_id: str = ""
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


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

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentUpdate | SetupUpdate | None:
        """What a signed callback says about a payment or a card setup (None
        for an event about something else); InvalidCallback if it is not
        genuine."""
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
        self, *, method: SavedMethod, reference: str, amount_ore: int, description: str, idempotency_key: str
    ) -> PaymentUpdate:
        """Charge a saved card now, without the customer; the same key again
        returns the first charge's outcome instead of charging twice."""
        ...
