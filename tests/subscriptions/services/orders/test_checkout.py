"""Placing an order: once per checkout form, refused with a reason the customer reads."""

from __future__ import annotations

import re

import pytest

from sandbox.models import SandboxPayment
from subscriptions.errors import CustomerError
from subscriptions.models import (
    LineStatus,
    Order,
    OrderStatus,
    PaymentMethod,
)
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.checkout import renewal_request, topup_request
from tests.factories import NumberKeepingPlanFactory, PlanFactory
from tests.subscriptions.services.orders.steps import SITE, past_the_grace_period, place

pytestmark = pytest.mark.django_db


# --- placing ------------------------------------------------------------------------


def test_a_card_order_opens_one_hosted_payment_and_waits(customer, line, plan):
    order = place(customer, line, plan)

    assert order.status == OrderStatus.PENDING
    assert order.amount_ore == 199_00
    assert order.provider == "sandbox"
    assert order.provider_url == f"{SITE}/sandbox-pay/{order.provider_payment_id}/"
    payment = SandboxPayment.objects.get()
    assert payment.amount_ore == 199_00
    assert payment.return_url == f"{SITE}/orders/{order.public_id}/return/"
    assert payment.notify_url == f"{SITE}/payments/callback/sandbox/"


def test_the_same_checkout_form_sent_twice_is_one_order_and_one_payment(customer, line, plan):
    first = place(customer, line, plan)
    second = place(customer, line, plan)

    assert second.pk == first.pk
    assert second.provider_url == first.provider_url
    assert Order.objects.count() == 1
    assert SandboxPayment.objects.count() == 1


def test_the_same_form_with_other_choices_is_refused(customer, line, plan):
    place(customer, line, plan)
    other = PlanFactory(code="fjord-year", price_ore=1990_00)

    with pytest.raises(CustomerError, match="already sent with other choices"):
        place(customer, line, other)
    assert Order.objects.count() == 1


def test_the_name_and_address_are_saved_back_to_the_profile(customer, line, plan):
    place(customer, line, plan)

    customer.refresh_from_db()
    assert (customer.full_name, customer.street_address, customer.postal_code, customer.city) == (
        "王小明",
        "Storgata 5",
        "0155",
        "Oslo",
    )


def test_a_cancelled_line_cannot_be_renewed(customer, line, plan):
    line.status = LineStatus.CANCELLED
    line.status_changed_at = past_the_grace_period()
    line.save()

    with pytest.raises(CustomerError, match="cannot be renewed"):
        renewal_request(line=line, plan=plan, method=PaymentMethod.CARD)


def test_a_plan_for_another_kind_of_line_is_refused(line):
    with pytest.raises(CustomerError, match="not available"):
        renewal_request(line=line, plan=NumberKeepingPlanFactory(), method=PaymentMethod.CARD)


def test_a_plan_no_longer_on_sale_is_refused(line):
    retired = PlanFactory(code="old-plan", is_active=False)
    with pytest.raises(CustomerError, match="not available"):
        renewal_request(line=line, plan=retired, method=PaymentMethod.CARD)


@pytest.mark.parametrize("amount_ore", [49_99, 2_000_01])
def test_a_top_up_outside_the_limits_is_refused(line, amount_ore):
    with pytest.raises(CustomerError, match=re.escape("Top up between NOK\xa050.00 and NOK\xa02,000.00")):
        topup_request(line=line, amount_ore=amount_ore)


def test_a_provider_that_does_not_answer_charges_nothing_and_can_be_retried(customer, line, plan, monkeypatch):
    from subscriptions.payments import PaymentProviderError

    def unreachable(self, **kwargs):
        raise PaymentProviderError("timed out")

    monkeypatch.setattr(SandboxProvider, "create_payment", unreachable)
    with pytest.raises(CustomerError, match="did not answer"):
        place(customer, line, plan)
    monkeypatch.undo()

    order = place(customer, line, plan)
    assert order.provider_url
    assert Order.objects.count() == 1
