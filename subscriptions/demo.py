"""Demo lines for `make run`: the plan catalogue in three languages, lines for
the demo customers with months of history, and a stock of spare eSIM
profiles.

Idempotent: a plan is created once by its code (and then left to staff), a
line that exists is left as it is, profiles are added by ICCID. Periods and
state changes go through subscriptions.services.lines, run "as of" the moment
they happened so that the audit log reads like a real line's; usage and the
ledger history are written in bulk, dated when they happened, the way the CDR
import and the payment callbacks would have written them.

The scenarios are relative to the moment of the first seed, so a database
seeded weeks ago shows them aged (Kari's line will have expired by then):
`manage.py seed_demo --fresh-lines` builds them again. It deletes nothing:
the old demo lines keep their ledger, orders, receipts and the vouchers
redeemed on them, and are retired (quarantined under a number no phone can
have) to free the demo numbers."""

from __future__ import annotations

import bisect
import hashlib
import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from subscriptions.iccid import with_check_digit
from subscriptions.international import RateBook
from subscriptions.models import (
    AuditEvent,
    DiscountKind,
    EsimProfile,
    EsimState,
    InventoryBatch,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Plan,
    PlanKind,
    PlanPeriod,
    PromoCode,
    ServicePeriod,
    UsageKind,
    UsageRecord,
    VoucherBatch,
    VoucherValue,
)
from subscriptions.periods import DAYS, MONTHS, OSLO, add_months, period_end
from subscriptions.services.audit import audit_record
from subscriptions.services.lines import line_add_period, line_set_low_balance_threshold, line_transition
from subscriptions.services.new_lines import NumberFileAlreadyImported, number_pool_import
from subscriptions.services.usage import ledger_entry_for_usage
from subscriptions.services.voucher_codes import code_format
from subscriptions.services.vouchers import voucher_batch_create

T = TypeVar("T")

# --- the catalogue ------------------------------------------------------------

ABROAD_EN = "Calls and texts to other countries are charged from your balance."
ABROAD_NB = "Samtaler og SMS til andre land trekkes fra saldoen."
ABROAD_ZH = "拨打国际电话和发送国际短信从余额中扣费。"


@dataclass(frozen=True)
class DemoPlan:
    code: str
    kind: str
    period: str
    data_mb: int | None
    voice_minutes: int | None
    sms_count: int | None
    price_ore: int
    names: tuple[str, str, str]  # en, nb, zh-hans
    descriptions: tuple[str, str, str]


UNLIMITED_EEA = (
    "Unlimited calls and texts in Norway and the EU/EEA. " + ABROAD_EN,
    "Fri bruk av samtaler og SMS i Norge og EU/EØS. " + ABROAD_NB,
    "在挪威和欧盟/欧洲经济区无限通话和短信。" + ABROAD_ZH,
)
KEEP_NUMBER = (
    "Keeps your Norwegian number alive while you are away: receive calls and texts; "
    "use and calls are charged from your balance.",
    "Holder det norske nummeret ditt i live mens du er borte: motta samtaler og SMS; "
    "bruk og samtaler trekkes fra saldoen.",
    "出国期间保留您的挪威号码：可以接听电话和接收短信；使用流量和拨打电话从余额中扣费。",
)

DEMO_PLANS = [
    DemoPlan(
        "esim-day-1gb",
        PlanKind.ESIM,
        PlanPeriod.DAY,
        1024,
        60,
        50,
        39_00,
        ("Day pass 1 GB", "Dagspass 1 GB", "1 天套餐 1 GB"),
        (
            "24 hours with 1 GB, 60 minutes and 50 texts in Norway and the EU/EEA.",
            "24 timer med 1 GB, 60 minutter og 50 SMS i Norge og EU/EØS.",
            "24 小时内在挪威和欧盟/欧洲经济区使用 1 GB 流量、60 分钟通话和 50 条短信。",
        ),
    ),
    DemoPlan(
        "esim-week-5gb",
        PlanKind.ESIM,
        PlanPeriod.WEEK,
        5 * 1024,
        None,
        None,
        99_00,
        ("Week 5 GB", "Uke 5 GB", "周套餐 5 GB"),
        UNLIMITED_EEA,
    ),
    DemoPlan(
        "esim-month-10gb",
        PlanKind.ESIM,
        PlanPeriod.MONTH,
        10 * 1024,
        None,
        None,
        249_00,
        ("Month 10 GB", "Måned 10 GB", "月套餐 10 GB"),
        UNLIMITED_EEA,
    ),
    DemoPlan(
        "esim-month-unlimited",
        PlanKind.ESIM,
        PlanPeriod.MONTH,
        None,
        None,
        None,
        449_00,
        ("Month unlimited data", "Måned fri data", "月套餐 无限流量"),
        UNLIMITED_EEA,
    ),
    DemoPlan(
        "esim-quarter-30gb",
        PlanKind.ESIM,
        PlanPeriod.QUARTER,
        30 * 1024,
        None,
        None,
        649_00,
        ("Quarter 30 GB", "Kvartal 30 GB", "季度套餐 30 GB"),
        UNLIMITED_EEA,
    ),
    DemoPlan(
        "esim-year-120gb",
        PlanKind.ESIM,
        PlanPeriod.YEAR,
        120 * 1024,
        None,
        None,
        2199_00,
        ("Year 120 GB", "År 120 GB", "年套餐 120 GB"),
        UNLIMITED_EEA,
    ),
    DemoPlan(
        "keep-month",
        PlanKind.NUMBER_KEEPING,
        PlanPeriod.MONTH,
        0,
        0,
        0,
        49_00,
        ("Keep my number, 1 month", "Behold nummeret, 1 måned", "保号卡（1 个月）"),
        KEEP_NUMBER,
    ),
    DemoPlan(
        "keep-quarter",
        PlanKind.NUMBER_KEEPING,
        PlanPeriod.QUARTER,
        0,
        0,
        0,
        129_00,
        ("Keep my number, 3 months", "Behold nummeret, 3 måneder", "保号卡（3 个月）"),
        KEEP_NUMBER,
    ),
]

# --- the lines ------------------------------------------------------------------

WANG = "wang.xiaoming@nordlys.test"
KARI = "kari.nordmann@nordlys.test"
ALEX = "alex.smith@nordlys.test"


@dataclass(frozen=True)
class DemoLine:
    """One demo line; ``profile`` numbers its eSIM profile in the demo batch,
    ``esim_state`` says whether it is on a phone or still to be installed."""

    owner_email: str
    number: str
    kind: str
    profile: int
    build: Callable[[Line, dict[str, Plan], datetime], None]
    story: str
    esim_state: str = EsimState.INSTALLED


NORWEGIAN_CONTACTS = ["+4790011223", "+4745566778", "+4793344556", "+4798877665", "+4740123456"]


@dataclass
class History:
    """Usage and ledger rows for one line, written in two bulk inserts."""

    line: Line
    usage: list[UsageRecord] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    rates: RateBook = field(default_factory=RateBook.load)

    def topup(self, at: datetime, amount_ore: int, via: str) -> None:
        self.ledger.append(
            LedgerEntry(
                line=self.line,
                kind=LedgerKind.TOPUP,
                amount_ore=amount_ore,
                reference=f"demo-topup-{self.line.number}-{self.line.pk}-{len(self.ledger)}",
                description=via,
                created_by=self.line.owner,
                created_at=at,
            )
        )

    def use(self, at: datetime, kind: str, quantity: int, destination: str = "") -> None:
        """One record, priced as the CDR import prices it: calls and texts
        to countries outside Norway and the EU/EEA from the rate table (the
        demo's domestic use stays inside the bundle)."""
        # The line's id too: a rebuilt demo line has the number of a retired one.
        record_id = f"demo-{self.line.number[1:]}-{self.line.pk}-{len(self.usage):05d}"
        price = self.rates.price(kind=kind, quantity=quantity, destination=destination, on=at.astimezone(OSLO).date())
        record = UsageRecord(
            record_id=record_id,
            line=self.line,
            kind=kind,
            quantity=quantity,
            out_of_bundle=quantity if price is not None else 0,
            charge_ore=price.amount_ore if price is not None else 0,
            occurred_at=at,
            destination=destination,
            international=price is not None,
            rate=price.rate if price is not None else None,
        )
        self.usage.append(record)
        if record.charge_ore:
            entry = ledger_entry_for_usage(record=record, price=price)
            entry.created_at = at
            self.ledger.append(entry)

    def everyday(self, *, start: datetime, end: datetime, abroad: str | None, rng: random.Random) -> None:
        """A person's ordinary use, day by day: data sessions, calls and
        texts to Norwegian numbers, now and then a call or text abroad."""
        day = start
        while day < end:
            for _ in range(rng.randint(3, 6)):
                self.use(_within(day, end, rng), UsageKind.DATA, rng.randint(5, 80) * 1024)
            for _ in range(rng.randint(0, 3)):
                self.use(_within(day, end, rng), UsageKind.VOICE, rng.randint(20, 900), rng.choice(NORWEGIAN_CONTACTS))
            for _ in range(rng.randint(0, 3)):
                self.use(_within(day, end, rng), UsageKind.SMS, 1, rng.choice(NORWEGIAN_CONTACTS))
            if abroad and rng.random() < 0.12:
                self.use(_within(day, end, rng), UsageKind.VOICE, rng.randint(120, 900), abroad)
            if abroad and rng.random() < 0.06:
                self.use(_within(day, end, rng), UsageKind.SMS, 1, abroad)
            day += timedelta(days=1)

    def save(self) -> None:
        periods = list(ServicePeriod.objects.filter(line=self.line).order_by("starts_at"))
        starts = [period.starts_at for period in periods]
        for record in self.usage:
            index = bisect.bisect_right(starts, record.occurred_at) - 1
            if index >= 0 and record.occurred_at < periods[index].ends_at:
                record.period = periods[index]
        UsageRecord.objects.bulk_create(self.usage, batch_size=500)
        LedgerEntry.objects.bulk_create(self.ledger, batch_size=500)


def _within(day: datetime, end: datetime, rng: random.Random) -> datetime:
    return min(day + timedelta(seconds=rng.randint(7 * 3600, 23 * 3600)), end - timedelta(minutes=5))


def _as_of(moment: datetime, line: Line, write: Callable[[], T]) -> T:
    """Run a service as if at ``moment``: the audit rows it writes are dated
    then, and so is the line's last status change."""
    before = AuditEvent.objects.filter(line=line).aggregate(last=Max("id"))["last"] or 0
    result = write()
    AuditEvent.objects.filter(line=line, id__gt=before).update(created_at=moment)
    Line.objects.filter(pk=line.pk, status_changed_at__gt=moment).update(status_changed_at=moment)
    return result


def _buy(line: Line, plan: Plan, at: datetime) -> None:
    """The owner pays for one period of ``plan`` at ``at``."""
    _as_of(at, line, partial(line_add_period, line=line, plan=plan, by=line.owner, now=at))
    line.refresh_from_db()


def _renew_until(line: Line, plan: Plan, *, first_start: datetime, until: datetime) -> None:
    """Buy the first period at ``first_start``, then renew three days before
    each expiry (as auto-renew would) until the line runs past ``until``."""
    _buy(line, plan, first_start)
    while line.expires_at is not None and line.expires_at <= until:
        _buy(line, plan, line.expires_at - timedelta(days=3))


def _start_ending_near(plan: Plan, target: datetime) -> datetime:
    """A start whose one period of ``plan`` ends at ``target`` or, where
    month lengths forbid that (a month ending on the 31st), a day or three
    after it."""
    local = target.astimezone(OSLO)
    if plan.period in MONTHS:
        start = add_months(local.replace(tzinfo=None), -MONTHS[plan.period]).replace(tzinfo=OSLO)
    else:
        start = local - timedelta(days=DAYS[plan.period])
    while period_end(start, plan.period) < target - timedelta(hours=2):
        start += timedelta(days=1)
    return start


def _months_before(moment: datetime, months: int) -> datetime:
    return add_months(moment.astimezone(OSLO).replace(tzinfo=None), -months).replace(tzinfo=OSLO)


def _wang_esim(line: Line, plans: dict[str, Plan], now: datetime) -> None:
    """Active eSIM, about two weeks into its month, renewed monthly for a
    quarter; 90 days of use, calls home to China charged to the balance."""
    first_start = _months_before(now - timedelta(days=14), 3)
    _renew_until(line, plans["esim-month-10gb"], first_start=first_start, until=now)
    history = History(line)
    history.topup(first_start + timedelta(hours=2), 200_00, "Vipps")
    history.topup(now - timedelta(days=35), 150_00, "Vipps")
    history.everyday(start=now - timedelta(days=90), end=now, abroad="+8613812345678", rng=random.Random(line.number))  # noqa: S311
    history.save()
    line_set_low_balance_threshold(line=line, threshold_ore=50_00, by=line.owner)


def _wang_keep(line: Line, plans: dict[str, Plan], now: datetime) -> None:
    """Number-keeping, renewed by the quarter, a third into its quarter."""
    _renew_until(line, plans["keep-quarter"], first_start=_months_before(now - timedelta(days=40), 3), until=now)


def _kari_expiring(line: Line, plans: dict[str, Plan], now: datetime) -> None:
    """Active eSIM whose month runs out in two days (a reminder is due)."""
    start = _start_ending_near(plans["esim-month-10gb"], now + timedelta(days=2))
    _buy(line, plans["esim-month-10gb"], start)
    history = History(line)
    history.topup(start + timedelta(minutes=10), 100_00, "Visa")
    history.everyday(start=start, end=now, abroad=None, rng=random.Random(line.number))  # noqa: S311
    history.save()


def _kari_expired(line: Line, plans: dict[str, Plan], now: datetime) -> None:
    """An eSIM from a trip: one week that ended ten days ago, now expired."""
    plan = plans["esim-week-5gb"]
    start = _start_ending_near(plan, now - timedelta(days=10))
    _buy(line, plan, start)
    ended = line.expires_at or now
    expire = partial(
        line_transition, line=line, to=LineStatus.EXPIRED, by=None, reason="Paid period ended.", action="expire"
    )
    _as_of(ended, line, expire)
    history = History(line)
    history.everyday(start=start, end=ended, abroad=None, rng=random.Random(line.number))  # noqa: S311
    history.save()


def _alex_low_balance(line: Line, plans: dict[str, Plan], now: datetime) -> None:
    """Active eSIM a week into its month; calls to the US and the UK have
    eaten most of a 100 kr top-up, below the 50 kr alert."""
    start = now - timedelta(days=8)
    _buy(line, plans["esim-month-10gb"], start)
    history = History(line)
    history.topup(start + timedelta(minutes=5), 100_00, "Visa")
    history.everyday(start=start, end=now, abroad=None, rng=random.Random(line.number))  # noqa: S311
    history.use(now - timedelta(days=6, hours=3), UsageKind.VOICE, 9 * 60, "+14155550123")
    history.use(now - timedelta(days=4, hours=5), UsageKind.VOICE, 7 * 60 - 15, "+447911123456")
    for hours in range(5):
        history.use(now - timedelta(days=2, hours=hours), UsageKind.SMS, 1, "+14155550123")
    history.save()
    line_set_low_balance_threshold(line=line, threshold_ore=50_00, by=line.owner)


DEMO_LINES = [
    DemoLine(WANG, "+4791234567", PlanKind.ESIM, 1, _wang_esim, "active eSIM, mid-period, 90 days of usage"),
    DemoLine(
        WANG,
        "+4792345678",
        PlanKind.NUMBER_KEEPING,
        2,
        _wang_keep,
        "number-keeping, active, its eSIM ready to install (My eSIM)",
        esim_state=EsimState.ASSIGNED,
    ),
    DemoLine(KARI, "+4741234567", PlanKind.ESIM, 3, _kari_expiring, "active eSIM, expires in two days"),
    DemoLine(KARI, "+4748765432", PlanKind.ESIM, 4, _kari_expired, "expired eSIM"),
    DemoLine(ALEX, "+4746123456", PlanKind.ESIM, 5, _alex_low_balance, "active eSIM, low balance"),
]

# --- the eSIM inventory -----------------------------------------------------------

BATCH_FILENAME = "nordlys-demo-inventory-2026-01.csv"
BATCH_SHA256 = hashlib.sha256(BATCH_FILENAME.encode()).hexdigest()
SPARE_PROFILES = range(101, 121)
SMDP_ADDRESS = "smdp.nordlys.test"


def demo_iccid(n: int) -> str:
    """A valid Norwegian ICCID (8947…, 19 digits with the Luhn digit)."""
    return with_check_digit(f"89470199{n:010d}")


def _profile(batch: InventoryBatch, n: int) -> EsimProfile:
    return EsimProfile(
        iccid=demo_iccid(n),
        imsi=f"24299{n:010d}",
        smdp_address=SMDP_ADDRESS,
        matching_id="-".join(secrets.token_hex(2).upper() for _ in range(4)),
        batch=batch,
    )


def _add_profiles(batch: InventoryBatch, numbers: Iterable[int]) -> int:
    wanted = {demo_iccid(n): n for n in numbers}
    present = set(EsimProfile.objects.filter(iccid__in=wanted).values_list("iccid", flat=True))
    created = EsimProfile.objects.bulk_create(
        [_profile(batch, n) for iccid, n in wanted.items() if iccid not in present]
    )
    return len(created)


# --- the seed ---------------------------------------------------------------------


@dataclass
class DemoLinesResult:
    plans_created: int = 0
    lines_created: list[DemoLine] = field(default_factory=list)
    spare_profiles_created: int = 0
    pool_numbers_created: int = 0


@transaction.atomic
def demo_lines_seed(*, now: datetime | None = None, fresh: bool = False) -> DemoLinesResult:
    """Create what is missing of the catalogue, the demo lines and the spare
    profiles. With ``fresh``, the demo lines are first removed with all their
    rows and built again as of ``now`` (a development convenience only)."""
    now = now or timezone.now()
    result = DemoLinesResult()
    plans: dict[str, Plan] = {}
    for plan_spec in DEMO_PLANS:
        plans[plan_spec.code], created = Plan.objects.get_or_create(
            code=plan_spec.code,
            defaults={
                "kind": plan_spec.kind,
                "period": plan_spec.period,
                "data_mb": plan_spec.data_mb,
                "voice_minutes": plan_spec.voice_minutes,
                "sms_count": plan_spec.sms_count,
                "price_ore": plan_spec.price_ore,
                "name_en": plan_spec.names[0],
                "name_nb": plan_spec.names[1],
                "name_zh_hans": plan_spec.names[2],
                "description_en": plan_spec.descriptions[0],
                "description_nb": plan_spec.descriptions[1],
                "description_zh_hans": plan_spec.descriptions[2],
            },
        )
        result.plans_created += created

    batch, _ = InventoryBatch.objects.get_or_create(
        sha256=BATCH_SHA256, defaults={"filename": BATCH_FILENAME, "uploaded_at": now - timedelta(days=120)}
    )
    if fresh:
        _retire_demo_lines()
    owners = {user.email: user for user in User.objects.filter(email__in={spec.owner_email for spec in DEMO_LINES})}
    for spec in DEMO_LINES:
        owner = owners.get(spec.owner_email)
        if owner is None or Line.objects.filter(number=spec.number).exists():
            continue
        line = Line.objects.create(owner=owner, number=spec.number, kind=spec.kind)
        spec.build(line, plans, now)
        line.refresh_from_db()
        first = line.periods.order_by("starts_at").first()
        born = first.starts_at if first is not None else now
        Line.objects.filter(pk=line.pk).update(created_at=born)
        profile_number = _free_profile_number(spec.profile)
        _add_profiles(batch, [profile_number])
        EsimProfile.objects.filter(iccid=demo_iccid(profile_number), line=None).update(
            line=line, state=spec.esim_state, assigned_at=born, state_changed_at=born
        )
        result.lines_created.append(spec)

    result.spare_profiles_created = _add_profiles(batch, SPARE_PROFILES)
    InventoryBatch.objects.filter(pk=batch.pk).update(profile_count=batch.profiles.count())
    result.pool_numbers_created = _add_pool_numbers()
    return result


# --- the number pool: free numbers a new line can get ------------------------------------

POOL_FILENAME = "nordlys-demo-number-pool.csv"
POOL_NUMBERS = ("+4745001201", "+4745001202", "+4745001203", "+4745001204", "+4745001205", "+4798701301")


def _add_pool_numbers() -> int:
    """Import the demo's number-pool file once (a second time is the same
    file, recognised by its SHA-256, and adds nothing)."""
    content = ("number\n" + "\n".join(POOL_NUMBERS) + "\n").encode()
    try:
        return number_pool_import(filename=POOL_FILENAME, content=content, by=None).number_count
    except NumberFileAlreadyImported:
        return 0


# The moves that take a line of each status to quarantine.
TO_QUARANTINE = {
    LineStatus.PENDING: [LineStatus.CANCELLED, LineStatus.QUARANTINED],
    LineStatus.ACTIVE: [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED, LineStatus.QUARANTINED],
    LineStatus.SUSPENDED: [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED, LineStatus.QUARANTINED],
    LineStatus.EXPIRED: [LineStatus.QUARANTINED],
    LineStatus.CANCELLATION_PENDING: [LineStatus.CANCELLED, LineStatus.QUARANTINED],
    LineStatus.CANCELLED: [LineStatus.QUARANTINED],
    LineStatus.QUARANTINED: [],
}
RETIRED_REASON = "Demo line retired: seed_demo --fresh-lines built a new one with this number."


def retired_number(line: Line) -> str:
    """A number no phone can have (Norwegian numbers never start with 0)."""
    return f"+470{line.pk:08d}"


def _retire_demo_lines() -> None:
    """Free the demo numbers without deleting anything: a line's ledger,
    orders, receipts and the vouchers redeemed on it are money history. Each
    old demo line is quarantined (its owner no longer sees it), its eSIM
    profile disabled, and its number replaced by a retired one."""
    for line in Line.objects.filter(number__in=[spec.number for spec in DEMO_LINES]):
        old_number = line.number
        for status in TO_QUARANTINE[LineStatus(line.status)]:
            line_transition(line=line, to=status, by=None, reason=RETIRED_REASON, action="demo_retire")
        EsimProfile.objects.filter(line=line).update(state=EsimState.DISABLED, state_changed_at=timezone.now())
        Line.objects.filter(pk=line.pk).update(number=retired_number(line))
        audit_record(line=line, action="demo_retire", by=None, reason=RETIRED_REASON, data={"number": old_number})


def _free_profile_number(first: int) -> int:
    """The demo profile for a new line: ``first``, or after a rebuild (the
    retired line keeps its profile) the next unassigned one a thousand on."""
    number = first
    while EsimProfile.objects.filter(iccid=demo_iccid(number), line__isnull=False).exists():
        number += 1000
    return number


DEMO_PROMO_CODE = "VELKOMMEN20"
DEMO_VOUCHER_LABEL = "Demo: Narvesen Oslo S"
DEMO_VOUCHER_COUNT = 5
DEMO_VOUCHER_AMOUNT_ORE = 100_00
DEMO_VOUCHER_MAKER = "supervisor@nordlys.test"


@dataclass
class DemoOffersResult:
    promo_code: str = DEMO_PROMO_CODE
    promo_created: bool = False
    # The demo voucher codes, only on the seed that made them (as the printer's CSV would).
    voucher_codes: list[str] = field(default_factory=list)


@transaction.atomic
def demo_offers_seed(*, now: datetime | None = None) -> DemoOffersResult:
    """A promotion code for trying checkout, and a batch of 100 kr vouchers
    made by the demo supervisor through the real service (so the codes are
    random and stored hashed: they are returned once, when made)."""
    now = now or timezone.now()
    result = DemoOffersResult()
    _promo, result.promo_created = PromoCode.objects.get_or_create(
        code=DEMO_PROMO_CODE,
        defaults={
            "kind": DiscountKind.PERCENT,
            "percent": 20,
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=365),
            "max_uses_per_customer": 1,
        },
    )
    if not VoucherBatch.objects.filter(label=DEMO_VOUCHER_LABEL).exists():
        result.voucher_codes = demo_vouchers_make(now=now)
    return result


def demo_vouchers_make(*, now: datetime | None = None) -> list[str]:
    """A new batch of 100 kr demo vouchers, made by the demo supervisor (or
    the first member of staff) through the real service: the codes exist
    whole only in what this returns, printed as on the card. None without
    staff to make them."""
    now = now or timezone.now()
    staff = User.objects.filter(is_staff=True, is_active=True)
    maker = staff.filter(email=DEMO_VOUCHER_MAKER).first() or staff.order_by("pk").first()
    if maker is None:
        return []
    _batch, codes = voucher_batch_create(
        label=DEMO_VOUCHER_LABEL,
        value_kind=VoucherValue.AMOUNT,
        amount_ore=DEMO_VOUCHER_AMOUNT_ORE,
        plan=None,
        count=DEMO_VOUCHER_COUNT,
        expires_on=(now + timedelta(days=365)).date(),
        by=maker,
    )
    return [code_format(code) for _serial, code in codes]
