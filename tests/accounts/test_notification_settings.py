"""Notification settings on the profile page, and the one-click unsubscribe
link every email carries (RFC 8058), which works without signing in."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import NotificationChannel, NotificationKind
from accounts.notifications import notification_enabled, notification_settings_of, unsubscribe_token
from subscriptions.services.receipts import receipt_email_send
from tests.factories import UserFactory
from tests.subscriptions.receipts import make_receipt

pytestmark = pytest.mark.django_db

PROFILE = "/account/profile/"
SETTINGS = "/account/profile/notifications/"
K = NotificationKind
C = NotificationChannel


def unsubscribe_url(user: Any, kind: str) -> str:
    return f"/account/unsubscribe/{unsubscribe_token(user_id=user.pk, kind=kind)}/"


def test_the_profile_page_shows_each_kind_and_channel_with_offers_off(signed_in: Client) -> None:
    page = signed_in.get(PROFILE).content.decode()

    assert 'id="notifications"' in page
    assert 'name="expiry__email" id="id_expiry__email" aria-label="Expiry reminders: Email" checked' in page
    assert 'name="offers__email" id="id_offers__email" aria-label="Offers and news: Email">' in page


def test_a_customer_turns_texts_off_and_offers_on(signed_in: Client, customer: Any) -> None:
    chosen = {"expiry__email": "on", "auto_renew__email": "on", "low_balance__email": "on", "offers__email": "on"}

    response = signed_in.post(SETTINGS, chosen)

    assert response.status_code == 302 and response["Location"].endswith("/account/profile/#notifications")
    now = notification_settings_of(user=customer)
    assert now[(K.OFFERS, C.EMAIL)] is True
    assert now[(K.EXPIRY, C.SMS)] is False
    assert now[(K.RECEIPT, C.EMAIL)] is False


def test_another_customer_cannot_change_your_settings(signed_in: Client, customer: Any) -> None:
    stranger = Client()
    other = UserFactory()
    stranger.force_login(other)

    stranger.post(SETTINGS, {"offers__email": "on"})

    assert notification_enabled(user_id=customer.pk, kind=K.EXPIRY, channel=C.EMAIL) is True
    assert notification_enabled(user_id=customer.pk, kind=K.OFFERS, channel=C.EMAIL) is False
    assert notification_enabled(user_id=other.pk, kind=K.EXPIRY, channel=C.EMAIL) is False


def test_the_settings_need_a_signed_in_customer(client: Client) -> None:
    response = client.post(SETTINGS, {"offers__email": "on"})

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_unsubscribe_link_asks_first_and_changes_nothing_on_get(client: Client, customer: Any) -> None:
    response = client.get(unsubscribe_url(customer, K.EXPIRY))

    assert response.status_code == 200
    assert "Stop getting these emails: Expiry reminders?" in response.content.decode()
    assert notification_enabled(user_id=customer.pk, kind=K.EXPIRY, channel=C.EMAIL) is True


def test_one_click_unsubscribe_works_without_signing_in(customer: Any) -> None:
    mail_client = Client(enforce_csrf_checks=True)  # a mail provider posting RFC 8058's body

    response = mail_client.post(
        unsubscribe_url(customer, K.EXPIRY),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert notification_enabled(user_id=customer.pk, kind=K.EXPIRY, channel=C.EMAIL) is False
    assert notification_enabled(user_id=customer.pk, kind=K.EXPIRY, channel=C.SMS) is True
    assert notification_enabled(user_id=customer.pk, kind=K.LOW_BALANCE, channel=C.EMAIL) is True


def test_a_forged_unsubscribe_link_is_not_found(client: Client, customer: Any) -> None:
    token = unsubscribe_token(user_id=customer.pk, kind=K.EXPIRY)
    forged = token.replace(token.split(":")[0], unsubscribe_token(user_id=customer.pk + 1, kind=K.EXPIRY).split(":")[0])

    assert client.post(f"/account/unsubscribe/{forged}/").status_code == 404
    assert client.post("/account/unsubscribe/nonsense/").status_code == 404
    assert notification_enabled(user_id=customer.pk, kind=K.EXPIRY, channel=C.EMAIL) is True


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_the_unsubscribe_page_speaks_the_visitors_language(client: Client, customer: Any, language: str) -> None:
    client.cookies["portal_language"] = language
    page = client.get(unsubscribe_url(customer, K.LOW_BALANCE)).content.decode()

    assert {"nb": "Varsel om lav saldo", "zh-hans": "余额不足提醒"}[language] in page


def test_a_receipt_email_carries_the_one_click_headers() -> None:
    receipt = make_receipt()

    assert receipt_email_send(receipt_id=receipt.pk) is True

    [email] = mail.outbox
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/account/unsubscribe/")


def test_a_customer_who_turned_receipts_off_gets_no_receipt_email(client: Client) -> None:
    receipt = make_receipt()
    client.post(unsubscribe_url(receipt.owner, K.RECEIPT))

    assert receipt_email_send(receipt_id=receipt.pk) is False

    assert mail.outbox == []
    receipt.refresh_from_db()
    assert receipt.emailed_at is not None  # done: it is on the receipts page


def test_the_unsubscribe_page_on_a_fresh_phone_speaks_the_customers_language_not_the_browsers(client: Client) -> None:
    kari = UserFactory(language="nb")

    page = client.get(unsubscribe_url(kari, K.LOW_BALANCE), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert "Varsel om lav saldo" in page.content.decode()
    assert page["Content-Language"] == "nb"
