"""The international rate table in the admin: a supervisor adds and changes
rates (the form says what is wrong), an agent only looks, search finds a
rate by its code written any way, and a rate that has charged usage keeps
its prices."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import Group

from subscriptions.models import InternationalRate
from tests.factories import UsageRecordFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

RATES = "/admin/subscriptions/internationalrate/"


def staff_in(client, group_name):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


def rate_form(**changes: Any) -> dict[str, Any]:
    """The add form as a supervisor fills it in: Brazil."""
    form: dict[str, Any] = {
        "prefix": "55",
        "name_en": "Brazil",
        "name_nb": "Brasil",
        "name_zh_hans": "巴西",
        "per_minute_ore": "399",
        "per_text_ore": "199",
        "valid_from": "",
        "valid_until": "",
    }
    form.update(changes)
    return form


def errors(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", item) for item in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S)
    ]


def uk() -> InternationalRate:
    return InternationalRate.objects.get(prefix="44", valid_from=None)


def test_a_supervisor_adds_a_rate(client):
    staff_in(client, "Supervisor")

    response = client.post(f"{RATES}add/", rate_form(prefix="+55"))

    assert response.status_code == 302, errors(response.content.decode())
    rate = InternationalRate.objects.get(prefix="55")
    assert (rate.name_nb, rate.per_minute_ore, rate.per_text_ore) == ("Brasil", 399, 199)


def test_a_supervisor_changes_a_price_of_a_rate_not_yet_used(client):
    staff_in(client, "Supervisor")
    rate = uk()
    form = rate_form(
        prefix="44", name_en="United Kingdom", name_nb="Storbritannia", name_zh_hans="英国", per_minute_ore="249"
    )

    response = client.post(f"{RATES}{rate.pk}/change/", form)

    assert response.status_code == 302, errors(response.content.decode())
    rate.refresh_from_db()
    assert rate.per_minute_ore == 249


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"prefix": "46"}, "Calls and texts to Norway and the EU/EEA are free: they need no rate."),
        ({"prefix": "47"}, "Calls and texts to Norway and the EU/EEA are free: they need no rate."),
        ({"prefix": "0"}, "This does not start with a country calling code."),
        ({"prefix": "999"}, "This does not start with a country calling code."),
        ({"prefix": "abc"}, "Digits only, without + or 00, e.g. 44."),
        ({"per_minute_ore": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"valid_from": "2027-02-01", "valid_until": "2027-01-01"}, "The end must come after the start."),
        ({"prefix": "44"}, "Another rate for this calling code is valid on some of these days: end it the day before."),
    ],
)
def test_the_form_says_what_is_wrong(client, changes, error):
    staff_in(client, "Supervisor")

    response = client.post(f"{RATES}add/", rate_form(**changes))

    assert response.status_code == 200
    assert error in " ".join(errors(response.content.decode()))
    assert not InternationalRate.objects.filter(prefix="55").exists()


def test_a_new_price_from_a_date_is_added_beside_the_old_one_ended_the_day_before(client):
    staff_in(client, "Supervisor")
    InternationalRate.objects.filter(pk=uk().pk).update(valid_until=date(2026, 12, 31))

    response = client.post(f"{RATES}add/", rate_form(prefix="44", per_minute_ore="349", valid_from="2027-01-01"))

    assert response.status_code == 302, errors(response.content.decode())
    assert list(InternationalRate.objects.filter(prefix="44").values_list("per_minute_ore", flat=True)) == [299, 349]


def test_a_rate_that_has_charged_usage_keeps_its_prices_and_cannot_be_deleted(client):
    staff_in(client, "Supervisor")
    rate = uk()
    UsageRecordFactory(
        kind="voice", quantity=60, destination="+447911123456", international=True, rate=rate, charge_ore=299
    )

    page = client.get(f"{RATES}{rate.pk}/change/").content.decode()
    client.post(f"{RATES}{rate.pk}/change/", rate_form(prefix="44", per_minute_ore="1", valid_until="2026-12-31"))

    assert 'name="per_minute_ore"' not in page
    assert client.get(f"{RATES}{rate.pk}/delete/").status_code == 403
    rate.refresh_from_db()
    assert (rate.per_minute_ore, rate.valid_until) == (299, date(2026, 12, 31))


@pytest.mark.parametrize("term", ["44", "+44", "0044", "kingdom", "Storbritannia", "英国"])
def test_search_finds_a_rate_by_its_code_or_name(client, term):
    staff_in(client, "Support agent")

    page = client.get(RATES, {"q": term}).content.decode()

    assert "United Kingdom" in page
    assert "Thailand" not in page


def test_an_agent_looks_but_does_not_change(client):
    staff_in(client, "Support agent")
    rate = uk()

    assert client.get(RATES).status_code == 200
    assert client.get(f"{RATES}add/").status_code == 403
    client.post(f"{RATES}{rate.pk}/change/", rate_form(prefix="44", per_minute_ore="1"))
    rate.refresh_from_db()
    assert rate.per_minute_ore == 299
