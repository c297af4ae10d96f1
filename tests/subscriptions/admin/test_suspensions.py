"""Support's suspensions in the admin: the same service as the customer's
(the network block, a suspension row marked as support's, the reason shown
to the customer), resumed only by support; and the read-only pages for
suspensions, data exports and account deletions."""

from __future__ import annotations

import pytest

from subscriptions.models import LineStatus, LineSuspension, SuspensionReason
from tests.factories import LineFactory, UserFactory
from tests.subscriptions.admin.test_lines import run_action
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, full_name="Siri Support")
    staff_sign_in(client, user)
    return user


@pytest.fixture
def wang():
    owner = UserFactory(email="wang@example.test", full_name="王小明")
    return LineFactory(owner=owner, number="+4791234567", with_period=True)


def test_supports_suspension_is_marked_as_theirs_and_shows_the_customer_the_reason(
    client, staff, wang, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "suspend_lines", [wang], reason="Unusual calls abroad: call us")

    suspension = LineSuspension.objects.get(line=wang)
    assert suspension.by_support and suspension.reason == SuspensionReason.SUPPORT
    assert suspension.note == "Unusual calls abroad: call us" and suspension.suspended_by == staff
    assert suspension.blocked_at is not None
    client.force_login(wang.owner)
    page = client.get(f"/lines/{wang.pk}/").content.decode()
    assert "Customer service suspended this line" in page and "Unusual calls abroad: call us" in page


def test_support_resumes_their_suspension_and_the_line_is_unblocked(
    client, staff, wang, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "suspend_lines", [wang], reason="Fraud check")
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "resume_lines", [wang], reason="Checked with the customer")

    wang.refresh_from_db()
    suspension = LineSuspension.objects.get(line=wang)
    assert wang.status == LineStatus.ACTIVE
    assert suspension.resumed_by == staff and suspension.unblocked_at is not None


@pytest.mark.parametrize(
    "url",
    [
        "/admin/subscriptions/linesuspension/",
        "/admin/subscriptions/dataexport/",
        "/admin/subscriptions/accountdeletion/",
    ],
)
def test_support_reads_suspensions_exports_and_deletions(client, staff, wang, url):
    run_action(client, "suspend_lines", [wang], reason="Fraud check")

    response = client.get(url)

    assert response.status_code == 200
