"""Notices before an automatic renewal (自动扣款): a few days before a line's
charge, the plan, the amount, the card's last digits, the date and how to
change or stop it; once per line and period end, through the messages'
pipeline (services/notifications.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import NotificationKind
from subscriptions.models import Line, LineStatus, Notification, PlanPeriod
from subscriptions.services.autorenew import HALF_PERIOD, VIPPS_CHARGE_LEAD, auto_renew_window_of
from subscriptions.services.notifications import SWEEP_CHUNK, Claim, notifications_claim

K = NotificationKind


def auto_renew_notice_window(period: str) -> timedelta:
    """How long before the charge its notice goes: AUTO_RENEW_NOTICE_DAYS_BEFORE
    days, at most a quarter of the plan's period (a day plan: six hours)."""
    return min(timedelta(days=settings.AUTO_RENEW_NOTICE_DAYS_BEFORE), HALF_PERIOD[PlanPeriod(period)] / 2)


def auto_renew_notices_claim(*, now: datetime | None = None) -> int:
    """Claim the notice of every automatic charge due within its notice
    window (once per line and period end), through the partial index on
    the expiry of auto-renew lines; how many messages were claimed."""
    now = now or timezone.now()
    longest = max(timedelta(days=settings.AUTO_RENEW_DAYS_BEFORE), VIPPS_CHARGE_LEAD) + timedelta(
        days=settings.AUTO_RENEW_NOTICE_DAYS_BEFORE
    )
    noticed = Notification.objects.filter(line=OuterRef("pk"), kind=K.AUTO_RENEW, period_end=OuterRef("expires_at"))
    lines = (
        Line.objects.filter(
            auto_renew=True,
            status=LineStatus.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + longest,
            auto_renewal__enabled=True,
        )
        .exclude(Exists(noticed))
        .select_related("auto_renewal__plan")
        .order_by("pk")
    )
    claimed = 0
    for line in lines.iterator(chunk_size=SWEEP_CHUNK):
        assert line.expires_at is not None  # the filter asks for one
        period = line.auto_renewal.plan.period
        charge_at = line.expires_at - auto_renew_window_of(line.auto_renewal)
        if charge_at - auto_renew_notice_window(period) > now:
            continue
        claim = Claim(
            owner_id=line.owner_id,
            line=line,
            kind=K.AUTO_RENEW,
            key=f"auto-renew:{line.pk}:{line.expires_at.isoformat()}",
            period_end=line.expires_at,
            params={"charge_at": max(charge_at, now).isoformat()},
        )
        with transaction.atomic():
            claimed += len(notifications_claim(claim=claim, now=now))
    return claimed
