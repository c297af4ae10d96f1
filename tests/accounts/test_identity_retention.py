"""Identity document files are deleted 30 days after support's decision by
beat's sweep; the row keeps the decision and who made it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.identity import identity_document_approve, identity_document_reject, identity_document_upload
from accounts.identity_files import document_file_check
from accounts.models import IdentityDocument
from accounts.tasks import delete_expired_identity_files
from tests.factories import UserFactory
from tests.identity_files import good_jpeg

pytestmark = pytest.mark.django_db


def decided_days_ago(days: float, *, owner: Any, by: Any, approve: bool = True) -> IdentityDocument:
    document = identity_document_upload(
        owner=owner,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.NEW_LINE,
        file=document_file_check(good_jpeg()),
    )
    if approve:
        identity_document_approve(document=document, by=by)
    else:
        identity_document_reject(document=document, by=by, reason="expired")
    IdentityDocument.objects.filter(pk=document.pk).update(decided_at=timezone.now() - timedelta(days=days))
    document.refresh_from_db()
    return document


def on_disk(document: IdentityDocument) -> bool:
    return Path(settings.PRIVATE_MEDIA_ROOT, document.file.name).is_file() if document.file.name else False


@pytest.fixture
def agent() -> Any:
    return UserFactory(is_staff=True)


def test_the_sweep_deletes_files_decided_over_30_days_ago_and_keeps_the_decision(customer, agent):
    old_approved = decided_days_ago(30.01, owner=customer, by=agent)
    old_rejected = decided_days_ago(45, owner=customer, by=agent, approve=False)
    recent = decided_days_ago(29.9, owner=customer, by=agent)
    paths = {doc.pk: Path(settings.PRIVATE_MEDIA_ROOT, doc.file.name) for doc in (old_approved, old_rejected)}

    assert delete_expired_identity_files.delay().get() == 2

    for document in (old_approved, old_rejected):
        before_status = document.status
        document.refresh_from_db()
        assert not paths[document.pk].exists()
        assert document.file.name == ""
        assert document.file_deleted_at is not None
        assert (document.status, document.decided_by) == (before_status, agent)
        assert document.decided_at is not None
    old_rejected.refresh_from_db()
    assert old_rejected.reason == "expired"
    recent.refresh_from_db()
    assert on_disk(recent)
    assert recent.file_deleted_at is None


def test_pending_documents_are_kept_however_old(customer):
    document = identity_document_upload(
        owner=customer,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.NEW_LINE,
        file=document_file_check(good_jpeg()),
        now=timezone.now() - timedelta(days=90),
    )

    assert delete_expired_identity_files() == 0
    assert on_disk(document)


def test_running_the_sweep_twice_deletes_once_and_changes_nothing_more(customer, agent):
    document = decided_days_ago(31, owner=customer, by=agent)

    assert delete_expired_identity_files() == 1
    document.refresh_from_db()
    deleted_at = document.file_deleted_at

    assert delete_expired_identity_files() == 0
    document.refresh_from_db()
    assert document.file_deleted_at == deleted_at


def test_a_sweep_stopped_after_deleting_a_file_is_finished_by_the_next(customer, agent):
    document = decided_days_ago(31, owner=customer, by=agent)
    Path(settings.PRIVATE_MEDIA_ROOT, document.file.name).unlink()  # the file went, the row was not marked

    assert delete_expired_identity_files() == 1
    document.refresh_from_db()
    assert document.file_deleted_at is not None


def test_the_retention_is_a_setting(customer, agent, settings):
    settings.IDENTITY_DOCUMENT_RETENTION_DAYS = 7
    document = decided_days_ago(8, owner=customer, by=agent)

    assert delete_expired_identity_files() == 1
    document.refresh_from_db()
    assert document.file_deleted_at is not None
