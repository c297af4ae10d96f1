"""Sign-up journeys at phone width: by email (verify, sign out, sign in,
switch to Chinese), by mobile number (verify by SMS code), and bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import User
from accounts.phone import format_phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Fjordlys-nord-2026"
CONFIRM_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s/]+/")
SMS_CODE = re.compile(r"code is (\d{6})\b")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def fill_signup(page: Any, *, full_name: str, email: str = "", phone: str = "") -> None:
    page.locator("input[name=full_name]").fill(full_name)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def expect_our_chinese_catalogue(portal: Any, page: Any) -> None:
    """Strings from our own zh-hans catalogue (locale/zh_Hans), as opposed to
    allauth's: the navbar a signed-in customer sees on every page."""
    portal.open_menu(page)
    nav = page.locator("#main-nav")
    expect(nav.get_by_role("link", name="我的号码")).to_be_attached()
    expect(nav.get_by_role("link", name="个人资料")).to_be_attached()
    expect(page.locator("#nav-sign-out")).to_have_text("退出登录")


def test_sign_up_by_email_verify_sign_in_again_and_switch_to_chinese(portal: Any, open_page: Any) -> None:
    page = portal.page

    # Sign up from the home page, through the collapsed menu.
    portal.goto("/")
    portal.expect_styled_and_scripted()
    portal.open_menu()
    page.locator("#nav-sign-up").click()
    portal.expect_path("/accounts/signup/")
    fill_signup(page, full_name="Ingrid Hansen", email="ingrid@example.test")

    # Not signed in until the address is confirmed: the page asks to check the
    # email (the very answer a taken address gets, so neither gives away the other).
    portal.expect_path("/accounts/confirm-email/")
    expect(page.locator("main")).to_contain_text("ingrid@example.test")
    user = User.objects.get(email="ingrid@example.test")
    assert user.full_name == "Ingrid Hansen"
    assert user.language == "en"
    assert not EmailAddress.objects.get(user=user).verified

    # The verification link arrives by email; opening it asks to confirm.
    verifications = [message for message in mail.outbox if CONFIRM_LINK.search(message.body)]
    assert len(verifications) == 1, [message.subject for message in mail.outbox]
    assert verifications[0].to == ["ingrid@example.test"]
    link = CONFIRM_LINK.search(verifications[0].body).group(0)  # type: ignore[union-attr]
    assert link.startswith(portal.url("/accounts/confirm-email/")), link
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    assert not EmailAddress.objects.get(user=user).verified, "a GET alone must not confirm"
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("You have confirmed ingrid@example.test")
    assert EmailAddress.objects.get(user=user).verified

    # Then in with email and password, greeted by first name.
    portal.sign_in("ingrid@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ingrid")
    expect(page.locator(".card").filter(has=page.get_by_role("heading", name="My lines"))).to_be_visible()

    # Switch to 简体中文 from the navbar: the page comes back in Chinese and
    # the choice is stored on the account.
    portal.switch_language("zh-hans")
    portal.expect_path("/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    user.refresh_from_db()
    assert user.language == "zh-hans"

    # The next page stays Chinese (allauth's own zh_Hans catalogue speaks here).
    portal.goto("/accounts/2fa/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("两步验证")
    expect(page.get_by_role("heading", name="身份验证器应用")).to_be_visible()

    # On another device (no language cookie, an English browser) signing in
    # brings the account's language back.
    other = open_page()
    other.goto(portal.url("/accounts/login/"))
    expect(other.locator("html")).to_have_attribute("lang", "en")
    other.locator("input[name=login]").fill("ingrid@example.test")
    other.locator("input[name=password]").fill(PASSWORD)
    other.locator("main form button[type=submit]").first.click()
    expect(other).to_have_url(portal.url("/dashboard/"))
    expect(other.locator("html")).to_have_attribute("lang", "zh-hans")
    # Even the message written during the sign-in request speaks Chinese.
    expect(other.locator(".alert-success")).to_have_text("以 Ingrid Hansen 成功登录。")

    # Our own catalogue: the navbar in Chinese (needs locale/zh_Hans compiled).
    expect_our_chinese_catalogue(portal, other)
    portal.expect_clean()


def test_sign_up_with_mobile_number_only_verifies_it_by_sms_code(portal: Any, sms_outbox: list[Any]) -> None:
    page = portal.page
    portal.goto("/accounts/signup/")
    fill_signup(page, full_name="Ola Nordmann", phone="+47 412 34 567")

    portal.expect_path("/accounts/phone/verify/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter Phone Verification Code")
    expect(page.locator("main")).to_contain_text("+47\xa0412\xa034\xa0567")
    codes = [
        match.group(1)
        for message in sms_outbox
        if message.to == "+4741234567"
        for match in [SMS_CODE.search(message.body)]
        if match
    ]
    assert len(codes) == 1, [message.body for message in sms_outbox]
    user = User.objects.get(phone="+4741234567")
    assert user.email is None
    assert not user.phone_verified

    # A wrong code is refused on the same page.
    page.locator("main form input[name=code]").fill("000000" if codes[0] != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    portal.expect_path("/accounts/phone/verify/")
    expect(page.locator("main .invalid-feedback")).to_have_text("Incorrect code.")

    page.locator("main form input[name=code]").fill(codes[0])
    page.get_by_role("button", name="Confirm").click()
    portal.expect_path("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ola")
    expect(page.locator("main dl")).to_contain_text(format_phone("+4741234567"))
    expect(page.locator("main .badge")).to_have_count(0)
    user.refresh_from_db()
    assert user.phone_verified
    portal.expect_clean()


def test_sign_up_with_bad_input_shows_a_clear_error(portal: Any) -> None:
    page = portal.page
    portal.goto("/accounts/signup/")

    # Neither an email address nor a mobile number.
    fill_signup(page, full_name="Kim Berg")
    portal.expect_path("/accounts/signup/")
    expect(page.locator("main")).to_contain_text("Enter an email address or a mobile number, so that we can reach you.")

    # A number that is no phone number at all.
    fill_signup(page, full_name="Kim Berg", phone="12345")
    portal.expect_path("/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    expect(page.locator("main")).to_contain_text(
        "Enter a valid mobile number, for example 912 34 567 or +47 912 34 567."
    )
    expect(page.locator("input[name=phone]")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert not User.objects.exists()
    portal.expect_clean()
