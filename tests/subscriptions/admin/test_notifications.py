"""Messages to customers in the admin: on each line's page, in lists (the
failed ones on their own), and sent again with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from subscriptions.models import AuditEvent, Notification, NotificationState
from tests.factories import LineFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

MESSAGES = "/admin/subscriptions/notification/"
FAILED = "/admin/subscriptions/failednotification/"


def message(line: Any, *, channel: str = "email", state: str = NotificationState.SENT, **fields: Any) -> Notification:
    return Notification.objects.create(
        owner=line.owner,
        line=line,
        kind="expiry",
        channel=channel,
        claim_key=f"test:{line.pk}:{channel}:{Notification.objects.count()}",
        state=state,
        step="3d",
        period_end=line.expires_at,
        sent_at=timezone.now() if state == NotificationState.SENT else None,
        **fields,
    )


@pytest.fixture
def agent(client: Client) -> Any:
    user = UserFactory(is_staff=True, full_name="Siri Support")
    user.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, user)
    return user


@pytest.fixture
def kari_line() -> Any:
    return LineFactory(number="+4741234567", with_period=True)


def test_the_line_page_lists_its_messages_with_why_one_failed(client: Client, agent: Any, kari_line: Any) -> None:
    message(kari_line)
    message(kari_line, channel="sms", state=NotificationState.FAILED, error="SmsDeliveryError: gateway answered 503")

    page = client.get(f"/admin/subscriptions/line/{kari_line.pk}/change/").content.decode()

    assert "Messages to the customer (newest 50)" in page
    assert "SmsDeliveryError: gateway answered 503" in page


def test_the_failed_list_shows_only_failed_messages(client: Client, agent: Any, kari_line: Any) -> None:
    message(kari_line, error="")
    message(kari_line, channel="sms", state=NotificationState.FAILED, error="SMTPServerDisconnected: gone")

    page = client.get(FAILED).content.decode()

    assert "SMTPServerDisconnected: gone" in page
    assert "1 failed message" in page


def test_resending_asks_for_a_reason_then_queues_a_new_message_and_audits_it(
    client: Client, agent: Any, kari_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = message(kari_line, channel="sms", state=NotificationState.FAILED, error="gateway down")
    form = {"action": "resend", "_selected_action": [str(first.pk)], "index": "0"}

    page = client.post(MESSAGES, form)
    assert 'name="reason"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(MESSAGES, {**form, "apply": "yes", "reason": "Gateway fixed, customer asked"})

    assert response.status_code == 302
    copy = Notification.objects.exclude(pk=first.pk).get()
    assert (copy.resent_from, copy.resend_reason, copy.created_by) == (first, "Gateway fixed, customer asked", agent)
    first.refresh_from_db()
    assert first.state == NotificationState.FAILED  # the first stays as it was
    event = AuditEvent.objects.get(action="notification_resend")
    assert (event.line, event.actor, event.reason) == (kari_line, agent, "Gateway fixed, customer asked")


def test_a_customer_cannot_reach_the_messages(client: Client, kari_line: Any) -> None:
    client.force_login(kari_line.owner)

    assert client.get(MESSAGES, follow=True).status_code == 403
