"""Suspend and resume from the line page: a fresh sign-in first, what
suspension means, support's suspension shown with what to do, translated
errors, and a 404 for every other customer."""

from __future__ import annotations

import pytest

from subscriptions.models import LineStatus, LineSuspension, PlanKind, SuspensionReason
from subscriptions.services.suspensions import line_suspension_start
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.subscriptions.views.test_replacements import reauthenticated

pytestmark = pytest.mark.django_db

NUMBER_KEPT = "Your number is kept while you are away"


def suspend_url(line):
    return f"/lines/{line.pk}/suspend/"


def resume_url(line):
    return f"/lines/{line.pk}/resume/"


def test_the_line_page_links_to_suspend_an_active_line(signed_in, line):
    page = signed_in.get(f"/lines/{line.pk}/").content.decode()

    assert f'href="{suspend_url(line)}"' in page


def test_the_suspend_page_says_what_suspension_means(signed_in, line):
    page = signed_in.get(suspend_url(line)).content.decode()

    assert "No calls, texts or data until you resume the line." in page
    assert "The paid period keeps running" in page
    assert "Resume it yourself on the line" in page


def test_suspending_needs_a_fresh_sign_in_first(signed_in, line):
    response = signed_in.post(suspend_url(line), {"reason": "travelling"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE


def test_after_a_fresh_sign_in_the_line_is_suspended_and_the_page_says_so(signed_in, customer, line):
    reauthenticated(signed_in, customer)
    response = signed_in.post(suspend_url(line), {"reason": "travelling"})

    assert response["Location"] == f"/lines/{line.pk}/"
    line.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED
    page = signed_in.get(response["Location"]).content.decode()
    assert "You suspended this line" in page and "I am travelling" in page
    assert "No calls, texts or data while the line is suspended." in page
    assert f'action="{resume_url(line)}"' in page
    assert f'href="{suspend_url(line)}"' not in page


def test_no_reason_is_a_translated_error_in_norwegian(signed_in, customer, line):
    customer.language = "nb"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "nb"
    reauthenticated(signed_in, customer)

    response = signed_in.post(suspend_url(line), {})

    assert response.status_code == 200
    assert "Velg hvorfor du sperrer linjen." in response.content.decode()
    assert not LineSuspension.objects.exists()


def test_resuming_needs_a_fresh_sign_in_and_then_makes_the_line_active(signed_in, customer, line):
    line_suspension_start(line=line, by=customer, reason=SuspensionReason.LOST_PHONE)

    assert signed_in.post(resume_url(line))["Location"].startswith("/accounts/reauthenticate/")
    reauthenticated(signed_in, customer)
    response = signed_in.post(resume_url(line), follow=True)

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert "Your line is working again." in response.content.decode()


def test_a_number_keeping_line_does_not_say_texts_reach_it_while_suspended(signed_in, customer):
    line = LineFactory(owner=customer, kind=PlanKind.NUMBER_KEEPING, with_period=PlanFactory(kind="number_keeping"))
    assert NUMBER_KEPT in signed_in.get(f"/lines/{line.pk}/").content.decode()
    line_suspension_start(line=line, by=customer, reason=SuspensionReason.TRAVELLING)

    page = signed_in.get(f"/lines/{line.pk}/").content.decode()
    dashboard = signed_in.get("/dashboard/").content.decode()

    assert NUMBER_KEPT not in page and NUMBER_KEPT not in dashboard
    assert "texts such as bank codes do not reach it until you resume the line" in page


def test_supports_suspension_shows_its_reason_and_how_to_reach_support(signed_in, customer, line):
    agent = UserFactory(is_staff=True)
    line_suspension_start(
        line=line, by=agent, reason=SuspensionReason.SUPPORT, note="Unusual calls abroad", by_support=True
    )

    page = signed_in.get(f"/lines/{line.pk}/").content.decode()

    assert "Customer service suspended this line" in page
    assert "Unusual calls abroad" in page
    assert "To resume it, contact customer service" in page
    assert f'action="{resume_url(line)}"' not in page


def test_a_customer_cannot_resume_supports_suspension_by_posting(signed_in, customer, line):
    agent = UserFactory(is_staff=True)
    line_suspension_start(line=line, by=agent, reason=SuspensionReason.SUPPORT, note="Fraud check", by_support=True)
    reauthenticated(signed_in, customer)

    response = signed_in.post(resume_url(line), follow=True)

    line.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED
    assert "Customer service suspended this line: contact them to resume it." in response.content.decode()


def test_an_expired_line_has_no_suspend_link_and_is_refused(signed_in, customer):
    line = LineFactory(owner=customer, with_period=True, with_period__days_ago=40)
    reauthenticated(signed_in, customer)

    assert f'href="{suspend_url(line)}"' not in signed_in.get(f"/lines/{line.pk}/").content.decode()
    response = signed_in.post(suspend_url(line), {"reason": "travelling"})

    assert response.status_code == 200
    assert "nothing to suspend" in response.content.decode()
    assert not LineSuspension.objects.exists()


@pytest.mark.parametrize("method,path", [("get", "suspend/"), ("post", "suspend/"), ("post", "resume/")])
def test_another_customers_line_is_not_found(client, line, method, path):
    stranger = UserFactory()
    client.force_login(stranger)
    reauthenticated(client, stranger)
    response = getattr(client, method)(f"/lines/{line.pk}/{path}", {"reason": "travelling"})

    assert response.status_code == 404
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
