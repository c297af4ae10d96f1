"""The demo's 王小明 installs the eSIM of his number-keeping line on a phone
(390 px), in Chinese: the line page, My eSIM, signing in again, then the QR
code on the screen reads back, with zxing-cpp, as the profile's activation
code. Screenshots of both pages in the three languages."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from accounts.demo import demo_seed
from subscriptions.demo import demo_lines_seed
from subscriptions.models import EsimCodeChannel, EsimCodeView, EsimState, Line
from tests.browser.conftest import ARTIFACTS
from tests.browser.phone_pages import assert_fits_the_phone, read_qr, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "wang.xiaoming@nordlys.test"
PASSWORD = "demo-wang-2026"  # the demo's, printed by seed_demo
LANGUAGES = ["zh-hans", "nb", "en"]


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def wangs_line_to_install() -> Line:
    for name in ("Support agent", "Supervisor"):
        Group.objects.get_or_create(name=name)
    demo_seed()
    demo_lines_seed()
    return Line.objects.get(owner__email=EMAIL, esim_profiles__state=EsimState.ASSIGNED)


def test_wang_installs_his_esim_from_the_qr_code_on_his_screen(portal: Any) -> None:
    page = portal.page
    line = wangs_line_to_install()
    profile = line.esim_profiles.get(state=EsimState.ASSIGNED)

    portal.sign_in(EMAIL, PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#esim .esim-state")).to_have_text("可以安装")
    page.locator(".line-actions .line-action-esim").click()
    portal.expect_path(f"/lines/{line.pk}/esim/")
    expect(page.locator(".esim-iccid")).to_contain_text(profile.iccid[-4:])
    page.locator(".esim-install-link").click()

    # Signing in again, on allauth's own page, before the code is shown.
    portal.expect_path("/accounts/reauthenticate/")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/esim/install/")

    qr = page.locator("img.esim-qr")
    expect(qr).to_be_visible()
    page.locator("img.esim-qr").evaluate(
        "img => img.decode()"
    )  # resolves once the image is loaded (a polled predicate would need eval, which the CSP forbids)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    qr_shot = ARTIFACTS / "esim-install-qr-zh-hans.png"
    qr.screenshot(path=str(qr_shot))
    assert read_qr(qr_shot) == [f"LPA:1${profile.smdp_address}${profile.matching_id}"]
    # And from the whole screen, as a second phone's camera would see it.
    screen = ARTIFACTS / "esim-install-screen-zh-hans.png"
    page.screenshot(path=str(screen))
    assert read_qr(screen) == [f"LPA:1${profile.smdp_address}${profile.matching_id}"]
    assert profile.matching_id not in page.url

    page.locator("button[data-copy-target=esim-matching-id]").click()
    expect(page.locator("#esim-copy-status")).to_have_text("已复制")
    assert_fits_the_phone(page)
    screenshot(page, "esim-install-zh-hans")
    channels = set(EsimCodeView.objects.filter(line=line).values_list("channel", flat=True))
    assert channels == {EsimCodeChannel.PAGE, EsimCodeChannel.QR_PNG}

    for language in LANGUAGES[1:]:
        portal.switch_language(language)
        portal.expect_path(f"/lines/{line.pk}/esim/install/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        page.locator("img.esim-qr").evaluate(
            "img => img.decode()"
        )  # resolves once the image is loaded (a polled predicate would need eval, which the CSP forbids)
        assert_fits_the_phone(page)
        screenshot(page, f"esim-install-{language}")
    for language in LANGUAGES:
        if page.locator("html").get_attribute("lang") != language:
            portal.switch_language(language)
        portal.goto(f"/lines/{line.pk}/esim/")
        assert_fits_the_phone(page)
        screenshot(page, f"my-esim-{language}")
    portal.expect_clean()
