"""The eSIM support admin: a support agent signed in with two-factor works
the replacement and new-line queues, rejects a request with a reason the
customer reads in their language, retries a stopped provisioning job with
new request ids, reads a line's eSIM profile history and the stock page;
a customer gets none of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from sandbox.models import SandboxSmdpCall, SandboxSmdpProfile
from sandbox.models import SmdpProfileState as SmdpState
from sandbox.network import network_subscriber
from subscriptions.models import (
    AuditEvent,
    EsimState,
    NewLineRequest,
    NumberBatch,
    PoolNumber,
    ProvisioningJob,
    ProvisioningStatus,
    RejectReason,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
)
from subscriptions.services.provisioning import provisioning_start
from subscriptions.services.replacements import replacement_request, replacement_review_approve, replacement_stop
from tests.factories import EsimProfileFactory, LineFactory, PlanFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

S = ReplacementStatus
REPLACEMENTS = "/admin/subscriptions/replacementrequest/"
JOBS = "/admin/subscriptions/provisioningjob/"
NEW_LINES = "/admin/subscriptions/newlinerequest/"
STOCK = "/admin/subscriptions/stocklevel/"


def staff_in(client: Client, group_name: str) -> Any:
    user = UserFactory(is_staff=True, full_name=f"{group_name} Hansen", language="en")
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


@pytest.fixture
def agent(client):
    return staff_in(client, "Support agent")


@pytest.fixture
def line():
    return LineFactory(with_period=PlanFactory(), owner=UserFactory(language="zh-hans"))


def lost_phone(line, django_capture_on_commit_callbacks) -> ReplacementRequest:
    """A request for a lost phone, waiting for support's review."""
    with django_capture_on_commit_callbacks(execute=True):
        return replacement_request(
            line=line, by=line.owner, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
        )


def action(client: Client, url: str, name: str, rows: list[Any], follow: bool = False, **data: Any):
    return client.post(
        url, {"action": name, helpers.ACTION_CHECKBOX_NAME: [row.pk for row in rows], **data}, follow=follow
    )


# --- access ---------------------------------------------------------------------------


def test_a_support_agent_sees_every_queue_and_the_stock_page_linked_from_the_index(client, agent, line):
    index = client.get("/admin/").content.decode()
    assert f'href="{STOCK}"' in index

    for url in (REPLACEMENTS, f"{REPLACEMENTS}?queue=open", JOBS, NEW_LINES, f"{NEW_LINES}?stage=unpaid", STOCK):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/subscriptions/poolnumber/").status_code == 200
    assert client.get(f"/admin/subscriptions/line/{line.pk}/change/").status_code == 200


@pytest.mark.parametrize("url", [REPLACEMENTS, JOBS, NEW_LINES, STOCK])
def test_a_customer_gets_no_admin_page(client, url):
    client.force_login(UserFactory())

    assert client.get(url).status_code == 403


def test_staff_outside_the_groups_are_refused_the_stock_page(client):
    staff_sign_in(client, UserFactory(is_staff=True))

    assert client.get(STOCK).status_code == 403


def test_only_a_supervisor_manages_the_sim_swap_clients_and_uploads_numbers(client):
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))
    supervisor = UserFactory(is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisor"))

    assert not agent.has_perm("subscriptions.add_simswapclient")
    assert not agent.has_perm("subscriptions.add_numberbatch")
    assert agent.has_perm("subscriptions.retry_provisioningjob")
    assert supervisor.has_perm("subscriptions.add_simswapclient")
    assert supervisor.has_perm("subscriptions.add_numberbatch")


# --- the queues ---------------------------------------------------------------------


def test_the_replacement_queue_filters_open_requests_and_shows_their_age(
    client, agent, line, django_capture_on_commit_callbacks
):
    waiting = lost_phone(line, django_capture_on_commit_callbacks)
    other_line = LineFactory(with_period=True)
    closed = replacement_request(line=other_line, by=other_line.owner, reason="new_phone", idempotency_key="c")
    ReplacementRequest.objects.filter(pk=closed.pk).update(status=S.STOPPED)

    page = client.get(f"{REPLACEMENTS}?queue=open&o=8").content.decode()

    assert str(waiting.public_id) in page
    assert str(closed.public_id) not in page
    assert "column-age" in page


def test_the_new_line_queue_shows_each_requests_stage(client, agent):
    batch = NumberBatch.objects.create(filename="pool.csv", sha256="x" * 64)
    number = PoolNumber.objects.create(number="+4791234567", batch=batch)
    plan = PlanFactory()
    owner = UserFactory()
    NewLineRequest.objects.create(owner=owner, plan=plan, number=number)

    unpaid = client.get(f"{NEW_LINES}?stage=unpaid").content.decode()
    stopped = client.get(f"{NEW_LINES}?stage=stopped").content.decode()

    assert "Identity check or payment" in unpaid and "912" in unpaid
    assert "912" not in stopped


# --- reject with a reason -----------------------------------------------------------


def test_rejecting_asks_for_the_reason_then_tells_the_customer_in_their_language(
    client, agent, line, django_capture_on_commit_callbacks
):
    replacement = lost_phone(line, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    form = action(client, REPLACEMENTS, "reject", [replacement])
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    assert ReplacementRequest.objects.get(pk=replacement.pk).status == S.REVIEW

    with django_capture_on_commit_callbacks(execute=True):
        done = action(
            client, REPLACEMENTS, "reject", [replacement], apply="yes", reason=RejectReason.SUSPICIOUS, note="caller"
        )

    assert done.status_code == 302
    replacement.refresh_from_db()
    assert (replacement.status, replacement.reject_reason, replacement.reviewed_by) == (
        S.REJECTED,
        RejectReason.SUSPICIOUS,
        agent,
    )
    event = AuditEvent.objects.get(action="replacement_rejected")
    assert (event.actor, event.reason) == (agent, "caller")
    [email] = mail.outbox
    assert email.to == [line.owner.email]
    assert "为了您的安全" in email.body
    assert "caller" not in email.body
    client.force_login(line.owner)
    page = client.get(reverse("replacement_detail", args=[replacement.public_id]))
    assert "为了您的安全" in page.content.decode()


def test_rejecting_without_a_reason_keeps_the_form_and_changes_nothing(
    client, agent, line, django_capture_on_commit_callbacks
):
    replacement = lost_phone(line, django_capture_on_commit_callbacks)

    response = action(client, REPLACEMENTS, "reject", [replacement], apply="yes", reason="")

    assert response.status_code == 200
    assert ReplacementRequest.objects.get(pk=replacement.pk).status == S.REVIEW


def test_a_request_not_in_review_is_not_rejected_and_staff_are_told_why(
    client, agent, line, django_capture_on_commit_callbacks
):
    replacement = lost_phone(line, django_capture_on_commit_callbacks)
    replacement_review_approve(replacement=replacement, by=agent)

    response = action(client, REPLACEMENTS, "reject", [replacement], apply="yes", reason=RejectReason.OTHER)

    page = client.get(response["Location"]).content.decode()
    assert "Only a request waiting for review can be rejected." in page
    assert ReplacementRequest.objects.get(pk=replacement.pk).status == S.READY


# --- retry a stopped job -------------------------------------------------------------


def failed_replacement(line, agent, django_capture_on_commit_callbacks) -> tuple[ReplacementRequest, ProvisioningJob]:
    """A lost-phone request whose fulfilment the SM-DP+ refused: the stock
    profile is on a phone already, as far as the SM-DP+ knows."""
    EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    stock = EsimProfileFactory()
    SandboxSmdpProfile.objects.create(iccid=stock.iccid, state=SmdpState.INSTALLED)
    replacement = lost_phone(line, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        replacement_review_approve(replacement=replacement, by=agent)
    replacement.refresh_from_db()
    job = ProvisioningJob.objects.get(line=line)
    assert (replacement.status, job.status) == (S.FAILED, ProvisioningStatus.STOPPED)
    return replacement, job


def test_retrying_a_stopped_job_calls_with_new_request_ids_and_the_replacement_completes(
    client, agent, line, django_capture_on_commit_callbacks
):
    replacement, job = failed_replacement(line, agent, django_capture_on_commit_callbacks)
    first_ids = set(SandboxSmdpCall.objects.values_list("call_id", flat=True))
    # The vendor sorts the profile out at the SM-DP+.
    SandboxSmdpProfile.objects.filter(iccid=job.profile.iccid).update(state=SmdpState.AVAILABLE)

    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, JOBS, "retry", [job])

    assert response.status_code == 302
    job.refresh_from_db()
    replacement.refresh_from_db()
    assert (job.status, job.round) == (ProvisioningStatus.READY, 2)
    assert replacement.status == S.FULFILLED
    new_ids = set(SandboxSmdpCall.objects.values_list("call_id", flat=True)) - first_ids
    assert new_ids and all(f"{job.public_id}-r2-" in call_id for call_id in new_ids)
    assert not new_ids & first_ids
    event = AuditEvent.objects.get(action="esim_provisioning_retried")
    assert event.actor == agent
    assert event.data["stopped_because"].startswith("SM-DP+ refused")


def test_a_failed_replacement_is_retried_from_its_own_queue(client, agent, line, django_capture_on_commit_callbacks):
    replacement, job = failed_replacement(line, agent, django_capture_on_commit_callbacks)
    SandboxSmdpProfile.objects.filter(iccid=job.profile.iccid).update(state=SmdpState.AVAILABLE)

    with django_capture_on_commit_callbacks(execute=True):
        action(client, REPLACEMENTS, "retry", [replacement])

    replacement.refresh_from_db()
    assert replacement.status == S.FULFILLED
    assert ProvisioningJob.objects.get(pk=job.pk).round == 2


def test_a_job_that_is_not_stopped_is_not_retried(client, agent, line, django_capture_on_commit_callbacks):
    job = provisioning_start(line=line, replacing=None, key="new-line:x")  # waiting: nothing queued

    response = action(client, JOBS, "retry", [job])

    page = client.get(response["Location"]).content.decode()
    assert "Only a stopped job can be retried" in page
    job.refresh_from_db()
    assert job.round == 1
    assert not AuditEvent.objects.filter(action="esim_provisioning_retried").exists()


def test_retry_is_refused_when_the_line_has_another_open_request(
    client, agent, line, django_capture_on_commit_callbacks
):
    _failed, job = failed_replacement(line, agent, django_capture_on_commit_callbacks)
    replacement_request(line=line, by=line.owner, reason="new_phone", idempotency_key="second")

    response = action(client, JOBS, "retry", [job])

    page = client.get(response["Location"]).content.decode()
    assert "another open replacement request" in page
    job.refresh_from_db()
    assert (job.status, job.round) == (ProvisioningStatus.STOPPED, 1)


# --- the line's eSIM profile history -------------------------------------------------


def test_the_line_page_shows_its_profile_history_and_replacements_newest_first(
    client, agent, line, django_capture_on_commit_callbacks
):
    replacement, job = failed_replacement(line, agent, django_capture_on_commit_callbacks)
    SandboxSmdpProfile.objects.filter(iccid=job.profile.iccid).update(state=SmdpState.AVAILABLE)
    with django_capture_on_commit_callbacks(execute=True):
        action(client, JOBS, "retry", [job])
    old = line.esim_profiles.get(state=EsimState.DISABLED)
    new = line.esim_profiles.get(state=EsimState.RELEASED)

    page = client.get(f"/admin/subscriptions/line/{line.pk}/change/").content.decode()

    assert "profile history (newest first)" in page
    assert page.index(new.iccid) < page.index(old.iccid)
    assert str(replacement.public_id)[:8] in page
    assert old.matching_id not in page and new.matching_id not in page


def test_the_line_pages_query_count_does_not_grow_with_its_profiles(client, agent, line):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/admin/subscriptions/line/{line.pk}/change/").status_code == 200
        return len(queries)

    def add(n: int) -> None:
        EsimProfileFactory(line=line, state=EsimState.DISABLED)
        replacement_request(line=line, by=line.owner, reason="new_phone", idempotency_key=f"k{n}")
        ReplacementRequest.objects.filter(line=line).update(status=S.STOPPED, reviewed_by=line.owner)

    add(0)
    before = count()
    for n in range(1, 5):
        add(n)

    assert count() == before


# --- stock ----------------------------------------------------------------------------


def test_the_stock_page_counts_profiles_and_free_numbers_against_their_thresholds(client, agent, settings):
    settings.ESIM_STOCK_ALERT_BELOW = 3
    settings.NUMBER_POOL_LOW_BELOW = 1
    EsimProfileFactory.create_batch(2)
    EsimProfileFactory(state=EsimState.INSTALLED)
    batch = NumberBatch.objects.create(filename="pool-oslo.csv", sha256="y" * 64)
    PoolNumber.objects.create(number="+4791234567", batch=batch)
    PoolNumber.objects.create(number="+4791234568", batch=batch)

    page = client.get(STOCK).content.decode()

    assert "2 profiles available; the alert is set below 3." in page
    assert 'id="stock-profiles" data-low="yes"' in page
    assert "2 free numbers; low below 1." in page
    assert 'id="stock-numbers" data-low="no"' in page
    assert "pool-oslo.csv" in page


# --- unblocking the number of a stopped or rejected lost-phone request -----------------


def test_support_unblock_a_stopped_lost_phones_number_and_the_customer_reads_it(
    client, agent, line, django_capture_on_commit_callbacks
):
    EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    replacement = lost_phone(line, django_capture_on_commit_callbacks)
    replacement_stop(replacement=replacement, by=line.owner, why="found it")
    assert str(replacement.public_id) in client.get(REPLACEMENTS, {"blocked": "ended"}).content.decode()
    form = action(client, REPLACEMENTS, "unblock", [replacement])
    assert "Why the number is unblocked" in form.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        action(client, REPLACEMENTS, "unblock", [replacement], apply="yes", reason="Customer found the phone")

    replacement.refresh_from_db()
    assert replacement.unblocked_at is not None and replacement.unblock_requested_by == agent
    assert str(replacement.public_id) not in client.get(REPLACEMENTS, {"blocked": "ended"}).content.decode()
    assert not network_subscriber(msisdn=line.number).blocked
    customer = Client()
    customer.force_login(line.owner)
    page = customer.get(f"/replacements/{replacement.public_id}/").content.decode()
    assert "您的号码在装有该 eSIM 的手机上已恢复使用" in page
    assert "号码已解除封锁" in page


def test_unblocking_a_number_with_no_esim_left_is_refused_and_the_customer_is_told_what_to_do(
    client, agent, line, django_capture_on_commit_callbacks
):
    EsimProfileFactory(line=line, state=EsimState.DISABLED)
    replacement = lost_phone(line, django_capture_on_commit_callbacks)
    replacement_stop(replacement=replacement, by=line.owner, why="changed my mind")

    refused = action(client, REPLACEMENTS, "unblock", [replacement], apply="yes", reason="Customer asked", follow=True)

    assert "no new one is installed" in refused.content.decode()
    replacement.refresh_from_db()
    assert replacement.unblock_requested_at is None
    assert network_subscriber(msisdn=line.number).blocked
    customer = Client()
    customer.force_login(line.owner)
    page = customer.get(f"/replacements/{replacement.public_id}/").content.decode()
    assert "仍被封锁" in page and "申请新的 eSIM" in page
