"""Reads for the customer's pages: right figures, and a fixed number of
queries whatever the amount of data."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from subscriptions.models import LedgerKind, LineStatus, PlanPeriod, ServicePeriod, UsageKind
from subscriptions.selectors import (
    Allowance,
    dashboard_lines,
    line_detail,
    line_ledger,
    line_spending_by_month,
    line_usage_page,
    month_bounds,
)
from subscriptions.services.lines import line_add_period
from tests.factories import (
    LedgerEntryFactory,
    LineFactory,
    NumberKeepingPlanFactory,
    PlanFactory,
    UsageRecordFactory,
    UserFactory,
    usage_bulk_create,
)

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
UTC = ZoneInfo("UTC")
MB = 1024  # KB


def current_period(line):
    now = timezone.now()
    return ServicePeriod.objects.get(line=line, starts_at__lte=now, ends_at__gt=now)


def usage(line, kind=UsageKind.DATA, quantity=MB, *, at=None, period=True, charge_ore=0):
    return UsageRecordFactory(
        line=line,
        period=current_period(line) if period is True else period,
        kind=kind,
        quantity=quantity,
        occurred_at=at or timezone.now() - timedelta(hours=1),
        charge_ore=charge_ore,
    )


def bulk_usage(line, count, *, start=None, kind=UsageKind.DATA):
    start = start or timezone.now() - timedelta(days=1)
    usage_bulk_create(line, count, kind=kind, quantity=10, start=start, step=timedelta(seconds=1))


def line_with_data(owner, **kwargs):
    line = LineFactory(owner=owner, with_period=True, **kwargs)
    usage(line)
    usage(line, UsageKind.VOICE, 120)
    LedgerEntryFactory(line=line, amount_ore=100_00)
    LedgerEntryFactory(line=line, kind=LedgerKind.USAGE, amount_ore=-12_50)
    return line


def count_queries(function, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        result = function(**kwargs)
    return len(queries), result


# --- dashboard_lines --------------------------------------------------------


def test_dashboard_uses_one_query_for_one_line_and_for_twenty():
    one, many = UserFactory(), UserFactory()
    line_with_data(one)
    for _ in range(20):
        line_with_data(many)

    queries_one, cards_one = count_queries(dashboard_lines, user=one)
    queries_many, cards_many = count_queries(dashboard_lines, user=many)

    assert (len(cards_one), len(cards_many)) == (1, 20)
    assert queries_one == queries_many == 1


def test_dashboard_query_count_does_not_grow_with_ten_thousand_usage_records(django_assert_num_queries):
    few, lots = UserFactory(), UserFactory()
    bulk_usage(LineFactory(owner=few, with_period=True), 10)
    bulk_usage(LineFactory(owner=lots, with_period=True), 10_000)

    with django_assert_num_queries(1):
        [few_card] = dashboard_lines(user=few)
    with django_assert_num_queries(1):
        [lots_card] = dashboard_lines(user=lots)

    assert few_card.allowances[0].used == 10 * 10
    assert lots_card.allowances[0].used == 10_000 * 10


def test_dashboard_shows_only_the_customers_own_lines():
    mine = LineFactory(with_period=True)
    LineFactory(with_period=True)

    assert [card.line_id for card in dashboard_lines(user=mine.owner)] == [mine.pk]


def test_each_card_has_its_own_lines_usage_and_balance():
    owner = UserFactory()
    first, second = LineFactory(owner=owner, with_period=True), LineFactory(owner=owner, with_period=True)
    usage(first, UsageKind.DATA, 7 * MB)
    usage(second, UsageKind.DATA, 2 * MB)
    usage(second, UsageKind.SMS, 4)
    LedgerEntryFactory(line=first, amount_ore=30_00)
    LedgerEntryFactory(line=first, amount_ore=-5_00)
    LedgerEntryFactory(line=second, amount_ore=80_00)

    cards = {card.line_id: card for card in dashboard_lines(user=owner)}

    assert [allowance.used for allowance in cards[first.pk].allowances] == [7 * MB, 0, 0]
    assert [allowance.used for allowance in cards[second.pk].allowances] == [2 * MB, 0, 4]
    assert (cards[first.pk].balance_ore, cards[second.pk].balance_ore) == (25_00, 80_00)


def test_dashboard_leaves_out_quarantined_numbers():
    line = LineFactory(status=LineStatus.QUARANTINED)

    assert dashboard_lines(user=line.owner) == []


def test_the_card_carries_number_kind_plan_status_and_expiry():
    plan = PlanFactory(name_en="Fjord 10 GB")
    line = LineFactory(number="+4791234567", with_period=plan)

    [card] = dashboard_lines(user=line.owner)

    assert card.number == "+4791234567"
    assert card.number_display == "+47 912 34 567"
    assert card.kind == "esim"
    assert card.plan_name == "Fjord 10 GB"
    assert card.status == LineStatus.ACTIVE
    assert card.expires_at == line.expires_at
    # A month started ten days ago: whole days left, rounded up.
    assert card.days_left == math.ceil((line.expires_at - timezone.now()).total_seconds() / 86_400)
    assert 18 <= card.days_left <= 22


def test_remaining_allowance_is_what_the_period_includes_minus_what_was_used():
    plan = PlanFactory(data_mb=1024, voice_minutes=100, sms_count=50)
    line = LineFactory(with_period=plan)
    usage(line, UsageKind.DATA, 200 * MB)
    usage(line, UsageKind.DATA, 100 * MB)
    usage(line, UsageKind.VOICE, 125)
    usage(line, UsageKind.SMS, 3)

    [card] = dashboard_lines(user=line.owner)
    data, voice, sms = card.allowances

    assert (data.kind, data.included, data.used, data.remaining) == ("data", 1024 * MB, 300 * MB, 724 * MB)
    assert (voice.included, voice.used, voice.remaining) == (6000, 125, 5875)
    assert (sms.included, sms.used, sms.remaining) == (50, 3, 47)
    assert data.remaining_percent == 71


def test_usage_of_another_period_does_not_count_against_the_current_one():
    line = LineFactory(with_period=True)
    old = ServicePeriod.objects.create(
        line=line,
        plan=current_period(line).plan,
        starts_at=timezone.now() - timedelta(days=60),
        ends_at=current_period(line).starts_at,
    )
    usage(line, UsageKind.DATA, 500 * MB, period=old, at=timezone.now() - timedelta(days=40))
    usage(line, UsageKind.DATA, 5 * MB)

    [card] = dashboard_lines(user=line.owner)

    assert card.allowances[0].used == 5 * MB


def test_remaining_never_goes_below_zero():
    line = LineFactory(with_period=PlanFactory(sms_count=10))
    usage(line, UsageKind.SMS, 14)

    [card] = dashboard_lines(user=line.owner)
    sms = card.allowances[2]

    assert (sms.used, sms.remaining, sms.remaining_percent) == (14, 0, 0)


def test_an_unlimited_allowance_has_no_remaining_figure():
    line = LineFactory(with_period=PlanFactory(data_mb=None, voice_minutes=None, sms_count=None))
    usage(line, UsageKind.DATA, 50_000 * MB)

    [card] = dashboard_lines(user=line.owner)

    assert all(allowance.unlimited for allowance in card.allowances)
    assert card.allowances[0].remaining is None
    assert card.allowances[0].used == 50_000 * MB


def test_an_allowance_of_zero_is_not_included_rather_than_unlimited():
    allowance = Allowance(UsageKind.VOICE, included=0, used=0)

    assert allowance.not_included and not allowance.unlimited
    assert allowance.remaining_percent is None


def test_a_number_keeping_line_shows_days_left_but_no_allowances():
    line = LineFactory(kind="number_keeping", with_period=NumberKeepingPlanFactory(), with_period__days_ago=30)

    [card] = dashboard_lines(user=line.owner)

    assert card.is_number_keeping
    assert card.allowances == []
    assert card.plan_name == "Keep my number, 3 months"
    assert card.days_left is not None and 58 <= card.days_left <= 63


def test_the_balance_is_the_sum_of_each_lines_ledger():
    owner = UserFactory()
    first, second, empty = (LineFactory(owner=owner, with_period=True) for _ in range(3))
    for amount in (100_00, -25_50, 10_00):
        LedgerEntryFactory(line=first, amount_ore=amount)
    LedgerEntryFactory(line=second, amount_ore=-5_00)

    cards = {card.line_id: card for card in dashboard_lines(user=owner)}

    assert cards[first.pk].balance_ore == 84_50
    assert cards[second.pk].balance_ore == -5_00
    assert cards[empty.pk].balance_ore == 0


# The warning covers the last fifth of the plan's period, at most 7 days:
# (plan period, time before expiry still quiet, time before expiry warned).
NEAR_EXPIRY_CASES = [
    (PlanPeriod.DAY, timedelta(hours=5), timedelta(hours=4, minutes=45)),
    (PlanPeriod.WEEK, timedelta(days=1, hours=10), timedelta(days=1, hours=9)),
    (PlanPeriod.MONTH, timedelta(days=6, hours=12), timedelta(days=5, hours=12)),
    (PlanPeriod.QUARTER, timedelta(days=7, hours=1), timedelta(days=6, hours=23)),
    (PlanPeriod.YEAR, timedelta(days=7, hours=1), timedelta(days=6, hours=23)),
]


@pytest.mark.parametrize(("period", "quiet", "warned"), NEAR_EXPIRY_CASES)
def test_the_near_expiry_warning_covers_the_last_fifth_of_the_plan_at_most_a_week(period, quiet, warned):
    line = LineFactory(with_period=PlanFactory(period=period), with_period__days_ago=0)

    [before] = dashboard_lines(user=line.owner, now=line.expires_at - quiet)
    [after] = dashboard_lines(user=line.owner, now=line.expires_at - warned)

    assert not before.near_expiry and not before.needs_attention
    assert after.near_expiry and after.needs_attention and not after.expired


@pytest.mark.parametrize(("period", "quiet", "warned"), NEAR_EXPIRY_CASES)
def test_the_line_page_warns_by_the_same_rule_as_the_dashboard(period, quiet, warned):
    line = LineFactory(with_period=PlanFactory(period=period), with_period__days_ago=0)

    before = line_detail(user=line.owner, line_id=line.pk, now=line.expires_at - quiet).card
    after = line_detail(user=line.owner, line_id=line.pk, now=line.expires_at - warned).card

    assert not before.near_expiry
    assert after.near_expiry


def test_a_day_plan_bought_a_moment_ago_is_not_near_expiry():
    line = LineFactory(with_period=PlanFactory(period=PlanPeriod.DAY), with_period__days_ago=0)

    [card] = dashboard_lines(user=line.owner)

    assert card.days_left == 1
    assert not card.near_expiry


def test_a_week_plan_renewed_ahead_warns_by_the_last_period_only():
    line = LineFactory(with_period=PlanFactory(period=PlanPeriod.MONTH), with_period__days_ago=27)
    line_add_period(line=line, plan=PlanFactory(period=PlanPeriod.WEEK), by=None)
    line.refresh_from_db()

    [now] = dashboard_lines(user=line.owner)
    [last_day] = dashboard_lines(user=line.owner, now=line.expires_at - timedelta(days=1))

    assert now.days_left is not None and now.days_left > 7
    assert not now.near_expiry
    assert last_day.near_expiry


def test_a_line_with_more_than_seven_days_left_needs_no_attention():
    line = LineFactory(with_period=True)

    [card] = dashboard_lines(user=line.owner)

    assert not (card.near_expiry or card.expired or card.low_balance or card.needs_attention)


def test_an_expired_line_is_expired_and_not_near_expiry():
    line = LineFactory(with_period=True, with_period__days_ago=40)
    assert line.status == LineStatus.EXPIRED

    [card] = dashboard_lines(user=line.owner)

    assert card.expired and not card.near_expiry
    assert card.days_left == 0
    assert card.plan_name is None
    assert card.allowances == []


def test_an_active_line_past_its_expiry_counts_as_expired_before_the_sweep_runs():
    line = LineFactory(with_period=True)
    later = line.expires_at + timedelta(minutes=1)

    [card] = dashboard_lines(user=line.owner, now=later)

    assert card.status == LineStatus.ACTIVE
    assert card.expired


def test_a_cancelled_line_is_never_flagged_for_renewal():
    line = LineFactory(with_period=True, with_period__days_ago=40)
    line.status = LineStatus.CANCELLED
    line.save()

    [card] = dashboard_lines(user=line.owner)

    assert not card.expired and not card.near_expiry


def test_an_expired_line_says_when_its_number_is_lost(settings):
    settings.NUMBER_KEEPING_GRACE_DAYS = 30
    line = LineFactory(with_period=NumberKeepingPlanFactory(), kind="number_keeping", with_period__days_ago=100)

    [card] = dashboard_lines(user=line.owner)

    assert card.expired
    assert card.number_lost_at == line.expires_at + timedelta(days=30)


def test_a_line_that_has_not_expired_has_no_day_its_number_is_lost():
    line = LineFactory(with_period=True)

    [card] = dashboard_lines(user=line.owner)

    assert card.number_lost_at is None


@pytest.mark.parametrize(("balance", "flagged"), [(49_99, True), (50_00, False), (80_00, False)])
def test_low_balance_means_below_the_customers_threshold(balance, flagged):
    line = LineFactory(with_period=True, low_balance_threshold_ore=50_00)
    LedgerEntryFactory(line=line, amount_ore=balance)

    [card] = dashboard_lines(user=line.owner)

    assert card.low_balance is flagged


def test_without_a_threshold_there_is_no_low_balance_flag():
    line = LineFactory(with_period=True)
    LedgerEntryFactory(line=line, amount_ore=-10_00)

    [card] = dashboard_lines(user=line.owner)

    assert not card.low_balance


# --- line_detail ------------------------------------------------------------


def test_line_detail_shows_the_current_and_the_upcoming_periods(django_assert_num_queries):
    plan = PlanFactory()
    line = LineFactory(with_period=plan)
    line_add_period(line=line, plan=plan, by=None)
    usage(line, UsageKind.DATA, 3 * MB)
    LedgerEntryFactory(line=line, amount_ore=20_00)
    owner = line.owner

    with django_assert_num_queries(2):
        detail = line_detail(user=owner, line_id=line.pk)

    assert detail.current_period is not None and detail.current_period.is_current
    [upcoming] = detail.upcoming_periods
    assert upcoming.starts_at == detail.current_period.ends_at
    assert not upcoming.is_current
    assert detail.card.allowances[0].used == 3 * MB
    assert detail.card.balance_ore == 20_00
    assert detail.card.expires_at == upcoming.ends_at


def test_line_detail_of_another_customers_line_is_a_404():
    line = LineFactory(with_period=True)

    with pytest.raises(Http404):
        line_detail(user=UserFactory(), line_id=line.pk)


def test_line_detail_of_a_missing_line_is_a_404():
    with pytest.raises(Http404):
        line_detail(user=UserFactory(), line_id=999_999)


def test_line_detail_uses_two_queries_whatever_the_usage(django_assert_num_queries):
    few, lots = LineFactory(with_period=True), LineFactory(with_period=True)
    bulk_usage(few, 10)
    bulk_usage(lots, 10_000)

    for line in (few, lots):
        with django_assert_num_queries(2):
            line_detail(user=line.owner, line_id=line.pk)


# --- line_usage_page --------------------------------------------------------


def test_usage_is_paged_newest_first():
    line = LineFactory(with_period=True)
    bulk_usage(line, 30)

    first = line_usage_page(line=line, page=1)
    second = line_usage_page(line=line, page=2)

    assert len(first.rows) == 25 and len(second.rows) == 5
    assert first.rows[0].occurred_at > first.rows[-1].occurred_at > second.rows[0].occurred_at
    assert first.page.paginator.num_pages == 2
    assert not first.capped


def test_a_page_number_out_of_range_or_not_a_number_gives_a_page_anyway():
    line = LineFactory(with_period=True)
    bulk_usage(line, 30)

    assert line_usage_page(line=line, page=99).page.number == 2
    assert line_usage_page(line=line, page="nonsense").page.number == 1


def test_usage_can_be_filtered_by_kind():
    line = LineFactory(with_period=True)
    usage(line, UsageKind.DATA)
    usage(line, UsageKind.SMS, 1)
    usage(line, UsageKind.SMS, 2)

    page = line_usage_page(line=line, kind=UsageKind.SMS)

    assert sorted(row.quantity for row in page.rows) == [1, 2]
    assert {row.kind for row in page.rows} == {"sms"}


def test_the_month_filter_follows_oslo_time():
    line = LineFactory(with_period=True)
    # 23:30 UTC on 31 October is 00:30 on 1 November in Oslo (CET, UTC+1).
    november = usage(line, at=datetime(2025, 10, 31, 23, 30, tzinfo=UTC), period=None)
    # 22:30 UTC on 31 October is 23:30 on 31 October in Oslo.
    october = usage(line, at=datetime(2025, 10, 31, 22, 30, tzinfo=UTC), period=None)

    assert [row.occurred_at for row in line_usage_page(line=line, month="2025-11").rows] == [november.occurred_at]
    assert [row.occurred_at for row in line_usage_page(line=line, month="2025-10").rows] == [october.occurred_at]


def test_month_bounds_are_oslo_midnights_across_daylight_saving():
    start, end = month_bounds("2026-03")

    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST
    with pytest.raises(ValueError):
        month_bounds("2026-13")


def test_usage_shows_only_this_lines_records():
    line, other = LineFactory(with_period=True), LineFactory(with_period=True)
    usage(other)

    assert line_usage_page(line=line).rows == []


def test_usage_paging_uses_two_queries_for_ten_records_and_for_ten_thousand(django_assert_num_queries):
    few, lots = LineFactory(with_period=True), LineFactory(with_period=True)
    bulk_usage(few, 10)
    bulk_usage(lots, 10_000)

    with django_assert_num_queries(2):
        few_page = line_usage_page(line=few, page=1)
    with django_assert_num_queries(2) as captured:
        lots_page = line_usage_page(line=lots, page=3)

    assert len(few_page.rows) == 10
    assert len(lots_page.rows) == 25
    # The count stops at a cap instead of counting the whole history.
    assert "LIMIT 2500" in captured.captured_queries[0]["sql"]
    assert lots_page.capped
    assert lots_page.page.paginator.num_pages == 100


# --- line_spending_by_month ---------------------------------------------------


def test_spending_sums_money_out_by_oslo_month_and_kind(django_assert_num_queries):
    line = LineFactory(with_period=True)
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)

    def entry(kind, amount, when):
        LedgerEntryFactory(line=line, kind=kind, amount_ore=amount, created_at=when)

    entry(LedgerKind.USAGE, -10_00, datetime(2026, 3, 2, tzinfo=UTC))
    entry(LedgerKind.USAGE, -5_50, datetime(2026, 3, 10, tzinfo=UTC))
    entry(LedgerKind.RENEWAL, -199_00, datetime(2026, 3, 1, tzinfo=UTC))
    entry(LedgerKind.TOPUP, 500_00, datetime(2026, 3, 1, tzinfo=UTC))  # money in: not spending
    # 23:30 UTC on 31 January is 1 February in Oslo.
    entry(LedgerKind.USAGE, -3_00, datetime(2026, 1, 31, 23, 30, tzinfo=UTC))
    entry(LedgerKind.ADJUSTMENT, -1_00, datetime(2026, 1, 15, tzinfo=UTC))
    entry(LedgerKind.USAGE, -99_00, datetime(2025, 3, 31, tzinfo=UTC))  # thirteen months ago

    with django_assert_num_queries(1):
        months = line_spending_by_month(line=line, months=3, now=now)

    assert [month.month for month in months] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    january, february, march = months
    assert (january.usage_ore, january.other_ore, january.total_ore) == (0, 1_00, 1_00)
    assert (february.usage_ore, february.total_ore) == (3_00, 3_00)
    assert (march.usage_ore, march.renewals_ore, march.other_ore, march.total_ore) == (15_50, 199_00, 0, 214_50)


def test_spending_leaves_out_what_is_dated_after_this_month():
    line = LineFactory(with_period=True)
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    LedgerEntryFactory(
        line=line, kind=LedgerKind.USAGE, amount_ore=-7_00, created_at=datetime(2026, 3, 31, 21, 59, tzinfo=UTC)
    )
    # Midnight in Oslo (summer time since 29 March): April already.
    LedgerEntryFactory(
        line=line, kind=LedgerKind.USAGE, amount_ore=-9_00, created_at=datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    )

    months = line_spending_by_month(line=line, months=2, now=now)

    assert [(month.month, month.total_ore) for month in months] == [(date(2026, 2, 1), 0), (date(2026, 3, 1), 7_00)]


def test_spending_lists_every_month_even_without_spending():
    line = LineFactory(with_period=True)

    months = line_spending_by_month(line=line, months=12, now=datetime(2026, 1, 10, tzinfo=UTC))

    assert len(months) == 12
    assert months[0].month == date(2025, 2, 1) and months[-1].month == date(2026, 1, 1)
    assert all(month.total_ore == 0 for month in months)


# --- line_ledger ----------------------------------------------------------------


def test_the_ledger_lists_the_latest_entries_newest_first(django_assert_num_queries):
    line = LineFactory(with_period=True)
    start = timezone.now() - timedelta(days=30)
    for day in range(30):
        LedgerEntryFactory(line=line, amount_ore=day, created_at=start + timedelta(days=day))
    LedgerEntryFactory(amount_ore=1)  # another line's

    with django_assert_num_queries(1):
        rows = line_ledger(line=line, limit=20)

    assert [row.amount_ore for row in rows] == list(range(29, 9, -1))
    assert rows[0].kind_label == "Top-up"
