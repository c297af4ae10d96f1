"""Suspend, resume and take one's data along, in Norwegian on a 390 px
phone: a number-keeping line is suspended while travelling (after signing in
again), the page says what that means and no longer promises that texts
reach the number, the network blocks it; it is resumed the same way and the
network lifts the block. Then "download my data": the emailed link downloads
a ZIP once, and the ZIP holds the customer's tables and receipt."""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
from typing import Any

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from sandbox.network import network_history, network_subscriber
from subscriptions.models import LineStatus, LineSuspension, PlanKind
from tests.browser.phone_pages import assert_fits_the_phone, screenshot
from tests.factories import LineFactory, PlanFactory, UsageRecordFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-pause-2026"
NUMBER_KEPT = "Your number is kept while you are away: texts such as bank codes still reach it."


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


def nb(message: str) -> str:
    with translation.override("nb"):
        text = gettext(message)
    assert text != message, f"no Norwegian for {message!r}"
    return text


def sign_in_again_if_asked(page: Any) -> None:
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("main form button[type=submit]").first.click()


def test_a_line_is_suspended_and_resumed_and_the_data_export_is_downloaded_once(
    portal: Any, page_problems: Any
) -> None:
    page = portal.page
    customer = UserFactory(
        email="ola@example.test",
        full_name="Ola Nordmann",
        language="nb",
        password=PASSWORD,
        verified_email=True,
        phone_verified=True,
    )
    plan = PlanFactory(code="hold-month", kind=PlanKind.NUMBER_KEEPING)
    line = LineFactory(owner=customer, number="+4741234588", kind=PlanKind.NUMBER_KEEPING, with_period=plan)
    UsageRecordFactory(line=line, kind="sms", quantity=1, destination="+4790000001")

    portal.sign_in("ola@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto(f"/lines/{line.pk}/")
    expect(page.locator(".number-kept")).to_contain_text(nb(NUMBER_KEPT))

    # Suspend: what it means, the reason, a fresh sign-in.
    page.locator(".suspend-link").click()
    portal.expect_path(f"/lines/{line.pk}/suspend/")
    expect(page.locator(".suspension-meaning")).to_contain_text(
        nb("No calls, texts or data until you resume the line.")
    )
    assert_fits_the_phone(page)
    screenshot(page, "suspend-form-nb")
    page.get_by_label(nb("I am travelling")).check()
    page.locator("#suspend-confirm").click()
    sign_in_again_if_asked(page)
    portal.expect_path(f"/lines/{line.pk}/")

    box = page.locator(".line-suspension")
    expect(box).to_contain_text(nb("You suspended this line"))
    expect(box).to_contain_text(nb("I am travelling"))
    expect(box).to_contain_text(
        nb("The number stays yours, but texts such as bank codes do not reach it until you resume the line.")
    )
    expect(page.locator(".number-kept")).to_have_count(0)
    expect(page.locator(".line-status")).to_have_attribute("data-status", "suspended")
    assert_fits_the_phone(page)
    screenshot(page, "line-suspended-nb")
    suspension = LineSuspension.objects.get(line=line)
    assert suspension.blocked_at is not None
    assert network_subscriber(msisdn=line.number).blocked

    # Resume the same way.
    page.locator(".resume-button").click()
    sign_in_again_if_asked(page)
    portal.expect_path(f"/lines/{line.pk}/")
    expect(page.locator(".alert-success")).to_contain_text(nb("Your line is working again."))
    expect(page.locator(".line-status")).to_have_attribute("data-status", "active")
    expect(page.locator(".number-kept")).to_contain_text(nb(NUMBER_KEPT))
    screenshot(page, "line-resumed-nb")
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert not network_subscriber(msisdn=line.number).blocked
    assert [request.action for request in network_history(msisdn=line.number)] == ["block", "unblock"]

    # Download my data: from the profile, by the emailed link, once.
    portal.goto("/account/profile/")
    page.locator(".your-data-note a").click()
    portal.expect_path("/account/data/")
    page.locator(".export-button").click()
    expect(page.locator(".alert-success")).to_contain_text("ola@example.test")
    assert_fits_the_phone(page)
    screenshot(page, "your-data-nb")
    message = mail.outbox[-1]
    assert message.subject == nb("Your data from Nordlys Mobil is ready")
    link = re.search(r"http://\S+/account/data/export/\S+/", message.body)
    assert link, message.body
    path = link.group(0).split("/account/", 1)[1]

    from playwright.sync_api import Error as PlaywrightError

    # Chromium aborts the navigation that became a download.
    with page.expect_download() as download_info, contextlib.suppress(PlaywrightError):
        page.goto(portal.url(f"/account/{path}"))
    archive = zipfile.ZipFile(download_info.value.path())
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "lines.csv", "usage.json", "periods.csv", "requests.json"} <= names
    assert json.loads(archive.read("profile.json"))[0]["full_name"] == "Ola Nordmann"
    assert json.loads(archive.read("usage.json"))[0]["destination"] == "+4790000001"
    assert [row["action"] for row in json.loads(archive.read("requests.json"))] == ["suspend", "resume"]
    assert (
        nb("Each table is here twice: as JSON and as CSV (comma-separated, UTF-8).")
        in archive.read("README.txt").decode()
    )

    portal.goto(f"/account/{path}")  # the second time: used
    portal.expect_path("/account/data/")
    expect(page.locator(".alert-danger, .alert-error").first).to_contain_text(
        nb("This link was already used. Ask for a new export on the Your data page.")
    )
    screenshot(page, "your-data-link-used-nb")
    portal.expect_clean()
