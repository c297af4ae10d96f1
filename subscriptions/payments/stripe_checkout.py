"""Stripe Checkout behind our payment-provider interface.

A payment is a Checkout Session in payment mode: one line in NOK for the
order, our order's public id as ``client_reference_id`` and in the metadata of
the session and of its PaymentIntent, so anything Stripe shows or sends about
it leads back to the order. Stripe's webhooks are the callbacks; they are
verified with the endpoint's signing secret.

Auto-renew saves a card the way Stripe documents it for payments without
the customer: a Checkout Session in setup mode for the customer's Stripe
Customer (found by our customer reference in its metadata, or made), which
attaches the card to that Customer (its ``checkout.session.completed``
webhook, or the browser's return, has us ask Stripe for the card); later
charges are PaymentIntents
confirmed off session with that Customer and card. Those PaymentIntents carry
the order and a mark of their own in their metadata, so their webhooks
(``payment_intent.succeeded``, ``.payment_failed``, ``.canceled``) can settle
the order, while the PaymentIntents Checkout makes for its sessions are left
to the sessions' events.

``notify_url`` is ignored: Stripe does not take a callback address per
payment. Its webhook endpoint (``/payments/callback/stripe/``) is registered
once in Stripe's dashboard, which gives the signing secret
(``STRIPE_WEBHOOK_SECRET``); it has to send the Checkout events above and the
three PaymentIntent events.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import stripe
from django.conf import settings
from stripe.params import CustomerCreateParams

from subscriptions.models import PaymentState
from subscriptions.payments.base import (
    REASON_LENGTH,
    CreatedPayment,
    InvalidCallback,
    MalformedUpdate,
    PaymentInProgress,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
)

SIGNATURE_HEADER = "Stripe-Signature"
# The library waits 80 s by default; a customer's checkout request waits on us.
REQUEST_TIMEOUT_SECONDS = 20
# Checkout's locales for our languages; anything else gets English.
LOCALES = {"nb": "nb", "zh-hans": "zh"}

# What each Checkout event says about the payment: (state, decline reason).
# A completed session is paid unless the customer chose a method that settles
# later (a bank debit), which ends in async_payment_succeeded or _failed.
EVENT_STATES: dict[str, tuple[PaymentState, str]] = {
    "checkout.session.async_payment_succeeded": (PaymentState.PAID, ""),
    "checkout.session.async_payment_failed": (PaymentState.DECLINED, "card_declined"),
    "checkout.session.expired": (PaymentState.CANCELLED, ""),
}
PAID_STATUSES = {"paid", "no_payment_required"}
# The Checkout events that end a card setup's session (saved, or given up).
SETUP_EVENTS = {"checkout.session.completed", "checkout.session.expired"}

# Checkout Session ids start with cs_, PaymentIntent ids (our charges of a
# saved card) with pi_.
INTENT_PREFIX = "pi_"
# The metadata that marks a PaymentIntent as a charge of a saved card. The
# PaymentIntent of a Checkout payment carries the order as well, but its
# events must not settle the order: the order knows it by its session.
SAVED_CARD_CHARGE = ("charge", "saved_card")
# The Stripe Customer's metadata key for our customer reference.
CUSTOMER_KEY = "portal_customer"
# What each event about a saved card's charge says about it.
INTENT_EVENT_STATES: dict[str, PaymentState] = {
    "payment_intent.succeeded": PaymentState.PAID,
    "payment_intent.payment_failed": PaymentState.DECLINED,
    "payment_intent.canceled": PaymentState.CANCELLED,
}
# A PaymentIntent's status as a payment state; any other status
# (processing, requires_action, requires_confirmation) is still pending.
INTENT_STATES: dict[str, PaymentState] = {
    "succeeded": PaymentState.PAID,
    "requires_payment_method": PaymentState.DECLINED,
    "canceled": PaymentState.CANCELLED,
}
# A refused charge whose parameter is one of these is about the saved card
# (removed from the Customer, or the Customer deleted): it will not work on
# a retry either, so it is a decline, not a provider error.
SAVED_CARD_PARAMS = {"payment_method", "customer"}
# Stripe's answer to a request whose idempotency key is still in use by a
# request it has not finished (a 400 idempotency_error is another thing: the
# key reused with other parameters).
IN_FLIGHT_STATUS = 409
NOT_FOUND_STATUS = 404


class StripeCheckoutProvider:
    name = "stripe"
    required_settings = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")

    def __init__(self) -> None:
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE},
            # A failure is a PaymentProviderError its caller retries (a task
            # with backoff, or the customer); the library's own retries would
            # sleep inside a customer's request.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=REQUEST_TIMEOUT_SECONDS),
        )

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
        """A Checkout Session for the order, closed by Stripe at
        ``expires_at`` (which Stripe takes between 30 minutes and 24 hours
        from now). The same idempotency key must come with the same
        parameters, so the caller derives ``expires_at`` from the order."""
        metadata = {"order": reference}
        try:
            session = self.client.v1.checkout.sessions.create(
                {
                    "mode": "payment",
                    "line_items": [
                        {
                            "price_data": {
                                "currency": "nok",
                                "unit_amount": amount_ore,
                                "product_data": {"name": description},
                            },
                            "quantity": 1,
                        }
                    ],
                    # The return page asks us how the order stands, paid or not.
                    "success_url": return_url,
                    "cancel_url": cancel_url,
                    "expires_at": int(expires_at.timestamp()),
                    "client_reference_id": reference,
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "locale": LOCALES.get(language, "en"),
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            if _in_flight(error):
                raise PaymentInProgress(f"Stripe is still creating the session for {reference}") from error
            raise PaymentProviderError(f"Stripe did not create a checkout session: {error}") from error
        if not session.url:
            raise PaymentProviderError(f"Stripe's checkout session {session.id} has no page to pay on")
        return CreatedPayment(payment_id=session.id, redirect_url=session.url)

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> PaymentUpdate | SetupUpdate | None:
        """Check the signature and its age, then read the event: None for an
        event about anything but a Checkout payment, a card setup or a saved
        card's charge of ours."""
        header = headers.get(SIGNATURE_HEADER, "")
        tolerance = settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS
        if not header.isascii():
            # Stripe's signatures are hex; its library would fail on anything
            # else with a TypeError (from hmac.compare_digest), not its own error.
            raise InvalidCallback("bad signature: not ASCII")
        try:
            event = self.client.construct_event(body, header, settings.STRIPE_WEBHOOK_SECRET, tolerance)
        except stripe.SignatureVerificationError as error:
            raise InvalidCallback(f"bad signature: {error}") from None
        except (ValueError, AttributeError, TypeError, RecursionError) as error:
            # RecursionError: JSON nested deeper than the parser goes.
            raise InvalidCallback(f"not an event: {error}"[:300]) from None
        # Stripe's check lets a timestamp from the future through.
        if _signed_at(header) > time.time() + tolerance:
            raise InvalidCallback("signature from the future")
        payload = event.to_dict()
        try:
            event_type = payload["type"]
            about = payload["data"]["object"]
            event_id = payload["id"]
            if event_type in INTENT_EVENT_STATES:
                return _intent_event(about, event_id=event_id, state=INTENT_EVENT_STATES[event_type], payload=payload)
            return _session_event(event_type, about, event_id=event_id, payload=payload)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # ValueError includes MalformedUpdate: a field of the wrong type,
            # out of range or too long, which the updates refuse.
            raise InvalidCallback(f"malformed event: {error!r}"[:300]) from None

    def fetch_status(self, *, payment_id: str) -> PaymentUpdate:
        """How a Checkout Session stands, or a saved card's charge (a
        PaymentIntent, by its id)."""
        if payment_id.startswith(INTENT_PREFIX):
            intent = self._intent(payment_id)
            with _answer_read(payment_id):
                state = _intent_state(intent)
                return _intent_update(intent, event_id=f"status:{intent['id']}:{state}", state=state)
        session = self._session(payment_id)
        with _answer_read(payment_id):
            return _session_status(session)

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """Expire the Checkout Session, so it can no longer be paid. Stripe
        refuses to expire one that is not open (paid, or expired already):
        then its status says how it stands. A saved card's charge is not
        cancelled here; its status is returned."""
        if payment_id.startswith(INTENT_PREFIX):
            return self.fetch_status(payment_id=payment_id)
        try:
            session = self.client.v1.checkout.sessions.expire(payment_id).to_dict()
        except stripe.InvalidRequestError:
            return self.fetch_status(payment_id=payment_id)
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not expire checkout session {payment_id}: {error}") from error
        with _answer_read(payment_id):
            return _session_status(session)

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        """Refund on the PaymentIntent: a saved card's charge is one, a
        session's is looked up (a session itself cannot be refunded). Returns
        Stripe's refund id."""
        if payment_id.startswith(INTENT_PREFIX):
            payment_intent = payment_id
        else:
            payment_intent = self._session(payment_id)["payment_intent"]
        if not payment_intent:
            raise PaymentProviderError(f"Stripe's checkout session {payment_id} has no payment to refund")
        try:
            refund = self.client.v1.refunds.create(
                {"payment_intent": payment_intent, "amount": amount_ore},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not refund {payment_id}: {error}") from error
        return refund.id

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
        """A Checkout Session in setup mode for the customer's Stripe Customer,
        so the card saved on it is attached to that Customer and can be
        charged later without them.

        1. Find the Customer by our customer reference, or make one.
        2. Create the session: cards only (we show the saved method as a
           card), in NOK (Stripe needs a currency to choose payment methods in
           setup mode), our setup's public id on the session and its
           SetupIntent.
        """
        customer_id = self._customer(
            customer_reference=customer_reference,
            email=customer_email,
            idempotency_key=f"{idempotency_key}-customer",
        )
        metadata = {"card_setup": reference}
        try:
            session = self.client.v1.checkout.sessions.create(
                {
                    "mode": "setup",
                    "currency": "nok",
                    "allowed_payment_method_types": ["card"],
                    "customer": customer_id,
                    # The return page asks us whether the card was saved.
                    "success_url": return_url,
                    "cancel_url": return_url,
                    "client_reference_id": reference,
                    "metadata": metadata,
                    "setup_intent_data": {"metadata": metadata | {CUSTOMER_KEY: customer_reference}},
                    "locale": LOCALES.get(language, "en"),
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not create a card setup session: {error}") from error
        if not session.url:
            raise PaymentProviderError(f"Stripe's card setup session {session.id} has no page to save the card on")
        return CreatedPayment(payment_id=session.id, redirect_url=session.url)

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        """The setup session with its SetupIntent and card: PAID with the card
        once the SetupIntent succeeded, CANCELLED once the session expired
        (or its SetupIntent was cancelled), PENDING until then."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(
                setup_id, {"expand": ["setup_intent", "setup_intent.payment_method"]}
            ).to_dict()
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not return card setup session {setup_id}: {error}") from error
        with _answer_read(setup_id):
            return _setup_result(session, setup_id=setup_id)

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
        """Create and confirm a PaymentIntent off session on the saved card.

        A decline is Stripe's 402 card error (authentication_required,
        card_declined with the issuer's decline code, expired_card, …),
        which comes back as a DECLINED update with the code as the reason.
        Stripe keeps the first answer to an idempotency key, a 402 included,
        so the same key again gets the first charge's outcome.
        """
        key, mark = SAVED_CARD_CHARGE
        try:
            intent = self.client.v1.payment_intents.create(
                {
                    "amount": amount_ore,
                    "currency": "nok",
                    "customer": method.customer_id,
                    "payment_method": method.method_id,
                    "off_session": True,
                    # Off session, Stripe needs no return_url: nobody is
                    # there to authenticate, so it declines instead.
                    "confirm": True,
                    "description": description,
                    "metadata": {"order": reference, key: mark},
                },
                {"idempotency_key": idempotency_key},
            ).to_dict()
        except stripe.CardError as error:
            with _answer_read(reference):
                return _declined_charge(error, reference=reference, idempotency_key=idempotency_key)
        except stripe.InvalidRequestError as error:
            if error.param not in SAVED_CARD_PARAMS:
                raise PaymentProviderError(f"Stripe did not charge saved card for {reference}: {error}") from error
            with _answer_read(reference):
                return _declined_charge(error, reference=reference, idempotency_key=idempotency_key)
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not charge saved card for {reference}: {error}") from error
        with _answer_read(reference):
            state = _intent_state(intent)
            return _intent_update(intent, event_id=f"charge:{intent['id']}:{state}", state=state)

    def detach_saved_card(self, *, method: SavedMethod) -> None:
        """POST /v1/payment_methods/{id}/detach. Stripe refuses to detach a
        card that is no longer attached (400) and does not know a deleted
        one (404): then the card is asked for, and one without a customer,
        or unknown, is as good as detached."""
        try:
            self.client.v1.payment_methods.detach(method.method_id)
        except stripe.InvalidRequestError as error:
            if not self._detached_already(method.method_id):
                raise PaymentProviderError(f"Stripe did not detach {method.method_id}: {error}") from error
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not detach {method.method_id}: {error}") from error

    def _detached_already(self, method_id: str) -> bool:
        try:
            found = self.client.v1.payment_methods.retrieve(method_id).to_dict()
        except stripe.InvalidRequestError as error:
            return error.http_status == NOT_FOUND_STATUS
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not return {method_id}: {error}") from error
        return not found.get("customer")

    def _customer(self, *, customer_reference: str, email: str, idempotency_key: str) -> str:
        """Our customer's Stripe Customer: the one made for them before (by
        our reference in its metadata), or a new one. Stripe's search lags
        behind by up to a minute, so two setups close together can make two
        Customers; that is harmless, as each saved card keeps its own."""
        query = f"metadata['{CUSTOMER_KEY}']:'{_search_quoted(customer_reference)}'"
        params: CustomerCreateParams = {"metadata": {CUSTOMER_KEY: customer_reference}}
        if email:
            params["email"] = email
        try:
            found = self.client.v1.customers.search({"query": query, "limit": 1})
            if found.data:
                return found.data[0].id
            return self.client.v1.customers.create(params, {"idempotency_key": idempotency_key}).id
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"Stripe did not find or create customer {customer_reference}: {error}"
            ) from error

    def _session(self, payment_id: str) -> dict[str, Any]:
        try:
            return self.client.v1.checkout.sessions.retrieve(payment_id).to_dict()
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not return checkout session {payment_id}: {error}") from error

    def _intent(self, payment_id: str) -> dict[str, Any]:
        try:
            return self.client.v1.payment_intents.retrieve(payment_id).to_dict()
        except stripe.StripeError as error:
            raise PaymentProviderError(f"Stripe did not return payment intent {payment_id}: {error}") from error


def _setup_result(session: Mapping[str, Any], *, setup_id: str) -> SetupResult:
    """What a card setup's session (with its SetupIntent and card expanded) came to."""
    intent = session.get("setup_intent")
    intent = intent if isinstance(intent, dict) else {}
    if session["status"] == "expired" or intent.get("status") == "canceled":
        return SetupResult(state=PaymentState.CANCELLED)
    if intent.get("status") != "succeeded":
        return SetupResult(state=PaymentState.PENDING)
    method = intent.get("payment_method")
    if not method:
        raise PaymentProviderError(f"Stripe's card setup session {setup_id} succeeded without a card")
    method = method if isinstance(method, dict) else {"id": method}
    card = method.get("card") or {}
    customer = session.get("customer") or intent.get("customer") or method.get("customer")
    saved = SavedMethod(
        method_id=method["id"],
        customer_id=_object_id(customer),
        brand=card.get("brand") or "",
        last4=card.get("last4") or "",
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )
    return SetupResult(state=PaymentState.PAID, method=saved)


def _session_status(session: Mapping[str, Any]) -> PaymentUpdate:
    """A status answer about a Checkout Session in payment mode."""
    if session["status"] == "complete" and session["payment_status"] in PAID_STATUSES:
        state = PaymentState.PAID
    elif session["status"] == "expired":
        state = PaymentState.CANCELLED
    else:
        state = PaymentState.PENDING
    return _update(session, event_id=f"status:{session['id']}:{state}", state=state)


def _session_event(
    event_type: str, session: Mapping[str, Any], *, event_id: str, payload: dict[str, Any]
) -> PaymentUpdate | SetupUpdate | None:
    if session.get("mode") == "setup":
        return _setup_event(event_type, session, event_id=event_id)
    if event_type == "checkout.session.completed":
        paid = session["payment_status"] in PAID_STATUSES
        state, reason = (PaymentState.PAID if paid else PaymentState.PENDING), ""
    elif event_type in EVENT_STATES:
        state, reason = EVENT_STATES[event_type]
    else:
        return None
    if not _reference(session):
        return None  # a session someone else made (a payment link, the dashboard)
    return _update(session, event_id=event_id, state=state, reason=reason, payload=payload)


def _setup_event(event_type: str, session: Mapping[str, Any], *, event_id: str) -> SetupUpdate | None:
    """A card setup's session completed (the card is saved) or expired:
    enough to ask Stripe about it, in case the browser never comes back."""
    if event_type not in SETUP_EVENTS:
        return None
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get("card_setup") or ""
    if not reference:
        return None  # a setup someone else made
    return SetupUpdate(event_id=event_id, setup_id=session["id"], reference=reference)


def _intent_event(
    intent: Mapping[str, Any], *, event_id: str, state: PaymentState, payload: dict[str, Any]
) -> PaymentUpdate | None:
    key, mark = SAVED_CARD_CHARGE
    metadata = intent.get("metadata") or {}
    if metadata.get(key) != mark or not metadata.get("order"):
        return None  # a Checkout session's payment, or not ours
    return _intent_update(intent, event_id=event_id, state=state, payload=payload)


def _intent_state(intent: Mapping[str, Any]) -> PaymentState:
    return INTENT_STATES.get(str(intent["status"]), PaymentState.PENDING)


def _intent_update(
    intent: Mapping[str, Any], *, event_id: str, state: PaymentState, payload: dict[str, Any] | None = None
) -> PaymentUpdate:
    reason = _decline_reason(intent.get("last_payment_error")) if state == PaymentState.DECLINED else ""
    return PaymentUpdate(
        event_id=event_id,
        payment_id=intent["id"],
        reference=(intent.get("metadata") or {}).get("order") or "",
        state=state,
        amount_ore=intent.get("amount"),
        reason=reason,
        payload=payload or {},
    )


def _declined_charge(error: stripe.StripeError, *, reference: str, idempotency_key: str) -> PaymentUpdate:
    """The DECLINED update for a charge Stripe refused, with the
    PaymentIntent it left behind if it made one (a 402 carries it)."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error") or {}
    intent = details.get("payment_intent") or {}
    payment_id = intent.get("id") or ""
    return PaymentUpdate(
        event_id=f"charge:{payment_id or idempotency_key}:{PaymentState.DECLINED}",
        payment_id=payment_id,
        reference=reference,
        state=PaymentState.DECLINED,
        amount_ore=intent.get("amount"),
        reason=_decline_reason(details),
        payload=body,
    )


def _decline_reason(error: Mapping[str, Any] | None) -> str:
    """The issuer's decline code (insufficient_funds, …), or Stripe's error
    code when there is none (authentication_required, expired_card, …)."""
    error = error or {}
    reason = error.get("decline_code") or error.get("code") or "card_declined"
    if not isinstance(reason, str):
        raise MalformedUpdate(f"decline code is not a string: {type(reason).__name__}")
    return reason[:REASON_LENGTH]


def _in_flight(error: stripe.StripeError) -> bool:
    """Stripe's 409 for a request whose idempotency key an unfinished
    request is using (the library reads a v1 409 as a plain APIError)."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error") or {}
    return error.http_status == IN_FLIGHT_STATUS and details.get("type") == "idempotency_error"


def _object_id(value: Any) -> Any:
    """The id of a field Stripe gives as an id, or as the object when
    expanded (its type is checked by what it goes into)."""
    if isinstance(value, Mapping):
        return value.get("id") or ""
    return value or ""


def _search_quoted(value: str) -> str:
    """A value for a quoted string in Stripe's search query language."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _reference(session: Mapping[str, Any]) -> Any:
    """Our order's public id on a session (its type is checked by the update)."""
    return session.get("client_reference_id") or (session.get("metadata") or {}).get("order") or ""


@contextmanager
def _answer_read(about: str) -> Iterator[None]:
    """Stripe's answer to a request of ours that does not read as Stripe
    documents it (a field missing, of the wrong type or out of range) is
    a provider error: the caller treats it as no answer."""
    try:
        yield
    except (MalformedUpdate, KeyError, TypeError, AttributeError) as error:
        raise PaymentProviderError(f"Stripe's answer about {about} is malformed: {error!r}"[:300]) from None


def _signed_at(header: str) -> int:
    """The timestamp of a Stripe-Signature header Stripe's library accepted."""
    return next(int(part[2:]) for part in header.split(",") if part.startswith("t="))


def _update(
    session: Mapping[str, Any],
    *,
    event_id: str,
    state: PaymentState,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> PaymentUpdate:
    return PaymentUpdate(
        event_id=event_id,
        payment_id=session["id"],
        reference=_reference(session),
        state=state,
        amount_ore=session.get("amount_total"),
        reason=reason,
        payload=payload or {},
    )
