"""CDR files from the network: usage records attached to their period, the
part outside the bundle charged to the prepaid balance once, malformed rows
reported, and a re-import adding nothing."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscriptions.csv_files import UnreadableCsvFile
from subscriptions.models import CdrImport, LedgerEntry, LedgerKind, ServicePeriod, UsageRecord
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.usage import cdr_import
from tests.factories import LedgerEntryFactory, LineFactory, PlanFactory, UsageRecordFactory
from tests.subscriptions.import_files import CDR_COLUMNS, at, cdr_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_plan():
    """1 MB, 1 minute and 1 text a month."""
    return PlanFactory(data_mb=1, voice_minutes=1, sms_count=1)


@pytest.fixture
def line(small_plan):
    line = LineFactory(with_period=small_plan, number="+4791234567")
    LedgerEntryFactory(line=line, amount_ore=100_00)
    return line


def charges(line) -> dict[str, int]:
    return dict(LedgerEntry.objects.filter(line=line, kind=LedgerKind.USAGE).values_list("reference", "amount_ore"))


def test_records_are_imported_and_attached_to_the_period_that_contains_them(line, small_plan):
    first = line.periods.get()
    second = ServicePeriod.objects.create(
        line=line, plan=small_plan, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(days=30)
    )
    content = cdr_file(
        [
            ("r1", "+4791234567", "data", at(first.starts_at + timedelta(hours=1)), 10, ""),
            ("r2", "+4791234567", "voice", "2030-01-01T12:00:00+01:00", 5, "+4722334455"),
            ("r3", "+4791234567", "sms", at(first.ends_at), 1, "+4790000000"),  # the end belongs to the next one
        ]
    )

    result = cdr_import(filename="cdr-0001.csv", content=content)

    assert (result.rows_total, result.rows_imported, result.rows_duplicate, result.rows_rejected) == (3, 3, 0, 0)
    assert result.report == ""
    records = {record.record_id: record for record in UsageRecord.objects.all()}
    assert records["r1"].period == first
    assert records["r2"].period is None
    assert records["r3"].period == second
    assert records["r2"].occurred_at == datetime.fromisoformat("2030-01-01T11:00:00+00:00")
    assert (records["r2"].kind, records["r2"].quantity, records["r2"].destination) == ("voice", 5, "+4722334455")
    assert {record.line_id for record in records.values()} == {line.pk}
    assert {record.cdr_import_id for record in records.values()} == {result.pk}


def test_out_of_bundle_use_is_charged_from_the_point_the_allowance_runs_out(line):
    start = line.periods.get().starts_at
    rows = [
        ("d1", "+4791234567", "data", at(start + timedelta(minutes=1)), 1000, ""),  # 24 KB of the MB left
        ("d2", "+4791234567", "data", at(start + timedelta(minutes=2)), 100, ""),  # 76 KB out: 1 started MB
        ("d3", "+4791234567", "data", at(start + timedelta(minutes=3)), 2049, ""),  # 3 started MB
        ("v1", "+4791234567", "voice", at(start + timedelta(minutes=4)), 45, ""),  # in the minute
        ("v2", "+4791234567", "voice", at(start + timedelta(minutes=5)), 30, ""),  # 15 s out: 1 started minute
        ("v3", "+4791234567", "voice", at(start + timedelta(minutes=6)), 61, ""),  # 2 started minutes
        ("s1", "+4791234567", "sms", at(start + timedelta(minutes=7)), 1, ""),  # the one text
        ("s2", "+4791234567", "sms", at(start + timedelta(minutes=8)), 3, ""),  # 3 texts out
    ]

    cdr_import(filename="cdr.csv", content=cdr_file(rows))

    records = {record.record_id: (record.out_of_bundle, record.charge_ore) for record in UsageRecord.objects.all()}
    assert records == {
        "d1": (0, 0),
        "d2": (76, 50),
        "d3": (2049, 150),
        "v1": (0, 0),
        "v2": (15, 99),
        "v3": (61, 198),
        "s1": (0, 0),
        "s2": (3, 237),
    }
    assert charges(line) == {"cdr:d2": -50, "cdr:d3": -150, "cdr:v2": -99, "cdr:v3": -198, "cdr:s2": -237}
    assert ledger_balance(line=line) == 100_00 - 734


def test_usage_already_recorded_in_the_period_counts_against_the_bundle(line):
    period = line.periods.get()
    UsageRecordFactory(line=line, period=period, kind="data", quantity=1020, occurred_at=period.starts_at)
    content = cdr_file([("d9", "+4791234567", "data", at(period.starts_at + timedelta(hours=1)), 10, "")])

    cdr_import(filename="cdr.csv", content=content)

    assert UsageRecord.objects.values_list("out_of_bundle", "charge_ore").get(record_id="d9") == (6, 50)


def test_the_bundle_is_spent_in_time_order_whatever_the_order_of_the_rows(line):
    start = line.periods.get().starts_at
    content = cdr_file(
        [
            ("later", "+4791234567", "data", at(start + timedelta(hours=2)), 1024, ""),
            ("earlier", "+4791234567", "data", at(start + timedelta(hours=1)), 1024, ""),
        ]
    )

    cdr_import(filename="cdr.csv", content=content)

    assert dict(UsageRecord.objects.values_list("record_id", "out_of_bundle")) == {"earlier": 0, "later": 1024}


def test_an_unlimited_allowance_never_charges():
    line = LineFactory(with_period=PlanFactory(data_mb=None, voice_minutes=None, sms_count=None))
    start = line.periods.get().starts_at
    content = cdr_file(
        [
            ("u1", line.number, "data", at(start + timedelta(hours=1)), 500 * 1024 * 1024, ""),
            ("u2", line.number, "voice", at(start + timedelta(hours=2)), 3 * 3600, ""),
            ("u3", line.number, "sms", at(start + timedelta(hours=3)), 500, ""),
        ]
    )

    cdr_import(filename="cdr.csv", content=content)

    assert set(UsageRecord.objects.values_list("out_of_bundle", "charge_ore")) == {(0, 0)}
    assert not LedgerEntry.objects.exists()


def test_an_expired_line_pays_for_all_of_its_usage(small_plan):
    line = LineFactory(with_period=small_plan, with_period__days_ago=60)
    assert line.expires_at < timezone.now()
    content = cdr_file([("x1", line.number, "data", at(timezone.now() - timedelta(hours=1)), 1025, "")])

    cdr_import(filename="cdr.csv", content=content)

    record = UsageRecord.objects.get()
    assert (record.period, record.out_of_bundle, record.charge_ore) == (None, 1025, 100)
    assert ledger_balance(line=line) == -100


def test_importing_the_same_file_again_adds_nothing_and_charges_nothing(line):
    start = line.periods.get().starts_at
    content = cdr_file(
        [(f"r{n}", "+4791234567", "data", at(start + timedelta(minutes=n)), 700, "") for n in range(5)]
        + [("bad", "+4791234567", "fax", at(start), 1, "")]
    )
    first = cdr_import(filename="cdr.csv", content=content)
    balance = ledger_balance(line=line)
    entries = LedgerEntry.objects.count()

    again = cdr_import(filename="cdr.csv", content=content)

    assert (first.rows_imported, first.rows_duplicate, first.rows_rejected) == (5, 0, 1)
    assert (again.rows_imported, again.rows_duplicate, again.rows_rejected) == (0, 5, 1)
    assert UsageRecord.objects.count() == 5
    assert set(UsageRecord.objects.values_list("cdr_import", flat=True)) == {first.pk}
    assert LedgerEntry.objects.count() == entries
    assert ledger_balance(line=line) == balance < 100_00


def test_a_record_repeated_in_a_file_is_imported_once(line):
    start = line.periods.get().starts_at
    row = ("r1", "+4791234567", "sms", at(start + timedelta(hours=1)), 2, "")

    result = cdr_import(filename="cdr.csv", content=cdr_file([row, row]))

    assert (result.rows_imported, result.rows_duplicate) == (1, 1)
    assert charges(line) == {"cdr:r1": -79}


def test_malformed_rows_are_reported_by_row_while_the_good_rows_are_imported(line):
    start = at(line.periods.get().starts_at + timedelta(hours=1))
    content = cdr_file(
        [
            ("ok1", "+4791234567", "data", start, 10, ""),
            ("r2", "+4799999999", "data", start, 10, ""),
            ("r3", "+4791234567", "fax", start, 10, ""),
            ("r4", "+4791234567", "voice", "2026-13-01T00:00:00Z", 10, ""),
            ("r5", "+4791234567", "voice", "2026-11-01T12:00:00", 10, ""),
            ("r6", "+4791234567", "sms", start, -1, ""),
            ("r7", "+4791234567", "sms", start, "1.5", ""),
            ("r8", "", "sms", start, "", ""),
            ("r9", "call me", "sms", start, 1, ""),
            ("ok2", "4791234567", "SMS", start, 1, ""),
        ]
    )

    result = cdr_import(filename="cdr.csv", content=content)

    assert (result.rows_total, result.rows_imported, result.rows_rejected) == (10, 2, 8)
    assert set(UsageRecord.objects.values_list("record_id", flat=True)) == {"ok1", "ok2"}
    assert result.report.splitlines() == [
        "Row 3: No line has this number.",
        "Row 4: Unknown kind: it must be data, voice or sms.",
        "Row 5: The start time is not an ISO 8601 time.",
        "Row 6: The start time has no UTC offset (add Z or +01:00).",
        "Row 7: The quantity may not be negative.",
        "Row 8: The quantity must be a whole number.",
        "Row 9: Missing msisdn, quantity.",
        "Row 10: The MSISDN is not a phone number.",
    ]


@pytest.mark.parametrize("msisdn", ["+4791234567", "4791234567", "004791234567", "91234567", "+47 912 34 567"])
def test_a_number_in_any_of_the_networks_forms_finds_its_line(line, msisdn):
    start = at(line.periods.get().starts_at + timedelta(hours=1))
    cdr_import(filename="cdr.csv", content=cdr_file([("r1", msisdn, "sms", start, 1, "")]))
    assert UsageRecord.objects.get().line == line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (cdr_file([("r1", "+4791234567", "sms", "2026-11-01T12:00:00Z", 1)], columns=CDR_COLUMNS[:4]), "quantity"),
        ("record_id,msisdn,kind,started_at,quantity\nø".encode("latin-1"), "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_saves_nothing(line, content, message):
    with pytest.raises(UnreadableCsvFile, match=message):
        cdr_import(filename="cdr.csv", content=content)
    assert not CdrImport.objects.exists()
    assert not UsageRecord.objects.exists()


@pytest.mark.parametrize("rows", [10, 1000])
def test_the_number_of_queries_does_not_grow_with_the_rows(django_assert_max_num_queries, small_plan, rows):
    lines = [LineFactory(with_period=small_plan) for _ in range(3)]
    start = lines[0].periods.get().starts_at
    content = cdr_file(
        [
            (f"r{n}", lines[n % 3].number, ("data", "voice", "sms")[n % 3], at(start + timedelta(seconds=n)), 100, "")
            for n in range(rows)
        ]
    )

    with CaptureQueriesContext(connection) as queries:
        result = cdr_import(filename="cdr.csv", content=content)

    assert result.rows_imported == rows
    reads = [query for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    # lines, their locks, existing records, periods, usage so far, the rate table, ledger references,
    # balances under an alert
    assert len(reads) == 8
    # Inserts come in batches: SQLite takes 999 parameters in a statement.
    with django_assert_max_num_queries(12 + 2 * -(-rows // 90)):
        cdr_import(filename="cdr-2.csv", content=content.replace(b"\nr", b"\nnew-r"))


def test_the_command_prints_a_summary_and_the_rejected_rows_of_each_file(line, tmp_path):
    start = at(line.periods.get().starts_at + timedelta(hours=1))
    good = tmp_path / "cdr-1.csv"
    good.write_bytes(cdr_file([("r1", "+4791234567", "sms", start, 1, ""), ("r2", "+4791234567", "fax", start, 1, "")]))
    out = StringIO()

    call_command("import_cdr", str(good), str(good), stdout=out)

    assert out.getvalue().splitlines() == [
        f"{good}: 2 rows, 1 imported, 0 already imported, 1 rejected",
        "  Row 3: Unknown kind: it must be data, voice or sms.",
        f"{good}: 2 rows, 0 imported, 1 already imported, 1 rejected",
        "  Row 3: Unknown kind: it must be data, voice or sms.",
    ]


def test_the_command_fails_when_a_file_cannot_be_read_and_still_imports_the_others(line, tmp_path):
    start = at(line.periods.get().starts_at + timedelta(hours=1))
    good = tmp_path / "cdr-1.csv"
    good.write_bytes(cdr_file([("r1", "+4791234567", "sms", start, 1, "")]))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 file"):
        call_command("import_cdr", str(tmp_path / "missing.csv"), str(good), stdout=out, stderr=err)

    assert "missing.csv: not imported: No such file or directory" in err.getvalue()
    assert UsageRecord.objects.count() == 1
