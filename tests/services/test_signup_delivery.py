"""Sign-up, verification and password-reset messages leave through the real
worker over Redis, on PostgreSQL, in the customer's language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from accounts.models import User
from accounts.tasks import send_welcome
from portal import sms
from portal.celery import app
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WELCOME_SUBJECT = "Welcome to Nordlys Mobil"
VERIFY_SUBJECT = "Please Confirm Your Email Address"
PASSWORD = "Fjord-lys-2024!"


def emails_with_subject(subject: str) -> list[Any]:
    return [message for message in mail.outbox if message.subject == subject]


def sms_containing(text: str) -> list[sms.SmsMessage]:
    return [message for message in sms.outbox if text in message.body]


def test_it_delivers_the_welcome_and_verification_emails_through_the_worker(
    client: Any, celery_worker: Any, sender_of: Any, wait_until: Any
) -> None:
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Kari Nordmann", "email": "kari@example.test", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 302
    user = User.objects.get(email="kari@example.test")
    assert user.full_name == "Kari Nordmann"
    [welcome] = wait_until(lambda: emails_with_subject(WELCOME_SUBJECT), what="the welcome email")
    [verification] = wait_until(lambda: emails_with_subject(VERIFY_SUBJECT), what="the verification email")
    assert welcome.to == ["kari@example.test"]
    assert "Hello Kari Nordmann" in welcome.body
    assert sender_of(welcome).task == "accounts.tasks.send_welcome"
    assert sender_of(welcome).is_worker
    assert verification.to == ["kari@example.test"]
    assert "/accounts/confirm-email/" in verification.body
    assert sender_of(verification).task == "accounts.tasks.deliver_email"
    assert sender_of(verification).is_worker
    user.refresh_from_db()
    assert user.welcomed_at is not None


def test_it_sends_the_welcome_only_once_when_the_task_runs_again(
    celery_worker: Any, finished_tasks: Any, wait_until: Any
) -> None:
    user = UserFactory(email="ola@example.test")
    first = send_welcome.delay(user.pk)
    wait_until(lambda: [run for run in finished_tasks if run.id == first.id], what="the first send_welcome")
    user.refresh_from_db()
    welcomed_at = user.welcomed_at

    again = send_welcome.delay(user.pk)

    [run] = wait_until(lambda: [run for run in finished_tasks if run.id == again.id], what="the second send_welcome")
    assert run.state == "SUCCESS"
    assert len(emails_with_subject(WELCOME_SUBJECT)) == 1
    user.refresh_from_db()
    assert welcomed_at is not None
    assert user.welcomed_at == welcomed_at


@pytest.mark.parametrize("typed", ["+47 912 34 567", "91234567"])
def test_it_verifies_a_mobile_number_with_the_code_the_worker_sent(
    client: Any, celery_worker: Any, sms_outbox: list[sms.SmsMessage], sender_of: Any, wait_until: Any, typed: str
) -> None:
    response = client.post(
        "/accounts/signup/", {"full_name": "Li Wei", "phone": typed, "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/phone/verify/"
    user = User.objects.get(phone="+4791234567")
    assert user.email is None
    assert not user.phone_verified
    [code_sms] = wait_until(lambda: sms_containing("Your Nordlys Mobil code is"), what="the verification code SMS")
    assert code_sms.to == "+4791234567"
    assert sender_of(code_sms).task == "accounts.tasks.deliver_sms"
    assert sender_of(code_sms).is_worker
    match = re.search(r"code is (\d+)\.", code_sms.body)
    assert match

    response = client.post("/accounts/phone/verify/", {"code": match[1]})

    assert response["Location"] == "/dashboard/"
    user.refresh_from_db()
    assert user.phone_verified
    assert user.phone == "+4791234567"


def test_it_welcomes_a_customer_without_an_email_address_by_sms(
    client: Any, celery_worker: Any, sms_outbox: list[sms.SmsMessage], sender_of: Any, wait_until: Any
) -> None:
    client.post(
        "/accounts/signup/",
        {"full_name": "Li Wei", "phone": "91234567", "password1": PASSWORD, "password2": PASSWORD},
    )

    [welcome] = wait_until(lambda: sms_containing("Welcome to Nordlys Mobil"), what="the welcome SMS")
    assert welcome.to == "+4791234567"
    assert sender_of(welcome).task == "accounts.tasks.send_welcome"
    assert sender_of(welcome).is_worker
    assert User.objects.get(phone="+4791234567").welcomed_at is not None
    assert mail.outbox == []


def test_it_does_not_verify_a_mobile_number_with_a_wrong_code(
    client: Any, celery_worker: Any, sms_outbox: list[sms.SmsMessage], wait_until: Any
) -> None:
    client.post(
        "/accounts/signup/",
        {"full_name": "Li Wei", "phone": "91234567", "password1": PASSWORD, "password2": PASSWORD},
    )
    [code_sms] = wait_until(lambda: sms_containing("Your Nordlys Mobil code is"), what="the verification code SMS")
    match = re.search(r"code is (\d+)\.", code_sms.body)
    assert match
    wrong = "000000" if match[1] != "000000" else "111111"

    response = client.post("/accounts/phone/verify/", {"code": wrong})

    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert not User.objects.get(phone="+4791234567").phone_verified


def test_it_sends_the_password_reset_email_in_the_customers_language(
    client: Any, celery_worker: Any, sender_of: Any, wait_until: Any
) -> None:
    UserFactory(email="nora@example.test", language="nb", password=DEFAULT_PASSWORD)

    response = client.post("/accounts/password/reset/", {"email": "nora@example.test"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    [reset] = wait_until(lambda: list(mail.outbox), what="the password reset email")
    assert reset.to == ["nora@example.test"]
    # allauth's nb catalogue: "Password Reset Email", "Hello from %(site_name)s!"
    assert reset.subject == "Tilbakestill passordet"
    assert reset.body.startswith("Hei fra ")
    assert "/accounts/password/reset/key/" in reset.body
    assert sender_of(reset).is_worker


def test_healthz_is_ok_against_the_real_postgresql_and_redis(client: Any) -> None:
    response = client.get("/healthz")

    assert connection.vendor == "postgresql"
    assert app.conf.broker_url.startswith("redis://")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}
