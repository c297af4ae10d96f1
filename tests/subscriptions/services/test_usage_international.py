"""Calls and texts to other countries in the network's CDR files: charged to
the balance from the rate table once per record, whatever the bundle, and
written out in the reader's language."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from subscriptions.models import InternationalRate, LedgerEntry, LedgerKind, UsageRecord
from subscriptions.selectors.lines import line_ledger
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.usage import cdr_import
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory
from tests.subscriptions.import_files import at, cdr_file

pytestmark = pytest.mark.django_db

UK = "+447911123456"


@pytest.fixture
def line():
    """One minute and one text a month, 100 kr on the balance."""
    line = LineFactory(with_period=PlanFactory(data_mb=1, voice_minutes=1, sms_count=1), number="+4791234567")
    LedgerEntryFactory(line=line, amount_ore=100_00)
    return line


@pytest.fixture(autouse=True)
def uk_rate():
    InternationalRate.objects.filter(prefix="44").delete()
    return InternationalRate.objects.create(
        prefix="44",
        name_en="United Kingdom",
        name_nb="Storbritannia",
        name_zh_hans="英国",
        per_minute_ore=299,
        per_text_ore=199,
    )


def start_of(line):
    return line.periods.get().starts_at


def usage_charges(line) -> dict[str, int]:
    return dict(LedgerEntry.objects.filter(line=line, kind=LedgerKind.USAGE).values_list("reference", "amount_ore"))


def test_a_call_to_the_uk_is_charged_per_started_minute(line):
    content = cdr_file([("uk1", line.number, "voice", at(start_of(line) + timedelta(hours=1)), 7 * 60 - 15, UK)])

    cdr_import(filename="cdr.csv", content=content)

    record = UsageRecord.objects.get()
    assert (record.international, record.rate.prefix, record.charge_ore) == (True, "44", 20_93)
    assert usage_charges(line) == {"cdr:uk1": -20_93}
    assert ledger_balance(line=line) == 100_00 - 20_93


def test_international_calls_are_charged_once_when_the_same_file_is_imported_twice(line):
    start = start_of(line)
    content = cdr_file(
        [
            ("uk1", line.number, "voice", at(start + timedelta(hours=1)), 3 * 60, UK),
            ("uk2", line.number, "sms", at(start + timedelta(hours=2)), 1, UK),
        ]
    )

    first = cdr_import(filename="cdr.csv", content=content)
    second = cdr_import(filename="cdr.csv", content=content)

    assert (first.rows_imported, second.rows_imported, second.rows_duplicate) == (2, 0, 2)
    assert usage_charges(line) == {"cdr:uk1": -3 * 299, "cdr:uk2": -199}
    assert ledger_balance(line=line) == 100_00 - 3 * 299 - 199


def test_calls_to_sweden_and_norway_are_not_charged_abroad(line):
    start = start_of(line)
    content = cdr_file(
        [
            ("se1", line.number, "voice", at(start + timedelta(hours=1)), 60, "+46701234567"),
            ("no1", line.number, "voice", at(start + timedelta(hours=2)), 60, "+4722334455"),
        ]
    )

    cdr_import(filename="cdr.csv", content=content)

    # Sweden spends the bundle's one minute like a Norwegian call; the
    # Norwegian call after it is outside the bundle, at the usual rate.
    assert dict(UsageRecord.objects.values_list("record_id", "international")) == {"se1": False, "no1": False}
    assert dict(UsageRecord.objects.values_list("record_id", "charge_ore")) == {"se1": 0, "no1": 99}


def test_international_usage_spends_none_of_the_bundle(line):
    start = start_of(line)
    first = cdr_file([("uk1", line.number, "voice", at(start + timedelta(hours=1)), 5 * 60, UK)])
    later = cdr_file([("no1", line.number, "voice", at(start + timedelta(hours=2)), 60, "+4722334455")])

    cdr_import(filename="a.csv", content=first)
    cdr_import(filename="b.csv", content=later)

    assert dict(UsageRecord.objects.values_list("record_id", "charge_ore")) == {"uk1": 5 * 299, "no1": 0}
    assert dict(UsageRecord.objects.values_list("record_id", "out_of_bundle")) == {"uk1": 5 * 60, "no1": 0}


def test_an_unrated_destination_is_charged_the_default_rate(line, settings):
    settings.INTERNATIONAL_DEFAULT_RATES_ORE = {"voice": 555, "sms": 222}
    content = cdr_file([("bd1", line.number, "voice", at(start_of(line) + timedelta(hours=1)), 90, "+8801712345678")])

    cdr_import(filename="cdr.csv", content=content)

    record = UsageRecord.objects.get()
    assert (record.international, record.rate, record.charge_ore) == (True, None, 2 * 555)
    with translation.override("en"):
        assert line_ledger(line=line)[0].description == "Call to Bangladesh (+880\u00a01712-345678), 2 min"


def test_a_new_price_applies_from_its_first_day(line, uk_rate):
    uk_rate.valid_until = date(2026, 12, 31)
    uk_rate.save()
    InternationalRate.objects.create(
        prefix="44",
        name_en="UK",
        name_nb="UK",
        name_zh_hans="UK",
        per_minute_ore=349,
        per_text_ore=199,
        valid_from=date(2027, 1, 1),
    )
    content = cdr_file(
        [
            ("old", line.number, "voice", "2026-12-31T23:30:00+01:00", 60, UK),
            ("new", line.number, "voice", "2027-01-01T00:30:00+01:00", 60, UK),
        ]
    )

    cdr_import(filename="cdr.csv", content=content)

    assert dict(UsageRecord.objects.values_list("record_id", "charge_ore")) == {"old": 299, "new": 349}


# How a ledger text writes the number: no-break spaces, so it does not wrap.
UK = "+44\u00a07911\u00a0123456"


@pytest.mark.parametrize(
    ("language", "call", "text"),
    [
        (
            "en",
            "Call to United Kingdom (+44\u00a07911\u00a0123456), 3 min",
            "1 text to United Kingdom (+44\u00a07911\u00a0123456)",
        ),
        (
            "nb",
            "Samtale til Storbritannia (+44\u00a07911\u00a0123456), 3 min",
            "1 SMS til Storbritannia (+44\u00a07911\u00a0123456)",
        ),
        (
            "zh-hans",
            "拨打英国（+44\u00a07911\u00a0123456），3 分钟",
            "发往英国的 1 条短信（+44\u00a07911\u00a0123456）",
        ),
    ],
)
def test_the_charge_reads_in_the_readers_language(line, language, call, text):
    start = start_of(line)
    content = cdr_file(
        [
            ("uk1", line.number, "voice", at(start + timedelta(hours=1)), 150, UK),
            ("uk2", line.number, "sms", at(start + timedelta(hours=2)), 1, UK),
        ]
    )
    cdr_import(filename="cdr.csv", content=content)
    LedgerEntry.objects.filter(reference="cdr:uk1").update(created_at=start + timedelta(hours=1))
    LedgerEntry.objects.filter(reference="cdr:uk2").update(created_at=start + timedelta(hours=2))

    with translation.override(language):
        rows = line_ledger(line=line)

    assert [row.description for row in rows if row.kind == LedgerKind.USAGE] == [text, call]
