"""Support's retry of a stopped provisioning job on PostgreSQL with a real
worker over Redis: two staff pressing "retry" at once start one new round,
and the worker finishes the job with the new round's request ids."""

from __future__ import annotations

import pytest

from sandbox.models import SandboxSmdpCall, SandboxSmdpProfile
from sandbox.models import SmdpProfileState as SmdpState
from subscriptions.errors import CustomerError
from subscriptions.models import AuditEvent, ProvisioningJob, ProvisioningStatus
from subscriptions.services.provisioning import provisioning_retry, provisioning_run, provisioning_start
from tests.concurrency import at_once
from tests.factories import EsimProfileFactory, LineFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_staff_retrying_at_once_start_one_round_that_the_worker_finishes(celery_worker, wait_until):
    stock = EsimProfileFactory()
    # The SM-DP+ thinks the profile is on a phone already: it refuses.
    SandboxSmdpProfile.objects.create(iccid=stock.iccid, state=SmdpState.INSTALLED)
    job = provisioning_start(line=LineFactory(), replacing=None, key="new-line:retry")
    job = provisioning_run(job_id=job.pk)
    assert job.status == ProvisioningStatus.STOPPED
    refused_ids = set(SandboxSmdpCall.objects.values_list("call_id", flat=True))
    SandboxSmdpProfile.objects.filter(iccid=stock.iccid).update(state=SmdpState.AVAILABLE)
    staff = [UserFactory(is_staff=True), UserFactory(is_staff=True)]

    def retry(by):
        try:
            return provisioning_retry(job=job, by=by)
        except CustomerError as error:
            return f"refused: {error}"

    outcomes = at_once([lambda by=by: retry(by) for by in staff])

    assert sorted(str(outcome).startswith("refused: Only a stopped job") for outcome in outcomes) == [False, True]
    wait_until(lambda: ProvisioningJob.objects.get(pk=job.pk).status == ProvisioningStatus.READY, what="the job")
    job.refresh_from_db()
    assert job.round == 2
    assert AuditEvent.objects.filter(action="esim_provisioning_retried").count() == 1
    new_ids = set(SandboxSmdpCall.objects.values_list("call_id", flat=True)) - refused_ids
    assert new_ids and all(f"{job.public_id}-r2-" in call_id for call_id in new_ids)
