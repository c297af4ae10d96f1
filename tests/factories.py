"""Factories for every model the tests create."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from subscriptions.iccid import with_check_digit
from subscriptions.models import (
    EsimProfile,
    InventoryBatch,
    LedgerEntry,
    LedgerKind,
    Line,
    LineStatus,
    Plan,
    PlanKind,
    PlanPeriod,
    ServicePeriod,
    UsageKind,
    UsageRecord,
)
from subscriptions.services.lines import period_create

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    phone = factory.Sequence(lambda n: f"+479{n:07d}")
    full_name = factory.Faker("name")
    language = "en"

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified_email(self, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if create and self.email:
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=bool(extracted))


# --- subscriptions ---------------------------------------------------------


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"esim-month-{n}")
    kind = PlanKind.ESIM
    period = PlanPeriod.MONTH
    data_mb = 10_240
    voice_minutes = 300
    sms_count = 100
    price_ore = 199_00
    name_en = factory.LazyAttribute(lambda plan: f"eSIM {plan.data_mb or '∞'} MB / month")
    name_nb = factory.LazyAttribute(lambda plan: f"eSIM {plan.data_mb or '∞'} MB / måned")
    name_zh_hans = factory.LazyAttribute(lambda plan: f"eSIM {plan.data_mb or '∞'} MB / 月")
    description_en = "Data, calls and texts in Norway and the EU/EEA."
    description_nb = "Data, samtaler og SMS i Norge og EU/EØS."
    description_zh_hans = "在挪威和欧盟/欧洲经济区使用流量、通话和短信。"


class NumberKeepingPlanFactory(PlanFactory):
    code = factory.Sequence(lambda n: f"keep-quarter-{n}")
    kind = PlanKind.NUMBER_KEEPING
    period = PlanPeriod.QUARTER
    data_mb = 0
    voice_minutes = 0
    sms_count = 0
    price_ore = 99_00
    name_en = "Keep my number, 3 months"
    name_nb = "Behold nummeret, 3 måneder"
    name_zh_hans = "保号卡（3 个月）"


class LineFactory(factory.django.DjangoModelFactory):
    """A line; ``with_period=plan`` (or True) also gives it a current period
    and makes it active, the way a paid order would."""

    class Meta:
        model = Line
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"+4745{n:06d}")
    kind = PlanKind.ESIM
    status = LineStatus.PENDING

    @factory.post_generation
    def with_period(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        plan = extracted if isinstance(extracted, Plan) else PlanFactory(kind=self.kind)
        start = kwargs.get("start") or timezone.now() - timedelta(days=kwargs.get("days_ago", 10))
        period = period_create(line=self, plan=plan, start=start, source="order")
        self.expires_at = period.ends_at
        self.status = LineStatus.ACTIVE if period.ends_at > timezone.now() else LineStatus.EXPIRED
        self.save(update_fields=["expires_at", "status"])


class InventoryBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryBatch

    filename = factory.Sequence(lambda n: f"vendor-batch-{n}.csv")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")


def make_iccid(n: int) -> str:
    return with_check_digit(f"894700{n:012d}")  # 18 digits + the check digit = 19


class EsimProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EsimProfile

    iccid = factory.Sequence(make_iccid)
    imsi = factory.Sequence(lambda n: f"24201{n:010d}")
    smdp_address = "smdp.nordlys.test"
    matching_id = factory.Sequence(lambda n: f"MATCH-{n:08d}-SECRET")
    batch = factory.SubFactory(InventoryBatchFactory)


class UsageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    record_id = factory.Sequence(lambda n: f"cdr-{n:010d}")
    line = factory.SubFactory(LineFactory)
    kind = UsageKind.DATA
    quantity = 1024
    occurred_at = factory.LazyFunction(timezone.now)


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerEntry

    line = factory.SubFactory(LineFactory)
    kind = LedgerKind.TOPUP
    amount_ore = 100_00


def usage_bulk_create(
    line: Line,
    count: int,
    *,
    kind: str = UsageKind.DATA,
    quantity: int = 1024,
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=1),
) -> None:
    """``count`` usage records on the line's current period, newest at
    ``start`` (an hour ago by default) and one ``step`` apart going back."""
    now = timezone.now()
    period = ServicePeriod.objects.filter(line=line, starts_at__lte=now, ends_at__gt=now).first()
    start = start or now - timedelta(hours=1)
    batch = uuid.uuid4().hex[:8]
    UsageRecord.objects.bulk_create(
        UsageRecord(
            record_id=f"bulk-{batch}-{n}",
            line=line,
            period=period,
            kind=kind,
            quantity=quantity,
            occurred_at=start - step * n,
        )
        for n in range(count)
    )
