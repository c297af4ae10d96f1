"""A promotion code at checkout, on a phone: a code the portal does not know
is refused next to the field, a good one typed in lower case shows its
discount and the new total before paying, and the sandbox is asked for the
discounted price; the receipt carries the discount.

In this run Celery is eager: the sandbox's signed callback is POSTed to the
live server while the browser's choice is being answered."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from sandbox.models import SandboxPayment
from subscriptions.formatting import format_nok
from subscriptions.models import DiscountKind, Order, OrderStatus, PromoCode, PromoUse, Receipt
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-rabatt-2026"
SANDBOX_PAGE = re.compile(r"/sandbox-pay/sbx_[0-9a-f]+/$")
INVALID = re.compile(r"(^|\s)is-invalid(\s|$)")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nok(ore: int) -> str:
    with translation.override("en"):
        return format_nok(ore)


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def test_a_wrong_code_is_refused_then_a_good_one_lowers_the_price_paid_by_card(portal: Any) -> None:
    page = portal.page
    customer = UserFactory(
        email="kari@example.test",
        full_name="Kari Nordmann",
        language="en",
        street_address="Storgata 1",
        postal_code="0155",
        city="Oslo",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(code="fjord-10-month", name_en="Fjord 10 GB", price_ore=199_00)
    line = LineFactory(owner=customer, number="+4741234567", with_period=plan)
    PromoCode.objects.create(
        code="SUMMER20",
        kind=DiscountKind.PERCENT,
        percent=20,
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=30),
    )

    portal.sign_in("kari@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/renew/{plan.code}/")
    expect(page.locator(".checkout-total")).to_have_text(nok(199_00))
    expect(page.locator(".checkout-discount")).to_have_count(0)

    # A code the portal does not know: said next to the field; nothing made.
    field = page.locator("#id_promo_code")
    field.fill("WINTER99")
    page.locator("#apply-promo").click()
    expect(page.locator("#promo-errors")).to_have_text("We do not know this promotion code. Check it and try again.")
    expect(page.locator("#promo-errors")).to_be_visible()
    expect(field).to_have_class(INVALID)
    expect(field).to_have_attribute("aria-describedby", "promo-errors")
    expect(page.locator(".checkout-total")).to_have_text(nok(199_00))
    expect(page.locator("#pay .pay-other")).to_have_text(f"Pay {nok(199_00)}")
    assert_fits_the_phone(page)
    assert not Order.objects.exists()

    # The right one, typed as a person might: the discount and the new total.
    field.fill("summer20")
    page.locator("#apply-promo").click()
    expect(page.locator(".checkout-discount")).to_have_text(f"\u2212{nok(39_80)}")
    expect(page.locator(".checkout-discount-label")).to_have_text("Discount (SUMMER20)")
    expect(page.locator(".checkout-total")).to_have_text(nok(159_20))
    expect(page.locator(".promo-applied")).to_be_visible()
    expect(page.locator(".promo-applied")).to_have_text(f"{nok(39_80)} off.")
    expect(page.locator("#promo-errors")).to_have_count(0)
    expect(page.locator("#pay .pay-other")).to_have_text(f"Pay {nok(159_20)}")
    expect(field).to_have_value("summer20")
    assert_fits_the_phone(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "promo-applied-en.png"), full_page=True)
    assert not Order.objects.exists()
    assert not PromoUse.objects.exists()

    # Pay: the sandbox is asked for the discounted price, and approves it.
    page.locator("#pay").click()
    expect(page).to_have_url(SANDBOX_PAGE)
    expect(page.locator(".sandpay-amount")).to_have_text(nok(159_20))
    page.locator("#sandpay-approve").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")
    assert_fits_the_phone(page)

    order.refresh_from_db()
    assert (order.status, order.amount_ore, order.discount_ore) == (OrderStatus.PAID, 159_20, 39_80)
    assert SandboxPayment.objects.get().amount_ore == 159_20
    use = PromoUse.objects.get()
    assert (use.order, use.user, use.promo.code) == (order, customer, "SUMMER20")
    receipt = Receipt.objects.get()
    assert (receipt.order, receipt.discount_ore, receipt.total_ore, receipt.vat_ore) == (order, 39_80, 159_20, 31_84)
    expect(page.locator(".receipt-download")).to_contain_text(receipt.number)
