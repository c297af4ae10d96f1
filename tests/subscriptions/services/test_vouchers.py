"""Vouchers (充值卡), the service: codes made from a cryptographic source and
kept only as keyed hashes, each credited once, every refusal precise and
counted, guessing throttled, batches and codes voided."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.settings.base import DATABASES
from subscriptions.errors import CustomerError
from subscriptions.iccid import luhn_check_digit
from subscriptions.models import (
    AuditEvent,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    PlanKind,
    RedemptionResult,
    ServicePeriod,
    Voucher,
    VoucherAttempt,
    VoucherBatch,
    VoucherStatus,
    VoucherValue,
)
from subscriptions.periods import OSLO
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.lines import line_transition
from subscriptions.services.voucher_codes import (
    code_check_digit_ok,
    code_format,
    code_generate,
    code_hash,
    code_normalize,
)
from subscriptions.services.vouchers import (
    VoucherError,
    oslo_today,
    voucher_batch_create,
    voucher_batch_void,
    voucher_redeem,
    voucher_void,
)
from tests.concurrency import at_once
from tests.factories import LedgerEntryFactory, LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def line(customer):
    return LineFactory(owner=customer, number="+4791234567", with_period=True)


def later(days: int = 90) -> date:
    return oslo_today() + timedelta(days=days)


def amount_batch(by, *, count: int = 3, amount_ore: int = 200_00, expires_on: date | None = None):
    return voucher_batch_create(
        label="Narvesen Oslo S",
        value_kind=VoucherValue.AMOUNT,
        amount_ore=amount_ore,
        plan=None,
        count=count,
        expires_on=expires_on or later(),
        by=by,
    )


def plan_batch(by, plan, *, count: int = 2):
    return voucher_batch_create(
        label="Rema 1000 Grünerløkka",
        value_kind=VoucherValue.PLAN,
        amount_ore=None,
        plan=plan,
        count=count,
        expires_on=later(),
        by=by,
    )


def redeem(user, line, code, *, ip=IP, **kwargs):
    return voucher_redeem(user=user, line=line, code=code, ip_address=ip, **kwargs)


def refused(user, line, code, *, ip=IP, **kwargs) -> VoucherError:
    with pytest.raises(VoucherError) as caught:
        redeem(user, line, code, ip=ip, **kwargs)
    return caught.value


def wrong_codes(count: int) -> list[str]:
    """Distinct codes with a valid check digit, none issued."""
    return [wrong_code(f"{n:015d}0") for n in range(count)]


def wrong_code(code: str) -> str:
    """Another code with a valid check digit, not in any batch."""
    payload = f"{(int(code[:15]) + 1) % 10**15:015d}"
    return payload + luhn_check_digit(payload)


# --- codes ----------------------------------------------------------------------------


def test_a_code_is_sixteen_digits_ending_in_its_luhn_check_digit():
    codes = {code_generate() for _ in range(500)}

    assert len(codes) == 500
    for code in codes:
        assert len(code) == 16 and code.isdigit()
        assert code[-1] == luhn_check_digit(code[:-1])
        assert code_check_digit_ok(code)
    # Leading zeros are kept: every digit position is drawn, not just a number.
    assert {code[0] for code in codes} >= set("0123456789")


def test_a_code_typed_with_spaces_dashes_or_full_width_digits_is_read_as_its_sixteen_digits():
    assert code_normalize("1234 5678 9012 3456") == "1234567890123456"
    assert code_normalize(" 1234-5678–9012\u00a03456 ") == "1234567890123456"
    assert code_normalize("１２３４５６７８９０１２３４５６") == "1234567890123456"
    assert code_normalize("1234 5678 9012 345") is None
    assert code_normalize("1234 5678 9012 345x") is None
    assert code_normalize("12345678901234567") is None


def test_a_code_is_printed_in_groups_of_four():
    assert code_format("1234567890123456") == "1234 5678 9012 3456"


def test_the_hash_is_hmac_sha256_under_the_voucher_key(settings):
    settings.VOUCHER_HASH_KEY = "key-one"
    first = code_hash("1234567890123456")
    settings.VOUCHER_HASH_KEY = "key-two"

    assert first == hmac.new(b"key-one", b"1234567890123456", hashlib.sha256).hexdigest()
    assert code_hash("1234567890123456") != first
    assert code_hash("1234567890123456") != hashlib.sha256(b"1234567890123456").hexdigest()


# --- batches --------------------------------------------------------------------------


def test_a_batch_has_serials_from_one_and_a_distinct_valid_code_for_each(staff):
    batch, codes = amount_batch(staff, count=40)

    assert [serial for serial, _code in codes] == list(range(1, 41))
    assert len({code for _serial, code in codes}) == 40
    assert all(code_check_digit_ok(code) for _serial, code in codes)
    stored = dict(Voucher.objects.filter(batch=batch).values_list("serial", "code_hash"))
    assert stored == {serial: code_hash(code) for serial, code in codes}
    assert set(Voucher.objects.filter(batch=batch).values_list("status", flat=True)) == {VoucherStatus.ACTIVE}
    assert (batch.count, batch.amount_ore, batch.created_by) == (40, 200_00, staff)


def test_no_plaintext_code_is_stored_in_any_column_of_any_table(staff, line):
    _batch, codes = amount_batch(staff, count=25)
    redeem(line.owner, line, code_format(codes[0][1]))
    refused(line.owner, line, codes[0][1])
    needles = {code for _serial, code in codes} | {code_format(code) for _serial, code in codes}

    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (our own table names)
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                found += [(table, needle) for needle in needles if needle in text]

    assert found == []
    assert Voucher.objects.count() == 25


def test_a_drawn_code_already_issued_is_drawn_again(staff, monkeypatch):
    _batch, first = amount_batch(staff, count=1)
    fresh = "000000000000000" + luhn_check_digit("000000000000000")
    draws = iter([first[0][1], fresh])
    monkeypatch.setattr("subscriptions.services.vouchers.code_generate", lambda: next(draws))

    _batch, second = amount_batch(staff, count=1)

    assert second == [(1, fresh)]
    assert Voucher.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": 0}, "A batch has 1 to 10000 codes."),
        ({"count": 10_001}, "A batch has 1 to 10000 codes."),
        ({"amount_ore": 9_99}, "A voucher is worth"),
        ({"amount_ore": 5_000_01}, "A voucher is worth"),
        ({"expires_on": "today"}, "The last valid day must be after today."),
        ({"label": "  "}, "Name the retailer"),
    ],
)
def test_a_batch_that_breaks_a_rule_is_refused_and_nothing_is_made(staff, changes, message):
    arguments = {
        "label": "Narvesen",
        "value_kind": VoucherValue.AMOUNT,
        "amount_ore": 100_00,
        "plan": None,
        "count": 10,
        "expires_on": later(),
        "by": staff,
    }
    arguments.update(changes)
    if arguments["expires_on"] == "today":
        arguments["expires_on"] = oslo_today()

    with pytest.raises(CustomerError, match=message):
        voucher_batch_create(**arguments)

    assert not VoucherBatch.objects.exists()
    assert not Voucher.objects.exists()


def test_a_plan_batch_needs_a_plan_on_sale(staff):
    retired = PlanFactory(code="retired", is_active=False)

    with pytest.raises(CustomerError, match="on sale"):
        plan_batch(staff, retired)


# --- redeeming: credited ------------------------------------------------------------------


def test_an_amount_voucher_credits_the_balance_and_says_the_new_balance(staff, line):
    LedgerEntryFactory(line=line, amount_ore=50_00)
    _batch, codes = amount_batch(staff, amount_ore=200_00)
    serial, code = codes[0]

    redemption = redeem(line.owner, line, code_format(code))

    voucher = Voucher.objects.get(serial=serial)
    assert (voucher.status, voucher.redeemed_by, voucher.line) == (VoucherStatus.REDEEMED, line.owner, line)
    assert voucher.redeemed_at is not None
    entry = LedgerEntry.objects.get(kind=LedgerKind.VOUCHER)
    assert (entry.line, entry.amount_ore, entry.reference) == (line, 200_00, f"voucher:{voucher.pk}")
    assert entry.text == f"Voucher {voucher}"
    assert ledger_balance(line=line) == 250_00
    assert (redemption.voucher, redemption.amount_ore, redemption.balance_ore) == (voucher, 200_00, 250_00)
    assert (
        redemption.message
        == "NOK\xa0200.00 is added to the balance of +47\xa0912\xa034\xa0567. The balance is now NOK\xa0250.00."
    )
    attempt = VoucherAttempt.objects.get()
    assert (attempt.result, attempt.voucher, attempt.user, attempt.line, attempt.ip_address, attempt.channel) == (
        RedemptionResult.CREDITED,
        voucher,
        line.owner,
        line,
        IP,
        "web",
    )
    audit = AuditEvent.objects.get(action="voucher_redeemed")
    assert (audit.line, audit.actor, audit.data["serial"]) == (line, line.owner, str(voucher))


def test_the_ledger_entry_reads_in_the_language_of_whoever_reads_it(staff):
    """The entry keeps what happened, not words: a customer who redeemed in
    Norwegian and later reads in Chinese reads the entry in Chinese."""
    line = LineFactory(owner=UserFactory(language="nb"), with_period=True)
    _batch, codes = amount_batch(staff)

    redeem(line.owner, line, codes[0][1])

    voucher = Voucher.objects.get(serial=1)
    entry = LedgerEntry.objects.get(kind=LedgerKind.VOUCHER)
    assert entry.description == ""
    for language in ("nb", "zh-hans"):
        with translation.override(language):
            expected = gettext("Voucher %(serial)s") % {"serial": voucher}
            assert expected != f"Voucher {voucher}", f"no {language} translation of 'Voucher %(serial)s'"
            assert entry.text == expected


def test_a_plan_voucher_adds_a_period_where_the_current_one_ends(staff, line):
    plan = PlanFactory(code="fjord-month-voucher", name_en="Fjord 10 GB")
    before = line.expires_at
    _batch, codes = plan_batch(staff, plan)

    redemption = redeem(line.owner, line, codes[0][1])

    line.refresh_from_db()
    period = ServicePeriod.objects.get(line=line, source="voucher")
    assert (period.plan, period.starts_at, period.ends_at) == (plan, before, plan.end_of_period_starting(before))
    assert line.expires_at == period.ends_at == redemption.expires_at
    assert redemption.plan == plan
    assert not LedgerEntry.objects.filter(kind=LedgerKind.VOUCHER).exists()
    assert redemption.message.startswith("Fjord 10 GB is added to +47\xa0912\xa034\xa0567. It is now valid until ")


def test_a_plan_voucher_brings_an_expired_line_back_from_now(staff):
    line = LineFactory(with_period=True, with_period__days_ago=40)
    assert line.status == LineStatus.EXPIRED
    plan = PlanFactory(code="fjord-month-voucher")
    _batch, codes = plan_batch(staff, plan)
    now = timezone.now()

    redeem(line.owner, line, codes[0][1], now=now)

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert line.expires_at == plan.end_of_period_starting(now)


def test_a_number_keeping_voucher_on_a_number_keeping_line_says_how_long_the_number_is_kept(staff):
    plan = NumberKeepingPlanFactory(code="keep-quarter-voucher", name_en="Keep my number, 3 months")
    line = LineFactory(kind=PlanKind.NUMBER_KEEPING, number="+4741234567", with_period=plan)
    _batch, codes = plan_batch(staff, plan)

    redemption = redeem(line.owner, line, codes[0][1])

    assert redemption.message.startswith(
        "Keep my number, 3 months is added to +47\xa0412\xa034\xa0567. Your number is now kept until "
    )


def test_the_service_answers_an_sms_too_with_no_ip_address(staff, line):
    _batch, codes = amount_batch(staff)

    redeem(line.owner, line, codes[0][1], ip=None, channel="sms")

    assert VoucherAttempt.objects.get().channel == "sms"
    assert VoucherAttempt.objects.get().ip_address is None


# --- redeeming: refused, and each refusal counted -----------------------------------------


def test_a_code_works_once(staff, line):
    _batch, codes = amount_batch(staff)
    code = codes[0][1]
    redeem(line.owner, line, code)
    other = LineFactory(with_period=True)

    again = refused(line.owner, line, code)
    by_someone_else = refused(other.owner, other, code)

    assert again.result == by_someone_else.result == RedemptionResult.USED
    assert str(again).startswith("You already used this voucher on +47\xa0912\xa034\xa0567 (")
    assert str(by_someone_else) == "This voucher has already been used."
    assert LedgerEntry.objects.filter(kind=LedgerKind.VOUCHER).count() == 1
    assert ledger_balance(line=other) == 0
    assert list(VoucherAttempt.objects.order_by("id").values_list("result", flat=True)) == [
        RedemptionResult.CREDITED,
        RedemptionResult.USED,
        RedemptionResult.USED,
    ]


def test_an_unknown_code_is_refused_and_counted(staff, line):
    _batch, codes = amount_batch(staff)

    error = refused(line.owner, line, wrong_code(codes[0][1]))

    assert error.result == RedemptionResult.UNKNOWN
    assert str(error) == "We do not know this voucher code. Check the 16 digits and try again."
    assert VoucherAttempt.objects.get().result == RedemptionResult.UNKNOWN
    assert VoucherAttempt.objects.get().voucher is None


def test_a_wrong_check_digit_is_unknown_without_looking_the_code_up(staff, line):
    _batch, codes = amount_batch(staff)
    code = codes[0][1]
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)

    with CaptureQueriesContext(connection) as queries:
        error = refused(line.owner, line, mistyped)

    assert error.result == RedemptionResult.UNKNOWN
    assert not [query for query in queries if 'FROM "subscriptions_voucher" ' in query["sql"]]
    assert VoucherAttempt.objects.get().result == RedemptionResult.UNKNOWN
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 3


def test_a_voided_code_and_a_code_of_a_voided_batch_are_refused(staff, line):
    _batch, codes = amount_batch(staff)
    voucher_void(voucher=Voucher.objects.get(serial=1), by=staff, reason="Card stolen from the shop")
    _other, other_codes = amount_batch(staff)
    voucher_batch_void(batch=_other, by=staff, reason="Shop closed")

    single = refused(line.owner, line, codes[0][1])
    of_batch = refused(line.owner, line, other_codes[0][1])

    assert single.result == of_batch.result == RedemptionResult.VOIDED
    assert str(single) == "This voucher has been cancelled and cannot be used. The shop that sold it can help."
    assert ledger_balance(line=line) == 0


def test_a_code_works_through_its_last_valid_day_in_oslo_and_not_after(staff, line):
    last_day = later(30)
    _batch, codes = amount_batch(staff, expires_on=last_day)
    last_minute = datetime(last_day.year, last_day.month, last_day.day, 23, 59, tzinfo=OSLO)
    next_morning = last_minute + timedelta(minutes=1)  # 00:00 in Oslo, still the last day in UTC

    expired = refused(line.owner, line, codes[0][1], now=next_morning)
    redeem(line.owner, line, codes[1][1], now=last_minute)

    assert expired.result == RedemptionResult.EXPIRED
    assert str(expired).startswith("This voucher was valid until ")
    assert str(expired).endswith(" and has expired.")
    assert Voucher.objects.get(serial=1).status == VoucherStatus.ACTIVE
    assert Voucher.objects.get(serial=2).status == VoucherStatus.REDEEMED


def test_a_plan_voucher_of_the_other_kind_of_line_is_refused_and_stays_usable(staff, line):
    keep = NumberKeepingPlanFactory(code="keep-quarter-voucher")
    esim = PlanFactory(code="fjord-month-voucher")
    keeping_line = LineFactory(owner=line.owner, kind=PlanKind.NUMBER_KEEPING, with_period=keep)
    _b1, keep_codes = plan_batch(staff, keep)
    _b2, esim_codes = plan_batch(staff, esim)

    keep_on_esim = refused(line.owner, line, keep_codes[0][1])
    esim_on_keep = refused(line.owner, keeping_line, esim_codes[0][1])
    redeem(line.owner, keeping_line, keep_codes[0][1])

    assert keep_on_esim.result == esim_on_keep.result == RedemptionResult.WRONG_KIND
    assert "number-keeping plan" in str(keep_on_esim)
    assert "eSIM plan" in str(esim_on_keep)
    assert ServicePeriod.objects.filter(source="voucher").get().line == keeping_line


def test_an_amount_voucher_fits_a_number_keeping_line(staff):
    line = LineFactory(kind=PlanKind.NUMBER_KEEPING, with_period=NumberKeepingPlanFactory())
    _batch, codes = amount_batch(staff)

    redeem(line.owner, line, codes[0][1])

    assert ledger_balance(line=line) == 200_00


@pytest.mark.parametrize("status", [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED])
def test_a_line_being_cancelled_takes_no_voucher_and_the_code_is_not_looked_at(staff, line, status):
    _batch, codes = amount_batch(staff)
    line.status = status
    line.save()

    with pytest.raises(CustomerError, match="cannot be used on it") as caught:
        redeem(line.owner, line, codes[0][1])

    assert not isinstance(caught.value, VoucherError)
    assert not VoucherAttempt.objects.exists()
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 3


def test_a_line_cancelled_while_the_code_was_typed_takes_no_voucher(staff, line):
    """The page loaded the line while it was active; the cancellation
    request went through before the code was sent. The line is looked at
    again under its lock, so the stale copy credits nothing."""
    _batch, codes = amount_batch(staff)
    as_loaded = Line.objects.get(pk=line.pk)
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=line.owner, reason="moving home")

    with pytest.raises(CustomerError, match="cannot be used on it"):
        redeem(line.owner, as_loaded, codes[0][1])

    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 3
    assert ledger_balance(line=line) == 0
    assert not LedgerEntry.objects.filter(line=line, kind=LedgerKind.VOUCHER).exists()
    assert not AuditEvent.objects.filter(line=line, action="voucher_redeemed").exists()


# --- the throttle -------------------------------------------------------------------------


def fail(user, line, times, *, ip=IP, now=None):
    for n in range(times):
        refused(user, line, wrong_code(f"{n:015d}0"), ip=ip, now=now)


def test_a_customer_with_five_failures_in_an_hour_is_refused_before_the_code_is_looked_at(staff, line):
    _batch, codes = amount_batch(staff)
    another_line = LineFactory(owner=line.owner, with_period=True)
    start = timezone.now()
    fail(line.owner, line, 3, ip="198.51.100.1", now=start)
    fail(line.owner, another_line, 2, ip="198.51.100.2", now=start + timedelta(minutes=10))

    error = refused(line.owner, another_line, codes[0][1], ip="198.51.100.3", now=start + timedelta(minutes=20))

    assert error.result == RedemptionResult.THROTTLED
    assert str(error) == "Too many wrong voucher codes. Try again in 40 minutes."
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 3
    assert VoucherAttempt.objects.filter(result=RedemptionResult.THROTTLED).get().voucher is None
    # An hour after the third failure, two are left in the window: let in.
    redeem(line.owner, another_line, codes[0][1], ip="198.51.100.3", now=start + timedelta(minutes=61))


def test_being_refused_by_the_throttle_does_not_keep_the_customer_out_longer(staff, line):
    _batch, codes = amount_batch(staff)
    start = timezone.now()
    fail(line.owner, line, 5, now=start)
    for minute in (10, 30, 50):
        refused(line.owner, line, codes[0][1], now=start + timedelta(minutes=minute))

    redeem(line.owner, line, codes[0][1], now=start + timedelta(minutes=61))

    assert VoucherAttempt.objects.filter(result=RedemptionResult.THROTTLED).count() == 3


def test_an_ip_address_with_twenty_failures_in_an_hour_is_refused_for_every_customer(staff):
    _batch, codes = amount_batch(staff)
    for _ in range(5):
        guesser = LineFactory(with_period=True)
        fail(guesser.owner, guesser, 4)
    innocent = LineFactory(with_period=True)

    error = refused(innocent.owner, innocent, codes[0][1])
    redeem(innocent.owner, innocent, codes[0][1], ip="198.51.100.9")

    assert error.result == RedemptionResult.THROTTLED


def test_a_line_with_too_many_failures_is_refused_whoever_tries(staff, line, settings):
    settings.VOUCHER_FAILURES_PER_HOUR = {"user": 100, "ip": 100, "line": 2}
    _batch, codes = amount_batch(staff)
    fail(line.owner, line, 2, ip="198.51.100.1")

    on_the_line = refused(line.owner, line, codes[0][1], ip="198.51.100.2")
    other_line = LineFactory(owner=line.owner, with_period=True)
    redeem(line.owner, other_line, codes[0][1], ip="198.51.100.2")

    assert on_the_line.result == RedemptionResult.THROTTLED


@pytest.mark.django_db(transaction=True)
def test_on_the_embedded_sqlite_twenty_guesses_at_once_check_only_five(line, tmp_path, monkeypatch):
    """The embedded default's database is a SQLite file whose transactions
    begin IMMEDIATE: with the count and the record in one transaction, its
    write lock lets the guesses in one at a time."""
    database = tmp_path / "db.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(database)])
    embedded = {**connections.settings["default"], "NAME": database, "OPTIONS": DATABASES["default"]["OPTIONS"]}
    assert embedded["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    monkeypatch.setitem(connections.settings, "default", embedded)  # for the threads' own connections

    def guess(code: str) -> str:
        try:
            redeem(line.owner, line, code)
        except VoucherError as error:
            return error.result
        return "credited"

    results = at_once([lambda code=code: guess(code) for code in wrong_codes(20)])

    assert Counter(results) == {RedemptionResult.UNKNOWN: 5, RedemptionResult.THROTTLED: 15}
    [recorded] = at_once([lambda: Counter(VoucherAttempt.objects.values_list("result", flat=True))])
    assert recorded == Counter(results)


def test_a_good_redemption_is_not_a_failure(staff, line):
    _batch, codes = amount_batch(staff, count=6)
    fail(line.owner, line, 4)

    for _serial, code in codes[:3]:
        redeem(line.owner, line, code)

    assert ledger_balance(line=line) == 600_00


# --- voiding ------------------------------------------------------------------------------


def test_voiding_a_batch_voids_its_unused_codes_and_leaves_the_redeemed_ones(staff, line):
    batch, codes = amount_batch(staff, count=4)
    redeem(line.owner, line, codes[0][1])

    voided = voucher_batch_void(batch=batch, by=staff, reason="The shop lost the cards")

    batch.refresh_from_db()
    assert voided == 3
    assert (batch.voided_by, batch.void_reason) == (staff, "The shop lost the cards")
    assert batch.voided_at is not None
    statuses = dict(Voucher.objects.values_list("serial", "status"))
    assert statuses == {1: "redeemed", 2: "voided", 3: "voided", 4: "voided"}
    assert ledger_balance(line=line) == 200_00


def test_a_batch_is_voided_once_and_only_with_a_reason(staff):
    batch, _codes = amount_batch(staff)

    with pytest.raises(CustomerError, match="Say why"):
        voucher_batch_void(batch=batch, by=staff, reason=" ")
    voucher_batch_void(batch=batch, by=staff, reason="Shop closed")
    with pytest.raises(CustomerError, match="already voided"):
        voucher_batch_void(batch=batch, by=staff, reason="Again")


def test_voiding_one_code_keeps_who_and_why_in_its_history(staff):
    _batch, _codes = amount_batch(staff)
    voucher = Voucher.objects.get(serial=2)

    voucher_void(voucher=voucher, by=staff, reason="Card stolen from the shop")

    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.VOIDED
    assert voucher.voided_at is not None
    entry = LogEntry.objects.get(object_id=str(voucher.pk))
    assert (entry.user, entry.change_message) == (staff, "Voided: Card stolen from the shop")
    assert Voucher.objects.filter(status=VoucherStatus.ACTIVE).count() == 2


def test_a_redeemed_code_cannot_be_voided(staff, line):
    _batch, codes = amount_batch(staff)
    redeem(line.owner, line, codes[0][1])

    with pytest.raises(CustomerError, match="already redeemed"):
        voucher_void(voucher=Voucher.objects.get(serial=1), by=staff, reason="Too late")

    assert Voucher.objects.get(serial=1).status == VoucherStatus.REDEEMED
