"""An eSIM that needs a confirmation code, in Chinese on a 390 px phone: the
worker prepares it and hands the code to the SM-DP+, the code comes by an
email of its own, the install page says where it went (and never shows it),
and the pretend phone asks for it: a wrong code installs nothing, the
emailed one installs the eSIM and My eSIM says installed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from subscriptions.models import EsimState
from subscriptions.services.provisioning import provisioning_start
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-kode-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    assert text != message, f"no Chinese for {message!r}"
    return text


def test_the_confirmation_code_comes_by_email_and_the_pretend_phone_needs_it(
    portal: Any, open_page: Any, page_problems: Any, settings: Any
) -> None:
    page = portal.page
    # The pretend SM-DP+ tells this test's server, not make run's, of the install.
    settings.SANDBOX_SMDP_NOTIFY_URL = portal.url(reverse("esim_notify", args=["sandbox"]))
    customer = UserFactory(
        email="chen@example.test",
        full_name="陈静",
        language="zh-hans",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    line = LineFactory(owner=customer, number="+4741234599", with_period=PlanFactory(code="fjord-month"))
    profile = EsimProfileFactory(confirmation_code_required=True)
    provisioning_start(line=line, replacing=None, key="journey:confirmation-code")  # the worker runs eagerly

    profile.refresh_from_db()
    assert profile.state == EsimState.RELEASED
    [message] = [m for m in mail.outbox if m.to == ["chen@example.test"] and re.search(r"\b[0-9]{8}\b", m.body)]
    code = re.search(r"\b[0-9]{8}\b", message.body).group()  # type: ignore[union-attr]
    assert profile.matching_id not in message.body

    portal.sign_in("chen@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/esim/")
    page.locator(".esim-install-link").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/esim/install/")
    expect(page.locator(".esim-confirmation")).to_contain_text(
        zh("Your phone asks for it after the scan. It is never in the QR code.")
    )
    expect(page.locator(".esim-confirmation")).to_contain_text("chen@example.test")
    assert code not in page.content()
    assert_fits_the_phone(page)
    screenshot(page, "confirmation-code-install-zh-hans")

    phone = open_page()  # the pretend phone: a third party's page, in its browser's language (English)
    phone.goto(portal.url(f"/sandbox/esim/{profile.iccid}/"))
    phone.locator("#sandphone-confirmation-code").fill("00000000" if code != "00000000" else "11111111")
    phone.locator("#sandphone-install").click()
    expect(phone.locator("#sandphone-error")).to_have_text(
        "That is not the confirmation code. The eSIM was not installed."
    )
    assert_fits_the_phone(phone)
    screenshot(phone, "confirmation-code-sandphone-wrong")
    page_problems.problems.clear()  # the refusal is answered 400, as it should be
    phone.locator("#sandphone-confirmation-code").fill(code)
    phone.locator("#sandphone-install").click()
    expect(phone.locator("#sandphone-notifications")).to_be_visible()

    portal.goto(f"/lines/{line.pk}/esim/")
    expect(page.locator(".esim-installed-note")).to_be_visible()
    profile.refresh_from_db()
    assert profile.state == EsimState.INSTALLED
    portal.expect_clean()
