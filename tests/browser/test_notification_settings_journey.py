"""Choosing which messages to get, on a phone: the table on the profile page
in Chinese, and the unsubscribe link of an email opened on a phone that is
not signed in (in the customer's language)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import NotificationChannel, NotificationKind
from accounts.notifications import notification_enabled, unsubscribe_token
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-varsler-2026"
K = NotificationKind
C = NotificationChannel


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def test_a_customer_turns_reminder_texts_off_and_offers_on_in_chinese(portal: Any) -> None:
    page = portal.page
    wang = UserFactory(email="wang@example.test", phone=None, language="zh-hans", password=PASSWORD, full_name="王伟")
    portal.sign_in("wang@example.test", PASSWORD)
    portal.goto("/account/profile/")

    section = page.locator("#notifications")
    expect(section.locator("h2")).to_have_text("我们发给您的消息")
    expect(page.locator("#id_expiry__sms")).to_be_checked()
    expect(page.locator("#id_offers__email")).not_to_be_checked()
    assert_fits_the_phone(page)
    screenshot(page, "notification-settings-zh")

    page.locator("#id_expiry__sms").uncheck()
    page.locator("#id_offers__email").check()
    section.locator("button[type=submit]").click()

    expect(page.locator(".alert-success")).to_have_text("您的通知设置已保存。")
    assert notification_enabled(user_id=wang.pk, kind=K.EXPIRY, channel=C.SMS) is False
    assert notification_enabled(user_id=wang.pk, kind=K.OFFERS, channel=C.EMAIL) is True
    assert notification_enabled(user_id=wang.pk, kind=K.EXPIRY, channel=C.EMAIL) is True


def test_the_unsubscribe_link_works_on_a_phone_that_is_not_signed_in(portal: Any) -> None:
    page = portal.page
    kari = UserFactory(email="kari@example.test", language="nb")

    portal.goto(f"/account/unsubscribe/{unsubscribe_token(user_id=kari.pk, kind=K.LOW_BALANCE)}/")
    # A fresh phone that chose no language: the page speaks Kari's, as her email did.
    expect(page.locator("main h1")).to_have_text("Meld av")
    assert_fits_the_phone(page)
    page.locator("main button[type=submit]").click()

    expect(page.locator("main h1")).to_have_text("Avmeldt")
    expect(page.locator("main")).to_contain_text("Varsel om lav saldo")
    screenshot(page, "unsubscribed")
    assert notification_enabled(user_id=kari.pk, kind=K.LOW_BALANCE, channel=C.EMAIL) is False
