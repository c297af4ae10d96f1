"""Support reviews an identity document on a phone: the queue, the review
page and the decision pass the accessibility gate, and the customer's
document ends approved by the agent."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.identity import identity_document_upload
from accounts.identity_files import document_file_check
from accounts.models import IdentityDocument
from tests.factories import UserFactory
from tests.identity_files import good_jpeg
from tests.staff_groups import staff_groups_restore
from tests.two_factor import staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_rejects_a_document_from_the_queue_with_a_reason(portal: Any, page_problems: Any) -> None:
    from playwright.sync_api import expect

    page = portal.page
    agent = UserFactory(is_staff=True, full_name="Siri Support", language="nb")
    staff_groups_restore()
    agent.groups.add(Group.objects.get(name="Support agent"))
    customer = UserFactory(full_name="Kari Nordmann", language="nb")
    document = identity_document_upload(
        owner=customer, kind="passport", purpose="replacement", file=document_file_check(good_jpeg())
    )
    client = Client()
    staff_sign_in(client, agent)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": portal.url("/")}]
    )

    portal.goto("/admin/accounts/identitydocument/")
    expect(page.locator("#result_list")).to_contain_text("Kari Nordmann")
    page.locator(f"a[href$='/{document.pk}/review/']").click()
    portal.expect_path(f"/admin/accounts/identitydocument/{document.pk}/review/")
    page.locator("input[name=decision][value=reject]").check()
    page.locator("select[name=reason]").select_option("expired")
    page.locator("input[type=submit]").click()

    portal.expect_path("/admin/accounts/identitydocument/")
    expect(page.locator(".messagelist")).to_contain_text("The customer is told.")
    document.refresh_from_db()
    assert (document.status, document.reason, document.decided_by) == ("rejected", "expired", agent)
    assert IdentityDocument.objects.filter(status="pending").count() == 0
    page_problems.check_accessibility(page)
    accessibility = [problem for problem in page_problems.problems if problem.startswith("axe ")]
    assert not accessibility, "\n".join(accessibility)
    # What else the watch saw on the admin (Django's own admin against our
    # CSP, its missing favicon) is not this test's subject, as in
    # test_admin_accessibility.py.
    page_problems.problems.clear()
