"""The payment result page on a phone: a renewal left pending on the
sandbox's page turns to paid by itself once the provider's callback comes,
and says so in its live region; a cancelled one ends in "Not paid" with a
way back to the checkout. Every state names the plan, the line and the
amount."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.models import SandboxPayment
from sandbox.provider import sandbox_deliver_callback
from subscriptions.models import Order, OrderStatus, PaymentState
from tests.browser.test_renewal_journey import (
    assert_fits_the_phone,
    customer_with_a_line,
    expect,
    expect_translated,
    nok,
    open_the_line,
    quarter_plan,
    renew_and_reach_the_sandbox,
    screenshot,
    translated,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The page first asks after a few seconds (PENDING_POLL_SECONDS), then fetches itself.
SETTLES_WITHIN_MS = 15_000


def expect_the_order_summary(page: Any, *, plan_name: str, number: str, amount: str) -> None:
    summary = page.locator(".order-summary")
    expect(summary.locator(".order-item")).to_have_text(plan_name)
    expect(summary.locator(".order-line")).to_have_text(number)
    expect(summary.locator(".order-amount")).to_have_text(amount)
    expect(summary).to_be_in_viewport()


def test_a_pending_payment_turns_to_paid_by_itself_after_the_callback_and_says_so(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(email="li@example.test", full_name="李华", language="zh-hans", number="+4791234567")
    plan = quarter_plan()

    open_the_line(portal, email="li@example.test", line=line)
    payment = renew_and_reach_the_sandbox(portal, line=line, plan=plan, name="李华", language="zh-hans")
    page.locator("#sandpay-never-answer").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")

    result = page.locator("section.order-result")
    expect(result).to_have_attribute("data-status", "pending")
    expect_translated(page.locator("#result-heading"), "Waiting for the payment provider", "zh-hans")
    expect_the_order_summary(
        page, plan_name="峡湾 30 GB 季度套餐", number="+47 912 34 567", amount=nok(plan.price_ore, "zh-hans")
    )
    expect(page.locator("#checkout-steps [aria-current=step]")).to_have_text(
        "2. " + translated("Name and payment", "zh-hans")
    )
    expect(page.locator(".check-again")).to_be_visible()
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    announcement = page.locator("#order-announcement")
    expect(announcement).to_have_attribute("aria-live", "polite")
    expect(announcement).to_have_text("")
    assert_fits_the_phone(page)
    screenshot(page, "payment-pending-zh-hans")

    # The provider decides later and tells the portal by its signed callback.
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    SandboxPayment.objects.filter(pk=payment.pk).update(state=PaymentState.PAID)
    sandbox_deliver_callback(payment_id=payment.payment_id)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    # The page turns without a reload, and its live region says what happened.
    expect(result).to_have_attribute("data-status", "paid", timeout=SETTLES_WITHIN_MS)
    paid = translated("Payment received", "zh-hans")
    expect(announcement).to_contain_text(paid)
    expect(announcement).to_contain_text("+47 912 34 567")
    expect_translated(page.locator("#result-heading"), "Payment received", "zh-hans")
    expect(page.locator("#checkout-steps [aria-current=step]")).to_have_text("3. " + translated("Done", "zh-hans"))
    expect_the_order_summary(
        page, plan_name="峡湾 30 GB 季度套餐", number="+47 912 34 567", amount=nok(plan.price_ore, "zh-hans")
    )
    expect(page.locator(".receipt-download")).to_be_visible()
    portal.expect_path(f"/orders/{order.public_id}/")
    assert navigations == []
    assert_fits_the_phone(page)
    screenshot(page, "payment-turned-paid-zh-hans")


@pytest.mark.parametrize("language", ["en", "nb"])
def test_a_cancelled_payment_ends_in_not_paid_and_offers_the_checkout_again(portal: Any, language: str) -> None:
    page = portal.page
    line = customer_with_a_line(
        email="kari@example.test", full_name="Kari Nordmann", language=language, number="+4741234567"
    )
    plan = quarter_plan()

    open_the_line(portal, email="kari@example.test", line=line)
    renew_and_reach_the_sandbox(portal, line=line, plan=plan, name="Kari Nordmann", language=language)
    page.locator("#sandpay-cancel").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")

    expect(page.locator("section.order-result")).to_have_attribute("data-status", "abandoned")
    expect_translated(page.locator("#result-heading"), "The payment was cancelled", language)
    expect_the_order_summary(
        page,
        plan_name=plan.name_nb if language == "nb" else plan.name_en,
        number="+47 412 34 567",
        amount=nok(plan.price_ore, language),
    )
    stopped = page.locator("#checkout-steps [aria-current=step]")
    expect(stopped).to_have_text("3. " + translated("Not paid", language))
    expect(page.locator("#checkout-steps")).not_to_contain_text(translated("Done", language))
    expect_translated(
        page.locator(".order-reason"), "You left the payment page by its cancel link, so the order is closed.", language
    )
    assert_fits_the_phone(page)
    screenshot(page, f"payment-cancelled-{language}")

    page.locator(".try-again").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{plan.code}/")
