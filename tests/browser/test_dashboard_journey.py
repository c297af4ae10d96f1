"""The balance journey on a phone: sign in, read the dashboard in Chinese,
open a line and its usage history, filter the usage by month."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from subscriptions.models import LedgerKind, UsageKind, UsageRecord
from subscriptions.periods import OSLO
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-saldo-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def previous_month() -> date:
    local = timezone.now().astimezone(OSLO)
    return (date(local.year, local.month, 1) - timedelta(days=1)).replace(day=1)


def customer_with_a_line() -> Any:
    """A customer with an eSIM line mid-period: some usage this month, three
    records last month, and a few movements on the balance."""
    customer = UserFactory(
        email="wang@example.test",
        full_name="Wang Xiaoming",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(name_en="Fjord 10 GB", name_zh_hans="峡湾 10 GB 月套餐", data_mb=10_240)
    line = LineFactory(owner=customer, number="+4791234567", with_period=plan)
    period = line.periods.get()
    now = timezone.now()
    records = [
        UsageRecord(
            record_id=f"now-{n}",
            line=line,
            period=period,
            kind=UsageKind.DATA,
            quantity=300 * 1024,
            occurred_at=now - timedelta(minutes=5 + n),
        )
        for n in range(4)
    ]
    last_month = previous_month()
    records += [
        UsageRecord(
            record_id=f"before-{n}",
            line=line,
            kind=kind,
            quantity=quantity,
            destination="+4722334455",
            occurred_at=datetime(last_month.year, last_month.month, 10 + n, 12, tzinfo=OSLO),
        )
        for n, (kind, quantity) in enumerate([(UsageKind.VOICE, 185), (UsageKind.SMS, 1), (UsageKind.VOICE, 42)])
    ]
    UsageRecord.objects.bulk_create(records)
    LedgerEntryFactory(line=line, amount_ore=200_00, created_at=now - timedelta(days=40))
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_50, created_at=now - timedelta(days=35))
    LedgerEntryFactory(line=line, kind=LedgerKind.RENEWAL, amount_ore=-99_00, created_at=now - timedelta(days=10))
    return line


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def test_read_the_dashboard_in_chinese_open_a_line_and_filter_its_usage_by_month(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line()

    portal.sign_in("wang@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    card = page.locator(f"#line-{line.pk}")
    expect(card.locator(".line-number")).to_have_text("+47 912 34 567")
    expect(card.locator(".line-status")).to_have_text("Active")

    # Chinese from the navbar's language menu: the same card, the plan's own
    # Chinese name, bars for what is left.
    portal.switch_language("zh-hans")
    portal.expect_path("/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(card.locator(".line-plan")).to_have_text("峡湾 10 GB 月套餐")
    expect(card.locator("progress.allowance-meter")).to_have_count(3)
    expect(card.locator(".line-balance")).to_contain_text("88.50")
    assert_fits_the_phone(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-zh-hans.png"), full_page=True)

    # Open the line, then its usage history: all seven records, newest first.
    card.locator("a.line-link").click()
    portal.expect_path(f"/lines/{line.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("a.usage-link").click()
    portal.expect_path(f"/lines/{line.pk}/usage/")
    expect(page.locator(".usage-row")).to_have_count(7)
    assert_fits_the_phone(page)

    # Last month only: the two calls and the text.
    month = f"{previous_month():%Y-%m}"
    page.locator("select[name=month]").select_option(month)
    page.locator("#usage-filter-submit").click()
    expect(page).to_have_url(re.compile(rf"/lines/{line.pk}/usage/\?kind=&month={month}$"))
    expect(page.locator(".usage-row")).to_have_count(3)
    expect(page.locator(".usage-row[data-kind=voice]")).to_have_count(2)
    expect(page.locator("select[name=month]")).to_have_value(month)

    # And of those, only the calls.
    page.locator("select[name=kind]").select_option("voice")
    page.locator("#usage-filter-submit").click()
    expect(page.locator(".usage-row")).to_have_count(2)
    page.locator("#usage").scroll_into_view_if_needed()
    assert_fits_the_phone(page)
    portal.expect_clean()
