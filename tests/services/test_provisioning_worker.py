"""eSIM provisioning on PostgreSQL with real workers over Redis: jobs racing
for stock never share a profile, a step the SM-DP+ could not take is retried
by the worker, and a worker killed in the middle of a job leaves it to the
next worker, which finishes it without taking a second profile."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from kombu import Connection

from portal.celery import app
from sandbox.models import SandboxSmdpCall, SandboxSmdpProfile
from subscriptions.models import EsimConfirmationCode, EsimProfile, EsimState, ProvisioningJob, ProvisioningStatus
from subscriptions.services.esim_confirmation import esim_confirmation_code_issue
from subscriptions.services.provisioning import provisioning_run, provisioning_start
from subscriptions.smdp import SmdpUnavailable
from subscriptions.smdp.sandbox import SandboxSmdp
from tests.concurrency import at_once
from tests.factories import EsimProfileFactory, LineFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
# Away 3 s counts as lost here (hours in production); look every second.
TRANSPORT_OPTIONS = {"visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}


def test_jobs_racing_for_stock_never_share_a_profile():
    EsimProfileFactory.create_batch(5)
    jobs = [provisioning_start(line=LineFactory(), replacing=None, key=f"race-{n}") for n in range(8)]

    done = at_once([lambda job=job: provisioning_run(job_id=job.pk) for job in jobs])

    ready = [job for job in done if job.status == ProvisioningStatus.READY]
    assert len(ready) == 5
    assert len({job.profile_id for job in ready}) == 5
    assert [job.status for job in done].count(ProvisioningStatus.WAITING) == 3
    for job in ready:
        assert EsimProfile.objects.get(pk=job.profile_id).line_id == job.line_id
    assert EsimProfile.objects.filter(state=EsimState.AVAILABLE).count() == 0


def test_workers_making_one_profiles_confirmation_code_at_once_make_one_code(empty_queue):
    profile = EsimProfileFactory(confirmation_code_required=True)

    codes = at_once([lambda: esim_confirmation_code_issue(profile=profile) for _ in range(4)])

    assert len(set(codes)) == 1 and len(codes[0]) == 8
    assert EsimConfirmationCode.objects.filter(profile=profile).count() == 1


def test_one_job_run_twice_at_once_confirms_its_profile_with_one_confirmation_code(empty_queue):
    profile = EsimProfileFactory(confirmation_code_required=True)
    job = provisioning_start(line=LineFactory(), replacing=None, key="code-race")

    done = at_once([lambda: provisioning_run(job_id=job.pk) for _ in range(2)])

    assert {run.status for run in done} == {ProvisioningStatus.READY}
    code = esim_confirmation_code_issue(profile=profile)  # not emailed yet: the same code again
    smdp_profile = SandboxSmdpProfile.objects.get(iccid=profile.iccid)
    assert smdp_profile.confirmation_code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert SandboxSmdpCall.objects.filter(function="confirmOrder").count() == 1
    assert EsimConfirmationCode.objects.filter(profile=profile).count() == 1


def test_the_worker_retries_a_step_the_smdp_could_not_take(celery_worker, fast_retries, monkeypatch, wait_until):
    EsimProfileFactory()
    real = SandboxSmdp.download_order
    calls: list[str] = []

    def flaky(self, **kwargs):
        calls.append(kwargs["request_id"])
        if len(calls) == 1:
            raise SmdpUnavailable("timed out")
        return real(self, **kwargs)

    monkeypatch.setattr(SandboxSmdp, "download_order", flaky)
    with transaction.atomic():
        job = provisioning_start(line=LineFactory(), replacing=None, key="retry")

    wait_until(lambda: ProvisioningJob.objects.get(pk=job.pk).status == ProvisioningStatus.READY, what="the job")
    assert len(calls) == 2 and calls[0] == calls[1]  # the same request id
    assert fast_retries == [10]


class Worker:
    """``celery -A portal worker`` in its own process group, on the test's
    database and Redis, for the default queue."""

    def __init__(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PORTAL_TEST_SERVICES": "1",
            "TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
            "TEST_WORKER_BROKER_URL": settings.CELERY_BROKER_URL,
            "TEST_WORKER_TRANSPORT_OPTIONS": json.dumps(TRANSPORT_OPTIONS),
        }
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork", "--concurrency=1"]
        command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill_pool_process(self) -> None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                os.kill(int(stat.parent.name), signal.SIGKILL)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


class SmdpRowHeld:
    """Holds the sandbox SM-DP+'s row of one profile locked from another
    connection, so the worker's DownloadOrder for it waits inside the call."""

    def __init__(self, iccid: str) -> None:
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(iccid,))
        self.thread.start()
        assert self.locked.wait(10)

    def _hold(self, iccid: str) -> None:
        try:
            with transaction.atomic():
                SandboxSmdpProfile.objects.select_for_update().get(iccid=iccid)
                self.locked.set()
                self.release.wait(60)
        finally:
            connection.close()

    def let_go(self) -> None:
        self.release.set()
        self.thread.join(10)


def wait_for(condition: Any, *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def empty_queue():
    app.control.purge()
    yield
    with Connection(settings.CELERY_BROKER_URL, transport_options=dict(TRANSPORT_OPTIONS)) as broker:
        app.control.purge(connection=broker)


@pytest.mark.parametrize("dies", ["its pool process", "the whole worker"])
def test_a_worker_killed_mid_provisioning_leaves_the_job_to_the_next(empty_queue, dies):
    first, spare = EsimProfileFactory.create_batch(2)
    SandboxSmdpProfile.objects.create(iccid=first.iccid)
    line = LineFactory()
    held = SmdpRowHeld(first.iccid)
    worker = Worker()
    try:
        job = provisioning_start(line=line, replacing=None, key="killed")  # queued on commit
        wait_for(lambda: ProvisioningJob.objects.get(pk=job.pk).profile_id, what="the worker to take a profile")
        time.sleep(1)  # the worker is now inside DownloadOrder, waiting for the row
        if dies == "its pool process":
            worker.kill_pool_process()
        else:
            worker.kill()
            worker = Worker()
        held.let_go()
        wait_for(
            lambda: ProvisioningJob.objects.get(pk=job.pk).status == ProvisioningStatus.READY,
            what="the job to be finished by the next run",
        )
    finally:
        held.let_go()
        worker.kill()

    job.refresh_from_db()
    assert job.profile_id == first.pk
    assert EsimProfile.objects.get(pk=first.pk).state == EsimState.RELEASED
    assert EsimProfile.objects.get(pk=spare.pk).state == EsimState.AVAILABLE
    assert EsimProfile.objects.filter(line=line).count() == 1
    assert SandboxSmdpCall.objects.filter(function="downloadOrder").count() == 1
