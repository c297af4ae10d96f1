"""A lost phone (手机丢失), in Chinese on a 390 px phone: the customer reports
it from the line page and sees the line blocked, uploads a residence card,
support approve it in the admin, the worker prepares a new eSIM from stock
(the first replacement in 12 months is free), and the QR code on the install
page, read back from a screenshot with zxing-cpp, is the NEW profile's; the
old profile is disabled."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import IdentityDocument
from portal import sms
from subscriptions.models import EsimProfile, EsimState, ReplacementRequest, ReplacementStatus
from tests.browser.conftest import ARTIFACTS
from tests.browser.phone_pages import agent_page, assert_fits_the_phone, read_qr, screenshot
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.identity_files import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-mistet-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    assert text != message, f"no Chinese for {message!r}"
    return text


def test_a_lost_phone_is_blocked_then_a_reviewed_document_brings_a_new_esim_to_install(
    portal: Any, open_page: Any, page_problems: Any
) -> None:
    page = portal.page
    sms.outbox.clear()
    customer = UserFactory(
        email="li@example.test",
        full_name="李娜",
        language="zh-hans",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    line = LineFactory(owner=customer, number="+4741234577", with_period=PlanFactory(code="fjord-month"))
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    EsimProfileFactory.create_batch(2)  # stock

    portal.sign_in("li@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    page.locator(".replacement-link").click()
    page.get_by_label(zh("Phone lost or stolen")).check()
    page.locator("#replacement-continue").click()
    replacement = ReplacementRequest.objects.get(line=line)
    portal.expect_path(f"/replacements/{replacement.public_id}/")

    expect(page.locator(".replacement-status")).to_have_attribute("data-status", "review")
    expect(page.locator(".line-blocking")).to_contain_text(
        zh(
            "Blocked: calls, texts and data on this number are barred, so nobody can use the lost phone. "
            "Your number stays yours."
        )
    )
    assert_fits_the_phone(page)
    screenshot(page, "lost-phone-blocked-zh-hans")
    replacement.refresh_from_db()
    assert replacement.blocked_at is not None
    assert not [text for text in sms.outbox if text.to == line.number], "nothing is texted to a lost phone"

    page.locator(".replacement-document").click()
    portal.expect_path("/account/identity/")
    expect(page.locator("select[name=purpose]")).to_have_value("replacement")
    page.locator("input[name=kind][value=residence_card]").check()
    page.locator("input[name=file]").set_input_files(
        {"name": "card.png", "mimeType": "image/png", "buffer": png_bytes(size=(600, 380))}
    )
    page.locator("#upload").click()
    # Back on the request's page, which still waits for support.
    portal.expect_path(f"/replacements/{replacement.public_id}/")
    portal.goto("/account/identity/")
    expect(page.locator(".identity-document")).to_contain_text(zh("Waiting for review"))
    document = IdentityDocument.objects.get(owner=customer)

    agent = agent_page(open_page, portal)
    agent.goto(portal.url(f"/admin/accounts/identitydocument/{document.pk}/review/"))
    agent.locator("input[name=decision][value=approve]").check()
    agent.locator("input[type=submit]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    page_problems.problems.clear()  # Django's own admin is not this journey's subject

    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.FULFILLED
    assert replacement.fee_ore in (None, 0), "the first replacement in 12 months is free"
    new = EsimProfile.objects.get(line=line, state=EsimState.RELEASED)
    assert new != old
    old.refresh_from_db()
    assert old.state == EsimState.DISABLED
    ready = [m for m in mail.outbox if m.to == ["li@example.test"] and f"/lines/{line.pk}/esim/" in m.body]
    assert len(ready) == 1 and new.matching_id not in ready[0].body
    assert not [text for text in sms.outbox if text.to == line.number]

    portal.goto(f"/replacements/{replacement.public_id}/")
    expect(page.locator(".replacement-status")).to_have_attribute("data-status", "fulfilled")
    assert_fits_the_phone(page)
    screenshot(page, "lost-phone-fulfilled-zh-hans")

    portal.goto(f"/lines/{line.pk}/esim/")
    expect(page.locator(".esim-iccid")).to_contain_text(new.iccid[-4:])
    screenshot(page, "lost-phone-my-esim-zh-hans")
    page.locator(".esim-install-link").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/esim/install/")
    page.locator("img.esim-qr").evaluate(
        "img => img.decode()"
    )  # resolves once the image is loaded (a polled predicate would need eval, which the CSP forbids)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen = ARTIFACTS / "lost-phone-install-screen-zh-hans.png"
    page.screenshot(path=str(screen))
    new.refresh_from_db()
    assert read_qr(screen) == [f"LPA:1${new.smdp_address}${new.matching_id}"]
    assert_fits_the_phone(page)
    screenshot(page, "lost-phone-install-zh-hans")
    portal.expect_clean()
