"""Kari's case on a phone, in each language: her eSIM is on "Month 10 GB"
with two days left, and cheaper plans (a 39 kr day pass) are on sale.

- Renew from the dashboard goes straight to the checkout of her month plan,
  marked as hers; she pays on the sandbox page and the dashboard stops
  warning, because a whole month was added, not a day.
- Auto-renew offers every plan with its price and period, her plan chosen
  by default; the confirmation says what it costs in a month, for her plan
  and for the day pass she then picks by tapping its card."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from sandbox.models import SandboxPayment
from subscriptions.formatting import format_recurring_cost
from subscriptions.models import AutoRenewal, Line, Order, OrderStatus, Plan, PlanPeriod
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-fornyelse-2026"
LANGUAGES = ["en", "nb", "zh-hans"]
PAYMENT_PAGE = re.compile(r"/sandbox-pay/sbx_[0-9a-f]+/$")
SETUP_PAGE = re.compile(r"/sandbox-pay/sbs_[0-9a-f]+/$")
# The smallest tap target on a phone (WCAG 2.5.5 and Apple's guidelines).
MIN_TARGET_PX = 44


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def translated(message: str, language: str) -> str:
    with translation.override(language):
        text = gettext(message)
    if language != "en":
        assert text != message, f"no {language} translation of {message!r}"
    return text


def recurring(plan: Plan, language: str) -> str:
    with translation.override(language):
        return format_recurring_cost(plan.price_ore, plan.period)


def kari(language: str) -> tuple[Line, Plan, Plan]:
    """Kari's line two days before the end of its month, and the day pass."""
    customer = UserFactory(
        email="kari@example.test",
        full_name="Kari Nordmann",
        language=language,
        street_address="Storgata 1",
        postal_code="0155",
        city="Oslo",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    day_pass = PlanFactory(
        code="esim-day-1gb",
        period=PlanPeriod.DAY,
        data_mb=1024,
        price_ore=39_00,
        name_en="Day pass 1 GB",
        name_nb="Dagspakke 1 GB",
        name_zh_hans="1 天套餐 1 GB",
    )
    PlanFactory(code="esim-week-5gb", period=PlanPeriod.WEEK, data_mb=5120, price_ore=99_00, name_en="Week 5 GB")
    month = PlanFactory(
        code="esim-month-10gb",
        price_ore=249_00,
        name_en="Month 10 GB",
        name_nb="Måned 10 GB",
        name_zh_hans="月套餐 10 GB",
    )
    start = timezone.now() - timedelta(days=29)
    line: Line = LineFactory(owner=customer, number="+4741234567", with_period=month, with_period__start=start)
    return line, month, day_pass


def line_page(portal: Any, line: Line) -> re.Pattern[str]:
    """The line page, scrolled to its auto-renew section."""
    return re.compile(re.escape(portal.url(f"/lines/{line.pk}/")) + r"(#auto-renew)?$")


def sign_in_to_the_dashboard(portal: Any, language: str) -> None:
    portal.sign_in("kari@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    expect(portal.page.locator("html")).to_have_attribute("lang", language)


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def assert_big_enough(locator: Any) -> None:
    for index in range(locator.count()):
        box = locator.nth(index).bounding_box()
        assert box is not None and box["height"] >= MIN_TARGET_PX, f"tap target {index} is {box} high"


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_renew_from_the_dashboard_buys_the_same_month_and_the_warning_goes(portal: Any, language: str) -> None:
    page = portal.page
    line, month, _day_pass = kari(language)
    old_expiry = line.expires_at
    assert old_expiry is not None

    sign_in_to_the_dashboard(portal, language)
    card = page.locator(f"#line-{line.pk}")
    expect(card.locator("[data-alert='near-expiry']")).to_be_visible()
    actions = card.locator(".line-actions a")
    expect(actions).to_have_count(4)
    assert_big_enough(actions)
    assert_fits_the_phone(page)
    screenshot(page, f"renew-kari-dashboard-before-{language}")

    # One tap: the checkout of her own plan, said to be hers, another plan one tap away.
    card.locator(".line-action-renew").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{month.code}/")
    expect(page.locator(".checkout-plan-choice .plan-yours")).to_have_text(translated("Your plan", language))
    with translation.override(language):
        expect(page.locator("#summary-heading")).to_have_text(month.name)
    expect(page.locator(".choose-another-plan")).to_be_visible()
    assert_big_enough(page.locator(".choose-another-plan"))
    assert_fits_the_phone(page)
    screenshot(page, f"renew-kari-checkout-{language}")

    page.locator("#pay").click()
    expect(page).to_have_url(PAYMENT_PAGE)
    assert SandboxPayment.objects.get().amount_ore == month.price_ore
    page.locator("#sandpay-approve").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")

    # A month was added after the current one: nothing left to warn about.
    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.plan) == (OrderStatus.PAID, month)
    assert line.expires_at is not None and line.expires_at - old_expiry >= timedelta(days=28)
    portal.goto("/dashboard/")
    card = page.locator(f"#line-{line.pk}")
    expect(card.locator(".line-expiry")).to_be_visible()
    expect(card.locator("[data-alert]")).to_have_count(0)
    assert_fits_the_phone(page)
    screenshot(page, f"renew-kari-dashboard-after-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_renew_list_starts_with_her_plan_and_every_card_is_a_tap_target(portal: Any, language: str) -> None:
    page = portal.page
    line, month, day_pass = kari(language)

    sign_in_to_the_dashboard(portal, language)
    portal.goto(f"/lines/{line.pk}/renew/")
    cards = page.locator(".renew-plans .plan-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_have_attribute("data-plan", month.code)
    expect(cards.first.locator(".plan-yours")).to_have_text(translated("Your plan", language))
    assert_big_enough(page.locator(".renew-plans a.plan-choose"))
    assert_fits_the_phone(page)
    screenshot(page, f"renew-kari-plan-list-{language}")

    # A tap at the top of the day pass's card, far from its button, chooses
    # it: the whole card is the link (the tap lands on the link's overlay).
    page.locator(f"[data-plan='{day_pass.code}']").click(position={"x": 20, "y": 12})
    portal.expect_path(f"/lines/{line.pk}/renew/{day_pass.code}/")
    expect(page.locator(".plan-not-yours")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_renew_defaults_to_her_plan_shows_prices_with_periods_and_the_monthly_cost(
    portal: Any, language: str
) -> None:
    page = portal.page
    line, month, day_pass = kari(language)

    sign_in_to_the_dashboard(portal, language)
    page.locator(f"#line-{line.pk} .line-action-auto-renew").click()
    portal.expect_path(f"/lines/{line.pk}/auto-renew/")
    choices = page.locator(".auto-renew-plan")
    expect(choices).to_have_count(3)
    expect(choices.first).to_have_attribute("data-plan", month.code)
    expect(page.locator(f"#plan-{month.pk}")).to_be_checked()
    expect(page.locator(f"[data-plan='{day_pass.code}'] .plan-recurring-cost")).to_have_text(
        recurring(day_pass, language)
    )
    expect(page.locator(f"[data-plan='{month.code}'] .plan-recurring-cost")).to_have_text(recurring(month, language))
    assert_big_enough(choices)
    assert_fits_the_phone(page)
    screenshot(page, f"auto-renew-kari-choices-{language}")

    # Take the default, save a card: the confirmation says the month's cost.
    page.locator("#auto-renew-save").click()
    expect(page).to_have_url(SETUP_PAGE)
    page.locator("#sandpay-save-card").click()
    expect(page).to_have_url(line_page(portal, line))
    confirmation = translated("Your card is saved and auto-renew is on: %(cost)s.", language)
    expect(page.locator(".alert-success")).to_have_text(confirmation % {"cost": recurring(month, language)})
    assert AutoRenewal.objects.get(line=line).plan == month

    # Then choose the day pass by tapping its card: the cost of a month of days is said.
    portal.goto("/dashboard/")
    page.locator(f"#line-{line.pk} .line-action-auto-renew").click()
    page.locator(f"[data-plan='{day_pass.code}'] .plan-recurring-cost").click()
    expect(page.locator(f"#plan-{day_pass.pk}")).to_be_checked()
    page.locator("#auto-renew-save").click()
    expect(page).to_have_url(line_page(portal, line))
    confirmation = translated("Auto-renew is on: %(cost)s.", language)
    expect(page.locator(".alert-success")).to_have_text(confirmation % {"cost": recurring(day_pass, language)})
    expect(page.locator("#auto-renew .auto-renew-cost")).to_have_text(recurring(day_pass, language))
    assert AutoRenewal.objects.get(line=line).plan == day_pass
    assert_fits_the_phone(page)
    screenshot(page, f"auto-renew-kari-on-{language}")
