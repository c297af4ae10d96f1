"""The receipt email: to the owner, in the active language, with the PDF."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation
from pypdf import PdfReader

from subscriptions.models import OrderKind
from subscriptions.receipt_mail import receipt_email
from tests.factories import UserFactory
from tests.subscriptions.receipts import make_receipt, pdf_text

pytestmark = pytest.mark.django_db

RECEIPTS_URL = "https://portal.nordlys.test/receipts/"


def build(receipt, language="en"):
    with translation.override(language):
        message = receipt_email(receipt, receipts_url=RECEIPTS_URL)
    assert message is not None
    return message


def test_it_goes_to_the_owner_from_the_default_address():
    owner = UserFactory(email="kari@example.test")

    message = build(make_receipt(owner=owner))

    assert message.to == ["kari@example.test"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_it_attaches_the_receipt_as_a_pdf():
    message = build(make_receipt())

    [(filename, content, mimetype)] = message.attachments
    assert filename == "receipt-2026-000001.pdf"
    assert mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(content)).pages) == 1
    assert "Receipt 2026-000001" in pdf_text(content)


def test_it_names_the_receipt_in_the_subject():
    message = build(make_receipt())

    assert "2026-000001" in message.subject
    assert "\n" not in message.subject


def test_it_greets_the_owner_and_tells_what_was_bought_the_total_and_the_new_expiry():
    owner = UserFactory(full_name="Kari Nordmann")

    body = build(make_receipt(owner=owner)).body.replace("\xa0", " ")

    assert "Hello Kari Nordmann," in body
    assert "2026-000001" in body
    assert "Fjord 10 GB for +47 912 34 567" in body
    assert "NOK 199.00" in body
    assert "April 5, 2026, 1:07 PM" in body
    assert RECEIPTS_URL in body
    assert "PDF" in body


def test_it_greets_by_the_receipt_name_when_the_profile_has_none():
    owner = UserFactory(full_name="")

    body = build(make_receipt(owner=owner, customer_name="王小明")).body

    assert "王小明" in body


def test_it_tells_no_expiry_for_a_top_up():
    body = build(make_receipt(kind=OrderKind.TOPUP)).body.replace("\xa0", " ")

    assert "Top-up of the prepaid balance" in body
    assert "NOK 200.00" in body
    assert "paid until" not in body


def test_it_is_written_in_the_active_language():
    body = build(make_receipt(), "nb").body.replace("\xa0", " ")

    assert "199,00 kr" in body
    assert "Fjord 10 GB måned" in body
    assert "5. april 2026 13:07" in body


def test_it_is_none_when_the_owner_has_no_email():
    owner = UserFactory(email=None, phone="+4798765432")

    with translation.override("en"):
        message = receipt_email(make_receipt(owner=owner), receipts_url=RECEIPTS_URL)

    assert message is None


def test_it_sends_with_the_pdf_attached():
    build(make_receipt()).send()

    [sent] = mail.outbox
    assert sent.attachments[0][0] == "receipt-2026-000001.pdf"
    assert b"application/pdf" in sent.message().as_bytes()
