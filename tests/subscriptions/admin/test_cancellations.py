"""Cancellations in the support admin: the queue with its due days, the
decisions (approve, reject with a reason the customer reads, retry), a
port-out marked on lines, each line's history, the credit note's PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from accounts.identity import identity_document_approve, identity_document_upload
from accounts.identity_files import CheckedFile
from accounts.models import IdentityDocument
from subscriptions.formatting import format_nok
from subscriptions.models import CancellationRequest, CancellationStatus, CreditNote, LedgerKind, LineStatus
from subscriptions.services.cancellations import cancellation_request
from subscriptions.services.ledger import ledger_add
from tests.factories import UserFactory
from tests.identity_files import jpeg_bytes
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db
QUEUE = "/admin/subscriptions/cancellationrequest/"
S = CancellationStatus


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, full_name="Siri Support")
    staff_sign_in(client, user)
    return user


@pytest.fixture
def cancellation(line, customer):
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=40_00, reference="t")
    return cancellation_request(
        line=line,
        by=customer,
        reason="moving_abroad",
        balance_choice="refund",
        refund_account="86011117947",
        idempotency_key="k",
    )


def identity_checked(customer, staff):
    document = identity_document_upload(
        owner=customer,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.CANCELLATION,
        file=CheckedFile(content=jpeg_bytes(), content_type="image/jpeg"),
    )
    identity_document_approve(document=document, by=staff)


def test_the_queue_lists_the_oldest_first_with_its_due_day_and_marks_the_overdue(client, staff, cancellation):
    CancellationRequest.objects.filter(pk=cancellation.pk).update(
        requested_at=timezone.now() - timedelta(days=9), decide_by=timezone.localdate() - timedelta(days=2)
    )

    page = client.get(QUEUE).content.decode()

    assert "+47 912 34 567" in page
    assert "overdue" in page
    assert "9 days" in page


def test_approving_in_the_admin_deactivates_the_line_and_issues_the_credit_note(
    client, staff, customer, line, cancellation, django_capture_on_commit_callbacks
):
    identity_checked(customer, staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(QUEUE, {"action": "approve", "_selected_action": [cancellation.pk]})

    cancellation.refresh_from_db()
    line.refresh_from_db()
    assert cancellation.status == S.DONE
    assert line.status == LineStatus.CANCELLED
    note = CreditNote.objects.get()
    pdf = client.get(f"/admin/subscriptions/creditnote/{note.pk}/pdf/")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert note.number in text and format_nok(40_00).replace("\xa0", " ") in text and "8601.11.17947" in text


def test_rejecting_asks_for_the_reason_and_emails_it_translated(
    client, staff, customer, line, cancellation, django_capture_on_commit_callbacks
):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    form = client.post(QUEUE, {"action": "reject", "_selected_action": [cancellation.pk]})
    assert "Reason the customer reads" in form.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            QUEUE,
            {"action": "reject", "_selected_action": [cancellation.pk], "apply": "yes", "reason": "amount_owed"},
        )

    cancellation.refresh_from_db()
    line.refresh_from_db()
    assert cancellation.status == S.REJECTED
    assert line.status == LineStatus.ACTIVE
    message = mail.outbox[-1]
    assert message.to == [customer.email]
    assert "此号码有未付金额" in message.body


def test_a_port_out_marked_on_the_line_cancels_it_and_shows_in_its_history(
    client, staff, line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/subscriptions/line/",
            {"action": "port_out_lines", "_selected_action": [line.pk], "apply": "yes", "reason": "Telia ref 77"},
        )

    line.refresh_from_db()
    cancellation = CancellationRequest.objects.get(line=line)
    assert (cancellation.source, cancellation.status, line.status) == ("port_out", S.DONE, LineStatus.CANCELLED)
    page = client.get(f"/admin/subscriptions/line/{line.pk}/change/").content.decode()
    assert "cancellation history" in page.lower() and str(cancellation.public_id) in page
