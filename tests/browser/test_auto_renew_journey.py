"""Auto-renew on a phone, in Chinese: from the line page, choose the plan to
renew with, save a card on the sandbox provider's page, come back to a line
page that says when the next charge comes and how much, then turn it off."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from subscriptions.formatting import format_nok, format_recurring_cost
from subscriptions.models import AutoRenewal, CardSetup, Line, Plan, SavedCard, SetupStatus
from subscriptions.periods import OSLO
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-autofornyelse-2026"
LANGUAGE = "zh-hans"
SETUP_PAGE = re.compile(r"/sandbox-pay/sbs_[0-9a-f]+/$")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def translated(message: str) -> str:
    with translation.override(LANGUAGE):
        text = gettext(message)
    assert text != message, f"no {LANGUAGE} translation of {message!r}"
    return text


def nok(ore: int) -> str:
    with translation.override(LANGUAGE):
        return format_nok(ore)


def shown_as(moment: datetime) -> str:
    with translation.override(LANGUAGE):
        return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_turn_auto_renew_on_with_a_new_card_see_the_next_charge_then_turn_it_off(portal: Any) -> None:
    page = portal.page
    customer = UserFactory(
        email="wang@example.test",
        full_name="王小明",
        language=LANGUAGE,
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    month = PlanFactory(code="fjord-10-month", name_zh_hans="峡湾 10 GB", price_ore=199_00)
    quarter: Plan = PlanFactory(
        code="fjord-30-quarter", period="quarter", data_mb=30_720, price_ore=499_00, name_zh_hans="峡湾 30 GB 季度套餐"
    )
    line: Line = LineFactory(owner=customer, number="+4791234567", with_period=month)
    assert line.expires_at is not None
    line_page = re.compile(re.escape(portal.url(f"/lines/{line.pk}/")) + r"(#auto-renew)?$")

    portal.sign_in("wang@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    page.locator(f"#line-{line.pk} a.line-link").click()
    portal.expect_path(f"/lines/{line.pk}/")
    section = page.locator("#auto-renew")
    expect(section).to_have_attribute("data-state", "off")
    expect(page.locator("#auto-renew-off")).to_have_count(0)

    # Choose the quarter plan and a new card; the card is saved at the provider.
    page.locator(".auto-renew-link").click()
    portal.expect_path(f"/lines/{line.pk}/auto-renew/")
    expect(page.locator(f"#plan-{month.pk}")).to_be_checked()
    page.locator(f"label[for='plan-{quarter.pk}']").click()
    expect(page.locator(f"#plan-{quarter.pk}")).to_be_checked()
    expect(page.locator("#id_card")).to_have_value("")
    assert_fits_the_phone(page)
    page.locator("#auto-renew-save").click()
    expect(page).to_have_url(SETUP_PAGE)
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGE)
    expect(page.locator("#sandpay-heading")).to_have_text(translated("Save a card"))
    assert_fits_the_phone(page)
    screenshot(page, "auto-renew-card-page-zh-hans")
    page.locator("#sandpay-save-card").click()

    # Back on the line page: on, with the next charge's amount and moment.
    expect(page).to_have_url(line_page)
    with translation.override(LANGUAGE):
        cost = format_recurring_cost(499_00, "quarter")
    expect(page.locator(".alert-success")).to_have_text(
        translated("Your card is saved and auto-renew is on: %(cost)s.") % {"cost": cost}
    )
    expect(section).to_have_attribute("data-state", "on")
    setting = AutoRenewal.objects.select_related("card").get(line=line)
    assert (setting.enabled, setting.plan) == (True, quarter)
    assert CardSetup.objects.get().status == SetupStatus.SAVED
    card = SavedCard.objects.get(owner=customer)
    expect(section.locator(".auto-renew-summary")).to_have_text(
        translated("On: renews with %(plan)s, paid with your card %(card)s.")
        % {"plan": "峡湾 30 GB 季度套餐", "card": str(card)}
    )
    next_charge = section.locator(".auto-renew-next")
    when = line.expires_at - timedelta(days=3)
    expect(next_charge).to_have_text(
        translated("Next charge: %(amount)s on %(when)s.") % {"amount": nok(499_00), "when": shown_as(when)}
    )
    expect(next_charge.locator("time")).to_have_text(shown_as(when))
    assert datetime.fromisoformat(next_charge.locator("time").get_attribute("datetime") or "") == when
    assert_fits_the_phone(page)
    screenshot(page, "auto-renew-on-zh-hans")

    # The renew page says a renewal by hand would come on top of the automatic one.
    page.goto(portal.url(f"/lines/{line.pk}/renew/"))
    expect(page.locator(".auto-renew-on-renew")).to_contain_text("此号码已开启自动续费")
    assert_fits_the_phone(page)
    screenshot(page, "renew-on-auto-renew-zh-hans")
    page.goto(portal.url(f"/lines/{line.pk}/"))

    # Turned off: nothing more is promised.
    page.locator("#auto-renew-off").click()
    expect(page).to_have_url(line_page)
    expect(page.locator(".alert-success")).to_have_text(
        translated("Auto-renew is off. Nothing will be charged automatically.")
    )
    expect(section).to_have_attribute("data-state", "off")
    expect(section.locator(".auto-renew-next")).to_have_count(0)
    expect(page.locator("#auto-renew-off")).to_have_count(0)
    line.refresh_from_db()
    assert not line.auto_renew
    assert AutoRenewal.objects.get(line=line).enabled is False
    assert_fits_the_phone(page)
    portal.expect_clean()
