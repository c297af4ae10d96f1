import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_signup_by_email_signs_in_and_sends_verification_and_welcome(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "full_name": "Ola Nordmann",
                "email": "ola@example.test",
                "password1": "fjord-bike-2026",
                "password2": "fjord-bike-2026",
            },
            HTTP_ACCEPT_LANGUAGE="nb",
        )
    assert response.status_code == 302
    user = User.objects.get(email="ola@example.test")
    assert user.full_name == "Ola Nordmann"
    assert user.phone is None
    assert user.language == "nb"
    assert user.welcomed_at is not None
    subjects = [message.subject for message in mail.outbox]
    assert "Velkommen til Nordlys Mobil" in subjects
    assert len(subjects) == 2  # the verification link and the welcome


def test_signup_by_phone_asks_for_the_sms_code(client, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "full_name": "Li Wei",
                "phone": "912 34 567",
                "password1": "fjord-bike-2026",
                "password2": "fjord-bike-2026",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/phone/verify/"
    user = User.objects.get(phone="+4791234567")
    assert user.email is None and not user.phone_verified
    assert [message.to for message in sms_outbox] == ["+4791234567", "+4791234567"]  # the code and the welcome


def test_signup_without_email_or_phone_shows_a_translated_error(client):
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Li Wei", "password1": "fjord-bike-2026", "password2": "fjord-bike-2026"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert User.objects.count() == 0
    assert "请填写电子邮箱或手机号码" in response.content.decode()


def test_a_signup_with_a_taken_number_creates_nothing_and_tells_the_owner(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    UserFactory(phone="+4791234567", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "full_name": "Li Wei",
                "phone": "+47 912 34 567",
                "password1": "fjord-bike-2026",
                "password2": "fjord-bike-2026",
            },
        )
    # Enumeration prevention: the stranger sees the usual next step, the owner gets a text.
    assert response.status_code == 302
    assert User.objects.filter(phone="+4791234567").count() == 1
    assert User.objects.count() == 1
    assert [m.to for m in sms_outbox] == ["+4791234567"]
    assert "already has a Nordlys Mobil account" in sms_outbox[0].body


@pytest.mark.parametrize("login", ["kari@example.test", "41234567", "+47 412 34 567"])
def test_customers_sign_in_with_email_or_the_number_as_they_type_it(client, login):
    UserFactory(email="kari@example.test", phone="+4741234567", phone_verified=True, verified_email=True)
    response = client.post("/accounts/login/", {"login": login, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_failed_sign_ins_are_rate_limited(client):
    UserFactory(email="kari@example.test", verified_email=True, phone_verified=True)
    for _attempt in range(5):  # allauth's default: 5 failures per 5 minutes per login
        client.post("/accounts/login/", {"login": "kari@example.test", "password": "wrong"})
    response = client.post("/accounts/login/", {"login": "kari@example.test", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()


def test_the_dashboard_and_profile_need_a_signed_in_customer(client):
    for url in ("/dashboard/", "/account/profile/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_a_customer_edits_only_their_own_profile(client):
    kari = UserFactory(full_name="Kari Nordmann", language="en")
    other = UserFactory(full_name="Li Wei")
    client.force_login(kari)
    response = client.post(
        "/account/profile/",
        {
            "full_name": "Kari Nordmann",
            "street_address": "Storgata 1",
            "postal_code": "0155",
            "city": "Oslo",
            "language": "nb",
            "id": other.pk,
        },
    )
    assert response.status_code == 302
    kari.refresh_from_db()
    other.refresh_from_db()
    assert (kari.street_address, kari.postal_code, kari.city, kari.language) == ("Storgata 1", "0155", "Oslo", "nb")
    assert other.street_address == "" and other.full_name == "Li Wei"


def test_a_bad_postal_code_is_explained_and_nothing_is_saved(client):
    kari = UserFactory(city="")
    client.force_login(kari)
    response = client.post(
        "/account/profile/",
        {"full_name": "Kari", "street_address": "Storgata 1", "postal_code": "12", "city": "Oslo", "language": "en"},
    )
    assert response.status_code == 200
    assert "four digits" in response.content.decode()
    kari.refresh_from_db()
    assert kari.city == ""


def test_switching_language_is_remembered_on_the_account(client):
    user = UserFactory(language="en")
    client.force_login(user)
    response = client.post("/account/language/", {"language": "zh-hans", "next": "/dashboard/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "zh-hans"
    page = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "我的号码" in page.content.decode()


def test_the_stored_language_wins_over_the_browser_after_sign_in(client):
    UserFactory(email="li@example.test", language="zh-hans", phone_verified=True, verified_email=True)
    response = client.post(
        "/accounts/login/", {"login": "li@example.test", "password": DEFAULT_PASSWORD}, HTTP_ACCEPT_LANGUAGE="nb"
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    page = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="nb")
    assert '<html lang="zh-hans">' in page.content.decode()
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_an_anonymous_visitor_switches_language_by_cookie(client):
    response = client.post("/account/language/", {"language": "nb", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nb"
    assert '<html lang="nb">' in client.get("/").content.decode()


def test_an_unknown_language_changes_nothing(client):
    user = UserFactory(language="en")
    client.force_login(user)
    client.post("/account/language/", {"language": "xx", "next": "/dashboard/"})
    user.refresh_from_db()
    assert user.language == "en"


def test_a_rate_limited_phone_verification_gets_a_calm_page_not_a_server_error(client, sms_outbox):
    data = {
        "full_name": "Li Wei",
        "phone": "+47 912 34 567",
        "password1": "fjord-bike-2026",
        "password2": "fjord-bike-2026",
    }
    UserFactory(phone="+4791234567")
    Client().post("/accounts/signup/", data)
    response = client.post("/accounts/signup/", data)  # a second code for the same number within 30 s
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_a_forgotten_password_is_reset_by_the_emailed_link(client, django_capture_on_commit_callbacks):
    UserFactory(email="kari@example.test", phone_verified=True, verified_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "kari@example.test"})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # allauth moves the key out of the URL
    response = client.post(form_url, {"password1": "new-fjord-pass-2026", "password2": "new-fjord-pass-2026"})
    assert response.status_code == 302
    response = client.post("/accounts/login/", {"login": "kari@example.test", "password": "new-fjord-pass-2026"})
    assert response["Location"] == "/dashboard/"


def test_a_customer_signs_in_with_a_one_time_code_by_sms(client, sms_outbox, django_capture_on_commit_callbacks):
    UserFactory(phone="+4741234567", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/code/", {"phone": "412 34 567"})
    assert response.status_code == 302
    assert len(sms_outbox) == 1
    code = re.search(r"\b(\d{6})\b", sms_outbox[0].body).group(1)
    response = client.post(response["Location"], {"code": code})
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_a_wrong_one_time_code_is_refused_with_a_message(client, sms_outbox, django_capture_on_commit_callbacks):
    UserFactory(phone="+4741234567", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/login/code/", {"phone": "+4741234567"}, HTTP_ACCEPT_LANGUAGE="nb")
    response = client.post(response["Location"], {"code": "000000"}, HTTP_ACCEPT_LANGUAGE="nb")
    assert response.status_code == 200
    assert client.get("/dashboard/").status_code == 302


def test_failed_sign_ins_with_a_number_lock_out_only_that_number(client):
    UserFactory(phone="+4741234567", phone_verified=True)
    for _attempt in range(5):
        client.post("/accounts/login/", {"login": "+47 400 00 001", "password": "guess"})
    locked = client.post("/accounts/login/", {"login": "40000001", "password": "guess"})
    assert "Too many failed login attempts" in locked.content.decode()

    response = Client().post("/accounts/login/", {"login": "+47 412 34 567", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_failed_sign_ins_with_an_email_lock_out_only_that_email_in_any_case(client):
    UserFactory(email="kari@example.test", verified_email=True, phone_verified=True)
    for _attempt in range(5):
        client.post("/accounts/login/", {"login": "Ola@Example.test", "password": "guess"})
    locked = client.post("/accounts/login/", {"login": "ola@example.test", "password": "guess"})
    assert "Too many failed login attempts" in locked.content.decode()

    response = Client().post("/accounts/login/", {"login": "kari@example.test", "password": DEFAULT_PASSWORD})
    assert response["Location"] == "/dashboard/"


@pytest.mark.parametrize("data", [{"email": "", "phone": ""}, {}])
def test_asking_for_a_code_without_an_address_or_number_answers_with_the_form(client, sms_outbox, data):
    response = client.post("/accounts/login/code/", data, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "请填写电子邮箱或手机号码" in response.content.decode()
    assert sms_outbox == []
    assert mail.outbox == []


def test_a_signup_with_a_taken_email_in_any_case_creates_nothing_and_emails_the_owner(
    client, django_capture_on_commit_callbacks
):
    UserFactory(email="kari@example.test", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "full_name": "Li Wei",
                "email": "Kari@Example.test",
                "password1": "fjord-bike-2026",
                "password2": "fjord-bike-2026",
            },
        )
    assert response.status_code == 302
    assert "already registered" not in client.get(response["Location"]).content.decode()
    assert User.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["kari@example.test"]]
    assert "Account Already Exists" in mail.outbox[0].subject
    assert client.get("/dashboard/").status_code == 302  # not signed in to anyone's account


def signup_answer(client: Client, email: str) -> tuple[str, str]:
    """Where a sign-up with ``email`` sends the browser, and that page's text."""
    response = client.post(
        "/accounts/signup/",
        {"full_name": "Li Wei", "email": email, "password1": "fjord-bike-2026", "password2": "fjord-bike-2026"},
    )
    assert response.status_code == 302
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", client.get(response["Location"]).content.decode())
    return response["Location"], re.sub(r"\s+", " ", page.replace(email, "<the address typed>"))


def test_a_new_and_a_taken_email_get_the_same_answer_to_a_signup(django_capture_on_commit_callbacks):
    UserFactory(email="kari@example.test", verified_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        taken = signup_answer(Client(), "kari@example.test")
        new = signup_answer(Client(), "li.wei@example.test")

    assert new == taken
    assert "/accounts/confirm-email/" in new[0]
    assert Client().get("/dashboard/").status_code == 302


def test_a_customer_who_signed_up_by_email_signs_in_once_the_address_is_confirmed(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signup_answer(client, "li.wei@example.test")
    assert client.get("/dashboard/").status_code == 302  # not before confirming

    [link] = [
        found
        for message in mail.outbox
        for found in re.findall(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    ]
    confirmed = client.post(link.split("testserver", 1)[-1])
    assert confirmed.status_code == 302
    signed_in = client.post("/accounts/login/", {"login": "li.wei@example.test", "password": "fjord-bike-2026"})
    assert signed_in.status_code == 302
    assert client.get("/dashboard/").status_code == 200
