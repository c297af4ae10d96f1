"""Calls abroad on a phone: the usage history names the country, the started
minutes and the charge, in Norwegian and in Chinese, and fits the screen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from subscriptions.models import InternationalRate, UsageKind, UsageRecord
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-utland-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def line_with_calls_abroad() -> Any:
    customer = UserFactory(
        email="alex@example.test", password=PASSWORD, verified_email=True, phone_verified=True, language="nb"
    )
    line = LineFactory(owner=customer, number="+4746123456", with_period=PlanFactory(voice_minutes=None))
    period = line.periods.get()
    uk = InternationalRate.objects.create(
        prefix="44",
        name_en="United Kingdom",
        name_nb="Storbritannia",
        name_zh_hans="英国",
        per_minute_ore=299,
        per_text_ore=199,
    )
    now = timezone.now()
    UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                record_id="uk-call",
                line=line,
                period=period,
                kind=UsageKind.VOICE,
                quantity=7 * 60 - 15,
                out_of_bundle=7 * 60 - 15,
                charge_ore=20_93,
                destination="+447911123456",
                international=True,
                rate=uk,
                occurred_at=now - timedelta(hours=3),
            ),
            UsageRecord(
                record_id="uk-text",
                line=line,
                period=period,
                kind=UsageKind.SMS,
                quantity=1,
                out_of_bundle=1,
                charge_ore=1_99,
                destination="+447911123456",
                international=True,
                rate=uk,
                occurred_at=now - timedelta(hours=2),
            ),
            UsageRecord(
                record_id="home-call",
                line=line,
                period=period,
                kind=UsageKind.VOICE,
                quantity=185,
                destination="+4722334455",
                occurred_at=now - timedelta(hours=1),
            ),
        ]
    )
    LedgerEntryFactory(line=line, amount_ore=100_00)
    return line


def test_the_usage_history_shows_calls_abroad_with_their_charge_in_norwegian_and_chinese(portal: Any) -> None:
    page = portal.page
    line = line_with_calls_abroad()

    portal.sign_in("alex@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/usage/")
    rows = page.locator(".usage-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("SMS til Storbritannia")
    expect(rows.nth(2)).to_contain_text("Samtale til Storbritannia")
    expect(rows.nth(2)).to_contain_text("belastet 20,93\xa0kr")
    expect(rows.nth(2).locator(".usage-charged-minutes")).to_have_text("7 påbegynte minutter")
    expect(rows.nth(0)).not_to_contain_text("belastet")
    assert_fits_the_phone(page)
    screenshot(page, "usage-abroad-nb")

    portal.switch_language("zh-hans")
    expect(rows.nth(2)).to_contain_text("拨打英国")
    expect(rows.nth(2)).to_contain_text("扣费 20.93\xa0克朗")
    assert_fits_the_phone(page)
    screenshot(page, "usage-abroad-zh-hans")
    portal.expect_clean()
