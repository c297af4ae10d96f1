"""The demo's 王小明 on a phone, with 90 days of usage on his eSIM line: the
line page is a summary with its actions on the first screen, the usage
history pages and filters on a page of its own, and the spending chart is
readable, in each of the three languages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.demo import demo_seed
from subscriptions.demo import demo_lines_seed
from subscriptions.models import Line, UsageKind, UsageRecord
from subscriptions.periods import OSLO
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "wang.xiaoming@nordlys.test"
PASSWORD = "demo-wang-2026"  # the demo's, printed by seed_demo
# A summary: at most two screens of a phone, whatever the usage history holds.
MAX_LINE_PAGE_PX = 2 * PHONE_VIEWPORT["height"]
MIN_CHART_TEXT_PX = 12
LANGUAGES = ["zh-hans", "nb", "en"]
DESKTOP_VIEWPORT = {"width": 1280, "height": 800}


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def scrolling_boxes(page: Any) -> list[str]:
    """Elements in the page's main part that scroll sideways."""
    return page.evaluate(
        """[...document.querySelectorAll("main *")]
            .filter((el) => el.scrollWidth > el.clientWidth + 1
                && ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
            .map((el) => el.tagName + "." + el.className)"""
    )


def chart_text_sizes(page: Any) -> dict[str, float]:
    """The smallest size, in CSS pixels on the screen, of each kind of text
    in the chart: its font size scaled as the SVG is scaled to its box."""
    return page.evaluate(
        """(() => {
            const sizes = {};
            for (const text of document.querySelectorAll(".spending-chart text")) {
                const px = parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a;
                const kind = text.getAttribute("class").split(" ")[0];
                sizes[kind] = Math.min(sizes[kind] ?? Infinity, px);
            }
            return sizes;
        })()"""
    )


def wangs_esim_line() -> Line:
    # A transactional test starts from an emptied database: the staff groups
    # the migrations made are gone, and the demo puts its staff in them.
    for name in ("Support agent", "Supervisor"):
        Group.objects.get_or_create(name=name)
    demo_seed()
    demo_lines_seed()
    return Line.objects.get(owner__email=EMAIL, number="+4791234567")


def previous_month() -> str:
    local = timezone.now().astimezone(OSLO)
    return f"{(date(local.year, local.month, 1) - timedelta(days=1)):%Y-%m}"


def test_the_line_page_is_a_summary_with_its_actions_first_in_every_language(portal: Any) -> None:
    page = portal.page
    line = wangs_esim_line()
    assert UsageRecord.objects.filter(line=line).count() > 100  # the demo's 90 days, too many for one page

    portal.sign_in(EMAIL, PASSWORD)
    portal.expect_path("/dashboard/")
    page.locator(f"#line-{line.pk} a.line-link").click()
    portal.expect_path(f"/lines/{line.pk}/")

    for language in LANGUAGES:
        if page.locator("html").get_attribute("lang") != language:
            portal.switch_language(language)
            portal.expect_path(f"/lines/{line.pk}/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        # Top up, Redeem a voucher, Renew and Auto-renew on the first screen.
        for action in (".renew-link", ".top-up-link", ".voucher-link", ".line-action-auto-renew"):
            box = page.locator(f".line-actions {action}").bounding_box()
            assert box is not None and box["y"] + box["height"] <= PHONE_VIEWPORT["height"], (language, action, box)
        expect(page.locator(".line-balance")).to_be_visible()
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < MAX_LINE_PAGE_PX, f"the line page is {height}px tall in {language}"
        assert_fits_the_phone(page)
        screenshot(page, f"line-page-{language}")

    # The last language's desktop view, for a look.
    page.set_viewport_size(DESKTOP_VIEWPORT)
    screenshot(page, "line-page-en-desktop")
    portal.expect_clean()


def test_the_usage_history_pages_and_filters_on_a_page_of_its_own(portal: Any) -> None:
    page = portal.page
    line = wangs_esim_line()

    portal.sign_in(EMAIL, PASSWORD)
    portal.goto(f"/lines/{line.pk}/")
    page.locator("a.usage-link").click()
    portal.expect_path(f"/lines/{line.pk}/usage/")
    expect(page.locator(".usage-row")).to_have_count(25)
    first = page.locator(".usage-row time").first.get_attribute("datetime")
    assert_fits_the_phone(page)
    screenshot(page, "line-usage-zh-hans")

    # The next page: older records.
    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(rf"/lines/{line.pk}/usage/\?page=2$"))
    expect(page.locator(".usage-page-number")).to_contain_text("2")
    older = page.locator(".usage-row time").first.get_attribute("datetime")
    assert older is not None and first is not None and older < first

    # Last month's calls only, on as many pages as they need.
    month = previous_month()
    page.locator("select[name=month]").select_option(month)
    page.locator("select[name=kind]").select_option(UsageKind.VOICE)
    page.locator("#usage-filter-submit").click()
    expect(page).to_have_url(re.compile(rf"/lines/{line.pk}/usage/\?kind=voice&month={month}$"))
    rows = page.locator(".usage-row")
    assert rows.count() > 0
    expect(page.locator(".usage-row[data-kind=voice]")).to_have_count(rows.count())
    assert_fits_the_phone(page)

    # A bookmark of the usage filter on the line page lands here, filter kept.
    portal.goto(f"/lines/{line.pk}/?kind=sms&month={month}&page=1")
    expect(page).to_have_url(re.compile(rf"/lines/{line.pk}/usage/\?kind=sms&month={month}&page=1$"))
    expect(page.locator("select[name=kind]")).to_have_value("sms")
    portal.expect_clean()


def test_the_spending_chart_and_its_figures_are_readable_on_a_phone_in_every_language(portal: Any) -> None:
    page = portal.page
    line = wangs_esim_line()

    portal.sign_in(EMAIL, PASSWORD)
    portal.goto(f"/lines/{line.pk}/")
    page.locator("a.spending-link").click()
    portal.expect_path(f"/lines/{line.pk}/spending/")

    for language in LANGUAGES:
        if page.locator("html").get_attribute("lang") != language:
            portal.switch_language(language)
            portal.expect_path(f"/lines/{line.pk}/spending/")
        chart = page.locator(".spending-chart")
        expect(chart.locator(".spending-label")).to_have_count(12)
        expect(chart.locator(".spending-value")).to_have_count(12)
        assert chart.locator(".spending-tick").count() >= 3
        sizes = chart_text_sizes(page)
        assert set(sizes) >= {"spending-label", "spending-value", "spending-tick"}, sizes
        assert min(sizes.values()) >= MIN_CHART_TEXT_PX, (language, sizes)
        if language == "zh-hans":
            assert all(
                re.fullmatch(r"\d{1,2}月", label) for label in chart.locator(".spending-label").all_text_contents()
            )

        # The figures, opened: they fit the card, nothing scrolls sideways.
        page.locator(".spending-table summary").click()
        table = page.locator(".spending-figures")
        expect(table).to_be_visible()
        card = page.locator("#spending .card-body").bounding_box()
        box = table.bounding_box()
        assert card is not None and box is not None
        assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (language, box, card)
        assert scrolling_boxes(page) == [], language
        assert_fits_the_phone(page)
        screenshot(page, f"line-spending-{language}")

    page.set_viewport_size(DESKTOP_VIEWPORT)
    screenshot(page, "line-spending-en-desktop")
    portal.expect_clean()
