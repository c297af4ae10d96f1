"""Cancelling a line, in Norwegian on a 390 px phone: the customer signs in
again, reads what is lost and how to keep the number, types a bank account
number with a wrong check digit (a translated error, the form kept), then a
right one; uploads a passport; support approve the document and then the
request in the admin; the worker deactivates the line (eager here; the
service tests run a real one), the confirmation email says until when the
line can come back, the credit note is on the status page; and the customer
brings the line back within the grace period by paying a new period, with
the same number and a new eSIM."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import IdentityDocument
from sandbox.network import network_subscriber
from subscriptions.models import (
    CancellationRequest,
    CancellationStatus,
    CreditNote,
    EsimProfile,
    EsimState,
    LedgerKind,
    LineStatus,
)
from subscriptions.services.ledger import ledger_add
from tests.browser.phone_pages import agent_page, assert_fits_the_phone, screenshot
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.identity_files import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-oppsigelse-2026"
SANDBOX_PAGE = re.compile(r"/sandbox-pay/sbx_[0-9a-f]+/$")


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nb(message: str, context: str = "") -> str:
    with translation.override("nb"):
        text = translation.pgettext(context, message) if context else gettext(message)
    assert text != message, f"no Norwegian for {message!r}"
    return text


def test_cancel_with_a_document_support_approves_and_come_back_within_the_grace_period(
    portal: Any, open_page: Any, page_problems: Any
) -> None:
    page = portal.page
    customer = UserFactory(
        email="ola@example.test",
        full_name="Ola Nordmann",
        language="nb",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(code="fjord-month", name_nb="Fjord 10 GB")
    line = LineFactory(owner=customer, number="+4741234588", with_period=plan)
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    EsimProfileFactory.create_batch(2)  # stock for the eSIM of the comeback
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=75_00, reference="top-up")

    portal.sign_in("ola@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    page.locator(".cancellation-link").click()
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path(f"/lines/{line.pk}/cancel/")
    expect(page.locator(".cancellation-loss")).to_contain_text(nb("What you lose"))
    expect(page.locator(".cancellation-port-out")).to_contain_text(nb("Want to keep the number?"))
    assert_fits_the_phone(page)
    screenshot(page, "cancellation-form-nb")

    page.get_by_label(nb("I am moving away from Norway")).check()
    page.get_by_label(nb("Refund it to my bank account")).check()
    page.locator("input[name=refund_account]").fill("8601.11.17948")
    page.locator("input[name=understood]").check()
    page.locator("#cancellation-send").click()
    expect(page.locator(".account-error")).to_contain_text("ikke et gyldig norsk kontonummer")
    expect(page.locator("input[name=refund_account]")).to_have_value("8601.11.17948")
    expect(page.get_by_label(nb("I am moving away from Norway"))).to_be_checked()
    assert not CancellationRequest.objects.exists()
    assert_fits_the_phone(page)
    screenshot(page, "cancellation-bad-account-nb")

    page.locator("input[name=refund_account]").fill("8601.11.17947")
    page.locator("input[name=understood]").check()
    page.locator("#cancellation-send").click()
    cancellation = CancellationRequest.objects.get(line=line)
    portal.expect_path(f"/cancellations/{cancellation.public_id}/")
    expect(page.locator(".cancellation-status")).to_have_attribute("data-status", "requested")
    expect(page.locator(".cancellation-decide-by")).to_be_visible()
    assert_fits_the_phone(page)
    screenshot(page, "cancellation-requested-nb")

    page.locator(".cancellation-document").click()
    portal.expect_path("/account/identity/")
    expect(page.locator("select[name=purpose]")).to_have_value("cancellation")
    page.locator("input[name=kind][value=passport]").check()
    page.locator("input[name=file]").set_input_files(
        {"name": "pass.png", "mimeType": "image/png", "buffer": png_bytes(size=(600, 380))}
    )
    page.locator("#upload").click()
    portal.expect_path(f"/cancellations/{cancellation.public_id}/")
    expect(page.locator(".cancellation-status")).to_have_attribute("data-status", "review")
    screenshot(page, "cancellation-review-nb")
    portal.goto("/dashboard/")
    expect(page.locator(".dashboard-cancellation")).to_be_visible()
    document = IdentityDocument.objects.get(owner=customer)

    agent = agent_page(open_page, portal)
    agent.goto(portal.url(f"/admin/accounts/identitydocument/{document.pk}/review/"))
    agent.locator("input[name=decision][value=approve]").check()
    agent.locator("input[type=submit]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    agent.goto(portal.url("/admin/subscriptions/cancellationrequest/?status__exact=review"))
    agent.locator(f"input[name=_selected_action][value='{cancellation.pk}']").check()
    agent.locator("select[name=action]").select_option("approve")
    agent.locator("button[name=index]").click()
    expect(agent.locator(".messagelist")).to_be_visible()
    screenshot(agent, "cancellation-admin-queue")
    page_problems.problems.clear()  # Django's own admin is not this journey's subject

    cancellation.refresh_from_db()
    line.refresh_from_db()
    old.refresh_from_db()
    assert cancellation.status == CancellationStatus.DONE
    assert line.status == LineStatus.CANCELLED
    assert old.state == EsimState.DISABLED
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and subscriber.blocked
    note = CreditNote.objects.get(cancellation=cancellation)
    assert note.amount_ore == 75_00
    [confirmation] = [m for m in mail.outbox if m.to == ["ola@example.test"] and "avsluttet" in m.subject]
    assert "Fram til" in confirmation.body and note.number in confirmation.body

    portal.goto(f"/cancellations/{cancellation.public_id}/")
    expect(page.locator(".cancellation-status")).to_have_attribute("data-status", "done")
    expect(page.locator(".credit-note-link")).to_be_visible()
    with page.expect_download() as download:
        page.locator(".credit-note-link").click()
    assert download.value.suggested_filename == f"credit-note-{note.number}.pdf"
    assert_fits_the_phone(page)
    screenshot(page, "cancellation-done-nb")

    page.locator(".reactivate-link").click()
    portal.expect_path(f"/lines/{line.pk}/renew/")
    page.locator(f"[data-plan='{plan.code}'] a.plan-choose").click()
    portal.expect_path(f"/lines/{line.pk}/renew/{plan.code}/")
    page.locator("#pay").click()
    expect(page).to_have_url(SANDBOX_PAGE)
    page.locator("#sandpay-approve").click()
    expect(page.locator("section.order-result")).to_have_attribute("data-status", "paid")

    line.refresh_from_db()
    cancellation.refresh_from_db()
    assert line.status == LineStatus.ACTIVE and line.number == "+4741234588"
    assert cancellation.reactivated_at is not None
    assert not network_subscriber(msisdn=line.number).blocked
    new = EsimProfile.objects.get(line=line, state=EsimState.RELEASED)
    assert new != old
    portal.goto(f"/lines/{line.pk}/")
    expect(page.locator(".cancellation-link")).to_be_visible()
    assert_fits_the_phone(page)
    screenshot(page, "cancellation-reactivated-line-nb")
    portal.expect_clean()
