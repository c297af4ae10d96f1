"""Redeeming a voucher (充值卡) on a phone: from the line page to the voucher
page, a code typed off the card with its spaces, back on the line page with
the new balance; then, after switching to Chinese, a code the portal does not
know is refused next to the field in Chinese. And a plan voucher in
Norwegian, which moves the line's expiry."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from subscriptions.formatting import format_nok
from subscriptions.iccid import luhn_check_digit
from subscriptions.models import (
    LedgerEntry,
    LedgerKind,
    Line,
    RedemptionResult,
    ServicePeriod,
    Voucher,
    VoucherAttempt,
    VoucherStatus,
    VoucherValue,
)
from subscriptions.periods import OSLO
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import oslo_today, voucher_batch_create
from tests.browser.conftest import PHONE_VIEWPORT
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-kupong-2026"
INVALID = re.compile(r"(^|\s)is-invalid(\s|$)")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nok(ore: int, language: str) -> str:
    with translation.override(language):
        return format_nok(ore)


def translated(message: str, language: str, **values: Any) -> str:
    """The message as the language's catalogue has it (which must have it)."""
    with translation.override(language):
        text = gettext(message)
    if language != "en":
        assert text != message, f"no {language} translation of {message!r}"
    return text % values if values else text


def shown_as(moment: datetime, language: str) -> str:
    with translation.override(language):
        return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


def customer_with_a_line(*, email: str, language: str, number: str) -> Line:
    customer = UserFactory(email=email, language=language, password=PASSWORD, verified_email=True, phone_verified=True)
    plan = PlanFactory(
        code="fjord-10-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB i måneden", name_zh_hans="峡湾 10 GB"
    )
    line: Line = LineFactory(owner=customer, number=number, with_period=plan)
    return line


def voucher_codes(*, value_kind: str = VoucherValue.AMOUNT, plan: Any = None, count: int = 1) -> list[str]:
    _batch, codes = voucher_batch_create(
        label="Narvesen Oslo S",
        value_kind=value_kind,
        amount_ore=200_00 if value_kind == VoucherValue.AMOUNT else None,
        plan=plan,
        count=count,
        expires_on=oslo_today() + timedelta(days=90),
        by=UserFactory(is_staff=True),
    )
    return [code for _serial, code in codes]


def as_on_the_card(code: str) -> str:
    return " ".join(code[start : start + 4] for start in range(0, 16, 4))


def not_issued(code: str) -> str:
    payload = f"{(int(code[:15]) + 1) % 10**15:015d}"
    return payload + luhn_check_digit(payload)


def open_the_voucher_page(portal: Any, *, email: str, line: Line) -> None:
    """Sign in, tap through the dashboard to the line, then "Redeem a voucher"."""
    portal.sign_in(email, PASSWORD)
    portal.expect_path("/dashboard/")
    portal.page.locator(f"#line-{line.pk} a.line-link").click()
    portal.expect_path(f"/lines/{line.pk}/")
    portal.page.locator(".voucher-link").click()
    portal.expect_path(f"/lines/{line.pk}/voucher/")


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def test_a_code_typed_with_spaces_tops_up_the_balance_then_an_unknown_code_is_refused_in_chinese(
    portal: Any,
) -> None:
    page = portal.page
    line = customer_with_a_line(email="kari@example.test", language="en", number="+4741234567")
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=50_00)
    code = voucher_codes()[0]

    open_the_voucher_page(portal, email="kari@example.test", line=line)
    expect(page.locator("main h1")).to_have_text("Redeem a voucher for +47 412 34 567")
    expect(page.locator("p.line-balance")).to_contain_text(nok(50_00, "en"))
    field = page.locator("#id_code")
    expect(field).to_have_attribute("inputmode", "numeric")
    assert_fits_the_phone(page)

    field.fill(f"{as_on_the_card(code)} ")
    page.locator("#redeem").click()

    portal.expect_path(f"/lines/{line.pk}/")
    expect(page.locator(".alert-success")).to_have_text(
        translated(
            "%(amount)s is added to the balance of %(number)s. The balance is now %(balance)s.",
            "en",
            amount=nok(200_00, "en"),
            number="+47 412 34 567",
            balance=nok(250_00, "en"),
        )
    )
    expect(page.locator("p.line-balance")).to_contain_text(nok(250_00, "en"))
    page.locator("a.spending-link").click()
    portal.expect_path(f"/lines/{line.pk}/spending/")
    voucher = Voucher.objects.get()
    entry = page.locator(".ledger-row").filter(has_text=f"Voucher {voucher}")
    expect(entry).to_contain_text(f"+{nok(200_00, 'en')}")
    assert (voucher.status, voucher.line_id) == (VoucherStatus.REDEEMED, line.pk)
    assert ledger_balance(line=line) == 250_00
    assert_fits_the_phone(page)

    # In Chinese now: a code the portal does not know, said next to the field.
    page.locator(".voucher-link").click()
    portal.expect_path(f"/lines/{line.pk}/voucher/")
    portal.switch_language("zh-hans")
    portal.expect_path(f"/lines/{line.pk}/voucher/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    field = page.locator("#id_code")
    field.fill(as_on_the_card(not_issued(code)))
    page.locator("#redeem").click()

    portal.expect_path(f"/lines/{line.pk}/voucher/")
    expect(field).to_have_class(INVALID)
    expect(page.locator("#id_code_error")).to_have_text(
        translated("We do not know this voucher code. Check the 16 digits and try again.", "zh-hans")
    )
    expect(page.locator("p.line-balance")).to_contain_text(nok(250_00, "zh-hans"))
    assert ledger_balance(line=line) == 250_00
    assert list(VoucherAttempt.objects.order_by("id").values_list("result", flat=True)) == [
        RedemptionResult.CREDITED,
        RedemptionResult.UNKNOWN,
    ]
    assert_fits_the_phone(page)

    # The same good code again: already used, by this customer, on this line.
    redeemed_at = voucher.redeemed_at
    assert redeemed_at is not None
    field.fill(code)
    page.locator("#redeem").click()
    expect(page.locator("#id_code_error")).to_contain_text(
        translated(
            "You already used this voucher on %(number)s (%(when)s).",
            "zh-hans",
            number="+47 412 34 567",
            when=shown_as(redeemed_at, "zh-hans"),
        )
    )
    assert LedgerEntry.objects.filter(kind=LedgerKind.VOUCHER).count() == 1


def test_a_plan_voucher_in_norwegian_moves_the_lines_expiry(portal: Any) -> None:
    page = portal.page
    line = customer_with_a_line(email="ola@example.test", language="nb", number="+4798765432")
    before = line.expires_at
    assert before is not None
    plan = PlanFactory(
        code="fjord-30-quarter",
        period="quarter",
        name_en="Fjord 30 GB, 3 months",
        name_nb="Fjord 30 GB, 3 måneder",
        name_zh_hans="峡湾 30 GB 季度套餐",
    )
    code = voucher_codes(value_kind=VoucherValue.PLAN, plan=plan)[0]

    open_the_voucher_page(portal, email="ola@example.test", line=line)
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    expect(page.locator("#redeem")).to_have_text(translated("Redeem", "nb"))
    page.locator("#id_code").fill(f"{code[:8]}-{code[8:]}")  # a dash, as some cards print it
    page.locator("#redeem").click()

    portal.expect_path(f"/lines/{line.pk}/")
    line.refresh_from_db()
    assert line.expires_at == plan.end_of_period_starting(before)
    assert ServicePeriod.objects.filter(line=line, plan=plan, source="voucher").count() == 1
    expect(page.locator(".alert-success")).to_have_text(
        translated(
            "%(plan)s is added to %(number)s. It is now valid until %(expiry)s.",
            "nb",
            plan="Fjord 30 GB, 3 måneder",
            number="+47 987 65 432",
            expiry=shown_as(line.expires_at, "nb"),
        )
    )
    expect(page.locator("p.line-expiry time")).to_have_text(shown_as(line.expires_at, "nb"))
    assert_fits_the_phone(page)
