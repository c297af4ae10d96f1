"""A signed-in customer's session: kept from page to page, ended by a
deactivation or a password change elsewhere."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, user) -> None:
    response = client.post("/accounts/login/", {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def test_a_sign_in_is_remembered_and_the_next_page_knows_the_customer(client):
    kari = UserFactory(email="kari@example.test", full_name="Kari Nordmann", phone_verified=True, verified_email=True)

    sign_in(client, kari)
    html = client.get("/dashboard/").content.decode()

    # A password sign-in is taken by the first backend that accepts it.
    assert client.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    assert "Hello, Kari" in html


def test_a_customer_deactivated_after_signing_in_is_signed_out_on_the_next_page(client):
    kari = UserFactory(email="kari@example.test", phone_verified=True, verified_email=True)
    sign_in(client, kari)

    kari.is_active = False
    kari.save(update_fields=["is_active"])
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_changed_password_signs_out_the_other_sessions(client):
    kari = UserFactory(email="kari@example.test", phone_verified=True, verified_email=True)
    sign_in(client, kari)

    kari.set_password("another-horse-battery-10")
    kari.save(update_fields=["password"])
    response = client.get("/dashboard/")

    assert response.status_code == 302


def test_a_session_signed_in_through_a_backend_no_longer_configured_is_signed_out(client):
    kari = UserFactory(email="kari@example.test", phone_verified=True, verified_email=True)
    sign_in(client, kari)
    session = client.session
    assert session[SESSION_KEY] == str(kari.pk) and session[HASH_SESSION_KEY]
    session[BACKEND_SESSION_KEY] = "accounts.backends.ModelBackend"
    session.save()

    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
