"""allauth's account emails speak for Nordlys Mobil, not for the host name
the request came to."""

import pytest
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_sign_up_confirmation_greets_from_nordlys_mobil(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {
                "full_name": "Ola",
                "email": "ola@example.test",
                "password1": "fjord-bike-2026",
                "password2": "fjord-bike-2026",
            },
            HTTP_HOST="127.0.0.1:8000",
        )

    [confirmation] = [message for message in mail.outbox if "/accounts/confirm-email/" in message.body]
    assert "Hello from Nordlys Mobil!" in confirmation.body
    assert "Hello from 127.0.0.1:8000" not in confirmation.body


def test_the_password_reset_greets_from_nordlys_mobil_in_the_customers_language(
    client, django_capture_on_commit_callbacks
):
    UserFactory(email="kari@example.test", language="nb", phone_verified=True, verified_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "kari@example.test"}, HTTP_HOST="127.0.0.1:8000")

    [reset] = mail.outbox
    assert "Nordlys Mobil" in reset.body.splitlines()[0]
    assert "127.0.0.1:8000!" not in reset.body
