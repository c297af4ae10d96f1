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
from tests.factories import LineFactory, PlanFactory, UserFactory
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


NOTES = "/admin/subscriptions/creditnote/"


def issued_note(cancellation, *, sequence, bank_account="86011117947", paid=False):
    return CreditNote.objects.create(
        cancellation=cancellation,
        owner=cancellation.requested_by,
        year=2026,
        sequence=sequence,
        customer_name="Kari Nordmann",
        line_number=cancellation.line.number,
        amount_ore=40_00,
        bank_account=bank_account,
        paid_out_at=timezone.now() if paid else None,
    )


def test_the_not_paid_out_filter_lists_only_the_bank_refunds_still_owed(client, staff, customer, cancellation):
    issued_note(cancellation, sequence=1)
    other = cancellation_request(
        line=LineFactory(owner=customer, number="+4791234568", with_period=PlanFactory()),
        by=customer,
        reason="not_used",
        balance_choice="",
        refund_account="",
        idempotency_key="k2",
    )
    issued_note(other, sequence=2, paid=True)

    page = client.get(NOTES, {"payout": "owed"}).content.decode()

    assert "K2026-000001" in page
    assert "K2026-000002" not in page
    # The list shows the account's last digits only.
    assert "86011117947" not in page and "••947" in page


def test_marking_paid_out_asks_for_the_day_and_reference_and_the_customer_sees_it(
    client, staff, customer, cancellation
):
    note = issued_note(cancellation, sequence=1)
    form = client.post(NOTES, {"action": "mark_paid_out", "_selected_action": [note.pk]})
    assert "Bank reference" in form.content.decode()
    today = timezone.localdate()

    client.post(
        NOTES,
        {
            "action": "mark_paid_out",
            "_selected_action": [note.pk],
            "apply": "yes",
            "paid_on": today.isoformat(),
            "reference": "DNB 771",
        },
    )
    again = client.post(
        NOTES,
        {
            "action": "mark_paid_out",
            "_selected_action": [note.pk],
            "apply": "yes",
            "paid_on": today.isoformat(),
            "reference": "DNB 772",
        },
        follow=True,
    )

    note.refresh_from_db()
    assert (note.paid_out_on, note.paid_out_reference, note.paid_out_by) == (today, "DNB 771", staff)
    assert "already marked paid out" in again.content.decode()
    client.force_login(customer)
    status = client.get(f"/cancellations/{cancellation.public_id}/").content.decode()
    assert "Refund paid out on" in status


def test_an_agent_without_the_payout_permission_cannot_mark_paid_out(client, cancellation):
    from django.contrib.auth.models import Group

    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, agent)
    note = issued_note(cancellation, sequence=1)

    client.post(
        NOTES,
        {
            "action": "mark_paid_out",
            "_selected_action": [note.pk],
            "apply": "yes",
            "paid_on": timezone.localdate().isoformat(),
            "reference": "x",
        },
    )

    note.refresh_from_db()
    assert note.paid_out_at is None
