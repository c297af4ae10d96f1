"""Marking a credit note paid out: once, only a bank refund, with the day,
the bank's reference, who marked it and an audit row on the line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.errors import CustomerError
from subscriptions.models import AuditEvent, CreditNote
from subscriptions.services.cancellations import cancellation_request
from subscriptions.services.credit_notes import credit_note_mark_paid_out
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return UserFactory(is_staff=True, full_name="Siri Support")


@pytest.fixture
def note(line, customer):
    cancellation = cancellation_request(
        line=line, by=customer, reason="not_used", balance_choice="", refund_account="", idempotency_key="k"
    )
    return CreditNote.objects.create(
        cancellation=cancellation,
        owner=customer,
        year=2026,
        sequence=3,
        issued_at=timezone.now() - timedelta(days=2),
        customer_name="Kari Nordmann",
        line_number=line.number,
        amount_ore=40_00,
        bank_account="86011117947",
    )


def test_marking_paid_out_keeps_the_day_the_reference_and_who_and_writes_an_audit_row(note, agent, line):
    today = timezone.localdate()

    credit_note_mark_paid_out(note=note, paid_on=today, reference=" DNB 2026-771 ", by=agent)

    note.refresh_from_db()
    assert (note.paid_out_on, note.paid_out_reference, note.paid_out_by) == (today, "DNB 2026-771", agent)
    assert note.paid_out_at is not None
    event = AuditEvent.objects.get(action="credit_note_paid_out")
    assert (event.line, event.actor, event.reason) == (line, agent, "DNB 2026-771")
    assert event.data["credit_note"] == "K2026-000003"


def test_a_credit_note_is_marked_paid_out_only_once_even_from_a_stale_page(note, agent):
    today = timezone.localdate()
    stale_copy = CreditNote.objects.get(pk=note.pk)
    credit_note_mark_paid_out(note=note, paid_on=today, reference="first", by=agent)

    with pytest.raises(CustomerError, match="already marked paid out"):
        credit_note_mark_paid_out(note=stale_copy, paid_on=today, reference="second", by=UserFactory())

    note.refresh_from_db()
    assert (note.paid_out_reference, note.paid_out_by) == ("first", agent)
    assert AuditEvent.objects.filter(action="credit_note_paid_out").count() == 1


def test_a_credit_note_without_a_bank_refund_cannot_be_paid_out(note, agent):
    CreditNote.objects.filter(pk=note.pk).update(bank_account="")
    note.refresh_from_db()

    with pytest.raises(CustomerError, match="no refund to a bank account"):
        credit_note_mark_paid_out(note=note, paid_on=timezone.localdate(), reference="x", by=agent)

    assert CreditNote.objects.get(pk=note.pk).paid_out_at is None


@pytest.mark.parametrize(
    ("days", "reference", "message"),
    [(1, "ref", "future"), (-3, "ref", "before the credit note"), (0, "  ", "reference")],
)
def test_a_wrong_day_or_an_empty_reference_is_refused(note, agent, days, reference, message):
    with pytest.raises(CustomerError, match=message):
        credit_note_mark_paid_out(
            note=note, paid_on=timezone.localdate() + timedelta(days=days), reference=reference, by=agent
        )

    assert CreditNote.objects.get(pk=note.pk).paid_out_at is None
