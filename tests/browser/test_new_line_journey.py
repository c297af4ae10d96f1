"""A new line (nytt abonnement), in Norwegian on a 390 px phone: from the
dashboard, a plan and a number from the pool, an identity document that
support approve in the admin, payment on the sandbox page, the eSIM prepared
by the worker, the QR code on the install page, the pretend phone installs
it, and My eSIM says installed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import IdentityDocument
from portal import sms
from subscriptions.models import EsimState, Line, LineStatus, NewLineRequest, OrderKind, OrderStatus
from subscriptions.services.new_lines import number_pool_import
from tests.browser.conftest import ARTIFACTS
from tests.browser.phone_pages import agent_page, assert_fits_the_phone, read_qr, screenshot
from tests.factories import EsimProfileFactory, PlanFactory, UserFactory
from tests.identity_files import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-nylinje-2026"
SANDBOX_PAGE = re.compile(r"/sandbox-pay/sbx_[0-9a-f]+/$")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nb(message: str) -> str:
    with translation.override("nb"):
        text = gettext(message)
    assert text != message, f"no Norwegian for {message!r}"
    return text


def test_a_new_line_is_ordered_checked_paid_and_its_esim_installed(
    portal: Any, open_page: Any, page_problems: Any, settings: Any
) -> None:
    page = portal.page
    # The pretend SM-DP+ tells this test's server, not make run's, of the install.
    settings.SANDBOX_SMDP_NOTIFY_URL = portal.url(reverse("esim_notify", args=["sandbox"]))
    sms.outbox.clear()
    UserFactory(
        email="kari@example.test",
        full_name="Kari Nordmann",
        language="nb",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(code="fjord-month", price_ore=199_00)
    number_pool_import(filename="pool.csv", content=b"number\n41000010\n41000011\n41000012\n", by=None)
    EsimProfileFactory.create_batch(2)  # stock

    portal.sign_in("kari@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    page.locator("#get-new-line").click()
    portal.expect_path("/lines/new/")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.locator(f"#plan-{plan.pk}").check()
    page.locator("input[name=number]").nth(1).check()
    chosen = page.locator("input[name=number]:checked + label").inner_text()
    assert_fits_the_phone(page)
    screenshot(page, "new-line-start-nb")
    page.locator("#take-number").click()
    wanted = NewLineRequest.objects.get()
    portal.expect_path(f"/lines/new/{wanted.public_id}/")
    expect(page.locator("#new-line-number")).to_have_text(chosen)
    screenshot(page, "new-line-identity-nb")

    page.locator("#upload-identity").click()
    portal.expect_path("/account/identity/")
    expect(page.locator("select[name=purpose]")).to_have_value("new_line")
    page.locator("input[name=kind][value=passport]").check()
    page.locator("input[name=file]").set_input_files(
        {"name": "pass.png", "mimeType": "image/png", "buffer": png_bytes(size=(600, 380))}
    )
    page.locator("#upload").click()
    # Back on the new line's page, which waits for support's check.
    portal.expect_path(f"/lines/new/{wanted.public_id}/")
    expect(page.locator("#identity-pending")).to_be_visible()
    screenshot(page, "new-line-identity-pending-nb")

    document = IdentityDocument.objects.get()
    agent = agent_page(open_page, portal)
    agent.goto(portal.url(f"/admin/accounts/identitydocument/{document.pk}/review/"))
    agent.locator("input[name=decision][value=approve]").check()
    agent.locator("input[type=submit]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    page_problems.problems.clear()  # Django's own admin is not this journey's subject

    portal.goto(f"/lines/new/{wanted.public_id}/")
    expect(page.locator("#new-line-state-heading")).to_have_text(nb("Pay for your new line"))
    expect(page.locator("input[name=full_name]")).to_have_value("Kari Nordmann")
    for name, value in (("street_address", "Storgata 5"), ("postal_code", "0155"), ("city", "Oslo")):
        if not page.locator(f"input[name={name}]").input_value():
            page.locator(f"input[name={name}]").fill(value)
    assert_fits_the_phone(page)
    screenshot(page, "new-line-pay-nb")
    page.locator("#pay").click()
    expect(page).to_have_url(SANDBOX_PAGE)
    screenshot(page, "new-line-sandbox-nb")
    page.locator("#sandpay-approve").click()

    wanted.refresh_from_db()
    line = Line.objects.get(owner__email="kari@example.test")
    order = line.orders.get()
    assert (order.kind, order.status) == (OrderKind.NEW_LINE, OrderStatus.PAID)
    portal.goto(f"/lines/new/{wanted.public_id}/")
    expect(page.locator("#new-line-state-heading")).to_contain_text(nb("Your eSIM is ready to install"))
    assert_fits_the_phone(page)
    screenshot(page, "new-line-ready-nb")
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    profile = line.esim_profiles.get()
    assert profile.state == EsimState.RELEASED
    ready = [m for m in mail.outbox if m.to == ["kari@example.test"] and f"/lines/{line.pk}/esim/" in m.body]
    assert len(ready) == 1
    assert not [text for text in sms.outbox if text.to == line.number], "the new number is on no phone yet"

    page.locator("#install-esim").click()
    portal.expect_path(f"/lines/{line.pk}/esim/")
    page.locator(".esim-install-link").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/esim/install/")
    page.locator("img.esim-qr").evaluate(
        "img => img.decode()"
    )  # resolves once the image is loaded (a polled predicate would need eval, which the CSP forbids)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen = ARTIFACTS / "new-line-install-screen-nb.png"
    page.screenshot(path=str(screen))
    profile.refresh_from_db()
    assert read_qr(screen) == [f"LPA:1${profile.smdp_address}${profile.matching_id}"]
    assert_fits_the_phone(page)
    screenshot(page, "new-line-install-nb")

    phone = open_page()  # the pretend phone
    phone.goto(portal.url(f"/sandbox/esim/{profile.iccid}/"))
    phone.locator("#sandphone-install").click()
    expect(phone.locator("#sandphone-notifications")).to_be_visible()

    portal.goto(f"/lines/{line.pk}/esim/")
    expect(page.locator(".esim-installed-note")).to_be_visible()
    profile.refresh_from_db()
    assert profile.state == EsimState.INSTALLED
    assert_fits_the_phone(page)
    screenshot(page, "new-line-installed-nb")
    portal.expect_clean()
