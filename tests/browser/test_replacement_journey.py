"""A new eSIM for a new phone (补办 eSIM), in Chinese on a 390 px phone: from
the line page, the reason, a fresh sign-in, the code from the account's
email, the status page in its cooling-off hour; then the stop link from the
text sent to the line, opened on another device without a sign-in, stops
it once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from portal import sms
from subscriptions.models import ReplacementRequest, ReplacementStatus
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-bytte-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    assert text != message, f"no Chinese for {message!r}"
    return text


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def test_a_new_phone_reaches_the_cooling_off_hour_and_the_text_s_stop_link_stops_it(portal: Any, open_page: Any):
    page = portal.page
    sms.outbox.clear()
    customer = UserFactory(
        email="wang@example.test", language="zh-hans", password=PASSWORD, verified_email=True, phone_verified=True
    )
    line = LineFactory(owner=customer, number="+4741234599", with_period=PlanFactory(code="fjord-month"))

    portal.sign_in("wang@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    page.locator(".replacement-link").click()
    portal.expect_path(f"/lines/{line.pk}/replacement/")
    page.locator("#replacement-continue").click()
    expect(page.locator(".reason-error")).to_have_text(zh("Choose why you need a new eSIM."))
    page.get_by_label(zh("New phone")).check()
    page.locator("#replacement-continue").click()
    replacement = ReplacementRequest.objects.get(line=line)
    portal.expect_path(f"/replacements/{replacement.public_id}/")

    page.locator("#send-code").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/replacements/{replacement.public_id}/")
    assert mail.outbox[-1].to == ["wang@example.test"]
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert code is not None
    assert not sms.outbox, "the code never goes to the line"
    page.locator("#id_code").fill(code.group(1))
    page.locator("#check-code").click()

    status = page.locator(".replacement-status")
    expect(status).to_have_attribute("data-status", "cooling_off")
    expect(status.locator("h2")).to_have_text(zh("Cooling-off period"))
    expect(page.locator(".timeline-step[data-step='cooling_off']")).to_have_attribute("data-state", "current")
    assert_fits_the_phone(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "replacement-cooling-off-zh.png"), full_page=True)

    texts = [text for text in sms.outbox if text.to == line.number]
    assert len(texts) == 1
    link = re.search(r"https?://\S+/replacements/stop/\S+?/", texts[0].body)
    assert link is not None
    stop_path = link.group(0).split("/replacements/", 1)[1]

    other = open_page()  # another device: no sign-in
    other.goto(portal.url(f"/replacements/{stop_path}"))
    other.locator("#stop-replacement").click()
    expect(other.locator(".replacement-stopped")).to_be_visible()
    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.STOPPED
    other.goto(portal.url(f"/replacements/{stop_path}"))
    # That device's browser speaks English; the page speaks the account owner's Chinese, as the text did.
    expect(other.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(other.locator(".stop-link-error")).to_have_text(zh("This link was already used."))
