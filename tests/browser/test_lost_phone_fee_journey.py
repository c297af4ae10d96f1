"""A second lost phone within 12 months (手机再次丢失), in Chinese on a 390 px
phone: the line had a new eSIM two months ago, so this one is not free. The
line is blocked, support approve the residence card in the admin, the
customer sees the fee, pays it on the sandbox provider's page, and the
request goes on at once (reviewed: no cooling-off hour) to the worker, which
prepares a new eSIM from stock and unblocks the number, now on it. A receipt
exists for the fee, and the QR code
on the install page, read back from a screenshot with zxing-cpp, is the NEW
profile's; the old profile is disabled.

In this run Celery is eager: the sandbox's signed callback and the
provisioning worker run before the browser's next page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import IdentityDocument
from portal import sms
from sandbox.network import network_subscriber
from subscriptions.formatting import format_nok
from subscriptions.models import (
    EsimProfile,
    EsimState,
    Order,
    OrderKind,
    OrderStatus,
    Receipt,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
)
from tests.browser.conftest import ARTIFACTS
from tests.browser.phone_pages import agent_page, assert_fits_the_phone, read_qr, screenshot
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.identity_files import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-igjen-2026"


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    assert text != message, f"no Chinese for {message!r}"
    return text


def zh_nok(ore: int) -> str:
    with translation.override("zh-hans"):
        return format_nok(ore)


def test_a_second_lost_phone_within_a_year_pays_the_fee_then_gets_its_new_esim(
    portal: Any, open_page: Any, page_problems: Any
) -> None:
    page = portal.page
    sms.outbox.clear()
    customer = UserFactory(
        email="zhang@example.test",
        full_name="张伟",
        street_address="Storgata 5",
        postal_code="0155",
        city="Oslo",
        language="zh-hans",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    line = LineFactory(owner=customer, number="+4741234588", with_period=PlanFactory(code="fjord-month"))
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    EsimProfileFactory.create_batch(2)  # stock
    two_months_ago = timezone.now() - timedelta(days=60)
    ReplacementRequest.objects.create(
        line=line,
        requested_by=customer,
        reason=ReplacementReason.NEW_PHONE,
        status=ReplacementStatus.FULFILLED,
        idempotency_key="earlier",
        requested_at=two_months_ago,
        identity_checked_at=two_months_ago,
        fulfilled_at=two_months_ago,
    )
    fee = settings.REPLACEMENT_FEE_ORE

    # Lost again: reported from the line page, the line is blocked.
    portal.sign_in("zhang@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    page.locator(".replacement-link").click()
    page.get_by_label(zh("Phone lost or stolen")).check()
    page.locator("#replacement-continue").click()
    replacement = ReplacementRequest.objects.get(line=line, status=ReplacementStatus.REVIEW)
    portal.expect_path(f"/replacements/{replacement.public_id}/")
    expect(page.locator('[data-step="identity"]')).to_have_attribute("data-state", "current")
    expect(page.locator('[data-step="identity"]')).to_contain_text(zh("Identity check: waiting for support review"))

    # The residence card, approved by support in the admin.
    page.locator(".replacement-document").click()
    portal.expect_path("/account/identity/")
    page.locator("input[name=kind][value=residence_card]").check()
    page.locator("input[name=file]").set_input_files(
        {"name": "card.png", "mimeType": "image/png", "buffer": png_bytes(size=(600, 380))}
    )
    page.locator("#upload").click()
    portal.expect_path(f"/replacements/{replacement.public_id}/")
    document = IdentityDocument.objects.get(owner=customer)
    agent = agent_page(open_page, portal)
    agent.goto(portal.url(f"/admin/accounts/identitydocument/{document.pk}/review/"))
    agent.locator("input[name=decision][value=approve]").check()
    agent.locator("input[type=submit]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    page_problems.problems.clear()  # Django's own admin is not this journey's subject
    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.PAYMENT_DUE
    assert replacement.fee_ore == fee
    assert not EsimProfile.objects.filter(line=line, state=EsimState.RELEASED).exists(), "nothing before payment"

    # The fee, on the request's page: the customer sees it and pays it.
    portal.goto(f"/replacements/{replacement.public_id}/")
    expect(page.locator(".replacement-status")).to_have_attribute("data-status", "payment_due")
    expect(page.locator(".replacement-next")).to_contain_text(zh_nok(fee))
    expect(page.locator('[data-step="identity"]')).to_have_attribute("data-state", "done")
    expect(page.locator('[data-step="paid"]')).to_have_attribute("data-state", "current")
    expect(page.locator("input[name=full_name]")).to_have_value("张伟")
    assert_fits_the_phone(page)
    screenshot(page, "lost-again-fee-due-zh-hans")
    page.locator("#pay").click()
    expect(page.locator(".sandpay-amount")).to_have_text(zh_nok(fee))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert_fits_the_phone(page)
    screenshot(page, "lost-again-sandbox-pay-zh-hans")
    page.locator("#sandpay-approve").click()
    order = Order.objects.get(replacement=replacement)
    portal.expect_path(f"/orders/{order.public_id}/")
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")
    assert_fits_the_phone(page)
    screenshot(page, "lost-again-paid-zh-hans")

    # Paid once, with a receipt; the worker has prepared the new eSIM.
    order.refresh_from_db()
    assert (order.kind, order.status, order.amount_ore) == (OrderKind.REPLACEMENT, OrderStatus.PAID, fee)
    receipt = Receipt.objects.get(order=order)
    assert (receipt.total_ore, receipt.customer_name) == (fee, "张伟")
    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.FULFILLED
    assert replacement.paid_at is not None and replacement.cooling_off_until is None
    new = EsimProfile.objects.get(line=line, state=EsimState.RELEASED)
    assert new != old
    old.refresh_from_db()
    assert old.state == EsimState.DISABLED
    assert not [text for text in sms.outbox if text.to == line.number], "nothing is texted to a lost phone"

    portal.goto(f"/replacements/{replacement.public_id}/")
    expect(page.locator(".replacement-status")).to_have_attribute("data-status", "fulfilled")
    expect(page.locator('[data-step="paid"]')).to_have_attribute("data-state", "done")
    # The number is on the new eSIM now, and works again.
    expect(page.locator(".line-blocking")).to_contain_text(
        zh("Unblocked: your number works again, on the new eSIM only. The lost phone's eSIM is disabled.")
    )
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and not subscriber.blocked and subscriber.imsi == new.imsi
    assert_fits_the_phone(page)
    screenshot(page, "lost-again-fulfilled-zh-hans")

    # The install page's QR code is the new profile's.
    portal.goto(f"/lines/{line.pk}/esim/")
    expect(page.locator(".esim-iccid")).to_contain_text(new.iccid[-4:])
    page.locator(".esim-install-link").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/esim/install/")
    # Resolves once the image is loaded (a polled predicate would need eval, which the CSP forbids).
    page.locator("img.esim-qr").evaluate("img => img.decode()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen = ARTIFACTS / "lost-again-install-screen-zh-hans.png"
    page.screenshot(path=str(screen))
    new.refresh_from_db()
    assert read_qr(screen) == [f"LPA:1${new.smdp_address}${new.matching_id}"]
    assert_fits_the_phone(page)
    screenshot(page, "lost-again-install-zh-hans")
    portal.expect_clean()
