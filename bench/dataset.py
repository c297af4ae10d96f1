"""The benchmark's dataset: customers, lines, periods, orders, receipts, the
ledger and months of usage, written in bulk.

On PostgreSQL every table is loaded with COPY (psycopg's ``cursor.copy``), with
foreign-key triggers off for the loading session (the rows are made
consistent here; the SQLite path, used by the tests, checks them at commit);
elsewhere with ``bulk_create``. Ids are given here, so no row is read back,
and sequences are moved past them at the end. Passwords are hashed once and
the hash shared. The rows are drawn from a seeded random generator: the same
scale, seed and moment give the same data.

What it looks like, at scale 1:

- 100 000 customers in three languages, with an email address, most with a
  mobile number, a name and an address;
- 150 000 lines: every customer has one, a fifth of them several (up to 16);
  four in five are eSIM lines, the rest number-keeping plans; most active,
  the others expired, suspended, cancelled, quarantined or pending; a quarter
  of the active ones on auto-renew; expiries spread over each plan's length,
  so lines fall due every day, and a few active lines already lapsed (the
  expiry sweep has not run yet);
- contiguous service periods going back up to half a year, each bought by a
  paid order with a receipt numbered per Oslo calendar year without gaps,
  top-ups with their receipts, and a few declined and abandoned orders;
- 5 000 000 usage records over the last 90 days, heavy and light users mixed,
  each in the period it fell in; calls and texts abroad and number-keeping
  use charged to the ledger once per record;
- the ledger: top-ups, renewals paid from the balance, usage charges; a
  top-up (a paid card order with its receipt) wherever a charge would
  otherwise take the balance below zero, as a prepaid customer would;
- an eSIM profile per eSIM line (installed; on about 1 % of active lines a
  replacement ready to install, whose Install page the load visits) and a
  stock of spare ones;
- card orders left pending in the last three hours, with the sandbox
  provider's side of them, for the payment sweep.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC as UTC_TZ
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction

from accounts.models import User
from sandbox.models import SandboxOutcome, SandboxPayment
from subscriptions.demo import DEMO_PLANS
from subscriptions.iccid import with_check_digit
from subscriptions.models import (
    AuditEvent,
    AutoRenewal,
    EsimProfile,
    EsimState,
    InventoryBatch,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Plan,
    PlanKind,
    Receipt,
    ReceiptSequence,
    SavedCard,
    ServicePeriod,
    UsageKind,
    UsageRecord,
)
from subscriptions.models.plans import VAT_RATE_PERCENT, vat_inside
from subscriptions.periods import OSLO, UTC, add_months, period_end

# Bump when the shape of the data changes: a stored dataset of another
# version is built again instead of reused.
DATASET_VERSION = 4
META_TABLE = "bench_dataset"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 (the benchmark's customers only)
SEED = 2026
SMDP_ADDRESS = "smdp.nordlys.test"
USAGE_DAYS = 90
HISTORY_DAYS = 180
# Auto-renew charges this many days before expiry (AUTO_RENEW_DAYS_BEFORE);
# lines are spread so that every day has some due.
SECONDS_PER_DAY = 86_400
# What a customer tops up by card (settings.TOPUP_MAX_ORE at most).
TOPUP_AMOUNTS_ORE = [100_00, 200_00, 300_00, 500_00]


@dataclass(frozen=True)
class Scale:
    customers: int = 100_000
    lines: int = 150_000
    usage: int = 5_000_000
    stale_orders: int = 2_000
    spare_profiles: int = 1_000

    def times(self, factor: float) -> Scale:
        """This scale multiplied by ``factor`` (each count at least one)."""
        return Scale(**{name: max(1, round(value * factor)) for name, value in asdict(self).items()})


@dataclass
class Dataset:
    """What is in the database: the scale and moment it was built for, how
    many rows of each table, and how long the build took."""

    version: int
    scale: Scale
    seed: int
    built_at: datetime
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "scale": asdict(self.scale),
            "seed": self.seed,
            "built_at": self.built_at.isoformat(),
            "seconds": round(self.seconds, 2),
            "rows": self.rows,
            "steps": {name: round(seconds, 2) for name, seconds in self.steps.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Dataset:
        return cls(
            version=int(data["version"]),
            scale=Scale(**data["scale"]),
            seed=int(data["seed"]),
            built_at=datetime.fromisoformat(data["built_at"]),
            seconds=float(data["seconds"]),
            rows=dict(data.get("rows", {})),
            steps=dict(data.get("steps", {})),
        )


# --- writing rows --------------------------------------------------------------------------------


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def table_write(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``rows`` (tuples of values for ``fields``, attribute names such
    as ``owner_id``) into the model's table; returns how many. A field left
    out gets its default, computed once for the table."""
    if not _is_postgresql():
        return _bulk_create(model, fields, rows)
    given = set(fields)
    columns = [_column(model, name) for name in fields]
    extras: list[Any] = []
    for model_field in model._meta.concrete_fields:
        if model_field.attname in given or model_field.primary_key:
            continue
        columns.append(model_field.column)
        extras.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    tail = tuple(extras)
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write((*row, *tail) if tail else row)
            count += 1
    return count


def _column(model: type[models.Model], name: str) -> str:
    model_field = model._meta.get_field(name)
    assert isinstance(model_field, models.Field)
    return str(model_field.column)


def _bulk_create(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, 2_000)):
        model._default_manager.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in batch])
        count += len(batch)
    return count


# What the builder writes, parents first. Clearing truncates these (and,
# through CASCADE, whatever refers to them).
TABLES: list[type[models.Model]] = [
    User,
    Plan,
    Line,
    ServicePeriod,
    InventoryBatch,
    EsimProfile,
    SandboxPayment,
    Order,
    Receipt,
    ReceiptSequence,
    LedgerEntry,
    UsageRecord,
    AuditEvent,
    SavedCard,
    AutoRenewal,
]


def _clear() -> None:
    if _is_postgresql():
        quote = connection.ops.quote_name
        names = ", ".join(quote(model._meta.db_table) for model in TABLES)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    for model in reversed(TABLES):
        model._default_manager.all().delete()


def _reset_sequences() -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), TABLES)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def dataset_stored() -> Dataset | None:
    """The dataset in the database, or None if none was finished."""
    with connection.cursor() as cursor:
        if META_TABLE not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT details FROM {META_TABLE} WHERE id = 1")  # noqa: S608 (a constant)
        row = cursor.fetchone()
    if row is None:
        return None
    try:
        return Dataset.from_json(json.loads(row[0]))
    except (KeyError, TypeError, ValueError):
        return None


def _store(dataset: Dataset) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (id integer PRIMARY KEY, details text NOT NULL)")
        cursor.execute(f"DELETE FROM {META_TABLE}")  # noqa: S608 (a constant)
        cursor.execute(
            f"INSERT INTO {META_TABLE} (id, details) VALUES (1, %s)",  # noqa: S608 (a constant)
            [json.dumps(dataset.to_json())],
        )


def _forget() -> None:
    with connection.cursor() as cursor:
        if META_TABLE in connection.introspection.table_names(cursor):
            cursor.execute(f"DELETE FROM {META_TABLE}")  # noqa: S608 (a constant)


# --- the people and their lines ------------------------------------------------------------------

NAMES = {
    "zh-hans": (
        ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "林"],
        ["小明", "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "婷"],
    ),
    "nb": (
        ["Kari", "Ola", "Ingrid", "Lars", "Sofie", "Jonas", "Nora", "Emil", "Ida", "Henrik", "Marte", "Sindre"],
        ["Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Haugen"],
    ),
    "en": (
        ["Alex", "Sam", "Jamie", "Taylor", "Chris", "Morgan", "Jordan", "Casey", "Robin", "Charlie"],
        ["Smith", "Brown", "Wilson", "Taylor", "Davies", "Evans", "Walker", "Hughes", "Green", "Hall"],
    ),
}
PLACES = [("0155", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("4006", "Stavanger"), ("9008", "Tromsø")]
STREETS = ["Storgata", "Kirkegata", "Parkveien", "Skolegata", "Sjøgata", "Elvegata", "Bakkeveien", "Torggata"]
LANGUAGES = [("zh-hans", 0.4), ("nb", 0.4), ("en", 0.2)]

# The share of active eSIM lines whose profile is ready to install (a
# replacement not yet scanned): the eSIM Install page's visitors.
RELEASED_SHARE = 0.01
# How lines are spread over statuses and plans (weights).
STATUSES = [
    (LineStatus.ACTIVE, 72),
    (LineStatus.EXPIRED, 14),
    (LineStatus.SUSPENDED, 4),
    (LineStatus.CANCELLED, 4),
    (LineStatus.QUARANTINED, 3),
    (LineStatus.CANCELLATION_PENDING, 1),
    (LineStatus.PENDING, 2),
]
ESIM_PLANS = [
    ("esim-day-1gb", 3),
    ("esim-week-5gb", 7),
    ("esim-month-10gb", 42),
    ("esim-month-unlimited", 20),
    ("esim-quarter-30gb", 18),
    ("esim-year-120gb", 10),
]
KEEP_PLANS = [("keep-month", 60), ("keep-quarter", 40)]
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}
# A traveller buys a few day or week passes, not half a year of them.
MAX_HISTORY_PERIODS = {"day": 6, "week": 8}
WITH_PERIODS = frozenset(
    {
        LineStatus.ACTIVE,
        LineStatus.EXPIRED,
        LineStatus.SUSPENDED,
        LineStatus.CANCELLED,
        LineStatus.QUARANTINED,
        LineStatus.CANCELLATION_PENDING,
    }
)


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, float]]) -> Any:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def period_start_ending(end: datetime, period: str) -> datetime:
    """The start of a plan period of the given length that ends at ``end``:
    ``period_end`` run backwards, on Oslo wall-clock time."""
    local = end.astimezone(OSLO).replace(tzinfo=None)
    if period in ("day", "week"):
        start = local - timedelta(days=PERIOD_DAYS[period])
    else:
        start = add_months(local, -{"month": 1, "quarter": 3, "year": 12}[period])
    return start.replace(tzinfo=OSLO).astimezone(UTC)


@dataclass
class _Line:
    id: int
    owner: int
    kind: str
    plan: int
    status: str
    created_at: datetime
    expires_at: datetime | None
    status_changed_at: datetime
    auto_renew: bool
    # (period id, starts, ends) oldest first
    periods: list[tuple[int, datetime, datetime]] = field(default_factory=list)


class _Builder:
    """One build: the random generator, the moment, the ids handed out."""

    def __init__(self, *, scale: Scale, now: datetime, seed: int, say: Callable[[str], None]) -> None:
        self.scale = scale
        self.now = now
        self.rng = random.Random(seed)  # noqa: S311 (data, not secrets)
        self.say = say
        self.rows: dict[str, int] = {}
        self.steps: dict[str, float] = {}
        self.plans: dict[str, Plan] = {}
        self.plan_by_id: dict[int, Plan] = {}
        self.lines: list[_Line] = []
        self.users: list[tuple[str, str, str]] = []  # (name, address, language) by id - 1
        self.next_order = 1
        self.owners: list[int] = []  # the owner of each line, by line id - 1
        self.first_line: dict[int, int] = {}  # customer id: their first line's id
        self.receipts: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] = []

    def step(self, name: str, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        started = time.perf_counter()
        count = table_write(model, fields, rows)
        seconds = time.perf_counter() - started
        self.rows[name] = self.rows.get(name, 0) + count
        self.steps[name] = self.steps.get(name, 0.0) + seconds
        self.say(f"  {name:<16} {count:>10,} rows  {seconds:7.1f} s")

    # --- plans and customers

    def plans_write(self) -> None:
        rows = []
        for number, spec in enumerate(DEMO_PLANS, start=1):
            plan = Plan(
                id=number,
                code=spec.code,
                kind=spec.kind,
                period=spec.period,
                data_mb=spec.data_mb,
                voice_minutes=spec.voice_minutes,
                sms_count=spec.sms_count,
                price_ore=spec.price_ore,
                is_active=True,
                name_en=spec.names[0],
                name_nb=spec.names[1],
                name_zh_hans=spec.names[2],
                description_en=spec.descriptions[0],
                description_nb=spec.descriptions[1],
                description_zh_hans=spec.descriptions[2],
            )
            self.plans[spec.code] = plan
            self.plan_by_id[number] = plan
            rows.append(tuple(getattr(plan, name) for name in PLAN_FIELDS))
        self.step("plans", Plan, PLAN_FIELDS, rows)

    def users_write(self) -> None:
        password = make_password(BENCH_PASSWORD)
        rng = self.rng
        rows = []
        for user_id in range(1, self.scale.customers + 1):
            language = _weighted(rng, LANGUAGES)
            given, family = NAMES[language]
            if language == "zh-hans":
                name = rng.choice(given) + rng.choice(family)
            else:
                name = f"{rng.choice(given)} {rng.choice(family)}"
            postal_code, city = rng.choice(PLACES)
            street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}"
            has_address = rng.random() < 0.85
            joined = self.now - timedelta(seconds=rng.randint(HISTORY_DAYS * SECONDS_PER_DAY, 730 * SECONDS_PER_DAY))
            # A customer's mobile number, when given, is the number of their first line.
            first_line = self.first_line.get(user_id)
            phone = _line_number(first_line) if first_line is not None and rng.random() < 0.7 else None
            self.users.append((name, f"{street}\n{postal_code} {city}" if has_address else "", language))
            rows.append(
                (
                    user_id,
                    password,
                    None,
                    False,
                    f"customer{user_id}@bench.nordlys.test",
                    phone,
                    phone is not None,
                    name,
                    street if has_address else "",
                    postal_code if has_address else "",
                    city if has_address else "",
                    language,
                    False,
                    True,
                    joined,
                    joined,
                )
            )
        self.step("customers", User, USER_FIELDS, rows)

    def owners_draw(self) -> None:
        """Who holds each line (by line id, so a customer's lines have
        neighbouring ids): everyone one, a fifth of the customers more, a
        few many."""
        rng = self.rng
        scale = self.scale
        owners = list(range(1, scale.customers + 1))
        extra = max(scale.lines - scale.customers, 0)
        while extra > 0:
            owner = rng.randint(1, scale.customers)
            more = min(extra, min(15, 1 + int(rng.expovariate(0.45))))
            owners.extend([owner] * more)
            extra -= more
        self.owners = sorted(owners[: scale.lines])
        for line_id, owner in enumerate(self.owners, start=1):
            self.first_line.setdefault(owner, line_id)

    def lines_write(self) -> None:
        rng = self.rng
        rows = []
        for line_id, owner in enumerate(self.owners, start=1):
            line = self._line(line_id, owner)
            self.lines.append(line)
            rows.append(
                (
                    line.id,
                    line.owner,
                    _line_number(line.id),
                    line.kind,
                    line.status,
                    line.status_changed_at,
                    line.expires_at,
                    line.auto_renew,
                    rng.choice([None, None, None, None, None, 50_00, 100_00, 200_00]),
                    line.created_at,
                )
            )
        self.step("lines", Line, LINE_FIELDS, rows)

    def _line(self, line_id: int, owner: int) -> _Line:
        rng = self.rng
        now = self.now
        kind = PlanKind.ESIM if rng.random() < 0.8 else PlanKind.NUMBER_KEEPING
        plan = self.plans[_weighted(rng, ESIM_PLANS if kind == PlanKind.ESIM else KEEP_PLANS)]
        status = _weighted(rng, STATUSES)
        length = timedelta(days=PERIOD_DAYS[plan.period])
        auto_renew = False
        if status == LineStatus.PENDING:
            created = now - timedelta(seconds=rng.randint(60, 3 * SECONDS_PER_DAY))
            return _Line(line_id, owner, kind, plan.id, status, created, None, created, False)
        if status in (LineStatus.ACTIVE, LineStatus.SUSPENDED):
            if status == LineStatus.ACTIVE and rng.random() < 0.01:
                # Lapsed since the expiry sweep last ran.
                expires = now - timedelta(seconds=rng.randint(1, 3_600))
            else:
                expires = now + length * rng.random() + timedelta(seconds=1)
            auto_renew = rng.random() < 0.25
        else:
            expires = now - timedelta(seconds=rng.randint(3_600, HISTORY_DAYS * SECONDS_PER_DAY))
        # Periods back from the expiry: contiguous, over up to half a year.
        history = timedelta(seconds=rng.randint(0, HISTORY_DAYS * SECONDS_PER_DAY))
        limit = MAX_HISTORY_PERIODS.get(plan.period, 10_000)
        ends = expires
        spans: list[tuple[datetime, datetime]] = []
        while True:
            starts = period_start_ending(ends, plan.period)
            spans.append((starts, ends))
            if expires - starts >= history or len(spans) >= limit:
                break
            ends = starts
        if status == LineStatus.ACTIVE and rng.random() < 0.04 and plan.period not in ("day", "week"):
            # Paid ahead: an upcoming period already bought after the current one.
            upcoming_end = period_end(expires, plan.period)
            spans.insert(0, (expires, upcoming_end))
            expires = upcoming_end
        spans.reverse()
        created = spans[0][0] - timedelta(seconds=rng.randint(60, 3_600))
        if status == LineStatus.ACTIVE:
            changed = spans[0][0]
        else:
            changed = min(expires + timedelta(seconds=rng.randint(0, 7 * SECONDS_PER_DAY)), now)
        line = _Line(line_id, owner, kind, plan.id, status, created, expires, changed, auto_renew)
        line.periods = [(0, starts, ends) for starts, ends in spans]
        return line

    # --- periods, orders, receipts

    def periods_write(self) -> None:
        period_id = itertools.count(1)

        def rows() -> Iterator[tuple[Any, ...]]:
            for line in self.lines:
                plan = self.plan_by_id[line.plan]
                numbered = []
                for _, starts, ends in line.periods:
                    number = next(period_id)
                    numbered.append((number, starts, ends))
                    yield (
                        number,
                        line.id,
                        plan.id,
                        starts,
                        ends,
                        plan.data_mb,
                        plan.voice_minutes,
                        plan.sms_count,
                        "order",
                        starts,
                    )
                line.periods = numbered

        self.step("periods", ServicePeriod, PERIOD_FIELDS, rows())

    def orders_write(self) -> None:
        """A paid order per period (bought an hour to a week before it
        started, or at its start for the first), with its receipt; top-ups;
        declined and abandoned attempts; card orders pending right now."""
        rng = self.rng
        sandbox: list[tuple[Any, ...]] = []

        def rows() -> Iterator[tuple[Any, ...]]:
            for line in self.lines:
                name, address, _ = self.users[line.owner - 1]
                plan = self.plan_by_id[line.plan]
                number = _line_number(line.id)
                for index, (period_id, starts, ends) in enumerate(line.periods):
                    before = 0 if index == 0 else rng.randint(3_600, 7 * SECONDS_PER_DAY)
                    placed = min(starts - timedelta(seconds=before), self.now - timedelta(seconds=60))
                    method = PaymentMethod.BALANCE if rng.random() < 0.12 else PaymentMethod.CARD
                    yield self._order(
                        line, OrderKind.RENEWAL, plan, plan.price_ore, method, OrderStatus.PAID, placed, name, period_id
                    )
                    self._receipt(
                        line,
                        OrderKind.RENEWAL,
                        plan,
                        method,
                        placed,
                        name,
                        address,
                        number,
                        (starts, ends),
                        plan.price_ore,
                    )
                    if method == PaymentMethod.BALANCE:
                        self._ledger(
                            line.id,
                            LedgerKind.RENEWAL,
                            -plan.price_ore,
                            f"order:{self.next_order - 1}",
                            plan.name_en,
                            placed,
                        )
                    if rng.random() < 0.05:
                        failed = placed - timedelta(seconds=rng.randint(60, 1_800))
                        status = OrderStatus.DECLINED if rng.random() < 0.6 else OrderStatus.ABANDONED
                        yield self._order(
                            line,
                            OrderKind.RENEWAL,
                            plan,
                            plan.price_ore,
                            PaymentMethod.CARD,
                            status,
                            failed,
                            name,
                            None,
                        )
                if line.periods:
                    first = line.periods[0][1]
                    span = max(int((min(line.expires_at or self.now, self.now) - first).total_seconds()), 60)
                    for _ in range(rng.choice([0, 1, 1, 2, 3])):
                        amount = rng.choice([50_00, 100_00, 200_00, 300_00, 500_00])
                        placed = first + timedelta(seconds=rng.randint(0, span))
                        yield self._order(
                            line,
                            OrderKind.TOPUP,
                            None,
                            amount,
                            PaymentMethod.CARD,
                            OrderStatus.PAID,
                            placed,
                            name,
                            None,
                        )
                        self._receipt(
                            line, OrderKind.TOPUP, None, PaymentMethod.CARD, placed, name, address, number, None, amount
                        )
                        self._ledger(
                            line.id, LedgerKind.TOPUP, amount, f"order:{self.next_order - 1}", "Top-up by card", placed
                        )
            yield from self._stale_orders(sandbox)

        self.step("orders", Order, ORDER_FIELDS, rows())
        self.step("sandbox payments", SandboxPayment, SANDBOX_FIELDS, sandbox)

    def _order(
        self,
        line: _Line,
        kind: str,
        plan: Plan | None,
        amount: int,
        method: str,
        status: str,
        placed: datetime,
        name: str,
        period_id: int | None,
    ) -> tuple[Any, ...]:
        order_id = self.next_order
        self.next_order += 1
        card = method == PaymentMethod.CARD
        settled = placed + timedelta(seconds=self.rng.randint(5, 120)) if status != OrderStatus.PENDING else None
        reasons: dict[str, str] = {OrderStatus.DECLINED: "card_declined", OrderStatus.ABANDONED: "timeout"}
        reason = reasons.get(status, "")
        return (
            order_id,
            uuid.UUID(int=self.rng.getrandbits(128), version=4),
            line.owner,
            line.id,
            kind,
            plan.id if plan else None,
            amount,
            method,
            status,
            f"bench-{order_id}",
            "sandbox" if card else "",
            f"sbx_bench{order_id:010d}" if card else "",
            "",
            reason,
            name,
            period_id,
            placed,
            settled,
        )

    def _receipt(
        self,
        line: _Line,
        kind: str,
        plan: Plan | None,
        method: str,
        issued: datetime,
        name: str,
        address: str,
        number: str,
        period: tuple[datetime, datetime] | None,
        total: int,
    ) -> None:
        rate = VAT_RATE_PERCENT if kind == OrderKind.RENEWAL else 0
        self.receipts.append(
            (
                self.next_order - 1,
                line.owner,
                issued,
                kind,
                method,
                name,
                address,
                number,
                plan.id if plan else None,
                period[0] if period else None,
                period[1] if period else None,
                total,
                vat_inside(total, rate),
                rate,
            )
        )

    def _stale_orders(self, sandbox: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """Card orders placed in the last three hours and still pending: the
        payment sweep asks the provider about those older than two minutes
        and abandons the ones older than an hour. The provider has most of
        them pending (the customer left its page), some declined or cancelled."""
        rng = self.rng
        candidates = [line for line in self.lines if line.status in (LineStatus.ACTIVE, LineStatus.EXPIRED)]
        for line in rng.sample(candidates, min(self.scale.stale_orders, len(candidates))):
            plan = self.plan_by_id[line.plan]
            placed = self.now - timedelta(seconds=rng.randint(180, 3 * 3_600))
            name = self.users[line.owner - 1][0]
            row = self._order(
                line,
                OrderKind.RENEWAL,
                plan,
                plan.price_ore,
                PaymentMethod.CARD,
                OrderStatus.PENDING,
                placed,
                name,
                None,
            )
            state, outcome, reason = rng.choices(
                [
                    (PaymentState.PENDING, "", ""),
                    (PaymentState.DECLINED, SandboxOutcome.DECLINE, "card_declined"),
                    (PaymentState.CANCELLED, SandboxOutcome.CANCEL, ""),
                ],
                weights=[90, 5, 5],
            )[0]
            payment_id = row[11]
            sandbox.append(
                (
                    payment_id,
                    f"order-{row[1]}",
                    str(row[1]),
                    plan.price_ore,
                    plan.name_en,
                    f"http://127.0.0.1:8000/orders/{row[1]}/return/",
                    "http://127.0.0.1:8000/payments/callback/sandbox/",
                    self.users[line.owner - 1][2],
                    state,
                    outcome,
                    reason,
                    placed,
                    placed + timedelta(seconds=30) if outcome else None,
                )
            )
            yield row

    def receipts_write(self) -> None:
        """Numbered per Oslo calendar year in the order they were issued."""
        self.receipts.sort(key=lambda receipt: (receipt[2], receipt[0]))
        last: dict[int, int] = {}

        def rows() -> Iterator[tuple[Any, ...]]:
            for receipt_id, receipt in enumerate(self.receipts, start=1):
                year = receipt[2].astimezone(OSLO).year
                last[year] = last.get(year, 0) + 1
                yield (receipt_id, year, last[year], *receipt)

        self.step("receipts", Receipt, RECEIPT_FIELDS, rows())
        self.step("receipt years", ReceiptSequence, ["year", "last_number"], sorted(last.items()))
        self.receipts = []

    # --- usage and the ledger

    def _ledger(self, line_id: int, kind: str, amount: int, reference: str, description: str, at: datetime) -> None:
        self.ledger.append((line_id, kind, amount, reference, description, at))

    def usage_write(self) -> None:
        """The records are shared out by weight (a few heavy users, many
        light ones; number-keeping lines barely used), then each line's fall
        uniformly in the time it had service within the last 90 days."""
        rng = self.rng
        window_start = self.now - timedelta(days=USAGE_DAYS)
        weights: list[tuple[_Line, list[tuple[int, float, float]], float]] = []
        for line in self.lines:
            spans = [
                (period_id, max(starts, window_start).timestamp(), min(ends, self.now).timestamp())
                for period_id, starts, ends in line.periods
                if ends > window_start and starts < self.now
            ]
            covered = sum(end - start for _, start, end in spans)
            if covered <= 0:
                continue
            heavy = rng.lognormvariate(0, 1.0) * (1 if line.kind == PlanKind.ESIM else 0.08)
            weights.append((line, spans, heavy * covered))
        total = sum(weight for _, _, weight in weights) or 1.0
        record_id = itertools.count(1)
        target = self.scale.usage
        rates = {UsageKind.VOICE: 149, UsageKind.SMS: 199}

        def rows() -> Iterator[tuple[Any, ...]]:
            written = 0
            for index, (line, spans, weight) in enumerate(weights):
                if index == len(weights) - 1:
                    count = target - written
                else:
                    count = min(int(target * weight / total + rng.random()), target - written)
                if count <= 0:
                    continue
                written += count
                keep = line.kind == PlanKind.NUMBER_KEEPING
                covered = [end - start for _, start, end in spans]
                for period_index in rng.choices(range(len(spans)), weights=covered, k=count):
                    period_id, start, end = spans[period_index]
                    moment = datetime.fromtimestamp(start + (end - start) * rng.random(), tz=UTC_TZ)
                    draw = rng.random()
                    charge = 0
                    if draw < 0.55:
                        # A number-keeping line pays per MB: its owner keeps data for Wi-Fi.
                        quantity = int(rng.lognormvariate(7.0 if keep else 9.5, 1.2)) + 1
                        kind, destination = UsageKind.DATA, ""
                    elif draw < 0.85:
                        kind, quantity = UsageKind.VOICE, rng.randint(5, 1_800)
                        destination = "+86" if rng.random() < 0.04 else "+47"
                    else:
                        kind, quantity = UsageKind.SMS, 1
                        destination = "+86" if rng.random() < 0.04 else "+47"
                    number = next(record_id)
                    reference = f"bench-{number:010d}"
                    if kind == UsageKind.DATA:
                        if keep:
                            charge = math.ceil(quantity / 1024) * 50
                    elif keep or destination == "+86":
                        units = math.ceil(quantity / 60) if kind == UsageKind.VOICE else 1
                        charge = units * rates[kind]
                    if charge:
                        self._ledger(line.id, LedgerKind.USAGE, -charge, f"cdr:{reference}", destination, moment)
                    yield (
                        number,
                        reference,
                        line.id,
                        period_id,
                        kind,
                        quantity,
                        quantity if charge else 0,
                        charge,
                        moment,
                        destination,
                    )

        self.step("usage", UsageRecord, USAGE_FIELDS, rows())

    def topups_write(self) -> None:
        """Top-ups where a line's balance would go below zero: a prepaid
        customer pays a renewal from the balance only after topping it up,
        and tops up again when calls abroad have used it. Each top-up, an
        hour to three days before the charge that needed it, is a paid card
        order with its receipt, like the random ones before it."""
        rng = self.rng
        by_line: dict[int, list[tuple[Any, ...]]] = {}
        for entry in self.ledger:
            by_line.setdefault(entry[0], []).append(entry)

        def rows() -> Iterator[tuple[Any, ...]]:
            for line_id in sorted(by_line):
                line = self.lines[line_id - 1]
                name, address, _ = self.users[line.owner - 1]
                number = _line_number(line.id)
                balance = 0
                previous = line.created_at
                for entry in sorted(by_line[line_id], key=lambda entry: entry[5]):
                    amount, at = entry[2], entry[5]
                    while balance + amount < 0:
                        needed = -(balance + amount)
                        topup = min(
                            settings.TOPUP_MAX_ORE,
                            max(rng.choice(TOPUP_AMOUNTS_ORE), math.ceil(needed / 100_00) * 100_00),
                        )
                        earliest = max(previous, at - timedelta(days=3))
                        placed = at - (at - earliest) * rng.uniform(0.05, 1.0) - timedelta(seconds=1)
                        yield self._order(
                            line, OrderKind.TOPUP, None, topup, PaymentMethod.CARD, OrderStatus.PAID, placed, name, None
                        )
                        self._receipt(
                            line, OrderKind.TOPUP, None, PaymentMethod.CARD, placed, name, address, number, None, topup
                        )
                        self._ledger(
                            line.id, LedgerKind.TOPUP, topup, f"order:{self.next_order - 1}", "Top-up by card", placed
                        )
                        balance += topup
                    balance += amount
                    previous = at

        self.step("orders (top-ups)", Order, ORDER_FIELDS, rows())

    def ledger_write(self) -> None:
        """Numbered in the order the entries were made, as the live table's
        ids grow."""
        self.ledger.sort(key=lambda entry: entry[5])
        self.step(
            "ledger", LedgerEntry, LEDGER_FIELDS, ((number, *entry) for number, entry in enumerate(self.ledger, 1))
        )
        self.ledger = []

    # --- eSIM profiles and the audit log

    def profiles_write(self) -> None:
        rng = self.rng
        batch_rows = [(1, "bench-inventory.csv", "0" * 64, 0, self.now - timedelta(days=800))]
        self.step(
            "inventory batch", InventoryBatch, ["id", "filename", "sha256", "profile_count", "uploaded_at"], batch_rows
        )

        def rows() -> Iterator[tuple[Any, ...]]:
            number = 0
            released = 0
            for line in self.lines:
                if line.kind != PlanKind.ESIM:
                    continue
                number += 1
                if line.status == LineStatus.PENDING:
                    state = EsimState.ASSIGNED
                elif line.status in (LineStatus.CANCELLED, LineStatus.QUARANTINED):
                    state = EsimState.DISABLED
                elif line.status == LineStatus.ACTIVE and (released == 0 or rng.random() < RELEASED_SHARE):
                    # A replacement ready to install, not yet scanned (the
                    # first active line always, so a small scale has one).
                    state = EsimState.RELEASED
                    released += 1
                else:
                    state = EsimState.INSTALLED
                yield self._profile(number, rng, state, line.id, line.created_at)
            for _ in range(self.scale.spare_profiles):
                number += 1
                yield self._profile(number, rng, EsimState.AVAILABLE, None, None)

        self.step("esim profiles", EsimProfile, PROFILE_FIELDS, rows())

    def _profile(
        self, number: int, rng: random.Random, state: str, line_id: int | None, at: datetime | None
    ) -> tuple[Any, ...]:
        matching = "-".join(f"{rng.getrandbits(16):04X}" for _ in range(4))
        iccid = with_check_digit(f"89470299{number:010d}")
        return (number, iccid, f"24299{number:010d}", SMDP_ADDRESS, matching, False, state, line_id, 1, at)

    def audit_write(self) -> None:
        """The last status change of every line not simply active."""
        actions: dict[str, tuple[str, str]] = {
            LineStatus.EXPIRED: ("expire", LineStatus.ACTIVE),
            LineStatus.SUSPENDED: ("suspend", LineStatus.ACTIVE),
            LineStatus.CANCELLED: ("cancel", LineStatus.CANCELLATION_PENDING),
            LineStatus.QUARANTINED: ("quarantine", LineStatus.CANCELLED),
            LineStatus.CANCELLATION_PENDING: ("request_cancellation", LineStatus.ACTIVE),
        }

        def rows() -> Iterator[tuple[Any, ...]]:
            for line in self.lines:
                if line.status in actions:
                    action, before = actions[line.status]
                    yield (line.id, action, before, line.status, "", line.status_changed_at)

        self.step(
            "audit events",
            AuditEvent,
            ["line_id", "action", "from_status", "to_status", "reason", "created_at"],
            rows(),
        )

    def auto_renew_write(self) -> None:
        """A saved card for every customer with a line on auto-renew, and
        the line's setting (its plan, that card)."""
        card_ids: dict[int, int] = {}
        cards: dict[int, tuple[Any, ...]] = {}
        settings_rows = []
        for line in self.lines:
            if not line.auto_renew:
                continue
            card_id = card_ids.setdefault(line.owner, len(card_ids) + 1)
            if card_id not in cards:
                cards[card_id] = (
                    card_id,
                    line.owner,
                    "sandbox",
                    f"sbx_cus_bench{line.owner:08d}",
                    f"sbx_pm_bench{card_id:08d}",
                    "visa",
                    f"{4000 + card_id % 6000:04d}",
                    12,
                    self.now.year + 2,
                    line.created_at,
                )
            settings_rows.append((line.id, line.plan, card_id, True, line.created_at))
        self.step("saved cards", SavedCard, SAVED_CARD_FIELDS, cards.values())
        self.step(
            "auto-renewals", AutoRenewal, ["line_id", "plan_id", "card_id", "enabled", "updated_at"], settings_rows
        )


def _line_number(line_id: int) -> str:
    """A unique Norwegian mobile number (+47, eight digits starting 4 or 9)."""
    return f"+47{4 if line_id % 2 else 9}{line_id:07d}"


PLAN_FIELDS = [
    "id",
    "code",
    "kind",
    "period",
    "data_mb",
    "voice_minutes",
    "sms_count",
    "price_ore",
    "is_active",
    "name_en",
    "name_nb",
    "name_zh_hans",
    "description_en",
    "description_nb",
    "description_zh_hans",
]
USER_FIELDS = [
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "phone",
    "phone_verified",
    "full_name",
    "street_address",
    "postal_code",
    "city",
    "language",
    "is_staff",
    "is_active",
    "date_joined",
    "welcomed_at",
]
LINE_FIELDS = [
    "id",
    "owner_id",
    "number",
    "kind",
    "status",
    "status_changed_at",
    "expires_at",
    "auto_renew",
    "low_balance_threshold_ore",
    "created_at",
]
PERIOD_FIELDS = [
    "id",
    "line_id",
    "plan_id",
    "starts_at",
    "ends_at",
    "data_mb",
    "voice_minutes",
    "sms_count",
    "source",
    "created_at",
]
ORDER_FIELDS = [
    "id",
    "public_id",
    "owner_id",
    "line_id",
    "kind",
    "plan_id",
    "amount_ore",
    "method",
    "status",
    "idempotency_key",
    "provider",
    "provider_payment_id",
    "provider_url",
    "decline_reason",
    "billing_name",
    "period_id",
    "created_at",
    "settled_at",
]
SANDBOX_FIELDS = [
    "payment_id",
    "idempotency_key",
    "reference",
    "amount_ore",
    "description",
    "return_url",
    "notify_url",
    "language",
    "state",
    "outcome",
    "reason",
    "created_at",
    "decided_at",
]
RECEIPT_FIELDS = [
    "id",
    "year",
    "sequence",
    "order_id",
    "owner_id",
    "issued_at",
    "kind",
    "method",
    "customer_name",
    "customer_address",
    "line_number",
    "plan_id",
    "period_starts_at",
    "period_ends_at",
    "total_ore",
    "vat_ore",
    "vat_rate_percent",
]
USAGE_FIELDS = [
    "id",
    "record_id",
    "line_id",
    "period_id",
    "kind",
    "quantity",
    "out_of_bundle",
    "charge_ore",
    "occurred_at",
    "destination",
]
LEDGER_FIELDS = ["id", "line_id", "kind", "amount_ore", "reference", "description", "created_at"]
SAVED_CARD_FIELDS = [
    "id",
    "owner_id",
    "provider",
    "provider_customer_id",
    "method_id",
    "brand",
    "last4",
    "exp_month",
    "exp_year",
    "created_at",
]
PROFILE_FIELDS = [
    "id",
    "iccid",
    "imsi",
    "smdp_address",
    "matching_id",
    "confirmation_code_required",
    "state",
    "line_id",
    "batch_id",
    "assigned_at",
]


# --- the build ---------------------------------------------------------------------------------


def dataset_build(
    *, scale: Scale, now: datetime, seed: int = SEED, say: Callable[[str], None] = lambda message: None
) -> Dataset:
    """Empty the tables and write the dataset; returns what was written and
    how long it took. Each table commits on its own; the dataset counts as
    built only once its description is stored, at the very end."""
    _refuse_unless_bench_database()
    started = time.perf_counter()
    builder = _Builder(scale=scale, now=now, seed=seed, say=say)
    _forget()
    _clear()
    replica = _is_postgresql() and _triggers_off()
    try:
        with transaction.atomic():
            builder.plans_write()
            builder.owners_draw()
            builder.users_write()
            builder.lines_write()
            builder.periods_write()
            builder.orders_write()
            builder.usage_write()
            builder.topups_write()
            builder.receipts_write()
            builder.ledger_write()
            builder.profiles_write()
            builder.audit_write()
            builder.auto_renew_write()
            _reset_sequences()
    finally:
        if replica:
            with connection.cursor() as cursor:
                cursor.execute("RESET session_replication_role")
    if _is_postgresql():
        analysed = time.perf_counter()
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
        builder.steps["vacuum and analyze"] = time.perf_counter() - analysed
        say(f"  {'vacuum, analyze':<16} {'':>10}       {builder.steps['vacuum and analyze']:7.1f} s")
    dataset = Dataset(
        version=DATASET_VERSION,
        scale=scale,
        seed=seed,
        built_at=now,
        seconds=time.perf_counter() - started,
        rows=builder.rows,
        steps=builder.steps,
    )
    _store(dataset)
    return dataset


def _refuse_unless_bench_database() -> None:
    """The build empties the customer tables: on PostgreSQL it runs only on
    a database whose name says it is the benchmark's."""
    name = str(connection.settings_dict["NAME"])
    if _is_postgresql() and "bench" not in name:
        raise RuntimeError(f"refusing to replace the data of database {name!r}: its name does not contain 'bench'")


def _triggers_off() -> bool:
    """Skip foreign-key checks while loading (superuser only): without it
    PostgreSQL queues one deferred check per row and per key until commit."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    except Exception:  # not a superuser: load with the checks, only slower
        return False
    return True
