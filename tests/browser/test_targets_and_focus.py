"""Targets and focus on a phone (390 px), in each language: every control a
thumb can hit is at least 24×24 CSS px and every button 44 px tall; a skip
link leads past the navigation; the focus ring shows on the coloured alert
boxes and on form fields. Reached by keyboard where a customer would use one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from subscriptions.models import LedgerKind, Line
from tests.browser.conftest import ARTIFACTS
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory
from tests.subscriptions.test_receipt_pdf import make_receipt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-fokus-2026"
LANGUAGES = ["zh-hans", "nb", "en"]

# Every visible control inside the page's main part and its navigation, with
# its size (a label wraps its own input, so labels are not counted twice).
TARGETS = """() => [...document.querySelectorAll(
    "main a, main button, main input:not([type=hidden]), main select, main summary, main textarea, main [tabindex='0'],"
    + " nav a, nav button")]
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                    && getComputedStyle(el).visibility !== "hidden" && !el.closest(".visually-hidden-focusable"); })
  .map((el) => { const r = el.getBoundingClientRect();
    return {what: el.outerHTML.slice(0, 90), width: r.width, height: r.height,
            button: el.classList.contains("btn")}; })"""

FOCUS_RING = """(el) => { const s = getComputedStyle(el); const alert = el.closest(".alert");
  return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
          background: getComputedStyle(alert || document.body).backgroundColor}; }"""


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def luminance(css_color: str) -> float:
    channels = [float(part) / 255 for part in css_color[css_color.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted([luminance(one), luminance(other)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def customer(language: str) -> tuple[Line, Line]:
    """A customer with an expired line (the red alert box), an active line
    whose balance does not cover a renewal, and one receipt."""
    owner = UserFactory(
        email="fokus@example.test", language=language, password=PASSWORD, verified_email=True, phone_verified=True
    )
    plan = PlanFactory(code="fjord-10-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB")
    expired: Line = LineFactory(owner=owner, number="+4798765432", with_period=plan, with_period__days_ago=40)
    active: Line = LineFactory(owner=owner, number="+4741234567", with_period=plan)
    LedgerEntryFactory(line=active, kind=LedgerKind.VOUCHER, amount_ore=10_00)
    make_receipt(owner=owner)
    return expired, active


def assert_targets_big_enough(page: Any, where: str) -> None:
    targets = page.evaluate(TARGETS)
    assert targets, where
    small = [t for t in targets if t["width"] < 24 or t["height"] < 24]
    assert not small, f"targets under 24×24 px on {where}: {small}"
    short = [t for t in targets if t["button"] and t["height"] < 44]
    assert not short, f"buttons under 44 px tall on {where}: {short}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_target_is_at_least_24_px_and_every_button_44_px_tall(portal: Any, language: str) -> None:
    page = portal.page
    expired, active = customer(language)
    portal.sign_in("fokus@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_targets_big_enough(page, "the dashboard")

    for path in (
        "/receipts/",
        f"/lines/{active.pk}/",
        f"/lines/{active.pk}/renew/",
        f"/lines/{active.pk}/renew/fjord-10-month/",
        f"/lines/{active.pk}/top-up/",
        f"/lines/{expired.pk}/voucher/",
    ):
        portal.goto(path)
        page.locator("main details").evaluate_all("(all) => all.forEach((d) => { d.open = true; })")
        assert_targets_big_enough(page, path)

    # The radio buttons and the "Top up" link beside the balance are among them.
    portal.goto(f"/lines/{active.pk}/renew/fjord-10-month/")
    expect(page.locator("#method-balance")).to_be_disabled()
    assert page.locator("#method-card").bounding_box()["height"] >= 24
    assert page.locator("#method-balance-help a").bounding_box()["height"] >= 24
    page.screenshot(path=str(ARTIFACTS / f"targets-checkout-{language}.png"), full_page=True)


def test_a_skip_link_is_the_first_stop_and_leads_into_the_main_part(portal: Any) -> None:
    page = portal.page
    customer("nb")
    portal.sign_in("fokus@example.test", PASSWORD)
    portal.expect_path("/dashboard/")

    skip = page.locator(".skip-link")
    expect(skip).to_have_text("Hopp til hovedinnholdet")
    box = skip.bounding_box()
    assert box is None or box["width"] <= 1, "hidden until it has focus"
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, box
    page.screenshot(path=str(ARTIFACTS / "skip-link-nb.png"))

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next stop is inside the main part, not the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    assert page.evaluate("document.activeElement.closest('nav.navbar') === null")


def test_the_focus_ring_shows_on_the_red_alert_box_and_on_form_fields(portal: Any) -> None:
    page = portal.page
    expired, active = customer("en")
    portal.sign_in("fokus@example.test", PASSWORD)
    portal.expect_path("/dashboard/")

    # Tab to the expired line's "Renew" in its red box, as a keyboard user does.
    renew = page.locator(f"#line-{expired.pk} .alert-danger a.btn")
    for _ in range(40):
        page.keyboard.press("Tab")
        if renew.evaluate("(el) => el === document.activeElement"):
            break
    expect(renew).to_be_focused()
    ring = renew.evaluate(FOCUS_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["color"], ring["background"]) >= 3, ring
    page.screenshot(path=str(ARTIFACTS / "focus-alert-en.png"))

    portal.goto(f"/lines/{active.pk}/top-up/")
    amount = page.locator("input[name=amount]")
    amount.focus()
    ring = amount.evaluate(FOCUS_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["color"], "rgb(255, 255, 255)") >= 3, ring


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_spending_figures_open_by_keyboard_and_fit_the_phone(portal: Any, language: str) -> None:
    page = portal.page
    _expired, active = customer(language)
    LedgerEntryFactory(line=active, kind=LedgerKind.RENEWAL, amount_ore=-99_00)
    LedgerEntryFactory(
        line=active, kind=LedgerKind.USAGE, amount_ore=-12_50, created_at=active.expires_at - timedelta(days=45)
    )
    portal.sign_in("fokus@example.test", PASSWORD)
    portal.goto(f"/lines/{active.pk}/spending/")

    summary = page.locator(".spending-table summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".spending-table")).to_have_attribute("open", "")
    # Opened, the figures fit the phone's width: nothing to scroll sideways,
    # so no scrolling region that a keyboard could not reach.
    table = page.locator(".spending-table table")
    expect(table).to_be_visible()
    widths = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    # The page with the figures open is what the test's end checks with axe.
