"""The admin pages support staff use most pass the same accessibility gate as
the customer pages (tests/browser/conftest.py runs axe on every page), at
phone width, for an agent whose own language is Norwegian."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.staff_groups import staff_groups_restore
from tests.two_factor import staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def test_the_user_and_line_pages_of_the_admin_pass_the_accessibility_gate(portal: Any, page_problems: Any) -> None:
    page = portal.page
    agent = UserFactory(is_staff=True, full_name="Siri Support", language="nb")
    staff_groups_restore()
    agent.groups.add(Group.objects.get(name="Support agent"))
    customer = UserFactory(full_name="Kari Nordmann", email="kari@example.test", language="nb")
    line = LineFactory(owner=customer, number="+4791234567", with_period=PlanFactory())

    # Signed in with two-factor passed, the session handed to the browser.
    client = Client()
    staff_sign_in(client, agent)
    session = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": session.value, "url": portal.url("/")}])

    for path in (
        "/admin/accounts/user/",
        f"/admin/accounts/user/{customer.pk}/change/",
        "/admin/subscriptions/line/",
        f"/admin/subscriptions/line/{line.pk}/change/",
    ):
        portal.goto(path)
        expect(page.locator("#content h1")).to_be_visible()
        page_problems.check_accessibility(page)
    accessibility = [problem for problem in page_problems.problems if problem.startswith("axe ")]
    assert not accessibility, "\n".join(accessibility)
    # What else the watch saw on the admin (its inline styles against our
    # CSP) is not this test's subject.
    page.goto("about:blank")
    page_problems.problems.clear()
