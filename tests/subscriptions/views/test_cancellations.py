"""The cancellation pages: the form after a fresh sign-in, its translated
errors (the form kept), the status page, withdrawing, the credit note, and
404 for another customer on every address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from subscriptions.models import CancellationRequest, CreditNote, LedgerKind, Line, LineStatus
from subscriptions.selectors.lines import dashboard_lines
from subscriptions.services.cancellations import cancellation_request
from subscriptions.services.ledger import ledger_add
from tests.factories import UserFactory
from tests.subscriptions.views.test_replacements import reauthenticated

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancellation(line, customer):
    return cancellation_request(
        line=line, by=customer, reason="not_used", balance_choice="", refund_account="", idempotency_key="k"
    )


def form(**changes):
    return {
        "reason": "moving_abroad",
        "balance_choice": "refund",
        "refund_account": "8601.11.17947",
        "understood": "on",
        "idempotency_key": "abc",
        **changes,
    }


def test_the_line_page_links_to_cancelling(signed_in, line):
    assert f"/lines/{line.pk}/cancel/" in signed_in.get(f"/lines/{line.pk}/").content.decode()


def test_the_form_asks_to_sign_in_again_first(signed_in, line):
    response = signed_in.get(f"/lines/{line.pk}/cancel/")

    assert response.status_code == 302
    assert "/reauthenticate/" in response["Location"]


def test_the_form_says_what_is_lost_how_to_keep_the_number_and_the_decision_day(signed_in, customer, line):
    page = reauthenticated(signed_in, customer).get(f"/lines/{line.pk}/cancel/").content.decode()

    assert "What you lose" in page
    assert "date of birth" in page
    assert "Support decides by" in page


def test_sending_the_form_makes_the_request_and_shows_its_status_page(signed_in, customer, line):
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=50_00, reference="t")
    response = reauthenticated(signed_in, customer).post(f"/lines/{line.pk}/cancel/", form())

    cancellation = CancellationRequest.objects.get()
    assert response["Location"] == f"/cancellations/{cancellation.public_id}/"
    assert cancellation.refund_account == "86011117947"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Upload your identity document" in page
    assert "?for=cancellation&amp;next=" in page
    assert str(cancellation.public_id) in signed_in.get("/dashboard/").content.decode()


def test_a_bad_account_number_is_a_translated_error_and_the_form_is_kept(signed_in, customer, line):
    customer.language = "nb"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "nb"
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=50_00, reference="t")

    response = reauthenticated(signed_in, customer).post(
        f"/lines/{line.pk}/cancel/", form(refund_account="8601.11.17948")
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "ikke et gyldig norsk kontonummer" in page
    assert 'value="8601.11.17948"' in page
    assert 'value="moving_abroad" checked' in page
    assert not CancellationRequest.objects.exists()
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_not_confirming_what_is_lost_is_an_error(signed_in, customer, line):
    response = reauthenticated(signed_in, customer).post(f"/lines/{line.pk}/cancel/", form(understood=""))

    assert "Confirm that you understand what is lost." in response.content.decode()
    assert not CancellationRequest.objects.exists()


def test_withdrawing_from_the_status_page_keeps_the_line(signed_in, cancellation, line):
    response = signed_in.post(f"/cancellations/{cancellation.public_id}/withdraw/", follow=True)

    assert "withdrawn" in response.content.decode()
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


@pytest.mark.parametrize("suffix", ["", "withdraw/", "credit-note.pdf"])
def test_another_customer_gets_404_on_every_cancellation_address(stranger_client, cancellation, suffix):
    credit_note_for(cancellation)
    method = stranger_client.post if suffix == "withdraw/" else stranger_client.get

    assert method(f"/cancellations/{cancellation.public_id}/{suffix}").status_code == 404


def test_another_customer_gets_404_on_the_lines_cancel_form(client, line):
    stranger = UserFactory()
    client.force_login(stranger)
    reauthenticated(client, stranger)

    assert client.get(f"/lines/{line.pk}/cancel/").status_code == 404
    assert client.post(f"/lines/{line.pk}/cancel/", form()).status_code == 404
    assert not CancellationRequest.objects.exists()


def credit_note_for(cancellation):
    return CreditNote.objects.create(
        cancellation=cancellation,
        owner=cancellation.requested_by,
        year=2026,
        sequence=7,
        customer_name="Kari Nordmann",
        line_number=cancellation.line.number,
        amount_ore=12_00,
    )


def test_the_credit_note_downloads_as_a_pdf_for_its_owner(signed_in, cancellation):
    credit_note_for(cancellation)

    response = signed_in.get(f"/cancellations/{cancellation.public_id}/credit-note.pdf")

    assert response["Content-Type"] == "application/pdf"
    assert 'filename="credit-note-K2026-000007.pdf"' in response["Content-Disposition"]


def test_the_form_and_status_page_read_in_chinese_with_its_words(signed_in, customer, line, cancellation):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "zh-hans"

    status = signed_in.get(f"/cancellations/{cancellation.public_id}/").content.decode()
    line_page = signed_in.get(f"/lines/{line.pk}/").content.decode()

    assert "上传" in status and "等待您的身份证件" in status
    assert "已申请注销" in line_page
    for page in (status, line_page):
        assert "线路" not in page


def test_a_bad_upload_for_the_request_is_refused_in_norwegian_and_the_request_keeps_waiting(
    signed_in, customer, cancellation
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    customer.language = "nb"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "nb"
    back = f"/cancellations/{cancellation.public_id}/"
    fake = SimpleUploadedFile("pass.jpg", b"<html>not a photo</html>", content_type="image/jpeg")

    response = signed_in.post(
        f"/account/identity/?for=cancellation&next={back}",
        {"kind": "passport", "purpose": "cancellation", "file": fake},
    )

    page = response.content.decode()
    assert response.status_code == 200
    with translation.override("nb"):
        refusal = translation.gettext("This file is not a photo (JPEG or PNG) or a PDF. Upload one of those.")
    assert refusal in page and "This file is not a photo" not in page
    assert '<option value="cancellation" selected>' in page
    cancellation.refresh_from_db()
    assert cancellation.status == "requested"
    assert cancellation.identity_document is None


def test_another_customer_gets_404_on_the_cancel_form_even_without_a_fresh_sign_in(client, line):
    client.force_login(UserFactory())

    assert client.get(f"/lines/{line.pk}/cancel/").status_code == 404


@pytest.mark.parametrize(
    ("language", "not_refunded", "new_period_on_comeback"),
    [
        ("en", "Your paid time ends when the line is cancelled.", "a new period that starts on the day you pay"),
        (
            "nb",
            "Den betalte tiden din slutter når abonnementet sies opp.",
            "en ny periode som starter den dagen du betaler",
        ),
        ("zh-hans", "已付费的时间在号码注销时结束。", "新服务期从付款当天开始"),
    ],
)
def test_the_form_says_paid_time_ends_at_the_cancellation_and_coming_back_pays_a_new_period_from_that_day(
    signed_in, customer, line, settings, language, not_refunded, new_period_on_comeback
):
    customer.language = language
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = language

    page = reauthenticated(signed_in, customer).get(f"/lines/{line.pk}/cancel/").content.decode()

    terms = page.split('class="cancellation-comeback-terms">', 1)[1].split("</li>", 1)[0]
    assert not_refunded in terms
    assert new_period_on_comeback in terms
    assert str(settings.CANCELLATION_GRACE_DAYS) in terms


def cancelled(line, *, paid_time_left):
    """The line cancelled two days ago; its paid time still running if it
    was cancelled before the deactivation ended it."""
    cancelled_at = timezone.now() - timedelta(days=2)
    expiry = line.expires_at if paid_time_left else cancelled_at
    line.periods.update(ends_at=expiry)
    Line.objects.filter(pk=line.pk).update(
        status=LineStatus.CANCELLED, status_changed_at=cancelled_at, expires_at=expiry
    )


@pytest.mark.parametrize("paid_time_left", [True, False])
def test_coming_back_says_the_new_period_starts_at_the_payment(signed_in, line, plan, paid_time_left):
    cancelled(line, paid_time_left=paid_time_left)

    plans = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()
    checkout = signed_in.get(f"/lines/{line.pk}/renew/{plan.code}/").content.decode()

    assert "The new period starts the moment your payment is confirmed." in plans
    assert "paid until" not in plans
    assert "Starts the moment your payment is confirmed." in checkout
    assert "Starts when your current period ends" not in checkout


def test_a_cancelled_line_shows_when_its_service_ended_and_no_days_left(signed_in, customer, line):
    cancelled(line, paid_time_left=True)
    line.refresh_from_db()

    page = signed_in.get("/dashboard/").content.decode()

    assert "Service ended" in page
    assert "days left" not in page and "Valid until" not in page
    [card] = dashboard_lines(user=customer)
    assert card.expires_at == line.status_changed_at
