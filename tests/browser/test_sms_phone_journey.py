"""The sandbox's pretend phone (390 px): 王小明's demo number texts 余额 to
the service number; the pretend gateway posts it, signed, to the portal's
/sms/inbound/, and the reply, in Chinese, shows on the phone."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from accounts.demo import demo_seed
from subscriptions.demo import demo_lines_seed
from subscriptions.models import InboundSms, InboundStatus
from tests.browser.phone_pages import assert_fits_the_phone, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WANG = "+4791234567"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def test_wang_texts_yu_e_from_the_pretend_phone_and_reads_his_balance_in_chinese(
    portal: Any, settings: Any, sms_outbox: list
) -> None:
    for name in ("Support agent", "Supervisor"):
        Group.objects.get_or_create(name=name)
    demo_seed()
    demo_lines_seed()
    settings.SANDBOX_SMS_INBOUND_URL = portal.url("/sms/inbound/")
    page = portal.page

    portal.goto(f"/sandbox/phone/?number={WANG}")
    page.get_by_label("Text", exact=True).fill("余额")
    page.locator("#sandphone-send").click()

    reply = page.locator(".sandphone-in .sandphone-body")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("号码 +47 912 34 567 余额：")
    expect(page.locator(".sandphone-out .sandphone-body")).to_have_text("余额")
    assert InboundSms.objects.get().status == InboundStatus.ANSWERED
    assert_fits_the_phone(page)
    screenshot(page, "sandbox-phone-balance-zh")
