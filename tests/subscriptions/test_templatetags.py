"""Money, usage units and moments as the pages show them (the spending
chart: test_spending_chart.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from subscriptions.templatetags.moments import isoformat, moment
from subscriptions.templatetags.money import nok
from subscriptions.templatetags.units import megabytes, usage_amount, usage_record_amount

NBSP = "\xa0"
OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    ("language", "ore", "shown"),
    [
        ("en", 12_345, "NOK 123.45"),
        ("en", 123_456_78, "NOK 123,456.78"),
        ("en", -5_00, "\u2212NOK 5.00"),
        ("en", 0, "NOK 0.00"),
        ("en", 5, "NOK 0.05"),
        ("en", 1_234_567_890_12, "NOK 1,234,567,890.12"),
        ("nb", 123_456_78, "123 456,78 kr"),
        ("nb", -5_00, "\u22125,00 kr"),
        ("nb", 100_000_00, "100 000,00 kr"),
        ("zh-hans", 123_456_78, "123,456.78 克朗"),
        ("zh-hans", 7, "0.07 克朗"),
    ],
)
def test_nok_shows_ore_as_kroner_with_two_decimals(language, ore, shown):
    with translation.override(language):
        assert nok(ore) == shown.replace(" ", NBSP)


def test_nok_uses_the_decimal_comma_in_norwegian():
    with translation.override("nb"):
        assert "123,45" in nok(12_345)


def test_nok_of_nothing_is_empty():
    assert nok(None) == ""


@pytest.mark.parametrize(
    ("kb", "shown"),
    [(512, "0.5 MB"), (50 * 1024, "50.0 MB"), (300 * 1024, "300 MB"), (1536 * 1024, "1.50 GB")],
)
def test_data_is_shown_in_mb_or_gb(kb, shown):
    with translation.override("en"):
        assert usage_amount(kb, "data") == shown


def test_allowance_minutes_are_rounded_down_and_a_call_is_shown_to_the_second():
    with translation.override("en"):
        assert usage_amount(125, "voice") == "2 minutes"
        assert usage_amount(60, "voice") == "1 minute"
        assert usage_record_amount(185, "voice") == "3 min 05 s"


def test_texts_are_counted():
    with translation.override("en"):
        assert usage_amount(1, "sms") == "1 text"
        assert usage_amount(12, "sms") == "12 texts"


def test_a_period_allowance_in_mb_is_shown_like_usage():
    with translation.override("en"):
        assert megabytes(10_240) == "10 GB"
        assert megabytes(None) == ""


# --- moments ----------------------------------------------------------------

MOMENTS = [
    datetime(2026, 11, 22, 13, 5, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    # The night the clocks go back in Oslo, and the one they go forward.
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
]


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
@pytest.mark.parametrize("format_name", ["DATETIME_FORMAT", "SHORT_DATETIME_FORMAT", "DATE_FORMAT", "M"])
def test_moment_writes_what_the_date_filter_writes(language, format_name):
    with translation.override(language), timezone.override(OSLO):
        for value in MOMENTS:
            local = timezone.localtime(value)
            assert moment(local, format_name) == date_filter(local, format_name)
            assert isoformat(local) == date_filter(local, "c")


def test_moment_of_a_month_and_in_words():
    with translation.override("nb"):
        assert moment(date(2026, 11, 1), "YEAR_MONTH_FORMAT") == "november 2026"
    with translation.override("zh-hans"):
        assert moment(date(2026, 11, 1), "YEAR_MONTH_FORMAT") == "2026年11月"


def test_a_page_shows_moments_in_oslo_time():
    rendered = Template("{% load moments %}{{ at|isoformat }} {{ at|moment }}").render(
        Context({"at": datetime(2026, 11, 22, 13, 5, tzinfo=UTC)})
    )
    with translation.override("nb"):
        in_norwegian = Template("{% load moments %}{{ at|moment }}").render(
            Context({"at": datetime(2026, 11, 22, 13, 5, tzinfo=UTC)})
        )

    assert rendered.startswith("2026-11-22T14:05:00+01:00 ")
    assert in_norwegian == "22. november 2026 14:05"


def test_no_moment_is_empty():
    assert moment(None) == isoformat(None) == moment("") == ""
