"""Reads shaped for the customer's pages.

Each function here runs a fixed number of SQL queries, however many lines,
usage records or ledger entries the customer has: per-line figures come from
grouped aggregates over all lines at once, never from a query per line.

Units follow the usage records: data in kilobytes (1 MB = 1024 KB), calls in
seconds, texts as a count. An allowance of ``None`` means unlimited.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import IntegerField, Model
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from portal.sql import RawRows, columns
from subscriptions.models import (
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Plan,
    ServicePeriod,
    UsageKind,
    UsageRecord,
)
from subscriptions.models.plans import FIELD_LANGUAGES
from subscriptions.periods import OSLO, add_months

NEAR_EXPIRY = timedelta(days=7)
KB_PER_MB = 1024
SECONDS_PER_MINUTE = 60
USAGE_PER_PAGE = 25
# Paging counts at most this many records; older ones are reached through the
# month filter. Keeps the count query's cost bounded on a long history.
USAGE_COUNT_CAP = 100 * USAGE_PER_PAGE
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

SPENDING_BUCKETS = {LedgerKind.USAGE: "usage", LedgerKind.RENEWAL: "renewals"}
# Lines whose expiry still means something to the customer: they can renew.
RENEWABLE = frozenset({LineStatus.ACTIVE, LineStatus.SUSPENDED, LineStatus.EXPIRED})


# --- shapes -----------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """One kind of allowance in the current period, in the usage unit (KB,
    seconds, texts). ``included`` is None when unlimited."""

    kind: str
    included: int | None
    used: int

    @property
    def label(self) -> str:
        return str(UsageKind(self.kind).label)

    @property
    def unlimited(self) -> bool:
        return self.included is None

    @property
    def not_included(self) -> bool:
        return self.included == 0

    @property
    def remaining(self) -> int | None:
        if self.included is None:
            return None
        return max(self.included - self.used, 0)

    @property
    def remaining_percent(self) -> int | None:
        if not self.included:
            return None
        return round(100 * (self.remaining or 0) / self.included)


@dataclass(frozen=True)
class PeriodSummary:
    plan_name: str
    starts_at: datetime
    ends_at: datetime
    data_mb: int | None
    voice_minutes: int | None
    sms_count: int | None
    is_current: bool


@dataclass(frozen=True)
class LineCard:
    """What the dashboard (and the top of the line page) says about a line."""

    line_id: int
    number: str
    number_display: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    plan_name: str | None
    expires_at: datetime | None
    days_left: int | None
    allowances: list[Allowance]
    balance_ore: int
    low_balance_threshold_ore: int | None
    is_number_keeping: bool
    near_expiry: bool
    expired: bool
    low_balance: bool

    @property
    def needs_attention(self) -> bool:
        return self.near_expiry or self.expired or self.low_balance


@dataclass(frozen=True)
class LineDetail:
    line: Line
    card: LineCard
    current_period: PeriodSummary | None
    upcoming_periods: list[PeriodSummary]


@dataclass(frozen=True)
class UsageRow:
    occurred_at: datetime
    kind: str
    kind_label: str
    quantity: int
    out_of_bundle: int
    charge_ore: int
    destination: str


@dataclass(frozen=True)
class UsagePage:
    rows: list[UsageRow]
    page: Page[UsageRecord]
    kind: str
    month: str
    # True when there are more records than paging counts (USAGE_COUNT_CAP).
    capped: bool


@dataclass(frozen=True)
class MonthSpending:
    """Money out of the balance in one Oslo calendar month, in øre (positive)."""

    month: date
    usage_ore: int = 0
    renewals_ore: int = 0
    other_ore: int = 0

    @property
    def total_ore(self) -> int:
        return self.usage_ore + self.renewals_ore + self.other_ore


@dataclass(frozen=True)
class LedgerRow:
    created_at: datetime
    kind: str
    kind_label: str
    amount_ore: int
    description: str


# --- the dashboard ----------------------------------------------------------


def dashboard_lines(*, user: User, now: datetime | None = None) -> list[LineCard]:
    """One card per line the customer holds (quarantined numbers are gone
    and left out). One query: each line with its balance, its current period,
    that period's plan names and what was used in it."""
    now = now or timezone.now()
    moment = connection.ops.adapt_datetimefield_value(now)
    lines = Line.objects.raw(_dashboard_sql(), [*UsageKind.values, moment, moment, user.pk, LineStatus.QUARANTINED])
    cards: dict[int, LineCard] = {}
    for line in lines:
        # Periods do not overlap; should two ever match, the line shows once.
        if line.id not in cards:
            period = _joined_period(line) if _selected(line, "period_id") is not None else None
            cards[line.id] = _card(line, period=period, balance_ore=_annotated(line, "balance_total"), now=now)
    return list(cards.values())


@cache
def _dashboard_sql() -> str:
    table = _tables()
    return f"""
        SELECT {columns(Line, "l")}, {_balance_sql("l")} AS balance_total,
            p.id AS period_id, p.data_mb AS period_data_mb, p.voice_minutes AS period_voice_minutes,
            p.sms_count AS period_sms_count, {_PLAN_NAMES}, {_used_sql("p")}
        FROM {table["line"]} l
        LEFT JOIN {table["period"]} p ON p.line_id = l.id AND p.starts_at <= %s AND p.ends_at > %s
        LEFT JOIN {table["plan"]} pl ON pl.id = p.plan_id
        WHERE l.owner_id = %s AND l.status <> %s
        ORDER BY l.created_at, l.id
    """  # noqa: S608 (names from the models, values as parameters)


def _joined_period(line: Line) -> ServicePeriod:
    """The current period ``_dashboard_sql`` joined onto the line, unsaved,
    with its plan's names and the sums ``_allowances`` reads."""
    period = ServicePeriod(
        id=_selected(line, "period_id"),
        line=line,
        data_mb=_selected(line, "period_data_mb"),
        voice_minutes=_selected(line, "period_voice_minutes"),
        sms_count=_selected(line, "period_sms_count"),
        plan=plan_named(line, "plan_name_"),
    )
    for kind in UsageKind.values:
        setattr(period, f"used_{kind}", _selected(line, f"used_{kind}"))
    return period


# --- the line page ----------------------------------------------------------


def line_get_owned(*, user: User, line_id: int) -> Line:
    """The line if ``user`` holds it; Http404 for a missing line and for
    another customer's line alike (one does not learn that it exists)."""
    try:
        return Line.objects.get(pk=line_id, owner=user)
    except Line.DoesNotExist:
        raise Http404("No such line") from None


def line_detail(*, user: User, line_id: int, now: datetime | None = None) -> LineDetail:
    """The line's card, its current period and the ones already paid for
    after it. Two queries: the line with its balance and auto-renew choice,
    and its current and upcoming periods with what was used in them."""
    now = now or timezone.now()
    try:
        # The auto-renew choice comes with the line (a one-to-one join), so
        # the page's auto-renew summary costs no query of its own.
        line = (
            Line.objects.select_related("auto_renewal__plan", "auto_renewal__card")
            .annotate(balance_total=_balance_expression())
            .filter(owner=user)
            .get(pk=line_id)
        )
    except Line.DoesNotExist:
        raise Http404("No such line") from None
    moment = connection.ops.adapt_datetimefield_value(now)
    periods = list(ServicePeriod.objects.raw(_periods_sql(), [*UsageKind.values, line.pk, moment]))
    for period in periods:
        period.plan = plan_named(period, "plan_name_")
    current = next((period for period in periods if period.starts_at <= now), None)
    card = _card(line, period=current, balance_ore=_annotated(line, "balance_total"), now=now)
    return LineDetail(
        line=line,
        card=card,
        current_period=_period_summary(current, now) if current else None,
        upcoming_periods=[_period_summary(period, now) for period in periods if period.starts_at > now],
    )


@cache
def _periods_sql() -> str:
    table = _tables()
    return f"""
        SELECT {columns(ServicePeriod, "p")}, {_PLAN_NAMES}, {_used_sql("p")}
        FROM {table["period"]} p
        JOIN {table["plan"]} pl ON pl.id = p.plan_id
        WHERE p.line_id = %s AND p.ends_at > %s
        ORDER BY p.starts_at
    """  # noqa: S608 (names from the models, values as parameters)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first moment of an Oslo calendar month ("YYYY-MM") and of the next."""
    match = MONTH_PATTERN.match(month)
    if match is None:
        raise ValueError(f"not a month: {month!r}")
    start = datetime(int(match[1]), int(match[2]), 1, tzinfo=OSLO)
    return start, add_months(start, 1)


def recent_months(*, count: int, now: datetime | None = None) -> list[date]:
    """The first day of the last ``count`` Oslo calendar months, oldest first,
    ending with the current one."""
    now = now or timezone.now()
    local = now.astimezone(OSLO)
    this_month = date(local.year, local.month, 1)
    return [add_months_to_date(this_month, -offset) for offset in range(count - 1, -1, -1)]


def add_months_to_date(day: date, months: int) -> date:
    year, month0 = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month0 + 1, 1)


USAGE_FIELDS = "id, kind, quantity, out_of_bundle, charge_ore, occurred_at, destination"


def _usage_records(*, line: Line, kind: str, month: str) -> RawRows[UsageRecord]:
    """The usage records a page of the line page may show, newest first, as
    the paginator reads them: a count of at most ``USAGE_COUNT_CAP`` and a
    slice, each one query written out in SQL."""
    conditions: list[str] = ["line_id = %s"]
    params: list[Any] = [line.pk]
    if kind:
        conditions.append("kind = %s")
        params.append(kind)
    if month:
        start, end = month_bounds(month)
        conditions.append("occurred_at >= %s AND occurred_at < %s")
        params += [connection.ops.adapt_datetimefield_value(moment) for moment in (start, end)]
    return RawRows(
        UsageRecord,
        select=USAGE_FIELDS,
        source=_tables()["usage"],
        where=" AND ".join(conditions),
        params=params,
        order_by="occurred_at DESC, id DESC",
        count_cap=USAGE_COUNT_CAP,
    )


def line_usage_page(*, line: Line, kind: str = "", month: str = "", page: int | str = 1) -> UsagePage:
    """One page of the line's usage, newest first, optionally of one kind
    and one Oslo calendar month. Two queries: a bounded count and the page.
    A page number out of range gives the last page."""
    records = _usage_records(line=line, kind=kind, month=month)
    # The paginator reads count() and slices, all RawRows has.
    paginator: Paginator[UsageRecord] = Paginator(records, USAGE_PER_PAGE)  # type: ignore[arg-type]
    current = paginator.get_page(page)
    rows = [
        UsageRow(
            occurred_at=record.occurred_at,
            kind=record.kind,
            kind_label=record.get_kind_display(),
            quantity=record.quantity,
            out_of_bundle=record.out_of_bundle,
            charge_ore=record.charge_ore,
            destination=record.destination,
        )
        for record in current.object_list
    ]
    return UsagePage(rows=rows, page=current, kind=kind, month=month, capped=paginator.count >= USAGE_COUNT_CAP)


def line_spending_by_month(*, line: Line, months: int = 12, now: datetime | None = None) -> list[MonthSpending]:
    """What left the balance in each of the last ``months`` Oslo calendar
    months, oldest first, months without spending included. Spending is the
    negative ledger entries (usage charges, renewals paid from the balance,
    other debits), summed by month and kind in one query.

    The months' bounds are Oslo midnights worked out here, so the query needs
    no time-zone function of its database: each entry gets the number of the
    month it falls in (``CASE``), and the sums are grouped by that."""
    month_starts = recent_months(count=months, now=now)
    bounds = [datetime(day.year, day.month, 1, tzinfo=OSLO) for day in month_starts]
    bounds.append(add_months(bounds[-1], 1))
    moments = [connection.ops.adapt_datetimefield_value(bound) for bound in bounds]
    which_month = " ".join(f"WHEN created_at < %s THEN {index}" for index in range(months))
    sql = (
        "SELECT month_index, kind, SUM(amount_ore) FROM ("  # noqa: S608 (names from the models, values as parameters)
        f"SELECT CASE {which_month} END AS month_index, kind, amount_ore FROM {_tables()['ledger']}"
        " WHERE line_id = %s AND amount_ore < 0 AND created_at >= %s AND created_at < %s"
        ") entries GROUP BY month_index, kind"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*moments[1:], line.pk, moments[0], moments[-1]])
        grouped = cursor.fetchall()
    by_month: list[dict[str, int]] = [defaultdict(int) for _ in month_starts]
    for month_index, kind, total in grouped:
        by_month[month_index][SPENDING_BUCKETS.get(kind, "other")] += -int(total)
    return [
        MonthSpending(
            month=start,
            usage_ore=spent["usage"],
            renewals_ore=spent["renewals"],
            other_ore=spent["other"],
        )
        for start, spent in zip(month_starts, by_month, strict=True)
    ]


def line_ledger(*, line: Line, limit: int = 20) -> list[LedgerRow]:
    """The latest ``limit`` ledger entries, newest first. One query, written
    out in SQL (see ``_tables``)."""
    entries = LedgerEntry.objects.raw(
        f"SELECT id, kind, amount_ore, description, created_at FROM {_tables()['ledger']}"  # noqa: S608 (names from the models, values as parameters)
        " WHERE line_id = %s ORDER BY created_at DESC, id DESC LIMIT %s",
        [line.pk, limit],
    )
    return [
        LedgerRow(
            created_at=entry.created_at,
            kind=entry.kind,
            kind_label=entry.get_kind_display(),
            amount_ore=entry.amount_ore,
            description=entry.description,
        )
        for entry in entries
    ]


# --- building blocks ----------------------------------------------------------


# The dashboard's and the line page's period and balance queries are written
# out rather than built with the ORM: they run on every view of those pages,
# and compiling the equivalent querysets (a balance subquery, three filtered
# sums, two joins) cost several times what PostgreSQL takes to run them.
# Plain SQL that SQLite runs too; parameters are always passed separately.


def plan_name_columns(plan: str, prefix: str) -> str:
    """The names of the plan that ``plan`` (an alias) stands for, in every
    language, as columns ``<prefix><language>``; ``plan_named`` reads them."""
    return ", ".join(f"{plan}.name_{language} AS {prefix}{language}" for language in FIELD_LANGUAGES)


def plan_named(row: Model, prefix: str, plan_id: int | None = None) -> Plan:
    """An unsaved plan holding the names a raw query selected onto ``row``
    with ``plan_name_columns``: all a card, a period summary or a receipt
    read of it."""
    return Plan(id=plan_id, **{f"name_{language}": getattr(row, f"{prefix}{language}") for language in FIELD_LANGUAGES})


_PLAN_NAMES = plan_name_columns("pl", "plan_name_")


@cache
def _tables() -> dict[str, str]:
    models = {"line": Line, "period": ServicePeriod, "plan": Plan, "usage": UsageRecord, "ledger": LedgerEntry}
    return {name: connection.ops.quote_name(model._meta.db_table) for name, model in models.items()}


def _balance_sql(line: str) -> str:
    """The balance in øre of the line ``line`` names (an alias or a table),
    as a scalar subquery over its ledger."""
    return (
        f"COALESCE((SELECT SUM(e.amount_ore) FROM {_tables()['ledger']} e"  # noqa: S608 (names from the models, values as parameters)
        f" WHERE e.line_id = {connection.ops.quote_name(line)}.id), 0)"
    )


def _balance_expression() -> RawSQL:
    """``_balance_sql`` of the queryset's own line, for ``annotate``."""
    sql = _balance_sql(Line._meta.db_table)
    return RawSQL(sql, (), output_field=IntegerField())  # noqa: S611 (no input in it)


def _used_sql(period: str) -> str:
    """Columns ``used_data``, ``used_voice``, ``used_sms``: what was used in
    the period ``period`` names, summed over the (period, kind) index; takes
    the kinds as parameters, in ``UsageKind.values`` order."""
    return ", ".join(
        f"COALESCE((SELECT SUM(u.quantity) FROM {_tables()['usage']} u"  # noqa: S608 (names from the models, values as parameters)
        f" WHERE u.period_id = {period}.id AND u.kind = %s), 0) AS used_{kind}"
        for kind in UsageKind.values
    )


def _allowances(period: ServicePeriod) -> list[Allowance]:
    """What the period gives and what has been used of it; the period comes
    from ``_with_usage``."""

    def scaled(value: int | None, factor: int) -> int | None:
        return None if value is None else value * factor

    return [
        Allowance(UsageKind.DATA, scaled(period.data_mb, KB_PER_MB), _annotated(period, "used_data")),
        Allowance(
            UsageKind.VOICE,
            scaled(period.voice_minutes, SECONDS_PER_MINUTE),
            _annotated(period, "used_voice"),
        ),
        Allowance(UsageKind.SMS, period.sms_count, _annotated(period, "used_sms")),
    ]


def _selected(row: Line | ServicePeriod, column: str) -> Any:
    """A column a raw query selected beside the model's own fields."""
    return getattr(row, column)


def _annotated(instance: Line | ServicePeriod, name: str) -> int:
    """A sum the query annotated onto ``instance`` (``_with_balance``,
    ``_with_usage``)."""
    return int(getattr(instance, name))


def _days_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days, rounded up: a month bought a moment ago has 30 days left,
    and a line with hours to go has 1."""
    if expires_at is None:
        return None
    seconds = (expires_at - now).total_seconds()
    return max(math.ceil(seconds / 86_400), 0)


def _card(line: Line, *, period: ServicePeriod | None, balance_ore: int, now: datetime) -> LineCard:
    renewable = line.status in RENEWABLE
    lapsed = line.expires_at is not None and line.expires_at <= now
    expired = line.status == LineStatus.EXPIRED or (renewable and lapsed)
    near_expiry = renewable and not expired and line.expires_at is not None and line.expires_at - now <= NEAR_EXPIRY
    threshold = line.low_balance_threshold_ore
    return LineCard(
        line_id=line.id,
        number=line.number,
        number_display=line.number_display,
        kind=line.kind,
        kind_label=line.get_kind_display(),
        status=line.status,
        status_label=line.get_status_display(),
        plan_name=period.plan.name if period is not None else None,
        expires_at=line.expires_at,
        days_left=_days_left(line.expires_at, now),
        allowances=[] if line.is_number_keeping or period is None else _allowances(period),
        balance_ore=balance_ore,
        low_balance_threshold_ore=threshold,
        is_number_keeping=line.is_number_keeping,
        near_expiry=near_expiry,
        expired=expired,
        low_balance=threshold is not None and balance_ore < threshold,
    )


def _period_summary(period: ServicePeriod, now: datetime) -> PeriodSummary:
    return PeriodSummary(
        plan_name=period.plan.name,
        starts_at=period.starts_at,
        ends_at=period.ends_at,
        data_mb=period.data_mb,
        voice_minutes=period.voice_minutes,
        sms_count=period.sms_count,
        is_current=period.starts_at <= now < period.ends_at,
    )
