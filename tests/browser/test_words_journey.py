"""Numbers on a phone: a customer reading in Chinese on a 390 px screen sees
each phone number spaced for reading and on one line, on the dashboard, the
line page, the usage history and the sign-in code page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from subscriptions.formatting import format_moment
from subscriptions.models import PlanKind, UsageKind, UsageRecord
from subscriptions.periods import OSLO
from tests.browser.conftest import ARTIFACTS
from tests.factories import LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-nummer-2026"
NBSP = "\u00a0"
LINE_NUMBER = f"+47{NBSP}461{NBSP}23{NBSP}456"
CALLED_NUMBER = f"+47{NBSP}408{NBSP}11{NBSP}623"

# For every text node holding ``number``: how many rows of text it covers.
ROWS_OF = """(number) => {
    const rows = [];
    const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const at = node.textContent.indexOf(number);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + number.length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        rows.push(tops.size);
    }
    return rows;
}"""


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def numbers_on_one_row(page: Any, number: str) -> list[int]:
    rows = page.evaluate(ROWS_OF, number)
    assert rows, f"{number!r} is not on {page.url}"
    return rows


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_phone_numbers_stay_on_one_row_on_a_phone(portal: Any, page: Any) -> None:
    customer = UserFactory(
        email="li@example.test", password=PASSWORD, language="zh-hans", verified_email=True, phone_verified=True
    )
    plan = PlanFactory(name_en="Fjord 10 GB", name_zh_hans="峡湾 10 GB 月套餐", data_mb=10_240)
    line = LineFactory(owner=customer, number="+4746123456", with_period=plan)
    UsageRecord.objects.create(
        record_id="call-1",
        line=line,
        period=line.periods.get(),
        kind=UsageKind.VOICE,
        quantity=125,
        destination="+4740811623",
        occurred_at=timezone.now() - timedelta(minutes=5),
    )
    portal.sign_in("li@example.test", PASSWORD)
    portal.expect_path("/dashboard/")

    for path, number, name in [
        ("/dashboard/", LINE_NUMBER, "words-dashboard"),
        (f"/lines/{line.pk}/", LINE_NUMBER, "words-line-page"),
        (f"/lines/{line.pk}/usage/", CALLED_NUMBER, "words-usage"),
        (f"/lines/{line.pk}/renew/", LINE_NUMBER, "words-renew"),
    ]:
        portal.goto(path)
        assert set(numbers_on_one_row(page, number)) == {1}, path
        assert "+4740811623" not in page.locator("main").inner_text()
        screenshot(page, name)


def test_an_expired_number_keeping_line_says_when_the_number_goes(portal: Any, page: Any, settings: Any) -> None:
    settings.NUMBER_KEEPING_GRACE_DAYS = 30
    customer = UserFactory(
        email="ola@example.test", password=PASSWORD, language="nb", verified_email=True, phone_verified=True
    )
    keeper = LineFactory(
        owner=customer,
        number="+4791234567",
        kind=PlanKind.NUMBER_KEEPING,
        with_period=NumberKeepingPlanFactory(),
        with_period__days_ago=100,
    )
    portal.sign_in("ola@example.test", PASSWORD)
    portal.expect_path("/dashboard/")

    portal.goto(f"/lines/{keeper.pk}/")

    alert = page.locator("[data-alert=expired]")
    with translation.override("nb"):
        lost_on = format_moment((keeper.expires_at + timedelta(days=30)).astimezone(OSLO))
    expect(alert).to_contain_text(lost_on)
    expect(page.locator(".renew-note")).to_have_count(0)
    screenshot(page, "words-expired-number-keeping")


def test_the_sms_code_page_shows_the_number_on_one_row(portal: Any, page: Any, sms_outbox: Any) -> None:
    UserFactory(phone="+4741234567", phone_verified=True, language="nb")

    portal.goto("/accounts/login/code/")
    page.locator("input[name=phone]").fill("412 34 567")
    page.locator("main form button[type=submit]").first.click()
    portal.expect_path("/accounts/login/code/confirm/")

    assert set(numbers_on_one_row(page, f"+47{NBSP}412{NBSP}34{NBSP}567")) == {1}
    assert "+4741234567" not in page.locator("main").inner_text()
    screenshot(page, "words-sms-code")
