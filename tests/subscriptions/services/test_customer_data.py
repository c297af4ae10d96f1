"""The customer's own data: the export's ZIP, its link used once within its
day, the account's deletion (refused while a line is in use, erasing what is
personal and keeping the receipts), and the retention sweeps (the receipts' and
credit notes' names blanked after the bookkeeping period among them)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.http import Http404
from django.utils import timezone

from accounts.identity import identity_files_delete_expired
from accounts.models import IdentityDocument, User, private_storage
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AccountDeletion,
    AuditEvent,
    CancellationRequest,
    CreditNote,
    DataExport,
    DataExportStatus,
    Line,
    LineStatus,
    Order,
    Receipt,
    UsageRecord,
)
from subscriptions.receipt_pdf import receipt_pdf
from subscriptions.services.customer_data import (
    account_delete,
    bookkeeping_copies_anonymise,
    data_export_build,
    data_export_request,
    data_export_take,
    data_exports_delete_expired,
    data_exports_queue_stale,
    usage_records_delete_old,
)
from subscriptions.services.lines import line_transition
from tests.factories import LedgerEntryFactory, LineFactory, UsageRecordFactory, UserFactory
from tests.subscriptions.receipts import make_receipt, pdf_text
from tests.subscriptions.views.test_receipts import pay_for_renewal

pytestmark = pytest.mark.django_db


def built(user, django_capture_on_commit_callbacks) -> tuple[DataExport, str]:
    """An export asked for and built; its link's token from the email."""
    export = data_export_request(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        assert data_export_build(export_id=export.pk)
    token = re.search(r"/account/data/export/[0-9a-f-]+/([^/\s]+)/", mail.outbox[-1].body)
    assert token, mail.outbox[-1].body
    export.refresh_from_db()
    return export, token.group(1)


def cancel(line) -> None:
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=None, reason="test")
    line_transition(line=line, to=LineStatus.CANCELLED, by=None, reason="test")


def document(owner, **fields) -> IdentityDocument:
    name = private_storage().save("identity/test.jpg", io.BytesIO(b"\xff\xd8 a passport"))
    return IdentityDocument.objects.create(
        owner=owner, kind="passport", purpose="cancellation", file=name, content_type="image/jpeg", size=12, **fields
    )


# --- the export --------------------------------------------------------------------------


def test_the_export_holds_every_table_as_json_and_csv_and_the_receipts_as_pdf(
    customer, plan, django_capture_on_commit_callbacks
):
    receipt = pay_for_renewal(customer, plan)
    line = receipt.order.line
    UsageRecordFactory(line=line, destination="+4722225555")
    LedgerEntryFactory(line=line, amount_ore=50_00)

    export, token = built(customer, django_capture_on_commit_callbacks)
    archive = zipfile.ZipFile(io.BytesIO(data_export_take(export=export, token=token)))

    names = set(archive.namelist())
    for table in ("profile", "lines", "periods", "usage", "ledger", "orders", "receipts", "saved_cards", "requests"):
        assert {f"{table}.json", f"{table}.csv"} <= names
    assert f"receipts/receipt-{receipt.number}.pdf" in names
    assert archive.read(f"receipts/receipt-{receipt.number}.pdf").startswith(b"%PDF")
    profile = json.loads(archive.read("profile.json"))
    customer.refresh_from_db()
    assert profile[0]["full_name"] == customer.full_name and profile[0]["email"] == customer.email
    assert json.loads(archive.read("usage.json"))[0]["destination"] == "+4722225555"
    assert "+4722225555" in archive.read("usage.csv").decode()
    assert [row["amount_ore"] for row in json.loads(archive.read("ledger.json"))] == [50_00]
    assert json.loads(archive.read("lines.json"))[0]["number"] == line.number


def test_the_email_announces_the_link_in_the_customers_language(customer, django_capture_on_commit_callbacks):
    customer.language = "nb"
    customer.save(update_fields=["language"])

    built(customer, django_capture_on_commit_callbacks)

    assert mail.outbox[-1].to == [customer.email]
    assert "Dataene dine fra Nordlys Mobil er klare" in mail.outbox[-1].subject


def test_the_link_works_once(customer, django_capture_on_commit_callbacks):
    export, token = built(customer, django_capture_on_commit_callbacks)
    data_export_take(export=export, token=token)

    export.refresh_from_db()
    with pytest.raises(CustomerError, match="already used"):
        data_export_take(export=export, token=token)
    assert export.status == DataExportStatus.DOWNLOADED
    assert export.file_deleted_at is not None and not export.file


def test_a_wrong_token_is_not_found(customer, django_capture_on_commit_callbacks):
    export, token = built(customer, django_capture_on_commit_callbacks)

    with pytest.raises(Http404):
        data_export_take(export=export, token=token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_the_link_expires_after_its_day_and_the_sweep_deletes_the_file(customer, django_capture_on_commit_callbacks):
    export, token = built(customer, django_capture_on_commit_callbacks)
    path = private_storage().path(export.file.name)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    export.refresh_from_db()

    with pytest.raises(CustomerError, match="expired"):
        data_export_take(export=export, token=token)
    assert data_exports_delete_expired() == 1
    assert data_exports_delete_expired() == 0

    export.refresh_from_db()
    assert export.status == DataExportStatus.EXPIRED and export.file_deleted_at is not None
    assert not private_storage().exists(path)


def test_a_second_request_while_one_is_prepared_finds_the_first(customer):
    assert data_export_request(user=customer) == data_export_request(user=customer)
    assert DataExport.objects.count() == 1


def test_an_export_built_twice_is_built_and_announced_once(customer, django_capture_on_commit_callbacks):
    export, _token = built(customer, django_capture_on_commit_callbacks)

    assert data_export_build(export_id=export.pk) is False
    assert len(mail.outbox) == 1


def test_an_export_whose_task_was_lost_is_built_by_the_sweep(customer, django_capture_on_commit_callbacks):
    export = data_export_request(user=customer)  # its task never ran
    assert data_exports_queue_stale() == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert data_exports_queue_stale(now=timezone.now() + timedelta(minutes=11)) == 1

    export.refresh_from_db()
    assert export.status == DataExportStatus.READY and len(mail.outbox) == 1


def test_an_account_without_email_is_told_to_add_one():
    user = UserFactory(email=None, phone="+4791111111")

    with pytest.raises(CustomerError, match="no email address"):
        data_export_request(user=user)


# --- deleting the account ------------------------------------------------------------------


def test_deletion_is_refused_while_a_line_is_in_use_and_names_it(customer, line):
    with pytest.raises(CustomerError, match=r"\+47 912 34 567 \(active\)"):
        account_delete(user=customer)

    customer.refresh_from_db()
    assert customer.is_active and customer.deleted_at is None


def test_deletion_is_refused_while_an_order_waits_for_payment(customer, plan, line):
    Order.objects.create(
        owner=customer, line=line, kind="renewal", plan=plan, amount_ore=199_00, method="card", idempotency_key="x"
    )
    cancel(line)

    with pytest.raises(CustomerError, match="waiting for payment"):
        account_delete(user=customer)


def test_deletion_erases_personal_data_and_keeps_the_receipts(customer, plan, django_capture_on_commit_callbacks):
    receipt = pay_for_renewal(customer, plan)
    line = receipt.order.line
    cancel(line)
    decided = document(customer, status="approved", decided_at=timezone.now())
    pending = document(customer)
    export, _token = built(customer, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        deletion = account_delete(user=customer)

    user = User.objects.get(pk=customer.pk)
    assert (user.full_name, user.street_address, user.phone, user.is_active) == ("", "", None, False)
    assert user.email.endswith("@deleted.invalid") and not user.has_usable_password()
    for doc in (decided, pending):
        doc.refresh_from_db()
        assert doc.file_deleted_at is not None and not doc.file
    assert not private_storage().listdir("identity")[1]
    export.refresh_from_db()
    assert export.file_deleted_at is not None
    order = Order.objects.get(pk=receipt.order_id)
    assert order.billing_name == ""
    kept = Receipt.objects.get(pk=receipt.pk)
    assert kept.customer_name == receipt.customer_name
    assert deletion.receipts_kept == 1 and deletion.receipts_kept_until.year == receipt.issued_at.year + 5
    assert AuditEvent.objects.filter(line=line, action="account_deleted").count() == 1
    assert AccountDeletion.objects.get(user=user) == deletion


def test_a_deleted_customer_cannot_sign_in(client, customer):
    email = customer.email
    account_delete(user=customer)

    response = client.post("/accounts/login/", {"login": email, "password": "correct horse battery staple"})

    assert "_auth_user_id" not in client.session
    assert response.status_code == 200


def test_quarantined_lines_do_not_stop_a_deletion(customer, line):
    cancel(line)
    line_transition(line=line, to=LineStatus.QUARANTINED, by=None, reason="test")

    account_delete(user=customer)

    customer.refresh_from_db()
    assert customer.deleted_at is not None


# --- retention sweeps ----------------------------------------------------------------------


def test_the_identity_sweep_deletes_a_deleted_accounts_pending_document():
    owner = UserFactory()
    pending = document(owner)
    User.objects.filter(pk=owner.pk).update(deleted_at=timezone.now())

    assert identity_files_delete_expired() == 1

    pending.refresh_from_db()
    assert pending.file_deleted_at is not None


def test_the_identity_sweep_keeps_a_live_customers_pending_document(customer):
    pending = document(customer)

    assert identity_files_delete_expired() == 0
    pending.refresh_from_db()
    assert pending.file


def test_usage_records_older_than_the_retention_are_deleted(settings):
    settings.USAGE_RETENTION_DAYS = 90
    line = LineFactory()
    old = UsageRecordFactory(line=line, occurred_at=timezone.now() - timedelta(days=91))
    recent = UsageRecordFactory(line=line, occurred_at=timezone.now() - timedelta(days=89))

    assert usage_records_delete_old(batch=1) == 1
    assert usage_records_delete_old() == 0

    assert list(UsageRecord.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not UsageRecord.objects.filter(pk=old.pk).exists()


# --- receipts and credit notes past the bookkeeping period --------------------------------


def deleted_owner():
    owner = UserFactory()
    User.objects.filter(pk=owner.pk).update(deleted_at=timezone.now())
    return owner


def credit_note(owner, *, year):
    line = LineFactory(owner=owner)
    cancellation = CancellationRequest.objects.create(
        line=line,
        requested_by=owner,
        reason="not_used",
        status="done",
        idempotency_key=f"k{year}",
        line_status_before="active",
        decide_by=timezone.localdate(),
    )
    return CreditNote.objects.create(
        cancellation=cancellation,
        owner=owner,
        year=year,
        sequence=1,
        customer_name="Kari Nordmann",
        line_number=line.number,
        amount_ore=40_00,
        bank_account="86011117947",
    )


def test_a_deleted_accounts_receipts_and_credit_notes_lose_the_name_after_the_bookkeeping_period(settings):
    def receipt(number, **fields):
        made = make_receipt(**fields)
        Line.objects.filter(pk=made.order.line_id).update(number=number)  # make_receipt's lines share one
        return made

    settings.RECEIPT_RETENTION_YEARS = 5
    owner = deleted_owner()
    old = receipt("+4791000001", owner=owner, year=2026)
    kept = receipt("+4791000002", owner=owner, year=2027)
    alive = receipt("+4791000003", year=2026)  # an account still open keeps its copies
    note = credit_note(owner, year=2026)
    last_day_kept = timezone.make_aware(timezone.datetime(2031, 12, 31, 22, 0))  # 23:00 in Oslo
    in_2032 = timezone.make_aware(timezone.datetime(2032, 1, 2, 3, 0))

    assert bookkeeping_copies_anonymise(now=last_day_kept) == 0
    assert bookkeeping_copies_anonymise(now=in_2032, batch=1) == 2
    assert bookkeeping_copies_anonymise(now=in_2032) == 0  # a second run changes nothing

    old.refresh_from_db()
    assert (old.customer_name, old.customer_address, old.total_ore) == ("", "", 199_00)
    assert old.anonymised_at == in_2032
    assert "Kari Nordmann" not in pdf_text(receipt_pdf(old)) and old.number in pdf_text(receipt_pdf(old))
    for untouched in (kept, alive):
        untouched.refresh_from_db()
        assert untouched.customer_name == "Kari Nordmann" and untouched.anonymised_at is None
    note = CreditNote.objects.get(pk=note.pk)
    assert (note.customer_name, note.bank_account, note.amount_ore) == ("", "", 40_00)


def test_deletion_waits_for_a_cancellation_still_being_done_then_forgets_its_bank_account(customer, line):
    cancel(line)
    request = CancellationRequest.objects.create(
        line=line,
        requested_by=customer,
        reason="moving_abroad",
        status="deactivating",
        idempotency_key="cancel-form",
        line_status_before="active",
        balance_choice="refund",
        refund_account="12345678903",
        decide_by=timezone.localdate(),
    )

    with pytest.raises(CustomerError, match=r"\+47 912 34 567"):
        account_delete(user=customer)

    CancellationRequest.objects.filter(pk=request.pk).update(status="done")
    account_delete(user=customer)

    request.refresh_from_db()
    assert request.refund_account == ""
