import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from accounts.models import SentText
from accounts.tasks import send_welcome
from tests.factories import UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db


def ask_for_code(client, phone, *, address="203.0.113.7"):
    return client.post("/accounts/login/code/", {"phone": phone}, REMOTE_ADDR=address)


def test_a_code_request_for_a_number_without_an_account_sends_nothing_and_answers_as_for_one_with(
    client, sms_outbox, django_capture_on_commit_callbacks
):
    UserFactory(phone="+4741234567", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        stranger = ask_for_code(Client(), "+86 138 1234 5678")
        customer = ask_for_code(client, "+47 412 34 567")
    assert stranger.status_code == customer.status_code == 302
    assert stranger["Location"] == customer["Location"]
    assert [m.to for m in sms_outbox] == ["+4741234567"]
    assert list(SentText.objects.values_list("purpose", "country", "client_address")) == [("code", "NO", "203.0.113.7")]


def test_texts_from_one_address_stop_at_its_hourly_cap(settings, sms_outbox, django_capture_on_commit_callbacks):
    settings.TEXTS_PER_HOUR = {"address": 3, "country": 100, "total": 100}
    numbers = [f"+474123456{n}" for n in range(5)]
    for number in numbers:
        UserFactory(phone=number, phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [ask_for_code(Client(), number).status_code for number in numbers]
        other_address = ask_for_code(Client(), numbers[4], address="198.51.100.9")
    assert answers == [302] * 5  # the same answer, sent or not
    assert other_address.status_code == 302
    assert [m.to for m in sms_outbox] == [*numbers[:3], numbers[4]]


def test_texts_to_a_country_outside_the_eea_stop_at_its_cap_and_nordic_ones_do_not(
    settings, sms_outbox, django_capture_on_commit_callbacks
):
    settings.TEXTS_PER_HOUR = {"address": 100, "country": 2, "total": 100}
    chinese = [f"+861381234567{n}" for n in range(4)]
    swedish = [f"+4670123456{n}" for n in range(4)]
    for number in chinese + swedish:
        UserFactory(phone=number, phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        for number in chinese + swedish:
            ask_for_code(Client(), number)
    assert [m.to for m in sms_outbox] == [*chinese[:2], *swedish]


def test_all_texts_stop_at_the_total_cap(settings, sms_outbox, django_capture_on_commit_callbacks):
    settings.TEXTS_PER_HOUR = {"address": 100, "country": 100, "total": 2}
    numbers = [f"+474123456{n}" for n in range(3)]
    for number in numbers:
        UserFactory(phone=number, phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        for n, number in enumerate(numbers):
            ask_for_code(Client(), number, address=f"203.0.113.{n + 1}")
    assert [m.to for m in sms_outbox] == numbers[:2]
    assert SentText.objects.count() == 2


def test_sign_ups_by_phone_count_their_codes_and_welcomes_against_the_address_cap(
    settings, sms_outbox, django_capture_on_commit_callbacks
):
    settings.TEXTS_PER_HOUR = {"address": 3, "country": 100, "total": 100}
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            Client().post(
                "/accounts/signup/",
                {
                    "full_name": "Li Wei",
                    "phone": f"+47 412 34 56{n}",
                    "password1": "fjord-bike-2026",
                    "password2": "fjord-bike-2026",
                },
                REMOTE_ADDR="203.0.113.7",
            )
    # The first sign-up's code and welcome, the second's code; then nothing.
    assert [m.to for m in sms_outbox] == ["+4741234560", "+4741234560", "+4741234561"]
    assert sorted(SentText.objects.values_list("purpose", flat=True)) == ["code", "code", "welcome"]


def test_a_welcome_text_past_the_cap_is_not_sent(settings, sms_outbox):
    settings.TEXTS_PER_HOUR = {"address": 1, "country": 100, "total": 100}
    first, second = UserFactory(email=None, phone="+4741234560"), UserFactory(email=None, phone="+4741234561")
    send_welcome.apply(args=[first.pk, "203.0.113.7"])
    send_welcome.apply(args=[second.pk, "203.0.113.7"])
    assert [m.to for m in sms_outbox] == ["+4741234560"]


def test_ipv6_requesters_are_counted_by_their_64(settings, sms_outbox, django_capture_on_commit_callbacks):
    settings.TEXTS_PER_HOUR = {"address": 1, "country": 100, "total": 100}
    UserFactory(phone="+4741234560", phone_verified=True)
    UserFactory(phone="+4741234561", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        ask_for_code(Client(), "+4741234560", address="2001:db8:1:2::a")
        ask_for_code(Client(), "+4741234561", address="2001:db8:1:2::b")
    assert [m.to for m in sms_outbox] == ["+4741234560"]
    assert SentText.objects.get().client_address == "2001:db8:1:2::"


# --- what staff see ---------------------------------------------------------------


def test_support_staff_see_this_hours_texts_against_the_caps(client, settings):
    settings.TEXTS_PER_HOUR = {"address": 10, "country": 20, "total": 500}
    SentText.objects.create(country="CN", purpose=SentText.Purpose.CODE, client_address="203.0.113.7")
    SentText.objects.create(country="NO", purpose=SentText.Purpose.CODE, client_address="203.0.113.7")
    agent = UserFactory(is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, agent)
    response = client.get("/admin/accounts/senttext/")
    assert response.status_code == 200
    summary = re.sub(r">\s+<", "><", response.content.decode())
    assert "<td>All texts</td><td>2</td><td>500</td>" in summary
    assert "<td>To CN</td><td>1</td><td>20</td>" in summary
    assert "<td>To NO</td><td>1</td><td>Nordics/EEA: no cap of its own</td>" in summary
    assert "<td>From 203.0.113.7</td><td>2</td><td>10</td>" in summary
    assert client.get("/admin/accounts/senttext/add/").status_code == 403


def test_a_customer_cannot_see_the_texts_sent(client):
    client.force_login(UserFactory())
    response = client.get("/admin/accounts/senttext/")
    assert response.status_code == 403
    assert "All texts" not in response.content.decode()
    assert mail.outbox == []
