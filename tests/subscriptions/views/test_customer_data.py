"""Your data as the customer meets it: the export asked for on the page and
downloaded by the emailed link (the owner only, once), the account deleted
after a confirmation and a fresh sign-in, refused while a line is in use."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core import mail

from subscriptions.models import DataExport, LineStatus
from subscriptions.services.lines import line_transition
from tests.factories import UserFactory
from tests.subscriptions.views.test_replacements import reauthenticated

pytestmark = pytest.mark.django_db


def export_link(signed_in, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/account/data/export/")
    found = re.search(r"http://[^/\s]+(/account/data/export/[^\s]+)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def cancel(line) -> None:
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=None, reason="test")
    line_transition(line=line, to=LineStatus.CANCELLED, by=None, reason="test")


def test_the_profile_page_links_to_your_data(signed_in):
    assert 'href="/account/data/"' in signed_in.get("/account/profile/").content.decode()


def test_asking_for_an_export_emails_a_link_that_downloads_the_zip_once(
    signed_in, customer, line, django_capture_on_commit_callbacks
):
    link = export_link(signed_in, django_capture_on_commit_callbacks)

    response = signed_in.get(link)

    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "lines.csv" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    again = signed_in.get(link, follow=True)
    assert "This link was already used." in again.content.decode()


def test_the_page_says_the_export_is_being_prepared(signed_in, customer):
    signed_in.post("/account/data/export/")

    page = signed_in.get("/account/data/").content.decode()

    assert "Being prepared" in page


def test_another_customer_gets_404_for_the_download_link(
    signed_in, customer, line, django_capture_on_commit_callbacks, client
):
    link = export_link(signed_in, django_capture_on_commit_callbacks)
    stranger = UserFactory()
    client.force_login(stranger)

    assert client.get(link).status_code == 404
    assert DataExport.objects.get().downloaded_at is None


def test_a_wrong_token_gets_404(signed_in, customer, django_capture_on_commit_callbacks):
    link = export_link(signed_in, django_capture_on_commit_callbacks)

    assert signed_in.get(link.rstrip("/")[:-3] + "xyz/").status_code == 404


def test_the_delete_page_names_the_lines_still_in_use(signed_in, line):
    page = signed_in.get("/account/data/delete/").content.decode()

    assert "+47\u00a0912\u00a034\u00a0567" in page and "Still in use" in page
    assert 'id="delete-confirm"' not in page


def test_deleting_is_refused_in_chinese_while_a_line_is_in_use(signed_in, customer, line):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "zh-hans"
    reauthenticated(signed_in, customer)

    response = signed_in.post("/account/data/delete/", {"confirm": "on"})

    assert response.status_code == 200
    assert "注销所有号码后" in response.content.decode()
    customer.refresh_from_db()
    assert customer.deleted_at is None


def test_deleting_needs_the_box_ticked(signed_in, customer, line):
    cancel(line)
    reauthenticated(signed_in, customer)

    response = signed_in.post("/account/data/delete/", {})

    assert "Tick the box to confirm" in response.content.decode()
    customer.refresh_from_db()
    assert customer.deleted_at is None


def test_deleting_needs_a_fresh_sign_in(signed_in, customer, line):
    cancel(line)

    response = signed_in.post("/account/data/delete/", {"confirm": "on"})

    assert response["Location"].startswith("/accounts/reauthenticate/")
    customer.refresh_from_db()
    assert customer.deleted_at is None


def test_deleting_with_every_line_cancelled_signs_out_and_erases(signed_in, customer, line):
    cancel(line)
    reauthenticated(signed_in, customer)

    response = signed_in.post("/account/data/delete/", {"confirm": "on"})

    assert response["Location"] == "/"
    customer.refresh_from_db()
    assert customer.deleted_at is not None and customer.full_name == ""
    assert signed_in.get("/dashboard/").status_code == 302  # signed out
