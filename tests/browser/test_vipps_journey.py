"""Renewing with Vipps MobilePay on a phone, in Norwegian: the checkout
offers card and Vipps MobilePay, the pay button turns Vipps's orange with
"Betal med Vipps" once Vipps is chosen, the sandbox's pretend approval page
takes the approval, and the result page shows the renewal paid; the
reservation is captured behind it. In this run Celery is eager: the
sandbox's signed webhooks and the capture run while the browser waits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.models import SandboxVippsPayment
from subscriptions.models import CaptureStatus, Order, OrderStatus, PaymentMethod, ServicePeriod
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.browser.test_renewal_journey import (
    customer_with_a_line,
    expect,
    expect_translated,
    nok,
    open_the_line,
    quarter_plan,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIPPS_PAGE = re.compile(r"/sandbox-pay/vipps/[0-9a-f-]+/$")
VIPPS_ORANGE = "rgb(255, 91, 36)"


def test_renew_with_vipps_in_norwegian_on_a_phone(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(email="ola@example.test", full_name="Ola Nordmann", language="nb", number="+4792345678")
    plan = quarter_plan()
    old_expiry = line.expires_at

    open_the_line(portal, email="ola@example.test", line=line)
    page.locator(".renew-link").click()
    page.locator(f"[data-plan='{plan.code}'] a.plan-choose").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{plan.code}/")
    expect(page.locator("#method-card")).to_be_checked()
    expect(page.locator("label[for=method-vipps]")).to_contain_text("Vipps MobilePay")

    page.locator("label[for=method-vipps]").click()

    pay = page.locator("#pay")
    expect_translated(pay.locator(".pay-vipps"), "Pay with Vipps MobilePay", "nb")
    expect(pay.locator(".pay-vipps")).to_have_text("Betal med Vipps")
    expect(pay.locator(".pay-vipps")).to_be_visible()
    expect(pay.locator(".pay-other")).to_be_hidden()
    expect(pay).to_have_css("background-color", VIPPS_ORANGE)
    expect(pay).to_have_css("color", "rgb(255, 255, 255)")
    assert_fits_the_phone(page)
    screenshot(page, "vipps-checkout-nb")

    pay.click()
    expect(page).to_have_url(VIPPS_PAGE)
    payment = SandboxVippsPayment.objects.get()
    assert payment.phone == line.owner.phone.lstrip("+")
    expect(page.locator(".sandpay-amount")).to_have_text(nok(plan.price_ore, "nb"))
    expect_translated(page.locator("#sandvipps-approve"), "Approve", "nb")
    assert_fits_the_phone(page)
    screenshot(page, "vipps-approval-nb")

    page.locator("#sandvipps-approve").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")
    expect_translated(page.locator("#result-heading"), "Payment received", "nb")
    assert_fits_the_phone(page)
    screenshot(page, "vipps-paid-nb")

    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.method, order.capture_status) == (
        OrderStatus.PAID,
        PaymentMethod.VIPPS,
        CaptureStatus.CAPTURED,
    )
    assert SandboxVippsPayment.objects.get().captured_ore == plan.price_ore
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert line.expires_at is not None and old_expiry is not None and line.expires_at > old_expiry

    # The next checkout offers Vipps MobilePay first: the customer's choice.
    portal.goto(f"/lines/{line.pk}/renew/{plan.code}/")
    expect(page.locator("#method-vipps")).to_be_checked()
    portal.expect_clean()


def test_turn_auto_renew_on_with_vipps_in_norwegian_on_a_phone(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(email="ola@example.test", full_name="Ola Nordmann", language="nb", number="+4792345678")

    open_the_line(portal, email="ola@example.test", line=line)
    portal.goto(f"/lines/{line.pk}/auto-renew/")
    button = page.locator("#auto-renew-vipps")
    expect_translated(button, "Turn on with Vipps MobilePay", "nb")
    expect(button).to_have_css("background-color", VIPPS_ORANGE)
    assert_fits_the_phone(page)
    screenshot(page, "vipps-auto-renew-nb")

    button.click()
    expect(page).to_have_url(re.compile(r"/sandbox-pay/vipps-agreement/agr_[0-9a-f]+/$"))
    assert_fits_the_phone(page)
    screenshot(page, "vipps-agreement-nb")
    page.locator("#sandvipps-approve").click()

    expect(page).to_have_url(re.compile(rf"/lines/{line.pk}/#auto-renew$"))
    line.refresh_from_db()
    assert line.auto_renew
    assert str(line.auto_renewal.card) == "Vipps MobilePay"
    expect_translated(
        page.locator(".auto-renew-summary"),
        "On: renews with %(plan)s, paid through your Vipps MobilePay agreement.",
        "nb",
        plan="Fjord 10 GB",
    )
    assert_fits_the_phone(page)
    screenshot(page, "vipps-auto-renew-on-nb")
    portal.expect_clean()
