"""Lines (phone numbers a customer holds) and their paid service periods."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.phone import format_phone
from subscriptions.models.plans import Plan, PlanKind
from subscriptions.periods import period_end


class LineStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("line status", "Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    EXPIRED = "expired", pgettext_lazy("line status", "Expired")
    CANCELLATION_PENDING = "cancellation_pending", _("Cancellation pending")
    CANCELLED = "cancelled", pgettext_lazy("line status", "Cancelled")
    QUARANTINED = "quarantined", _("Quarantined")


S = LineStatus
# The only moves a line's status may make (subscriptions.services.lines
# refuses any other). A cancellation that is withdrawn or rejected returns the
# line to where it was; a cancelled line comes back within the grace period.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.SUSPENDED, S.EXPIRED, S.CANCELLATION_PENDING}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.EXPIRED, S.CANCELLATION_PENDING}),
    S.EXPIRED: frozenset({S.ACTIVE, S.CANCELLATION_PENDING, S.QUARANTINED}),
    S.CANCELLATION_PENDING: frozenset({S.CANCELLED, S.ACTIVE, S.SUSPENDED, S.EXPIRED}),
    S.CANCELLED: frozenset({S.ACTIVE, S.QUARANTINED}),
    S.QUARANTINED: frozenset(),
}
# A line being cancelled, cancelled or quarantined: it can no longer be
# renewed, topped up or charged, and its expiry no longer concerns anyone.
CLOSED_STATUSES = frozenset({S.CANCELLATION_PENDING, S.CANCELLED, S.QUARANTINED})

# The near-expiry warning covers the last fifth of the paid period, and never
# more than a week: a day plan warns in its last hours, not right after it is
# bought.
NEAR_EXPIRY_SHARE = 5
NEAR_EXPIRY_MAX = timedelta(days=7)


def near_expiry_window(plan_period: str, *, ends_at: datetime) -> timedelta:
    """How long before ``ends_at`` a line paid for by a plan of
    ``plan_period`` ("day", "month", …) counts as near expiry. The plan's own
    length, not the period row's: a goodwill extension lengthens the row."""
    length = period_end(ends_at, plan_period) - ends_at
    return min(length / NEAR_EXPIRY_SHARE, NEAR_EXPIRY_MAX)


class LineQuerySet(models.QuerySet["Line"]):
    def with_balance(self) -> LineQuerySet:
        """Each line with its prepaid balance in øre (``balance_ore``): the
        sum of its ledger, by a subquery in the same query."""
        from subscriptions.models.ledger import LedgerEntry  # the ledger's module imports this one

        total = (
            LedgerEntry.objects.filter(line=OuterRef("pk"))
            .order_by()
            .values("line")
            .annotate(total=Sum("amount_ore"))
            .values("total")
        )
        # django-stubs declares each annotation on the model, and Line declares this one itself.
        return self.annotate(balance_ore=Coalesce(Subquery(total), 0))  # type: ignore[no-redef]

    def with_paid_period(self) -> LineQuerySet:
        """Each line with the period (``PlanPeriod``) of the plan whose paid
        period ends at the line's expiry (``paid_plan_period``), by a
        subquery in the same query: the near-expiry warning scales to it."""
        last = ServicePeriod.objects.filter(line=OuterRef("pk"), ends_at=OuterRef("expires_at")).order_by("-starts_at")
        return self.annotate(paid_plan_period=Subquery(last.values("plan__period")[:1]))  # type: ignore[no-redef]


class Line(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lines", verbose_name=_("owner")
    )
    number = models.CharField(_("phone number"), max_length=16, unique=True, help_text=_("E.164, e.g. +4791234567"))
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind.choices)
    status = models.CharField(_("status"), max_length=24, choices=LineStatus.choices, default=LineStatus.PENDING)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    # The end of the last paid period, kept with the periods by the services:
    # reminder and renewal sweeps find due lines through its index.
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    low_balance_threshold_ore = models.PositiveIntegerField(_("low-balance alert below (øre)"), null=True, blank=True)
    # Set when the balance fell below the threshold and the alert went out;
    # cleared when it is back above, so the next fall alerts again.
    low_balance_alerted_at = models.DateTimeField(_("low-balance alert sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    # Only on lines loaded through ``LineQuerySet.with_balance()``.
    balance_ore: int
    # Only on lines loaded through ``LineQuerySet.with_paid_period()``.
    paid_plan_period: str | None

    objects = LineQuerySet.as_manager()

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["owner", "created_at"]),
            # The auto-renew sweep's way to the lines it may charge soon.
            models.Index(fields=["expires_at"], condition=Q(auto_renew=True), name="line_auto_renew_expiry"),
            # The expiry reminders' sweep's way to the lines that renew by hand.
            models.Index(fields=["expires_at"], condition=Q(auto_renew=False), name="line_reminder_expiry"),
        ]
        permissions = [
            ("suspend_line", "Can suspend and resume lines"),
            ("extend_line", "Can extend lines as goodwill"),
        ]

    def __str__(self) -> str:
        return self.number_display

    @property
    def number_display(self) -> str:
        return format_phone(self.number)

    @property
    def is_number_keeping(self) -> bool:
        return self.kind == PlanKind.NUMBER_KEEPING

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def has_expired(self, now: datetime | None = None) -> bool:
        """Marked expired, or past its paid period before the expiry sweep
        got to it. A closed line's expiry concerns nobody any more."""
        now = now or timezone.now()
        if self.status == LineStatus.EXPIRED:
            return True
        return not self.is_closed and self.expires_at is not None and self.expires_at <= now

    def is_near_expiry(self, now: datetime | None = None) -> bool:
        """In the last fifth of its paid period (at most its last 7 days) and
        not yet expired. Needs ``LineQuerySet.with_paid_period()``; a line
        loaded without it, or whose expiry no period ends at, gets 7 days."""
        now = now or timezone.now()
        if self.expires_at is None or self.is_closed or self.has_expired(now):
            return False
        plan_period = getattr(self, "paid_plan_period", None)
        window = NEAR_EXPIRY_MAX if plan_period is None else near_expiry_window(plan_period, ends_at=self.expires_at)
        return self.expires_at - now <= window

    def paid_until(self, now: datetime | None = None) -> datetime | None:
        """The end of the paid time still to come, where a period paid for
        now starts; None when such a period starts at the payment: a line
        whose paid time ran out, and a closed one (a cancelled line's paid
        time ended at its cancellation, and coming back pays a new period
        from that moment)."""
        now = now or timezone.now()
        if self.is_closed or self.expires_at is None or self.expires_at <= now:
            return None
        return self.expires_at

    def comes_back_until(self) -> datetime | None:
        """Until when a cancelled line can be reactivated by paying a new
        period: CANCELLATION_GRACE_DAYS after it was cancelled. None for a
        line that is not cancelled."""
        if self.status != LineStatus.CANCELLED:
            return None
        return self.status_changed_at + timedelta(days=settings.CANCELLATION_GRACE_DAYS)

    def can_reactivate(self, now: datetime | None = None) -> bool:
        until = self.comes_back_until()
        return until is not None and (now or timezone.now()) < until

    def number_lost_at(self, now: datetime | None = None) -> datetime | None:
        """When an expired line's number goes if the line is not renewed:
        NUMBER_KEEPING_GRACE_DAYS after its expiry. None for a line that has
        not expired (or never had a paid period)."""
        if self.expires_at is None or not self.has_expired(now):
            return None
        return self.expires_at + timedelta(days=settings.NUMBER_KEEPING_GRACE_DAYS)


class ServicePeriod(models.Model):
    """One paid (or granted) stretch of service. A line's periods are
    contiguous: each starts where the previous one ends, except after a gap
    in which the line was expired."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="periods", verbose_name=_("line"))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    data_mb = models.PositiveIntegerField(_("data (MB)"), null=True, blank=True)
    voice_minutes = models.PositiveIntegerField(_("voice minutes"), null=True, blank=True)
    sms_count = models.PositiveIntegerField(_("text messages"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, default="order")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("service period")
        verbose_name_plural = _("service periods")
        ordering = ["line", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="period_ends_after_start"),
            models.UniqueConstraint(fields=["line", "starts_at"], name="one_period_per_start"),
        ]
        indexes = [models.Index(fields=["line", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.line} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"
