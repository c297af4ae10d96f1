"""'Your eSIM is ready': an email to the account and a text to the line when
the number is on a phone the customer still has, once per job, in the
customer's language, with a link to My eSIM and never the code."""

from __future__ import annotations

import pytest
from django.core import mail

from subscriptions.models import (
    EsimState,
    ProvisioningJob,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
)
from subscriptions.services.esim_ready_notice import esim_ready_notify
from subscriptions.services.provisioning import provisioning_start
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def line():
    return LineFactory(owner=UserFactory(language="nb"), with_period=PlanFactory())


def replaced(line, reason, django_capture_on_commit_callbacks) -> ProvisioningJob:
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    new = EsimProfileFactory()
    replacement = ReplacementRequest.objects.create(
        line=line, requested_by=line.owner, reason=reason, status=ReplacementStatus.READY, idempotency_key="k"
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = provisioning_start(line=line, replacing=old, key=f"replacement:{replacement.public_id}")
    job.refresh_from_db()
    assert job.profile == new
    return job


def test_a_new_phones_replacement_emails_the_account_and_texts_the_line_in_their_language(
    line, sms_outbox, django_capture_on_commit_callbacks
):
    job = replaced(line, ReplacementReason.NEW_PHONE, django_capture_on_commit_callbacks)

    link = f"/lines/{line.pk}/esim/"
    [email] = [m for m in mail.outbox if "klar" in m.subject]
    assert email.to == [line.owner.email]
    assert email.subject == f"eSIM-en din for {line.number_display} er klar"
    assert link in email.body
    [text] = sms_outbox
    assert text.to == line.number
    assert "Installer den fra Min eSIM" in text.body and link in text.body
    assert job.profile.matching_id not in email.body + text.body


def test_a_lost_phones_replacement_emails_the_account_and_texts_nobody(
    line, sms_outbox, django_capture_on_commit_callbacks
):
    job = replaced(line, ReplacementReason.LOST_OR_STOLEN, django_capture_on_commit_callbacks)

    assert [m.to for m in mail.outbox if "klar" in m.subject] == [[line.owner.email]]
    assert not sms_outbox
    assert job.ready_notice_at is not None


def test_a_new_line_emails_the_account_and_texts_nobody(sms_outbox, django_capture_on_commit_callbacks):
    new_line = LineFactory(owner=UserFactory(language="zh-hans"))
    EsimProfileFactory()

    with django_capture_on_commit_callbacks(execute=True):
        provisioning_start(line=new_line, replacing=None, key=f"new-line:{new_line.pk}")

    [email] = [m for m in mail.outbox if m.to == [new_line.owner.email]]
    assert email.subject == f"您的号码 {new_line.number_display} 的 eSIM 已准备好"
    assert f"/lines/{new_line.pk}/esim/" in email.body
    assert not sms_outbox


def test_the_notice_is_sent_once_per_job(line, sms_outbox, django_capture_on_commit_callbacks):
    job = replaced(line, ReplacementReason.NEW_PHONE, django_capture_on_commit_callbacks)
    sent = len(mail.outbox)

    with django_capture_on_commit_callbacks(execute=True):
        again = esim_ready_notify(job=job)

    assert again is False
    assert len(mail.outbox) == sent
    assert len(sms_outbox) == 1


def test_a_job_not_ready_tells_nobody(line, sms_outbox, django_capture_on_commit_callbacks):
    job = ProvisioningJob.objects.create(line=line, key="new-line:waiting")

    with django_capture_on_commit_callbacks(execute=True):
        sent = esim_ready_notify(job=job)

    assert sent is False
    assert not mail.outbox and not sms_outbox
