"""Support's side of identity documents: the queue of pending documents by
age, the file (only with the permission, never cached, each look logged),
and the review that tells the customer in their language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.identity import (
    IdentityDocumentError,
    identity_document_approve,
    identity_document_decided,
    identity_document_upload,
)
from accounts.identity_files import document_file_check
from accounts.models import IdentityDocument, IdentityDocumentAccess
from tests.factories import UserFactory
from tests.identity_files import good_jpeg
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

QUEUE = "/admin/accounts/identitydocument/"


def staff_in(client: Client, group_name: str) -> Any:
    user = UserFactory(is_staff=True, full_name=f"{group_name} Hansen")
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


def document_of(owner: Any, *, uploaded_at: Any = None) -> IdentityDocument:
    return identity_document_upload(
        owner=owner,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.REPLACEMENT,
        file=document_file_check(good_jpeg()),
        now=uploaded_at,
    )


@pytest.fixture
def agent(client: Client) -> Any:
    return staff_in(client, "Support agent")


@pytest.fixture
def document(customer: Any) -> IdentityDocument:
    return document_of(customer)


def file_url(document: IdentityDocument) -> str:
    return f"{QUEUE}{document.pk}/file/"


def review_url(document: IdentityDocument) -> str:
    return f"{QUEUE}{document.pk}/review/"


# --- the queue ---------------------------------------------------------------------------


def test_the_queue_lists_pending_documents_oldest_first(client, agent):
    now = timezone.now()
    newer = document_of(UserFactory(full_name="Newer Nilsen"), uploaded_at=now - timedelta(hours=1))
    older = document_of(UserFactory(full_name="Older Olsen"), uploaded_at=now - timedelta(days=2))
    decided = document_of(UserFactory(full_name="Decided Dahl"))
    identity_document_approve(document=decided, by=agent)

    page = client.get(QUEUE).content.decode()

    assert page.index("Older Olsen") < page.index("Newer Nilsen")
    assert "Decided Dahl" not in page
    assert f"{older.pk}/review/" in page and f"{newer.pk}/review/" in page
    assert "Decided Dahl" in client.get(QUEUE, {"status": "all"}).content.decode()


def test_both_staff_groups_may_look_review_and_see_who_looked():
    wanted = {
        "view_identitydocument",
        "view_identity_document_file",
        "review_identity_document",
        "view_identitydocumentaccess",
    }
    for name in ("Support agent", "Supervisor"):
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert wanted <= codenames
        assert not {"add_identitydocument", "change_identitydocument", "delete_identitydocument"} & codenames


# --- the file ----------------------------------------------------------------------------


def test_staff_with_the_permission_see_the_file_uncached_and_each_look_is_logged(client, agent, document):
    with document.file.open("rb") as handle:
        stored = handle.read()

    first = client.get(file_url(document), REMOTE_ADDR="192.0.2.10")
    second = client.get(file_url(document), REMOTE_ADDR="192.0.2.10")

    assert first.status_code == 200
    assert b"".join(first.streaming_content) == stored
    assert first["Content-Type"] == "image/jpeg"
    assert "no-store" in first["Cache-Control"].split(", ")
    assert first["Content-Disposition"] == f'inline; filename="identity-document-{document.pk}.jpg"'
    assert first["X-Content-Type-Options"] == "nosniff"
    assert second.status_code == 200
    looks = list(IdentityDocumentAccess.objects.filter(document=document).values_list("viewed_by", "client_address"))
    assert looks == [(agent.pk, "192.0.2.10"), (agent.pk, "192.0.2.10")]


def test_staff_without_the_permission_do_not_get_the_file_and_nothing_is_logged(client, document):
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_identitydocument"))
    staff_sign_in(client, clerk)

    assert client.get(QUEUE).status_code == 200
    assert client.get(file_url(document)).status_code == 403
    assert client.get(review_url(document)).status_code == 403
    assert not IdentityDocumentAccess.objects.exists()


def test_a_customer_gets_no_file_even_their_own(signed_in, document):
    response = signed_in.get(file_url(document))

    assert response.status_code in (302, 403)
    assert not getattr(response, "streaming", False)
    assert not IdentityDocumentAccess.objects.exists()


def test_staff_without_two_factor_get_no_file(client, document):
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))
    client.force_login(agent)

    response = client.get(file_url(document))

    assert response.status_code == 302
    assert not IdentityDocumentAccess.objects.exists()


def test_a_deleted_file_is_a_404_and_the_queue_says_so(client, agent, document):
    identity_document_approve(document=document, by=agent)
    IdentityDocument.objects.filter(pk=document.pk).update(file="", file_deleted_at=timezone.now())

    assert client.get(file_url(document)).status_code == 404
    assert "deleted after the retention period" in client.get(f"{QUEUE}{document.pk}/change/").content.decode()


# --- the review --------------------------------------------------------------------------


def test_approving_records_who_and_when_and_emails_the_customer_in_their_language(
    client, agent, django_capture_on_commit_callbacks
):
    kari = UserFactory(language="nb", full_name="Kari Nordmann")
    document = document_of(kari)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(document), {"decision": "approve", "note": "Pass ok"})

    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.status, document.decided_by, document.staff_note) == ("approved", agent, "Pass ok")
    assert timezone.now() - document.decided_at < timedelta(minutes=1)
    [email] = mail.outbox
    assert email.to == [kari.email]
    assert email.subject == "Identitetsdokumentet ditt er godkjent"
    assert "Vi har kontrollert og godkjent dokumentet ditt (Pass). Det gjelder: Ny eSIM (erstatning)." in email.body
    assert "Pass ok" not in email.body


def test_rejecting_needs_a_reason_and_emails_it_translated_with_what_to_do(
    client, agent, django_capture_on_commit_callbacks
):
    wang = UserFactory(language="zh-hans", full_name="王小明")
    document = document_of(wang)

    without = client.post(review_url(document), {"decision": "reject"})
    assert without.status_code == 200
    assert without.context["form"].errors["reason"] == ["Choose the reason the customer will read."]
    assert IdentityDocument.objects.get(pk=document.pk).status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url(document), {"decision": "reject", "reason": "mismatch", "note": "DOB 1999 vs 2000"})

    document.refresh_from_db()
    assert (document.status, document.reason, document.decided_by) == ("rejected", "mismatch", agent)
    [email] = mail.outbox
    assert email.subject == "我们无法接受您的身份证件"
    assert "姓名或出生日期与您的账户不符。" in email.body
    assert "http://127.0.0.1:8000/account/identity/" in email.body
    assert "DOB 1999" not in email.body
    page = Client()
    page.force_login(wang)
    assert "姓名或出生日期与您的账户不符。" in page.get("/account/identity/").content.decode()


def test_a_customer_without_email_is_told_by_text(client, agent, sms_outbox, django_capture_on_commit_callbacks):
    phone_only = UserFactory(email=None, language="nb")
    document = document_of(phone_only)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url(document), {"decision": "reject", "reason": "expired"})

    [text] = sms_outbox
    assert text.to == phone_only.phone
    assert "Dokumentet er utløpt." in text.body
    assert not mail.outbox


def test_a_document_is_decided_once(client, agent, document, django_capture_on_commit_callbacks):
    identity_document_approve(document=document, by=agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(document), {"decision": "reject", "reason": "expired"})

    assert response.status_code == 200
    assert "already decided" in response.content.decode()
    document.refresh_from_db()
    assert document.status == "approved"
    assert not mail.outbox
    with pytest.raises(IdentityDocumentError):
        identity_document_approve(document=document, by=agent)


def test_the_flows_waiting_on_a_document_hear_of_the_decision_in_its_transaction(agent, document):
    heard: list[tuple[str, bool]] = []

    def receiver(sender: Any, document: IdentityDocument, **kwargs: Any) -> None:
        from django.db import connection

        heard.append((document.status, connection.in_atomic_block))

    identity_document_decided.connect(receiver)
    try:
        identity_document_approve(document=document, by=agent)
    finally:
        identity_document_decided.disconnect(receiver)

    assert heard == [("approved", True)]
