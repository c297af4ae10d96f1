from urllib.parse import urlencode

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.two_factor import code_for, staff_sign_in, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, phone_verified=True, verified_email=True)
    staff_sign_in(client, user)
    return user


def test_staff_without_two_factor_sign_in_then_must_set_it_up_before_the_admin_opens(client, totp_clock):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert 'name="login"' in response.content.decode()

    siri = UserFactory(email="siri@example.test", is_staff=True, phone_verified=True, verified_email=True)
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "siri@example.test", "password": DEFAULT_PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    for page in ["/admin/", "/admin/subscriptions/esimprofile/", "/admin/accounts/user/"]:
        assert client.get(page)["Location"] == "/accounts/2fa/totp/activate/"

    # allauth asks for the password again before two-factor can be set up.
    confirm = client.get("/accounts/2fa/totp/activate/", follow=True)
    assert "Set up two-factor authentication before you open the support admin." in confirm.content.decode()
    client.post(confirm.redirect_chain[-1][0], {"password": DEFAULT_PASSWORD})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = client.session["mfa.totp.secret"]
    client.post("/accounts/2fa/totp/activate/", {"code": code_for(secret, at=totp_clock.now)})
    assert Authenticator.objects.filter(user=siri, type=Authenticator.Type.TOTP).exists()

    # Activating proves the app works, not that this sign-in passed two-factor.
    asked = client.get("/admin/")
    assert asked["Location"] == "/accounts/2fa/reauthenticate/?next=%2Fadmin%2F"
    totp_clock.next_window()
    response = client.post(asked["Location"], {"code": totp_code(siri, at=totp_clock.now)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_with_two_factor_get_the_admin_after_password_and_code(client, totp_clock):
    siri = UserFactory(email="siri@example.test", is_staff=True, phone_verified=True, verified_email=True)
    TOTP.activate(siri, generate_totp_secret())

    response = client.post("/accounts/login/", {"login": "siri@example.test", "password": DEFAULT_PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"

    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(siri, at=totp_clock.now)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_with_two_factor_signed_in_without_passing_it_are_asked_for_a_code(client, totp_clock):
    siri = UserFactory(is_staff=True, is_superuser=True, verified_email=True)
    TOTP.activate(siri, generate_totp_secret())
    client.force_login(siri)

    for page in ["/admin/", "/admin/subscriptions/esimprofile/?q=8947"]:
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/2fa/reauthenticate/?{urlencode({'next': page})}"

    response = client.post(
        "/accounts/2fa/reauthenticate/?next=/admin/accounts/user/", {"code": totp_code(siri, at=totp_clock.now)}
    )
    assert response["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_a_customer_is_refused_the_admin_without_a_traceback_in_the_log(client, caplog):
    client.force_login(UserFactory())

    for page in ["/admin/", "/admin/login/?next=/admin/", "/admin/subscriptions/line/"]:
        response = client.get(page)
        assert response.status_code == 403
        assert "You do not have access to this page" in response.content.decode()
    assert not [record for record in caplog.records if record.exc_info]


def test_staff_signing_in_on_the_customer_page_land_in_the_admin(client):
    UserFactory(email="siri@example.test", is_staff=True, phone_verified=True, verified_email=True)
    UserFactory(email="kari@example.test", phone_verified=True, verified_email=True)

    staff = client.post("/accounts/login/", {"login": "siri@example.test", "password": DEFAULT_PASSWORD})
    client.logout()
    customer = client.post("/accounts/login/", {"login": "kari@example.test", "password": DEFAULT_PASSWORD})

    assert staff["Location"] == "/admin/"
    assert customer["Location"] == "/dashboard/"


@pytest.mark.parametrize("term", ["kari.nordmann@example.test", "Nordmann", "+4741234567", "412 34 567", "41234567"])
def test_staff_find_a_customer_by_email_name_or_number(client, staff, term):
    UserFactory(email="kari.nordmann@example.test", full_name="Kari Nordmann", phone="+4741234567")
    UserFactory(email="li.wei@example.test", full_name="Li Wei", phone="+4791111111")
    html = client.get("/admin/accounts/user/", {"q": term}).content.decode()
    assert "kari.nordmann@example.test" in html
    assert "li.wei@example.test" not in html


def test_staff_open_a_customer_without_seeing_the_password_hash(client, staff):
    customer = UserFactory(full_name="王小明", language="zh-hans")
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html
    assert customer.password not in html


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_the_admin_is_in_english_for_staff_whose_own_language_is_another(client, language):
    user = UserFactory(is_staff=True, is_superuser=True, language=language)
    staff_sign_in(client, user)

    index = client.get("/admin/")
    changelist = client.get("/admin/django_celery_beat/periodictask/")

    for response in (index, changelist):
        assert response.status_code == 200
        assert '<html lang="en"' in response.content.decode()
    assert "Periodic tasks" in index.content.decode()
    assert "Clocked" in index.content.decode()
    assert "Show counts" in changelist.content.decode()
    # Their own pages of the portal stay in their language.
    dashboard = client.get("/dashboard/")
    assert f'<html lang="{language}"' in dashboard.content.decode()
