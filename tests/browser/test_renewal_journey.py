"""Renewing and topping up on a phone, through the sandbox provider's page:
a renewal approved (in Chinese, with the receipt downloaded and read), a
renewal declined for want of funds, and a top-up in Norwegian after one
amount the form refuses.

In this run Celery is eager: the sandbox's signed callback is POSTed to the
live server while the browser's choice is being answered, so the result page
the browser lands on already knows the outcome."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from pypdf import PdfReader

from sandbox.models import SandboxPayment
from subscriptions.formatting import format_nok
from subscriptions.models import (
    LedgerEntry,
    LedgerKind,
    Line,
    Order,
    OrderKind,
    OrderStatus,
    Plan,
    Receipt,
    ServicePeriod,
)
from subscriptions.periods import OSLO
from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-betaling-2026"
SANDBOX_PAGE = re.compile(r"/sandbox-pay/sbx_[0-9a-f]+/$")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nok(ore: int, language: str) -> str:
    with translation.override(language):
        return format_nok(ore)


def shown_as(moment: datetime, language: str) -> str:
    """A moment the way the pages write it: Oslo time, the language's format."""
    with translation.override(language):
        return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


def translated(message: str, language: str) -> str:
    with translation.override(language):
        return gettext(message)


def expect_translated(locator: Any, message: str, language: str, **values: Any) -> None:
    """The page shows the message as the language's catalogue has it, and
    the catalogue does have it in that language."""
    text = translated(message, language)
    if language != "en":
        assert text != message, f"no {language} translation of {message!r}"
    expect(locator).to_contain_text(text % values if values else text)


def customer_with_a_line(*, email: str, full_name: str, language: str, number: str) -> Line:
    """A verified customer whose eSIM line is ten days into a month's period."""
    customer = UserFactory(
        email=email,
        full_name=full_name,
        language=language,
        street_address="Storgata 1",
        postal_code="0155",
        city="Oslo",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    current = PlanFactory(
        code="fjord-10-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB", name_zh_hans="峡湾 10 GB"
    )
    line: Line = LineFactory(owner=customer, number=number, with_period=current)
    return line


def quarter_plan() -> Plan:
    plan: Plan = PlanFactory(
        code="fjord-30-quarter",
        period="quarter",
        data_mb=30_720,
        price_ore=499_00,
        name_en="Fjord 30 GB, 3 months",
        name_nb="Fjord 30 GB, 3 måneder",
        name_zh_hans="峡湾 30 GB 季度套餐",
    )
    return plan


def open_the_line(portal: Any, *, email: str, line: Line) -> None:
    """Sign in, then tap through from the dashboard's card to the line page."""
    portal.sign_in(email, PASSWORD)
    portal.expect_path("/dashboard/")
    portal.page.locator(f"#line-{line.pk} a.line-link").click()
    portal.expect_path(f"/lines/{line.pk}/")


def renew_and_reach_the_sandbox(portal: Any, *, line: Line, plan: Plan, name: str, language: str) -> SandboxPayment:
    """From the line page: Renew, choose the plan, check the pre-filled
    checkout, pay. Returns the sandbox payment whose page is now open."""
    page = portal.page
    page.locator(".renew-link").click()
    portal.expect_path(f"/lines/{line.pk}/renew/")
    page.locator(f"[data-plan='{plan.code}'] a.plan-choose").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{plan.code}/")
    expect(page.locator("input[name=full_name]")).to_have_value(name)
    expect(page.locator(".checkout-total")).to_have_text(nok(plan.price_ore, language))
    expect(page.locator("#method-card")).to_be_checked()
    expect_translated(page.locator("#pay"), "Pay %(total)s", language, total=nok(plan.price_ore, language))
    page.locator("#pay").click()
    expect(page).to_have_url(SANDBOX_PAGE)
    payment = SandboxPayment.objects.get()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".sandpay-amount")).to_have_text(nok(plan.price_ore, language))
    expect_translated(page.locator("#sandpay-approve"), "Approve", language)
    return payment


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def pdf_text(path: Path) -> str:
    return "\n".join(pdf_page.extract_text() for pdf_page in PdfReader(path).pages)


def test_renew_in_chinese_approve_download_the_receipt_and_find_it_on_the_receipts_page(
    portal: Any, tmp_path: Path
) -> None:
    page = portal.page
    line = customer_with_a_line(email="wang@example.test", full_name="王小明", language="zh-hans", number="+4791234567")
    plan = quarter_plan()
    old_expiry = line.expires_at
    assert old_expiry is not None

    open_the_line(portal, email="wang@example.test", line=line)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    payment = renew_and_reach_the_sandbox(portal, line=line, plan=plan, name="王小明", language="zh-hans")
    assert_fits_the_phone(page)
    screenshot(page, "renewal-sandbox-zh-hans")

    page.locator("#sandpay-approve").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")

    # One paid order, one new period starting where the old one ended, one receipt.
    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.kind, order.provider_payment_id) == (
        OrderStatus.PAID,
        OrderKind.RENEWAL,
        payment.payment_id,
    )
    periods = list(ServicePeriod.objects.filter(line=line).order_by("starts_at"))
    assert len(periods) == 2
    assert order.period == periods[1]
    assert (periods[1].starts_at, periods[1].ends_at, periods[1].plan) == (old_expiry, line.expires_at, plan)
    receipt = Receipt.objects.get()
    assert (receipt.order, receipt.customer_name, receipt.total_ore) == (order, "王小明", plan.price_ore)

    # The page shows the line's new expiry, as the database has it.
    assert line.expires_at is not None and line.expires_at > old_expiry
    expect_translated(page.locator("#result-heading"), "Payment received", "zh-hans")
    added = page.locator(".order-new-expiry")
    expect_translated(
        added, "%(plan)s is added to %(number)s.", "zh-hans", plan="峡湾 30 GB 季度套餐", number="+47 912 34 567"
    )
    expiry = added.locator("time")
    expect(expiry).to_have_text(shown_as(line.expires_at, "zh-hans"))
    assert datetime.fromisoformat(expiry.get_attribute("datetime") or "") == line.expires_at
    assert_fits_the_phone(page)
    screenshot(page, "renewal-paid-zh-hans")

    # The receipt comes down as a PDF naming its number and the customer.
    with page.expect_download() as download_info:
        page.locator(".receipt-download").click()
    download = download_info.value
    assert download.suggested_filename == f"receipt-{receipt.number}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    text = pdf_text(saved)
    assert receipt.number in text
    assert "王小明" in text

    # And it is listed on the Receipts page, reached through the menu.
    portal.open_menu()
    page.locator("#main-nav a[href='/receipts/']").click()
    portal.expect_path("/receipts/")
    expect_translated(page.locator("main h1"), "Receipts", "zh-hans")
    row = page.locator(f".receipt-row[data-number='{receipt.number}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(nok(plan.price_ore, "zh-hans"))
    expect(row).to_contain_text("+47 912 34 567")
    expect(page.locator(".receipt-row")).to_have_count(1)
    assert_fits_the_phone(page)


def test_renew_with_insufficient_funds_says_why_charges_nothing_and_offers_to_try_again(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(
        email="kari@example.test", full_name="Kari Nordmann", language="en", number="+4741234567"
    )
    plan = quarter_plan()
    old_expiry = line.expires_at

    open_the_line(portal, email="kari@example.test", line=line)
    renew_and_reach_the_sandbox(portal, line=line, plan=plan, name="Kari Nordmann", language="en")
    page.locator("#sandpay-insufficient-funds").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")

    result = page.locator("section.order-result")
    expect(result).to_have_attribute("data-status", "declined")
    expect(result.locator("h1")).to_have_text("The payment did not go through")
    expect(result.locator(".order-reason")).to_have_text("There is not enough money on the card. Try another card.")
    expect(result).to_contain_text("Nothing was charged.")
    expect(result.locator(".order-new-expiry, .receipt-download")).to_have_count(0)
    assert_fits_the_phone(page)
    screenshot(page, "renewal-declined-en")

    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "insufficient_funds")
    assert order.period is None
    assert not Receipt.objects.exists()
    assert line.expires_at == old_expiry
    assert ServicePeriod.objects.filter(line=line).count() == 1
    assert not LedgerEntry.objects.filter(line=line).exists()

    page.locator(".try-again").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{plan.code}/")
    expect(page.locator("input[name=full_name]")).to_have_value("Kari Nordmann")
    expect(page.locator("#pay")).to_be_enabled()


def test_top_up_in_norwegian_refuses_too_little_then_adds_150_50_kr_to_the_balance(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(email="ola@example.test", full_name="Ola Nordmann", language="nb", number="+4798765432")
    LedgerEntryFactory(line=line, kind=LedgerKind.VOUCHER, amount_ore=20_00)

    open_the_line(portal, email="ola@example.test", line=line)
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.locator(".top-up-link").click()
    portal.expect_path(f"/lines/{line.pk}/top-up/")
    expect(page.locator("input[name=full_name]")).to_have_value("Ola Nordmann")
    expect_translated(page.locator("#pay"), "Continue to payment", "nb")

    # Too little: the form says so in Norwegian, and nothing is created.
    amount = page.locator("input[name=amount]")
    amount.fill("10")
    page.locator("#pay").click()
    portal.expect_path(f"/lines/{line.pk}/top-up/")
    expect(amount).to_have_class(re.compile(r"(^|\s)is-invalid(\s|$)"))
    with translation.override("nb"):
        limits = {"min": format_nok(settings.TOPUP_MIN_ORE), "max": format_nok(settings.TOPUP_MAX_ORE)}
    expect_translated(
        page.locator(".top-up-form .invalid-feedback"), "Top up between %(min)s and %(max)s.", "nb", **limits
    )
    assert not Order.objects.exists()
    assert not SandboxPayment.objects.exists()

    amount.fill("150,50")
    page.locator("#pay").click()
    expect(page).to_have_url(SANDBOX_PAGE)
    expect(page.locator(".sandpay-amount")).to_have_text(nok(150_50, "nb"))
    page.locator("#sandpay-approve").click()
    order = Order.objects.get()
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")
    expect_translated(page.locator("#result-heading"), "Payment received", "nb")
    expect_translated(
        page.locator(".order-topped-up"),
        "%(amount)s is added to the balance of %(number)s.",
        "nb",
        amount=nok(150_50, "nb"),
        number="+47 987 65 432",
    )
    assert_fits_the_phone(page)
    screenshot(page, "top-up-paid-nb")

    topups = LedgerEntry.objects.filter(line=line, kind=LedgerKind.TOPUP)
    assert list(topups.values_list("amount_ore", flat=True)) == [150_50]
    receipt = Receipt.objects.get()
    assert (receipt.order, receipt.kind, receipt.total_ore) == (order, OrderKind.TOPUP, 150_50)
    expect(page.locator(".receipt-download")).to_contain_text(receipt.number)

    # Back on the line page, the balance has the money.
    page.locator(f"main > p a[href='/lines/{line.pk}/']").click()
    portal.expect_path(f"/lines/{line.pk}/")
    expect(page.locator("p.line-balance")).to_contain_text(nok(170_50, "nb"))
    page.locator("a.spending-link").click()
    portal.expect_path(f"/lines/{line.pk}/spending/")
    expect(page.locator("#balance-heading")).to_contain_text(nok(170_50, "nb"))
    entry = page.locator(".ledger-row").filter(has_text=nok(150_50, "nb"))
    expect(entry).to_have_count(1)
    # In the customer's language, though the provider's callback settled it.
    expect_translated(entry, "Card top-up", "nb")
