"""Uploading an identity document on a phone, in Chinese: an HTML page
named .jpg is refused next to the field with the chosen document kept; the
photo then goes through and the list says it waits for review."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import IdentityDocument
from tests.browser.conftest import PHONE_VIEWPORT
from tests.factories import UserFactory
from tests.identity_files import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Nordlys-identitet-2026"


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    assert text != message
    return text


def test_a_wrong_file_is_refused_in_chinese_then_a_photo_waits_for_review(portal: Any) -> None:
    from playwright.sync_api import expect

    page = portal.page
    UserFactory(
        email="wang@example.test", language="zh-hans", password=PASSWORD, verified_email=True, phone_verified=True
    )
    portal.sign_in("wang@example.test", PASSWORD)
    portal.expect_path("/dashboard/")
    portal.goto("/account/identity/")

    page.locator("input[name=kind][value=residence_card]").check()
    page.locator("select[name=purpose]").select_option("new_line")
    page.locator("input[name=file]").set_input_files(
        {"name": "passport.jpg", "mimeType": "image/jpeg", "buffer": b"<html><body>hello</body></html>"}
    )
    page.locator("#upload").click()

    expect(page.locator("#id_file")).to_have_class(re.compile(r"(^|\s)is-invalid(\s|$)"))
    expect(page.locator("main")).to_contain_text(
        zh("This file is not a photo (JPEG or PNG) or a PDF. Upload one of those.")
    )
    expect(page.locator("input[name=kind][value=residence_card]")).to_be_checked()
    expect(page.locator("select[name=purpose]")).to_have_value("new_line")
    assert not IdentityDocument.objects.exists()

    page.locator("input[name=file]").set_input_files(
        {"name": "card.png", "mimeType": "image/png", "buffer": png_bytes(size=(600, 380))}
    )
    page.locator("#upload").click()

    portal.expect_path("/account/identity/")
    expect(page.locator(".identity-document")).to_have_count(1)
    expect(page.locator(".identity-document")).to_contain_text(zh("Waiting for review"))
    expect(page.locator(".identity-document")).to_contain_text(zh("Residence card"))
    assert IdentityDocument.objects.get().kind == "residence_card"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"]
