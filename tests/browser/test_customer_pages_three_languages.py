"""The customer pages of suspension, cancellation, the customer's own data,
notification settings, unsubscribing and the replacement's status, each in
English, Norwegian and Chinese on a 390 px phone: every page fits the
phone, speaks the customer's language, and is saved as a screenshot
(var/test-artifacts/pages-<page>-<language>.png) for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import NotificationKind
from accounts.notifications import unsubscribe_token
from subscriptions.models import (
    CancellationRequest,
    CancellationStatus,
    CreditNote,
    EsimState,
    LedgerKind,
    LineStatus,
    PlanKind,
    ReplacementReason,
    SuspensionReason,
)
from subscriptions.services.cancellations import cancellation_request
from subscriptions.services.ledger import ledger_add
from subscriptions.services.replacements import replacement_request, replacement_stop, replacement_unblock_ask
from subscriptions.services.suspensions import line_suspension_start
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-sider-2026"
HTML_LANG = {"en": "en", "nb": "nb", "zh-hans": "zh-hans"}


def sign_in_again_if_asked(page: Any) -> None:
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()


def look(portal: Any, path: str, name: str, language: str) -> None:
    portal.goto(path)
    sign_in_again_if_asked(portal.page)
    page = portal.page
    assert page.evaluate("document.documentElement.lang") == HTML_LANG[language]
    assert_fits_the_phone(page)
    screenshot(page, f"pages-{name}-{language}")


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
def test_the_new_customer_pages_fit_a_phone_in_each_language(portal: Any, language: str) -> None:
    customer = UserFactory(
        email=f"kari-{language}@example.test",
        full_name="Kari Nordmann",
        language=language,
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(code=f"fjord-{language}")
    keeping = PlanFactory(code=f"hold-{language}", kind=PlanKind.NUMBER_KEEPING)
    to_cancel = LineFactory(owner=customer, number="+4791234501", with_period=plan)
    suspended = LineFactory(owner=customer, number="+4741234502", kind=PlanKind.NUMBER_KEEPING, with_period=keeping)
    cancelled = LineFactory(owner=customer, number="+4791234503", with_period=plan)
    lost = LineFactory(owner=customer, number="+4791234504", with_period=plan)
    found = LineFactory(owner=customer, number="+4791234505", with_period=plan)
    spare = LineFactory(owner=customer, number="+4791234506", with_period=plan)
    ledger_add(line=spare, kind=LedgerKind.TOPUP, amount_ore=35_00, reference="t")
    for line in (lost, found):
        EsimProfileFactory(line=line, state=EsimState.INSTALLED, assigned_at=timezone.now() - timedelta(days=40))

    ledger_add(line=to_cancel, kind=LedgerKind.TOPUP, amount_ore=120_00, reference="t")
    in_review = cancellation_request(
        line=to_cancel,
        by=customer,
        reason="moving_abroad",
        balance_choice="refund",
        refund_account="86011117947",
        idempotency_key="review",
    )
    CancellationRequest.objects.filter(pk=in_review.pk).update(
        status=CancellationStatus.REVIEW, document_at=timezone.now()
    )
    line_suspension_start(line=suspended, by=customer, reason=SuspensionReason.TRAVELLING)
    done = cancellation_request(
        line=cancelled, by=customer, reason="not_used", balance_choice="", refund_account="", idempotency_key="done"
    )
    now = timezone.now()
    CancellationRequest.objects.filter(pk=done.pk).update(
        status=CancellationStatus.DONE,
        document_at=now,
        identity_checked_at=now,
        approved_at=now,
        line_cancelled_at=now,
        balance_settled_at=now,
        done_at=now,
    )
    type(cancelled).objects.filter(pk=cancelled.pk).update(status=LineStatus.CANCELLED, status_changed_at=now)
    CreditNote.objects.create(
        cancellation=done,
        owner=customer,
        year=now.year,
        sequence=1,
        customer_name="Kari Nordmann",
        line_number=cancelled.number,
        amount_ore=85_50,
        bank_account="86011117947",
        paid_out_at=now,
        paid_out_on=now.date(),
        paid_out_reference="DNB 771",
    )
    agent = UserFactory(is_staff=True)
    still_blocked = replacement_request(
        line=lost, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="lost"
    )
    replacement_stop(replacement=still_blocked, by=customer, why="changed my mind")
    unblocked = replacement_request(
        line=found, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="found"
    )
    replacement_stop(replacement=unblocked, by=customer, why="found it")
    replacement_unblock_ask(replacement=unblocked, by=agent, reason="found the phone")

    portal.sign_in(customer.email, PASSWORD)
    portal.expect_path("/dashboard/")
    look(portal, f"/lines/{spare.pk}/cancel/", "cancellation-form", language)
    look(portal, f"/cancellations/{in_review.public_id}/", "cancellation-review", language)
    look(portal, f"/cancellations/{done.public_id}/", "cancellation-done-paid-out", language)
    look(portal, f"/lines/{spare.pk}/suspend/", "suspend-form", language)
    look(portal, f"/lines/{suspended.pk}/", "line-suspended", language)
    look(portal, "/account/data/", "your-data", language)
    look(portal, "/account/profile/", "notification-settings", language)
    look(portal, f"/replacements/{still_blocked.public_id}/", "replacement-still-blocked", language)
    look(portal, f"/replacements/{unblocked.public_id}/", "replacement-unblocked", language)
    portal.sign_out()
    look(
        portal,
        f"/account/unsubscribe/{unsubscribe_token(user_id=customer.pk, kind=NotificationKind.EXPIRY)}/",
        "unsubscribe",
        language,
    )
    portal.page.locator("main button[type=submit]").click()
    assert_fits_the_phone(portal.page)
    screenshot(portal.page, f"pages-unsubscribed-{language}")
    portal.expect_clean()
