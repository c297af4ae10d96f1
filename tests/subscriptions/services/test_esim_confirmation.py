"""The confirmation code of a profile that needs one: handed to the SM-DP+
at ConfirmOrder by the provisioning worker (the same code however often the
step is repeated), emailed once to the line's owner, then kept only as a
keyed hash; never in the QR code, a log line, an audit row or the broker."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import smtplib
from collections.abc import Iterator

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from sandbox.models import SandboxSmdpCall, SandboxSmdpProfile
from subscriptions.esim_qr import esim_activation_code
from subscriptions.models import AuditEvent, EsimConfirmationCode, ProvisioningStatus
from subscriptions.services import provisioning
from subscriptions.services.esim_confirmation import (
    ConfirmationCodeGone,
    esim_confirmation_code_issue,
    esim_confirmation_code_matches,
    esim_confirmation_code_request,
    esim_confirmation_code_send,
)
from subscriptions.services.provisioning import provisioning_run, provisioning_start
from subscriptions.smdp.sandbox import SandboxSmdp
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory
from tests.fakes.json_api import json_api_serving
from tests.fakes.smdp import FakeSmdp

pytestmark = pytest.mark.django_db
SUBJECT = "The confirmation code for your eSIM"


class Killed(BaseException):
    """The worker's process dies: nothing in the code catches it."""


@pytest.fixture
def line():
    return LineFactory(with_period=PlanFactory())


@pytest.fixture
def needs_code():
    return EsimProfileFactory(confirmation_code_required=True)


def code_emails() -> list[EmailMessage]:
    return [message for message in mail.outbox if message.subject.startswith(SUBJECT)]


def emailed_code() -> str:
    [message] = code_emails()
    found = re.search(r"\b[0-9]{8}\b", message.body)
    assert found is not None
    return found.group()


def job_for(line, key: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return provisioning_start(line=line, replacing=None, key=key)


@pytest.fixture
def codes_given(monkeypatch) -> list[str]:
    """The confirmation codes the worker hands the sandbox SM-DP+."""
    given: list[str] = []
    real = SandboxSmdp.confirm_order

    def spy(self, **kwargs):
        given.append(kwargs.get("confirmation_code", ""))
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxSmdp, "confirm_order", spy)
    return given


def test_the_worker_confirms_with_a_code_and_the_owner_gets_that_code_by_email_once(
    line, needs_code, codes_given, django_capture_on_commit_callbacks, caplog
):
    job = job_for(line, "new-line:code", django_capture_on_commit_callbacks)

    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        job = provisioning_run(job_id=job.pk)

    assert job.status == ProvisioningStatus.READY
    code = emailed_code()
    assert codes_given == [code]
    assert code_emails()[0].to == [line.owner.email]
    assert SandboxSmdpProfile.objects.get(iccid=needs_code.iccid).confirmation_code_hash == (
        hashlib.sha256(code.encode()).hexdigest()
    )
    issued = EsimConfirmationCode.objects.get(profile=needs_code)
    assert issued.seed == "" and issued.sent_at is not None and issued.sent_to == line.owner.email
    assert esim_confirmation_code_matches(profile=needs_code, code=code)
    needs_code.refresh_from_db()
    activation = esim_activation_code(needs_code)
    assert code not in activation and activation.endswith("$$1")
    assert code not in caplog.text
    assert all(code not in json.dumps(event.data) for event in AuditEvent.objects.all())
    assert AuditEvent.objects.filter(line=line, action="esim_confirmation_code_emailed").count() == 1


def test_a_profile_that_needs_no_code_is_confirmed_without_one_and_nothing_is_emailed(
    line, codes_given, django_capture_on_commit_callbacks
):
    EsimProfileFactory()
    job = job_for(line, "new-line:no-code", django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        provisioning_run(job_id=job.pk)

    assert codes_given == [""]
    assert code_emails() == []
    assert not EsimConfirmationCode.objects.exists()


def test_a_worker_killed_after_confirm_order_confirms_again_with_the_same_code_and_emails_that_one(
    line, needs_code, codes_given, monkeypatch, django_capture_on_commit_callbacks
):
    job = job_for(line, "new-line:killed", django_capture_on_commit_callbacks)
    real_confirmed = provisioning._confirmed

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(provisioning, "_confirmed", killed)
    with pytest.raises(Killed):
        provisioning_run(job_id=job.pk)
    monkeypatch.setattr(provisioning, "_confirmed", real_confirmed)
    with django_capture_on_commit_callbacks(execute=True):
        job = provisioning_run(job_id=job.pk)

    assert job.status == ProvisioningStatus.READY
    assert len(codes_given) == 2 and codes_given[0] == codes_given[1] == emailed_code()
    assert SandboxSmdpCall.objects.filter(function="confirmOrder").count() == 1


def test_the_same_code_is_made_on_every_issue_until_it_is_emailed_and_never_after(line, needs_code):
    needs_code.line = line
    needs_code.save()

    first = esim_confirmation_code_issue(profile=needs_code)
    again = esim_confirmation_code_issue(profile=needs_code)
    assert esim_confirmation_code_send(profile_id=needs_code.pk) is True

    assert first == again == emailed_code()
    with pytest.raises(ConfirmationCodeGone):
        esim_confirmation_code_issue(profile=needs_code)
    assert esim_confirmation_code_send(profile_id=needs_code.pk) is False
    assert len(code_emails()) == 1


def test_a_job_whose_code_was_already_emailed_before_confirm_order_stops_for_support(
    line, needs_code, codes_given, monkeypatch, django_capture_on_commit_callbacks
):
    job = job_for(line, "new-line:gone", django_capture_on_commit_callbacks)
    real_download = SandboxSmdp.download_order

    def killed(self, **kwargs):
        raise Killed

    monkeypatch.setattr(SandboxSmdp, "download_order", killed)
    with pytest.raises(Killed):
        provisioning_run(job_id=job.pk)  # the profile is taken for the line
    monkeypatch.setattr(SandboxSmdp, "download_order", real_download)
    needs_code.refresh_from_db()
    esim_confirmation_code_issue(profile=needs_code)
    assert esim_confirmation_code_send(profile_id=needs_code.pk) is True

    job = provisioning_run(job_id=job.pk)

    assert job.status == ProvisioningStatus.STOPPED
    assert "confirmation code" in job.stop_reason
    assert codes_given == []


def test_a_failed_email_keeps_the_code_and_the_retry_sends_the_same_one(line, needs_code, monkeypatch):
    needs_code.line = line
    needs_code.save()
    code = esim_confirmation_code_issue(profile=needs_code)
    real_send = EmailMessage.send
    attempts: list[int] = []

    def flaky(self, *args, **kwargs):
        attempts.append(1)
        if len(attempts) == 1:
            raise smtplib.SMTPServerDisconnected("gone")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", flaky)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        esim_confirmation_code_send(profile_id=needs_code.pk)
    assert EsimConfirmationCode.objects.get(profile=needs_code).sent_at is None
    assert esim_confirmation_code_send(profile_id=needs_code.pk) is True

    assert emailed_code() == code


def test_an_owner_without_email_gets_the_code_when_they_add_one_and_open_install(
    line, needs_code, django_capture_on_commit_callbacks
):
    needs_code.line = line
    needs_code.save()
    owner = line.owner
    owner.email = None
    owner.save()
    code = esim_confirmation_code_issue(profile=needs_code)

    assert esim_confirmation_code_send(profile_id=needs_code.pk) is False
    owner.email = "kari@example.test"
    owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert esim_confirmation_code_request(profile=needs_code, by=owner) is True

    assert emailed_code() == code
    assert code_emails()[0].to == ["kari@example.test"]
    assert esim_confirmation_code_request(profile=needs_code, by=owner) is False


def test_another_customer_opening_install_asks_for_nothing(line, needs_code):
    needs_code.line = line
    needs_code.save()
    esim_confirmation_code_issue(profile=needs_code)
    stranger = LineFactory().owner

    assert esim_confirmation_code_request(profile=needs_code, by=stranger) is False


# --- the HTTP adapter, against the local fake SM-DP+ -------------------------------------


@pytest.fixture
def fake_smdp(settings) -> Iterator[FakeSmdp]:
    fake = FakeSmdp()
    with json_api_serving(fake) as url:
        settings.SMDP_PROVIDER = "es2plus"
        settings.SMDP_URL = url
        settings.SMDP_FUNCTION_REQUESTER_ID = "1.3.6.1.4.1.99999.nordlys"
        settings.SMDP_TIMEOUT_SECONDS = 2
        yield fake


def test_over_es2plus_a_retried_confirm_order_carries_the_same_code_the_customer_is_emailed(
    line, needs_code, fake_smdp, monkeypatch, django_capture_on_commit_callbacks
):
    job = job_for(line, "new-line:http", django_capture_on_commit_callbacks)
    real_confirmed = provisioning._confirmed

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(provisioning, "_confirmed", killed)
    with pytest.raises(Killed):
        provisioning_run(job_id=job.pk)
    monkeypatch.setattr(provisioning, "_confirmed", real_confirmed)
    with django_capture_on_commit_callbacks(execute=True):
        job = provisioning_run(job_id=job.pk)

    # The fake refuses a request id sent again with another body: it was not.
    assert job.status == ProvisioningStatus.READY
    confirms = [r for r in fake_smdp.requests if r.path.endswith("/confirmOrder")]
    assert len(confirms) == 2
    assert fake_smdp.confirmation_codes == {needs_code.iccid: emailed_code()}
