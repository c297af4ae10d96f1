"""The steps the order tests take: a checkout placed, and the provider's
answer applied as its callback would."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sandbox.models import SandboxOutcome
from sandbox.provider import sandbox_decide
from subscriptions.models import (
    PaymentMethod,
)
from subscriptions.payments import PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.settlement import payment_update_apply

SITE = "http://testserver"
BILLING = Billing(name="王小明", street="Storgata 5", postal_code="0155", city="Oslo")


def place(customer, line, plan, *, key="key-1", method=PaymentMethod.CARD, billing=BILLING):
    request = renewal_request(line=line, plan=plan, method=method)
    return order_place(owner=customer, request=request, billing=billing, idempotency_key=key, site_url=SITE)


def settle(order, outcome=SandboxOutcome.APPROVE):
    """The tester's choice on the sandbox page, then the callback's content as
    the portal gets it. (On-commit work, such as the sandbox's HTTP callback
    task, does not run inside a test's transaction.)"""
    sandbox_decide(payment_id=order.provider_payment_id, outcome=outcome)
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    callback = PaymentUpdate(
        event_id=f"evt_{update.payment_id}_{update.state}",
        payment_id=update.payment_id,
        reference=update.reference,
        state=update.state,
        amount_ore=update.amount_ore,
        reason=update.reason,
    )
    return payment_update_apply(provider="sandbox", update=callback)


def past_the_grace_period() -> datetime:
    """A cancelled line comes back by a renewal within its grace period
    (tests/subscriptions/services/test_cancellations.py); these tests are
    about one cancelled longer ago."""
    return timezone.now() - timedelta(days=settings.CANCELLATION_GRACE_DAYS + 1)
