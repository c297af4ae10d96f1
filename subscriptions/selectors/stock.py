"""Stock levels for the admin's stock page: eSIM profiles available (by
inventory file and by SM-DP+) and free numbers in the pool (by pool file),
each against its low-stock setting, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from subscriptions.models import EsimProfile, EsimState, PoolNumber, ProvisioningJob, ProvisioningStatus


@dataclass(frozen=True)
class StockGroup:
    label: str
    count: int


@dataclass(frozen=True)
class Stock:
    """One kind of stock: how many are left, the threshold, and the groups."""

    available: int
    low_below: int
    groups: list[StockGroup]
    # What else is known: profiles being prepared, numbers kept for a customer.
    held: int

    @property
    def is_low(self) -> bool:
        return self.available < self.low_below


@dataclass(frozen=True)
class StockLevels:
    profiles: Stock
    profiles_by_smdp: list[StockGroup]
    numbers: Stock
    jobs_waiting: int


def stock_levels(*, now: datetime | None = None) -> StockLevels:
    now = now or timezone.now()
    by_batch = (
        EsimProfile.objects.filter(state=EsimState.AVAILABLE)
        .values("batch__filename", "batch__uploaded_at")
        .annotate(count=Count("id"))
        .order_by("batch__uploaded_at", "batch__filename")
    )
    by_smdp = (
        EsimProfile.objects.filter(state=EsimState.AVAILABLE)
        .values("smdp_address")
        .annotate(count=Count("id"))
        .order_by("smdp_address")
    )
    reserved = EsimProfile.objects.filter(state=EsimState.RESERVED).count()
    profile_groups = [StockGroup(row["batch__filename"], row["count"]) for row in by_batch]

    free = Q(taken_at=None) & (Q(offered_until=None) | Q(offered_until__lte=now))
    offered = Q(taken_at=None, offered_until__gt=now)
    numbers_by_batch = (
        PoolNumber.objects.values("batch__filename", "batch__uploaded_at")
        .annotate(free=Count("id", filter=free), offered=Count("id", filter=offered))
        .filter(free__gt=0)
        .order_by("batch__uploaded_at", "batch__filename")
    )
    number_rows = list(numbers_by_batch)
    offered_now = PoolNumber.objects.filter(offered).count()

    return StockLevels(
        profiles=Stock(
            available=sum(group.count for group in profile_groups),
            low_below=settings.ESIM_STOCK_ALERT_BELOW,
            groups=profile_groups,
            held=reserved,
        ),
        profiles_by_smdp=[StockGroup(row["smdp_address"], row["count"]) for row in by_smdp],
        numbers=Stock(
            available=sum(row["free"] for row in number_rows),
            low_below=settings.NUMBER_POOL_LOW_BELOW,
            groups=[StockGroup(row["batch__filename"], row["free"]) for row in number_rows],
            held=offered_now,
        ),
        jobs_waiting=ProvisioningJob.objects.filter(status=ProvisioningStatus.WAITING).count(),
    )
