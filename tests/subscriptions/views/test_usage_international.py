"""Calls and texts abroad in the usage history: the country, the started
minutes charged and the charge, in the customer's language; the bundle on
the line page counts none of them."""

from __future__ import annotations

import re
from html import unescape

import pytest

from subscriptions.models import InternationalRate
from tests.factories import LineFactory, PlanFactory, UsageRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

UK = "+447911123456"


@pytest.fixture
def uk_rate():
    return InternationalRate.objects.create(
        prefix="4400",  # a prefix of its own, beside the seeded 44
        name_en="United Kingdom",
        name_nb="Storbritannia",
        name_zh_hans="英国",
        per_minute_ore=299,
        per_text_ore=199,
    )


def line_with_a_call_abroad(owner, rate):
    line = LineFactory(owner=owner, number="+4791234567", with_period=PlanFactory(voice_minutes=60))
    period = line.periods.get()
    UsageRecordFactory(
        line=line,
        period=period,
        kind="voice",
        quantity=7 * 60 - 15,
        destination=UK,
        international=True,
        rate=rate,
        out_of_bundle=7 * 60 - 15,
        charge_ore=20_93,
    )
    UsageRecordFactory(line=line, period=period, kind="voice", quantity=120, destination="+4722334455")
    return line


def text_of(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))).replace("\xa0", " ")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Call to United Kingdom", "+44 7911 123456", "6 min 45 s", "charged NOK 20.93", "7 started minutes"]),
        ("nb", ["Samtale til Storbritannia", "+44 7911 123456", "belastet 20,93 kr", "7 påbegynte minutter"]),
        ("zh-hans", ["拨打英国", "+44 7911 123456", "扣费 20.93 克朗", "计费 7 分钟"]),
    ],
)
def test_the_usage_history_shows_a_call_abroad_with_its_charge(client, uk_rate, language, expected):
    customer = UserFactory(language=language)
    line = line_with_a_call_abroad(customer, uk_rate)
    client.force_login(customer)

    page = text_of(client.get(f"/lines/{line.pk}/usage/"))

    for words in expected:
        assert words in page


def test_a_call_in_norway_shows_no_country_and_no_charge(client, uk_rate):
    customer = UserFactory(language="en")
    line = line_with_a_call_abroad(customer, uk_rate)
    client.force_login(customer)

    response = client.get(f"/lines/{line.pk}/usage/")

    rows = re.findall(r'<li class="[^"]*usage-row".*?</li>', response.content.decode(), re.S)
    assert len(rows) == 2
    assert sum("charged" in row for row in rows) == 1
    assert sum("Call to" in row for row in rows) == 1


def test_the_line_page_counts_only_calls_inside_the_bundle(client, uk_rate):
    customer = UserFactory(language="en")
    line = line_with_a_call_abroad(customer, uk_rate)
    client.force_login(customer)

    page = text_of(client.get(f"/lines/{line.pk}/"))

    assert "58 minutes" in page  # 60 in the bundle, 2 used in Norway; the call abroad is outside it


def test_another_customers_usage_history_is_a_404(client, uk_rate):
    line = line_with_a_call_abroad(UserFactory(), uk_rate)
    client.force_login(UserFactory())

    assert client.get(f"/lines/{line.pk}/usage/").status_code == 404
