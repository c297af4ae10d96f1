"""What a call or text to another country costs: Norway and the EU/EEA free,
the rest priced from the rate table by the longest matching prefix, per
started minute and per text, or at the default rate when no rate matches."""

from __future__ import annotations

from datetime import date

import pytest

from subscriptions.international import RateBook, destination_parse, started_minutes
from subscriptions.models import InternationalRate

DAY = date(2026, 12, 4)


def rate(prefix: str, per_minute: int, per_text: int = 199, **dates: date) -> InternationalRate:
    return InternationalRate(
        prefix=prefix,
        name_en=prefix,
        name_nb=prefix,
        name_zh_hans=prefix,
        per_minute_ore=per_minute,
        per_text_ore=per_text,
        **dates,
    )


@pytest.fixture
def book() -> RateBook:
    return RateBook([rate("44", 299), rate("1", 499), rate("1876", 999, 299), rate("86", 149)])


def charge(book: RateBook, kind: str, quantity: int, destination: str, on: date = DAY) -> int | None:
    price = book.price(kind=kind, quantity=quantity, destination=destination, on=on)
    return None if price is None else price.amount_ore


def test_a_call_to_the_uk_is_charged_per_started_minute_at_the_uk_rate(book):
    assert charge(book, "voice", 7 * 60 - 15, "+447911123456") == 7 * 299


@pytest.mark.parametrize(
    "destination",
    [
        "+46701234567",  # Sweden
        "+4791234567",  # Norway
        "91234567",  # Norway, as the network writes a national number
        "4722334455",  # Norway, with the code but no +
        "1881",  # a Norwegian short number
        "+4779021234",  # Svalbard
        "+491701234567",  # Germany
        "+35818123456",  # Åland, inside the EU under Finland's code
        "+262692123456",  # Réunion, an outermost region of the EU
        "+3547701234",  # Iceland (EEA)
    ],
)
def test_calls_and_texts_to_norway_and_the_eu_eea_are_free(book, destination):
    assert charge(book, "voice", 600, destination) is None
    assert charge(book, "sms", 1, destination) is None


@pytest.mark.parametrize(
    "destination",
    ["+447911123456", "00447911123456", "447911123456", "+44 7911 123 456", "+447781123456"],  # the last is Guernsey
)
def test_a_uk_number_written_any_way_is_charged(book, destination):
    assert charge(book, "sms", 1, destination) == 199


@pytest.mark.parametrize(("seconds", "minutes"), [(0, 0), (1, 1), (60, 1), (61, 2), (405, 7), (3600, 60)])
def test_a_call_is_charged_per_started_minute(book, seconds, minutes):
    assert started_minutes(seconds) == minutes
    assert charge(book, "voice", seconds, "+8613812345678") == minutes * 149


def test_texts_are_charged_each(book):
    assert charge(book, "sms", 3, "+14155550123") == 3 * 199


def test_the_longest_matching_prefix_sets_the_price(book):
    assert charge(book, "voice", 60, "+18765551234") == 999  # Jamaica, inside +1
    assert charge(book, "voice", 60, "+14155550123") == 499


def test_a_destination_without_a_rate_is_charged_the_default_rate(book, settings):
    settings.INTERNATIONAL_DEFAULT_RATES_ORE = {"voice": 555, "sms": 222}

    price = book.price(kind="voice", quantity=61, destination="+8801712345678", on=DAY)  # Bangladesh

    assert price is not None
    assert (price.rate, price.units, price.amount_ore) == (None, 2, 2 * 555)
    assert charge(book, "sms", 1, "+8801712345678") == 222


def test_a_rate_applies_only_on_the_days_it_is_valid():
    book = RateBook(
        [
            rate("44", 299, valid_until=date(2026, 12, 31)),
            rate("44", 349, valid_from=date(2027, 1, 1)),
        ]
    )

    assert charge(book, "voice", 60, "+447911123456", on=date(2026, 12, 31)) == 299
    assert charge(book, "voice", 60, "+447911123456", on=date(2027, 1, 1)) == 349


@pytest.mark.parametrize("destination", ["", "Bergen", "+", "abc123"])
def test_a_destination_that_is_not_a_number_is_not_charged(book, destination):
    assert destination_parse(destination) is None
    assert charge(book, "voice", 600, destination) is None


def test_data_is_never_priced_by_destination(book):
    assert charge(book, "data", 1024, "+447911123456") is None
