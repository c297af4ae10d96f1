"""Vipps MobilePay's Recurring API behind the saved-method half of our
payment-provider interface, for auto-renew.

- Turning auto-renew on is an agreement the customer approves in the app
  (``POST /recurring/v3/agreements``; its ``vippsConfirmationUrl`` is the
  page to send the browser to). The agreement stands in for a saved card:
  its id is the ``SavedMethod``'s id, ACTIVE is "saved".
- Each renewal is a charge on the agreement with a due date
  (``POST /recurring/v3/agreements/{id}/charges``, ``DIRECT_CAPTURE``, with
  the charge run's idempotency key). Vipps takes the money on the due day,
  so the charge's answer is PENDING; the order sweep asks how it stands
  (``GET …/charges/{chargeId}``) until Vipps says CHARGED or FAILED, and the
  auto-renew run then retries or gives up as for a card.

A charge's payment id is ``<agreementId>/<chargeId>``: asking about a charge
needs both.

Vipps also reports agreements and charges by webhook (the Webhooks API's
``recurring.*`` events, registered for ``/payments/callback/vipps_recurring/``
with their own secret, ``VIPPS_RECURRING_WEBHOOK_SECRET``, and signed as the
ePayment ones are). What each means for us:

==================== =============================================================
agreement-activated  approved in the app: the card setup is finished (asked again)
agreement-rejected   refused in the app: the card setup is finished (asked again)
agreement-stopped    stopped by the customer or by Vipps: auto-renew off for its lines
agreement-expired    expired: auto-renew off for its lines, as when stopped
charge-captured      the money is ours: the charge's order is paid
charge-failed        not taken, also after Vipps's retry days: the order declined
charge-creation-...  Vipps could not make the charge: the order declined
charge-canceled      cancelled before it was taken: the order closed
charge-reserved      reserved, not taken yet: nothing changes
charge-refunded      money given back: recorded, the order is not changed
==================== =============================================================
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from subscriptions.models import PaymentState
from subscriptions.payments.base import (
    AgreementUpdate,
    CreatedPayment,
    InvalidCallback,
    MalformedUpdate,
    PaymentProviderError,
    PaymentUpdate,
    SavedMethod,
    SetupResult,
    SetupUpdate,
    checked_amount,
    checked_payload,
    checked_text,
)
from subscriptions.payments.vipps import CURRENCY, VippsProvider, VippsRefused

# Vipps takes a charge on its due date (at any hour of that day), and a
# charge is made at the latest the day before it is due (the Recurring API's
# one-day lead time): its due date is at the earliest this many days on.
DUE_AFTER_DAYS = 1
# How many days Vipps tries again when a charge fails on its due date (fewer
# when they would run past the day the money is needed by).
RETRY_DAYS = 2
# An agreement's interval for each plan period (what the app shows).
INTERVALS = {
    "day": {"unit": "DAY", "count": 1},
    "week": {"unit": "WEEK", "count": 1},
    "month": {"unit": "MONTH", "count": 1},
    "quarter": {"unit": "MONTH", "count": 3},
    "year": {"unit": "YEAR", "count": 1},
}
# (our state, reason) for an agreement's status, as a saved method.
AGREEMENT_STATES = {
    "PENDING": PaymentState.PENDING,
    "ACTIVE": PaymentState.PAID,
    "STOPPED": PaymentState.CANCELLED,
    "EXPIRED": PaymentState.CANCELLED,
}
# ... and for a charge's status.
CHARGE_STATES: dict[str, tuple[PaymentState, str]] = {
    "PENDING": (PaymentState.PENDING, ""),
    "DUE": (PaymentState.PENDING, ""),
    "PROCESSING": (PaymentState.PENDING, ""),
    "RESERVED": (PaymentState.PENDING, ""),
    "CHARGED": (PaymentState.PAID, ""),
    "PARTIALLY_CAPTURED": (PaymentState.PAID, ""),
    "FAILED": (PaymentState.DECLINED, "vipps_charge_failed"),
    "CANCELLED": (PaymentState.CANCELLED, "vipps_cancelled"),
    "PARTIALLY_REFUNDED": (PaymentState.PAID, ""),
    "REFUNDED": (PaymentState.REFUNDED, ""),
}


# What each Recurring webhook event means for a charge's order (the
# charge-* events), as (our state, decline reason).
CHARGE_EVENTS: dict[str, tuple[PaymentState, str]] = {
    "recurring.charge-reserved.v1": (PaymentState.PENDING, ""),
    "recurring.charge-captured.v1": (PaymentState.PAID, ""),
    "recurring.charge-canceled.v1": (PaymentState.CANCELLED, "vipps_cancelled"),
    "recurring.charge-failed.v1": (PaymentState.DECLINED, "vipps_charge_failed"),
    "recurring.charge-creation-failed.v1": (PaymentState.DECLINED, "vipps_charge_failed"),
    "recurring.charge-refunded.v1": (PaymentState.REFUNDED, ""),
}
# ... and the agreement-* events: the setup's outcome is asked of Vipps
# (activated, rejected); an agreement that ended turns auto-renew off.
SETUP_EVENTS = ("recurring.agreement-activated.v1", "recurring.agreement-rejected.v1")
ENDED_EVENTS = {"recurring.agreement-stopped.v1": "STOPPED", "recurring.agreement-expired.v1": "EXPIRED"}
# The events the Recurring webhook is registered for.
RECURRING_WEBHOOK_EVENTS = [*SETUP_EVENTS, *ENDED_EVENTS, *CHARGE_EVENTS]
logger = logging.getLogger(__name__)
# Vipps's ids (agreementId, chargeId) are short; anything longer is not one.
VIPPS_ID_LENGTH = 64


class VippsRecurringProvider(VippsProvider):
    name = "vipps_recurring"
    required_settings: tuple[str, ...] = (
        "VIPPS_CLIENT_ID",
        "VIPPS_CLIENT_SECRET",
        "VIPPS_SUBSCRIPTION_KEY",
        "VIPPS_MSN",
        "VIPPS_BASE_URL",
        "VIPPS_RECURRING_WEBHOOK_SECRET",
    )

    @property
    def webhook_secret(self) -> str:
        # Its own registration, so its own secret.
        return str(settings.VIPPS_RECURRING_WEBHOOK_SECRET)

    def verify_callback(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> PaymentUpdate | SetupUpdate | AgreementUpdate | None:
        """Check the content hash, the signature and its age as for an
        ePayment webhook, then read the Recurring event field by field:
        a charge event as an update of its order's payment, an agreement
        approved or refused as the end of its card setup, an agreement
        stopped or expired as a saved method that ended. None for an event
        we do not act on, or about another merchant's agreement."""
        self._check_signature(body=body, headers=headers)
        try:
            event = checked_payload(json.loads(body))
            name = _field(event, "eventType", max_length=60)
            agreement = _field(event, "agreementId", max_length=VIPPS_ID_LENGTH)
            occurred = _field(event, "occurred", max_length=40)
            try:
                datetime.fromisoformat(occurred)
            except ValueError:
                raise MalformedUpdate("occurred is not a date and time") from None
            for optional in ("agreementExternalId", "chargeExternalId", "chargeType", "actor", "failureReason"):
                if event.get(optional) is not None:
                    checked_text(optional, event[optional], required=False)
            msn = event.get("msn")
            if msn is not None and checked_text("msn", msn, max_length=20) != self.merchant_serial_number:
                return None
            short = name.removeprefix("recurring.").removesuffix(".v1")
            if name in SETUP_EVENTS:
                external = event.get("agreementExternalId") or agreement
                return SetupUpdate(event_id=f"webhook:{agreement}:{short}", setup_id=agreement, reference=external)
            if name in ENDED_EVENTS:
                return AgreementUpdate(
                    event_id=f"webhook:{agreement}:{short}", method_id=agreement, status=ENDED_EVENTS[name]
                )
            if name not in CHARGE_EVENTS:
                return None
            charge = _field(event, "chargeId", max_length=VIPPS_ID_LENGTH)
            if "/" in agreement or "/" in charge:
                raise MalformedUpdate("an id holds a slash")
            state, reason = CHARGE_EVENTS[name]
            amount = checked_amount("amount", event.get("amount"))
            # Money taken is checked against the order; a charge that failed
            # or was cancelled may come without its amount.
            if amount is None and state == PaymentState.PAID:
                raise MalformedUpdate("amount is missing")
            if event.get("currency", CURRENCY) != CURRENCY:
                raise MalformedUpdate("currency is not NOK")
            return PaymentUpdate(
                event_id=f"webhook:{agreement}/{charge}:{short}",
                payment_id=f"{agreement}/{charge}",
                reference="",
                state=state,
                amount_ore=amount,
                reason=reason,
                payload=event,
            )
        except KeyError as error:
            raise InvalidCallback(f"malformed webhook: {error.args[0]} is missing"[:300]) from None
        except (ValueError, TypeError, AttributeError, RecursionError) as error:
            raise InvalidCallback(f"malformed webhook: {error}"[:300]) from None

    def create_card_setup(
        self,
        *,
        reference: str,
        customer_reference: str,
        customer_email: str,
        idempotency_key: str,
        return_url: str,
        language: str,
        product_name: str = "",
        amount_ore: int = 0,
        period: str = "month",
        customer_phone: str = "",
    ) -> CreatedPayment:
        """An agreement for auto-renew of one line's plan: at most
        ``amount_ore`` a ``period``, approved in the app; the browser comes
        back to ``return_url`` either way."""
        body: dict[str, Any] = {
            "pricing": {"type": "VARIABLE", "suggestedMaxAmount": amount_ore, "currency": CURRENCY},
            "interval": INTERVALS.get(period, INTERVALS["month"]),
            "merchantRedirectUrl": return_url,
            "merchantAgreementUrl": return_url,
            "productName": (product_name or reference)[:45],
            "externalId": reference,
        }
        if customer_phone:
            body["phoneNumber"] = customer_phone.lstrip("+")
        answer = self._call("POST", "/recurring/v3/agreements", body=body, idempotency_key=idempotency_key)
        try:
            agreement = checked_text("agreement id", answer["agreementId"], max_length=64)
            url = checked_text("confirmation url", answer["vippsConfirmationUrl"], max_length=2000)
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentProviderError(f"Vipps's agreement answer is malformed: {error!r}"[:300]) from None
        return CreatedPayment(payment_id=agreement, redirect_url=url)

    def fetch_card_setup(self, *, setup_id: str) -> SetupResult:
        answer = self._call("GET", f"/recurring/v3/agreements/{setup_id}")
        status = answer.get("status")
        if status not in AGREEMENT_STATES:
            raise PaymentProviderError(f"Vipps's agreement {setup_id} has an unknown status")
        state = AGREEMENT_STATES[str(status)]
        if state != PaymentState.PAID:
            return SetupResult(state=state)
        return SetupResult(state=state, method=SavedMethod(method_id=setup_id, brand="vipps"))

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
        """A charge on the agreement, due as soon as Vipps allows
        (DUE_AFTER_DAYS on); PENDING until Vipps takes it. Vipps's retries
        of a failed charge stop by ``pay_by`` (the last day the money is
        needed by), so the verdict comes before then. The same key again
        makes no second charge."""
        due = charge_due_date(today=timezone.localdate())
        retry_days = RETRY_DAYS
        if pay_by is not None:
            retry_days = max(0, min(RETRY_DAYS, (pay_by - due).days))
            if due > pay_by:
                logger.warning(
                    "Vipps charge %s is due on %s, after the day it was needed by (%s)", reference, due, pay_by
                )
        body = {
            "amount": amount_ore,
            "transactionType": "DIRECT_CAPTURE",
            "description": description[:45],
            "due": due.isoformat(),
            "retryDays": retry_days,
            "orderId": reference,
        }
        agreement = method.method_id
        answer = self._call(
            "POST", f"/recurring/v3/agreements/{agreement}/charges", body=body, idempotency_key=idempotency_key
        )
        try:
            charge = checked_text("charge id", answer["chargeId"], max_length=64)
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentProviderError(f"Vipps's charge answer is malformed: {error!r}"[:300]) from None
        return self.fetch_status(payment_id=f"{agreement}/{charge}")

    def fetch_status(self, *, payment_id: str) -> PaymentUpdate:
        """A charge (``<agreementId>/<chargeId>``) as one of our updates."""
        agreement, _slash, charge = payment_id.partition("/")
        if not charge:
            raise PaymentProviderError(f"{payment_id} is not an agreement's charge")
        answer = self._call("GET", f"/recurring/v3/agreements/{agreement}/charges/{charge}")
        try:
            status = checked_text("charge status", answer["status"], max_length=30)
            if status not in CHARGE_STATES:
                raise MalformedUpdate(f"unknown charge status {status!r}"[:60])
            state, reason = CHARGE_STATES[status]
            return PaymentUpdate(
                event_id=f"charge:{payment_id}:{status}",
                payment_id=payment_id,
                reference=checked_text("order id", answer.get("orderId", ""), max_length=64, required=False),
                state=state,
                amount_ore=checked_amount("amount", answer["amount"]),
                reason=reason,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentProviderError(
                f"Vipps's answer about charge {payment_id} is malformed: {error!r}"[:300]
            ) from None

    def cancel_payment(self, *, payment_id: str) -> PaymentUpdate:
        """Cancel a charge Vipps has not taken yet (auto-renew turned off, or
        the line cancelled, before its due date: ``DELETE …/charges/{id}``),
        and say how it stands: cancelled, or what it became if Vipps took it
        first (a charge taken cannot be cancelled; it is then refunded as
        money taken for nothing). The order sweep never asks this of an
        auto-renew charge: it would only be charged again."""
        agreement, _slash, charge = payment_id.partition("/")
        # Refused when taken or failed already: the status then says which.
        with contextlib.suppress(VippsRefused):
            self._call(
                "DELETE",
                f"/recurring/v3/agreements/{agreement}/charges/{charge}",
                idempotency_key=f"cancel-{charge}",
            )
        return self.fetch_status(payment_id=payment_id)

    def refund(self, *, payment_id: str, amount_ore: int, idempotency_key: str) -> str:
        agreement, _slash, charge = payment_id.partition("/")
        body = {"amount": amount_ore, "description": "Refund"}
        self._call(
            "POST",
            f"/recurring/v3/agreements/{agreement}/charges/{charge}/refund",
            body=body,
            idempotency_key=idempotency_key,
        )
        return f"refund:{charge}"

    def agreement_stop(self, *, agreement_id: str, idempotency_key: str) -> None:
        """Stop an agreement (auto-renew turned off for good)."""
        self._call(
            "PATCH",
            f"/recurring/v3/agreements/{agreement_id}",
            body={"status": "STOPPED"},
            idempotency_key=idempotency_key,
        )


def _field(event: Mapping[str, Any], name: str, *, max_length: int) -> str:
    """A required text field of a webhook (KeyError when it is not there)."""
    return checked_text(name, event[name], max_length=max_length)


def charge_due_date(*, today: date) -> date:
    """The earliest due date Vipps accepts for a charge made ``today`` (Oslo)."""
    return today + timedelta(days=DUE_AFTER_DAYS)
