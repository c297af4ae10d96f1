"""Provisioning a line's new eSIM profile: from stock exactly once, through
the sandbox SM-DP+ and network, resuming after a failure at any step."""

from __future__ import annotations

import pytest
from django.core import mail

from sandbox.models import SandboxNetworkRequest, SandboxSmdpCall, SandboxSmdpProfile, SandboxSubscriber
from sandbox.models import SmdpProfileState as SmdpState
from subscriptions.models import EsimProfile, EsimState, ProvisioningJob, ProvisioningStatus
from subscriptions.network import NetworkUnavailable
from subscriptions.network.sandbox import SandboxNetwork
from subscriptions.selectors.esim_install import line_esim
from subscriptions.services.inventory import inventory_import
from subscriptions.services.provisioning import (
    ProvisioningConflict,
    esim_stock_check,
    provisioning_run,
    provisioning_start,
)
from subscriptions.smdp import SmdpUnavailable
from subscriptions.smdp.sandbox import SandboxSmdp
from subscriptions.tasks import provision_waiting_esims
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory
from tests.subscriptions.import_files import profile_row, vendor_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def line():
    return LineFactory(with_period=PlanFactory())


@pytest.fixture
def installed_profile(line):
    return EsimProfileFactory(line=line, state=EsimState.INSTALLED)


def start(django_capture_on_commit_callbacks, **kwargs) -> ProvisioningJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = provisioning_start(**kwargs)
    job.refresh_from_db()
    return job


def fail_once(monkeypatch, cls, method: str, error: Exception) -> list[str]:
    """The outside system's ``method`` fails once with ``error``, then works."""
    real = getattr(cls, method)
    calls: list[str] = []

    def flaky(self, **kwargs):
        calls.append(method)
        if len(calls) == 1:
            raise error
        return real(self, **kwargs)

    monkeypatch.setattr(cls, method, flaky)
    return calls


def test_a_new_line_job_makes_one_profile_from_stock_ready_to_install(line, django_capture_on_commit_callbacks):
    stock = EsimProfileFactory.create_batch(2)

    job = start(django_capture_on_commit_callbacks, line=line, replacing=None, key="new-line:1")

    assert job.status == ProvisioningStatus.READY
    profile = EsimProfile.objects.get(line=line)
    assert profile == job.profile == stock[0]
    assert profile.state == EsimState.RELEASED
    assert line_esim(line=line).installable
    assert SandboxSmdpProfile.objects.get(iccid=profile.iccid).state == SmdpState.RELEASED
    assert EsimProfile.objects.get(pk=stock[1].pk).state == EsimState.AVAILABLE
    assert job.profile_taken_at and job.ordered_at and job.confirmed_at and job.ready_at


def test_the_same_key_twice_is_one_job_and_one_profile(line, django_capture_on_commit_callbacks):
    EsimProfileFactory.create_batch(3)

    first = start(django_capture_on_commit_callbacks, line=line, replacing=None, key="k")
    again = start(django_capture_on_commit_callbacks, line=line, replacing=None, key="k")
    provisioning_run(job_id=first.pk)

    assert again.pk == first.pk
    assert ProvisioningJob.objects.count() == 1
    assert EsimProfile.objects.filter(line=line).count() == 1
    assert SandboxSmdpCall.objects.filter(function="downloadOrder").count() == 1


def test_a_key_used_for_another_line_is_refused(line):
    provisioning_start(line=line, replacing=None, key="k")

    with pytest.raises(ProvisioningConflict):
        provisioning_start(line=LineFactory(), replacing=None, key="k")


def test_a_profile_of_another_line_cannot_be_replaced(line):
    elsewhere = EsimProfileFactory(line=LineFactory(), state=EsimState.INSTALLED)

    with pytest.raises(ProvisioningConflict):
        provisioning_start(line=line, replacing=elsewhere, key="k")
    assert ProvisioningJob.objects.count() == 0


@pytest.mark.parametrize(
    ("cls", "method", "error", "done_before"),
    [
        (SandboxSmdp, "download_order", SmdpUnavailable("timed out"), "profile_taken_at"),
        (SandboxSmdp, "confirm_order", SmdpUnavailable("502"), "ordered_at"),
        (SandboxSmdp, "cancel_order", SmdpUnavailable("timed out"), "confirmed_at"),
        (SandboxNetwork, "swap_imsi", NetworkUnavailable("timed out"), "old_disabled_at"),
    ],
)
def test_a_job_failing_at_a_step_resumes_there_without_a_second_profile(
    line, monkeypatch, cls, method, error, done_before
):
    # Released but never installed: the SM-DP+ is asked to cancel it.
    old = EsimProfileFactory(line=line, state=EsimState.RELEASED)
    SandboxSmdpProfile.objects.create(iccid=old.iccid, state=SmdpState.RELEASED, matching_id=old.matching_id)
    EsimProfileFactory.create_batch(2)
    calls = fail_once(monkeypatch, cls, method, error)
    job = provisioning_start(line=line, replacing=old, key="replacement:1")

    with pytest.raises(type(error)):
        provisioning_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status != ProvisioningStatus.READY
    assert getattr(job, done_before) is not None
    assert job.attempts == 1 and job.last_error

    job = provisioning_run(job_id=job.pk)

    assert job.status == ProvisioningStatus.READY
    assert calls == [method, method]
    assert EsimProfile.objects.filter(line=line).exclude(pk=old.pk).count() == 1
    assert EsimProfile.objects.filter(line=line, state__in=[EsimState.RELEASED, EsimState.INSTALLED]).count() == 1
    old.refresh_from_db()
    assert old.state == EsimState.DISABLED
    assert SandboxSmdpProfile.objects.get(iccid=old.iccid).state == SmdpState.UNAVAILABLE
    assert SandboxSubscriber.objects.get(msisdn=line.number).imsi == job.profile.imsi
    assert SandboxSmdpCall.objects.filter(function="downloadOrder").count() == 1
    assert SandboxNetworkRequest.objects.count() == 1


def test_the_sweep_queues_again_a_job_left_unfinished(line, monkeypatch, settings):
    EsimProfileFactory()
    fail_once(monkeypatch, SandboxSmdp, "confirm_order", SmdpUnavailable("timed out"))
    job = provisioning_start(line=line, replacing=None, key="k")
    with pytest.raises(SmdpUnavailable):
        provisioning_run(job_id=job.pk)

    settings.PROVISIONING_STALE_AFTER_SECONDS = 3600
    assert provision_waiting_esims() == 0
    settings.PROVISIONING_STALE_AFTER_SECONDS = 0
    assert provision_waiting_esims() == 1

    job.refresh_from_db()
    assert job.status == ProvisioningStatus.READY


def test_a_refusal_stops_the_job_with_the_smdps_codes(line, installed_profile):
    profile = EsimProfileFactory()
    # The SM-DP+ has this profile on a phone already: it refuses to order it.
    SandboxSmdpProfile.objects.create(iccid=profile.iccid, state=SmdpState.INSTALLED)
    job = provisioning_start(line=line, replacing=installed_profile, key="k")

    job = provisioning_run(job_id=job.pk)

    assert job.status == ProvisioningStatus.STOPPED
    assert job.stop_reason == "SM-DP+ refused: subject 8.2.1, reason 3.5"
    installed_profile.refresh_from_db()
    assert installed_profile.state == EsimState.INSTALLED
    assert not SandboxNetworkRequest.objects.exists()
    assert provisioning_run(job_id=job.pk).status == ProvisioningStatus.STOPPED


def test_the_old_profile_stays_enabled_until_the_new_one_is_confirmed(line, installed_profile, monkeypatch):
    EsimProfileFactory()
    fail_once(monkeypatch, SandboxSmdp, "confirm_order", SmdpUnavailable("timed out"))
    job = provisioning_start(line=line, replacing=installed_profile, key="k")

    with pytest.raises(SmdpUnavailable):
        provisioning_run(job_id=job.pk)
    installed_profile.refresh_from_db()
    assert installed_profile.state == EsimState.INSTALLED
    assert line_esim(line=line).profile == installed_profile
    assert not SandboxNetworkRequest.objects.exists()

    job = provisioning_run(job_id=job.pk)

    installed_profile.refresh_from_db()
    assert installed_profile.state == EsimState.DISABLED
    assert job.confirmed_at < job.old_disabled_at < job.number_moved_at <= job.ready_at
    assert line_esim(line=line).profile == job.profile
    swap = SandboxNetworkRequest.objects.get()
    assert (swap.old_imsi, swap.new_imsi) == (installed_profile.imsi, job.profile.imsi)


def test_with_no_profile_in_stock_the_job_waits_and_an_import_resumes_it(line, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, line=line, replacing=None, key="k")
    assert job.status == ProvisioningStatus.WAITING
    assert job.profile is None

    with django_capture_on_commit_callbacks(execute=True):
        inventory_import(filename="vendor.csv", content=vendor_file([profile_row(1), profile_row(2)]), by=None)

    job.refresh_from_db()
    assert job.status == ProvisioningStatus.READY
    assert job.profile.state == EsimState.RELEASED


def test_support_get_one_stock_alert_per_crossing_below_the_threshold(settings, django_capture_on_commit_callbacks):
    settings.ESIM_STOCK_ALERT_BELOW = 3
    settings.SUPPORT_EMAIL = "support@nordlys.test"
    EsimProfileFactory.create_batch(5)
    esim_stock_check()

    for n in range(4):  # stock 4, 3, 2 (below), 1
        start(django_capture_on_commit_callbacks, line=LineFactory(), replacing=None, key=f"k{n}")
    alerts = [m for m in mail.outbox if m.to == ["support@nordlys.test"]]  # the customers hear "ready"
    assert len(alerts) == 1
    assert "2" in alerts[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        inventory_import(filename="v.csv", content=vendor_file([profile_row(n) for n in range(100, 105)]), by=None)
    for n in range(4):  # back above, then below again
        start(django_capture_on_commit_callbacks, line=LineFactory(), replacing=None, key=f"again{n}")
    assert len([m for m in mail.outbox if m.to == ["support@nordlys.test"]]) == 2
