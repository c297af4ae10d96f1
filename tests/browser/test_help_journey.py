"""Help within reach on a phone: the footer's customer service number is a
tap-to-call link, and the help page is one tap away in the menu."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_renewal_journey import assert_fits_the_phone, expect, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_number_can_be_tapped_and_the_help_page_is_in_the_menu(portal: Any) -> None:
    page = portal.page
    portal.goto("/plans/")

    call = page.locator("footer a.support-phone")
    expect(call).to_have_text("+47 800 12 345")
    expect(call).to_have_attribute("href", "tel:+4780012345")
    call.scroll_into_view_if_needed()
    expect(call).to_be_visible()

    portal.open_menu()
    page.locator("#main-nav a[href='/help/']").click()
    portal.expect_path("/help/")
    expect(page.locator("main h1")).to_have_text("Help and customer service")
    expect(page.locator(".help-hours")).to_contain_text("Open every day 08:00–22:00")
    button = page.locator("a.help-call")
    expect(button).to_be_in_viewport()
    expect(button).to_have_attribute("href", "tel:+4780012345")
    expect(page.locator("a.help-email")).to_have_attribute("href", "mailto:kundeservice@nordlys.test")
    for task in ("help-lost-phone", "help-replacement", "help-cancellation", "help-payments", "help-vouchers"):
        expect(page.locator(f"#{task}")).to_be_visible()
    assert_fits_the_phone(page)
    screenshot(page, "help-en")

    portal.switch_language("zh-hans")
    expect(page.locator("main h1")).to_have_text("帮助与客服")
    expect(page.locator("footer")).to_contain_text("每天 08:00–22:00")
    assert_fits_the_phone(page)
    screenshot(page, "help-zh-hans")
