"""Reads shaped for the customer's pages.

Each function here runs a fixed number of SQL queries, however many lines,
usage records or ledger entries the customer has: per-line figures come from
subqueries and joins in the lines' own query, never from a query per line.

Units follow the usage records: data in kilobytes (1 MB = 1024 KB), calls in
seconds, texts as a count. An allowance of ``None`` means unlimited.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db.models import FilteredRelation, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from subscriptions.international import destination_name, started_minutes
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
from subscriptions.periods import OSLO, add_months

KB_PER_MB = 1024
SECONDS_PER_MINUTE = 60
USAGE_PER_PAGE = 25
# Paging counts at most this many records; older ones are reached through the
# month filter. Keeps the count query's cost bounded on a long history.
USAGE_COUNT_CAP = 100 * USAGE_PER_PAGE
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

RATE_NAME_FIELDS = ("prefix", "name_en", "name_nb", "name_zh_hans")
SPENDING_BUCKETS = {LedgerKind.USAGE: "usage", LedgerKind.RENEWAL: "renewals"}


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
    # When an expired line's number is lost unless it is renewed; None while
    # the line has not expired.
    number_lost_at: datetime | None = None
    # The line's current plan, when it is still sold: "Renew" goes straight
    # to its checkout. None sends the customer to the list of plans.
    renew_plan_code: str | None = None
    closed: bool = False
    auto_renew_on: bool = False

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
    # A call or text to a country outside Norway and the EU/EEA: the
    # country's name, and the started minutes or texts it was charged for.
    international: bool = False
    country: str = ""
    charged_units: int = 0


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
    and left out). One query: each line with its balance, its current period
    and that period's plan joined on, and what was used in the period."""
    now = now or timezone.now()
    lines = (
        Line.objects.filter(owner=user)
        .exclude(status=LineStatus.QUARANTINED)
        .with_balance()
        .with_paid_period()
        .annotate(
            current_period=FilteredRelation(
                "periods", condition=Q(periods__starts_at__lte=now, periods__ends_at__gt=now)
            )
        )
        .select_related("current_period__plan")  # type: ignore[misc]  # a filtered relation, unknown to django-stubs
        .annotate(**_used_in(OuterRef("current_period__id")), **_current_plan(now))
        .order_by("created_at", "id")
    )
    cards: dict[int, LineCard] = {}
    for line in lines:
        # Periods do not overlap; should two ever match, the line shows once.
        if line.id not in cards:
            period = getattr(line, "current_period", None)
            cards[line.id] = _card(line, period=period, used=_used(line), now=now)
    return list(cards.values())


# --- the line page ----------------------------------------------------------


def line_get_owned(*, user: User, line_id: int) -> Line:
    """The line if ``user`` holds it; Http404 for a missing line and for
    another customer's line alike (one does not learn that it exists)."""
    try:
        return Line.objects.get(pk=line_id, owner=user)
    except Line.DoesNotExist:
        raise Http404("No such line") from None


def line_current_plan(*, line: Line, now: datetime | None = None) -> Plan | None:
    """The plan the line is on: that of its latest period to have started
    (the one in force, or the last one of an expired line), whether or not
    it is still sold. A period paid for ahead does not change it. None for a
    line never paid for. One query."""
    now = now or timezone.now()
    period = (
        ServicePeriod.objects.filter(line=line, starts_at__lte=now)
        .select_related("plan")
        .order_by("-starts_at", "-id")
        .first()
    )
    return period.plan if period is not None else None


def line_with_balance_get_owned(*, user: User, line_id: int) -> Line:
    """The line with its balance (``balance_ore``) if ``user`` holds it;
    Http404 otherwise. One query."""
    try:
        return Line.objects.with_balance().get(pk=line_id, owner=user)
    except Line.DoesNotExist:
        raise Http404("No such line") from None


def line_detail(*, user: User, line_id: int, now: datetime | None = None) -> LineDetail:
    """The line's card, its current period and the ones already paid for
    after it. Two queries: the line with its balance and auto-renew choice,
    and its current and upcoming periods with their plans and what was used
    in them."""
    now = now or timezone.now()
    try:
        # The auto-renew choice comes with the line (a one-to-one join), so
        # the page's auto-renew summary costs no query of its own.
        line = (
            Line.objects.select_related("auto_renewal__plan", "auto_renewal__card")
            .with_balance()
            .with_paid_period()
            .annotate(**_current_plan(now))
            .filter(owner=user)
            .get(pk=line_id)
        )
    except Line.DoesNotExist:
        raise Http404("No such line") from None
    periods = list(
        ServicePeriod.objects.filter(line=line, ends_at__gt=now)
        .select_related("plan")
        .annotate(**_used_in(OuterRef("pk")))
        .order_by("starts_at")
    )
    current = next((period for period in periods if period.starts_at <= now), None)
    card = _card(line, period=current, used=_used(current) if current else {}, now=now)
    return LineDetail(
        line=line,
        card=card,
        current_period=_period_summary(current, now) if current else None,
        upcoming_periods=[_period_summary(period, now) for period in periods if period.starts_at > now],
    )


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


class CappedPaginator(Paginator):
    """Django's paginator over a queryset, counting at most ``cap`` rows."""

    def __init__(self, object_list: QuerySet[UsageRecord], per_page: int, *, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.records, self.cap = object_list, cap

    @cached_property
    def count(self) -> int:
        return self.records[: self.cap].count()


def line_usage_page(*, line: Line, kind: str = "", month: str = "", page: int | str = 1) -> UsagePage:
    """One page of the line's usage, newest first, optionally of one kind
    and one Oslo calendar month. Two queries: a count of at most
    ``USAGE_COUNT_CAP`` records and the page. A page number out of range
    gives the last page."""
    records = UsageRecord.objects.filter(line=line)
    if kind:
        records = records.filter(kind=kind)
    if month:
        start, end = month_bounds(month)
        records = records.filter(occurred_at__gte=start, occurred_at__lt=end)
    records = records.select_related("rate").only(
        "kind",
        "quantity",
        "out_of_bundle",
        "charge_ore",
        "occurred_at",
        "destination",
        "international",
        *(f"rate__{field}" for field in RATE_NAME_FIELDS),
    )
    paginator = CappedPaginator(records.order_by("-occurred_at", "-id"), USAGE_PER_PAGE, cap=USAGE_COUNT_CAP)
    current = paginator.get_page(page)
    rows = [_usage_row(record) for record in current.object_list]
    return UsagePage(rows=rows, page=current, kind=kind, month=month, capped=paginator.count >= USAGE_COUNT_CAP)


def _usage_row(record: UsageRecord) -> UsageRow:
    row = UsageRow(
        occurred_at=record.occurred_at,
        kind=record.kind,
        kind_label=record.get_kind_display(),
        quantity=record.quantity,
        out_of_bundle=record.out_of_bundle,
        charge_ore=record.charge_ore,
        destination=record.destination,
    )
    if not record.international:
        return row
    # A destination at the default rate has no row to name it.
    country = record.rate.name if record.rate is not None else destination_name(record.destination)
    units = started_minutes(record.quantity) if record.kind == UsageKind.VOICE else record.quantity
    return replace(row, international=True, country=country, charged_units=units)


def line_spending_by_month(*, line: Line, months: int = 12, now: datetime | None = None) -> list[MonthSpending]:
    """What left the balance in each of the last ``months`` Oslo calendar
    months, oldest first, months without spending included. Spending is the
    negative ledger entries (usage charges, renewals paid from the balance,
    other debits), summed by Oslo month and kind in one query."""
    month_starts = recent_months(count=months, now=now)
    first = datetime(month_starts[0].year, month_starts[0].month, 1, tzinfo=OSLO)
    end = add_months(datetime(month_starts[-1].year, month_starts[-1].month, 1, tzinfo=OSLO), 1)
    grouped = (
        LedgerEntry.objects.filter(line=line, amount_ore__lt=0, created_at__gte=first, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=OSLO))
        .order_by()
        .values_list("month", "kind")
        .annotate(total=Sum("amount_ore"))
    )
    by_month: dict[date, dict[str, int]] = {start: defaultdict(int) for start in month_starts}
    for month, kind, total in grouped:
        local = month.astimezone(OSLO)
        by_month[date(local.year, local.month, 1)][SPENDING_BUCKETS.get(kind, "other")] += -total
    return [
        MonthSpending(
            month=start,
            usage_ore=spent["usage"],
            renewals_ore=spent["renewals"],
            other_ore=spent["other"],
        )
        for start, spent in by_month.items()
    ]


def line_ledger(*, line: Line, limit: int = 20) -> list[LedgerRow]:
    """The latest ``limit`` ledger entries, newest first. One query."""
    entries = (
        LedgerEntry.objects.filter(line=line)
        .only("kind", "amount_ore", "description", "params", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )
    return [
        LedgerRow(
            created_at=entry.created_at,
            kind=entry.kind,
            kind_label=entry.get_kind_display(),
            amount_ore=entry.amount_ore,
            description=entry.text,
        )
        for entry in entries
    ]


# --- building blocks ----------------------------------------------------------


def _used_in(period: OuterRef) -> dict[str, Coalesce]:
    """``used_data``, ``used_voice``, ``used_sms``: what was used of the
    bundle in the period that ``period`` refers to (international calls and
    texts are outside it), each summed by a subquery over the (period, kind)
    index."""
    return {
        f"used_{kind}": Coalesce(
            Subquery(
                UsageRecord.objects.filter(period=period, kind=kind, international=False)
                .order_by()
                .values("period")
                .annotate(total=Sum("quantity"))
                .values("total")
            ),
            0,
        )
        for kind in UsageKind.values
    }


def _current_plan(now: datetime) -> dict[str, Subquery]:
    """``current_plan_code`` and ``current_plan_on_sale``: the plan of the
    line's latest period to have started (as ``line_current_plan``), by
    subqueries in the line's own query."""
    latest = ServicePeriod.objects.filter(line=OuterRef("pk"), starts_at__lte=now).order_by("-starts_at", "-id")
    return {
        "current_plan_code": Subquery(latest.values("plan__code")[:1]),
        "current_plan_on_sale": Subquery(latest.values("plan__is_active")[:1]),
    }


def _used(row: Line | ServicePeriod) -> dict[str, int]:
    """The sums ``_used_in`` annotated onto ``row``, by kind."""
    return {kind: getattr(row, f"used_{kind}") for kind in UsageKind.values}


def _allowances(period: ServicePeriod, used: dict[str, int]) -> list[Allowance]:
    """What the period gives and what has been used of it."""

    def scaled(value: int | None, factor: int) -> int | None:
        return None if value is None else value * factor

    return [
        Allowance(UsageKind.DATA, scaled(period.data_mb, KB_PER_MB), used[UsageKind.DATA]),
        Allowance(UsageKind.VOICE, scaled(period.voice_minutes, SECONDS_PER_MINUTE), used[UsageKind.VOICE]),
        Allowance(UsageKind.SMS, period.sms_count, used[UsageKind.SMS]),
    ]


def _days_left(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole days, rounded up: a month bought a moment ago has 30 days left,
    and a line with hours to go has 1."""
    if expires_at is None:
        return None
    seconds = (expires_at - now).total_seconds()
    return max(math.ceil(seconds / 86_400), 0)


def _card(line: Line, *, period: ServicePeriod | None, used: dict[str, int], now: datetime) -> LineCard:
    """The card of a line loaded ``with_balance()``."""
    expired = line.has_expired(now)
    threshold = line.low_balance_threshold_ore
    expires_at = line.expires_at
    if expires_at is not None and line.status == LineStatus.CANCELLED:
        # Its service ended by its cancellation at the latest, also for a
        # line cancelled before the deactivation ended its paid time.
        expires_at = min(expires_at, line.status_changed_at)
    return LineCard(
        line_id=line.id,
        number=line.number,
        number_display=line.number_display,
        kind=line.kind,
        kind_label=line.get_kind_display(),
        status=line.status,
        status_label=line.get_status_display(),
        plan_name=period.plan.name if period is not None else None,
        expires_at=expires_at,
        days_left=_days_left(expires_at, now),
        allowances=[] if line.is_number_keeping or period is None else _allowances(period, used),
        balance_ore=line.balance_ore,
        low_balance_threshold_ore=threshold,
        is_number_keeping=line.is_number_keeping,
        near_expiry=line.is_near_expiry(now),
        expired=expired,
        low_balance=threshold is not None and line.balance_ore < threshold,
        renew_plan_code=getattr(line, "current_plan_code", None)
        if getattr(line, "current_plan_on_sale", False)
        else None,
        closed=line.is_closed,
        auto_renew_on=line.auto_renew,
        number_lost_at=line.number_lost_at(now),
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
