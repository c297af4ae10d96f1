"""Two imports of CDR files at the same moment, on PostgreSQL: each record is
stored once and charged once, however the two interleave."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from subscriptions.models import CdrImport, InternationalRate, LedgerEntry, UsageRecord
from subscriptions.services import usage
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.usage import cdr_import
from tests.concurrency import at_once
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def cdr_file(rows: list[tuple[str, str, str, str, int]]) -> bytes:
    lines = ["record_id,msisdn,kind,started_at,quantity"] + [",".join(map(str, row)) for row in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def slow_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each import's transaction open a little after its records are
    written, so the two imports surely overlap."""
    real = usage.ledger_add_many

    def slowly(**kwargs: Any) -> Any:
        time.sleep(0.3)
        return real(**kwargs)

    monkeypatch.setattr(usage, "ledger_add_many", slowly)


def test_two_imports_of_the_same_file_at_once_store_and_charge_each_record_once(slow_commit):
    line = LineFactory(with_period=PlanFactory(data_mb=1, voice_minutes=1, sms_count=1))
    LedgerEntryFactory(line=line, amount_ore=100_00)
    start = line.periods.get().starts_at
    content = cdr_file(
        [(f"r{n}", line.number, "sms", (start + timedelta(minutes=n)).isoformat(), 1) for n in range(20)]
    )

    results = at_once(
        [
            lambda: cdr_import(filename="cdr.csv", content=content),
            lambda: cdr_import(filename="cdr.csv", content=content),
        ]
    )

    assert all(isinstance(result, CdrImport) for result in results), results
    assert sorted((result.rows_imported, result.rows_duplicate) for result in results) == [(0, 20), (20, 0)]
    assert UsageRecord.objects.count() == 20
    # The first text is in the bundle; the other 19 are charged, once each.
    assert LedgerEntry.objects.filter(kind="usage").count() == 19
    assert ledger_balance(line=line) == 100_00 - 19 * 79


def test_one_record_id_sent_for_two_lines_at_once_is_stored_once(slow_commit):
    plan = PlanFactory(data_mb=None, voice_minutes=None, sms_count=0)
    first, second = LineFactory(with_period=plan), LineFactory(with_period=plan)
    start = first.periods.get().starts_at.isoformat()

    results = at_once(
        [
            lambda: cdr_import(filename="a.csv", content=cdr_file([("same", first.number, "sms", start, 1)])),
            lambda: cdr_import(filename="b.csv", content=cdr_file([("same", second.number, "sms", start, 1)])),
        ]
    )

    assert all(isinstance(result, CdrImport) for result in results), results
    assert sorted((result.rows_imported, result.rows_duplicate) for result in results) == [(0, 1), (1, 0)]
    record = UsageRecord.objects.get()
    assert LedgerEntry.objects.get().line_id == record.line_id
    assert LedgerEntry.objects.get().amount_ore == -79


def test_two_files_for_one_line_at_once_spend_its_bundle_one_after_the_other(slow_commit):
    line = LineFactory(with_period=PlanFactory(data_mb=1, voice_minutes=1, sms_count=1))
    start = line.periods.get().starts_at.isoformat()

    results = at_once(
        [
            lambda: cdr_import(filename="a.csv", content=cdr_file([("a1", line.number, "sms", start, 1)])),
            lambda: cdr_import(filename="b.csv", content=cdr_file([("b1", line.number, "sms", start, 1)])),
        ]
    )

    assert all(isinstance(result, CdrImport) for result in results), results
    # One text was in the bundle and the other was not: without the lock on
    # the line both imports would have counted theirs against the same unused bundle.
    assert sorted(UsageRecord.objects.values_list("charge_ore", flat=True)) == [0, 79]
    assert ledger_balance(line=line) == -79


def test_two_imports_of_a_file_of_calls_abroad_at_once_charge_each_call_once(slow_commit):
    InternationalRate.objects.create(
        prefix="44",
        name_en="United Kingdom",
        name_nb="Storbritannia",
        name_zh_hans="英国",
        per_minute_ore=299,
        per_text_ore=199,
    )
    line = LineFactory(with_period=PlanFactory(data_mb=None, voice_minutes=None, sms_count=None))
    LedgerEntryFactory(line=line, amount_ore=100_00)
    start = line.periods.get().starts_at
    rows = [
        f"uk{n},{line.number},voice,{(start + timedelta(minutes=n)).isoformat()},{61 + n},+447911123456"
        for n in range(10)
    ]
    content = ("record_id,msisdn,kind,started_at,quantity,destination\n" + "\n".join(rows) + "\n").encode()

    results = at_once(
        [
            lambda: cdr_import(filename="calls.csv", content=content),
            lambda: cdr_import(filename="calls.csv", content=content),
        ]
    )

    assert all(isinstance(result, CdrImport) for result in results), results
    assert sorted((result.rows_imported, result.rows_duplicate) for result in results) == [(0, 10), (10, 0)]
    # Each call lasted a minute and a few seconds: two started minutes, even on an unlimited plan.
    assert LedgerEntry.objects.filter(kind="usage").count() == 10
    assert ledger_balance(line=line) == 100_00 - 10 * 2 * 299
