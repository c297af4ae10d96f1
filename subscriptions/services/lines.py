"""Line state changes and service periods. Every function here locks the
line row, checks the state machine, writes the change and its audit row in
one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.errors import CustomerError, TransitionNotAllowed
from subscriptions.formatting import format_nok
from subscriptions.models import TRANSITIONS, Line, LineStatus, Order, Plan, ServicePeriod
from subscriptions.services.audit import audit_record

# Sent with ``line`` and ``now`` inside the transaction in which a cancelled
# line, paid for within its grace period, became active again.
line_reactivated = Signal()


def _locked(line: Line) -> Line:
    return Line.objects.select_for_update().get(pk=line.pk)


def _move(line: Line, to: str, *, by: User | None, reason: str, action: str) -> None:
    """Move a locked line to ``to`` or raise TransitionNotAllowed."""
    if to not in TRANSITIONS[line.status]:
        raise TransitionNotAllowed(
            _("A line that is %(status)s cannot become %(target)s.")
            % {"status": line.get_status_display().lower(), "target": LineStatus(to).label.lower()}
        )
    before = line.status
    line.status = to
    line.status_changed_at = timezone.now()
    line.save(update_fields=["status", "status_changed_at"])
    audit_record(line=line, action=action, by=by, reason=reason, from_status=before, to_status=to)


@transaction.atomic
def line_transition(*, line: Line, to: str, by: User | None, reason: str, action: str = "status") -> Line:
    """The one way to change a line's status by hand (support actions, tests)."""
    locked = _locked(line)
    _move(locked, to, by=by, reason=reason, action=action)
    return locked


def line_suspend(*, line: Line, by: User | None, reason: str) -> Line:
    return line_transition(line=line, to=LineStatus.SUSPENDED, by=by, reason=reason, action="suspend")


def line_resume(*, line: Line, by: User | None, reason: str) -> Line:
    """Resume a suspended line; if its paid time ran out meanwhile it is expired."""
    with transaction.atomic():
        locked = _locked(line)
        if locked.status != LineStatus.SUSPENDED:
            raise TransitionNotAllowed(_("Only a suspended line can be resumed."))
        paid = locked.expires_at is not None and locked.expires_at > timezone.now()
        target = LineStatus.ACTIVE if paid else LineStatus.EXPIRED
        _move(locked, target, by=by, reason=reason, action="resume")
        return locked


def period_create(*, line: Line, plan: Plan, start: datetime, source: str) -> ServicePeriod:
    """A period of ``plan`` from ``start``, with the plan's allowances (the
    caller holds the line's lock and keeps ``Line.expires_at`` in step)."""
    return ServicePeriod.objects.create(
        line=line,
        plan=plan,
        starts_at=start,
        ends_at=plan.end_of_period_starting(start),
        data_mb=plan.data_mb,
        voice_minutes=plan.voice_minutes,
        sms_count=plan.sms_count,
        source=source,
    )


@transaction.atomic
def line_add_period(
    *, line: Line, plan: Plan, by: User | None, reason: str = "", source: str = "order", now: datetime | None = None
) -> ServicePeriod:
    """Append one period of ``plan`` to the line.

    1. Lock the line.
    2. A cancelled line within its grace period comes back (``line_
       reactivated`` tells the cancellation); its paid time ended when it
       was cancelled, so nothing of it is carried over.
    3. Start where the paid time ends (``Line.paid_until``), or now if there
       is none left: an expired or a returning line starts at the payment.
    4. Copy the plan's allowances, move the line's expiry, and make a
       pending or expired line active.
    5. Write the audit row.
    """
    now = now or timezone.now()
    locked = _locked(line)
    if plan.kind != locked.kind:
        raise CustomerError(_("This plan is not for this kind of line."))
    if locked.can_reactivate(now):
        # The deactivation ended the paid time; a line cancelled before it
        # did so has it ended here, at the same moment (its cancellation).
        line_paid_time_end(line=locked, at=locked.status_changed_at, by=None, reason="the line was cancelled")
        # The cancellation's receiver restores the service on the network.
        _move(locked, LineStatus.ACTIVE, by=by, reason="reactivated in the grace period", action="reactivated")
        line_reactivated.send(sender=Line, line=locked, now=now)
    if locked.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be renewed."))
    start = locked.paid_until(now) or now
    period = period_create(line=locked, plan=plan, start=start, source=source)
    locked.expires_at = period.ends_at
    locked.save(update_fields=["expires_at"])
    before = locked.status
    if locked.status in (LineStatus.PENDING, LineStatus.EXPIRED):
        _move(locked, LineStatus.ACTIVE, by=by, reason=reason, action="activate")
    audit_record(
        line=locked,
        action="period_added",
        by=by,
        reason=reason,
        from_status=before,
        to_status=locked.status,
        data={"plan": plan.code, "starts_at": start.isoformat(), "ends_at": period.ends_at.isoformat()},
    )
    line.refresh_from_db()
    return period


def line_paid_time_end(*, line: Line, at: datetime, by: User | None, reason: str) -> None:
    """End the line's paid time at ``at`` (a cancellation: unused time is
    not refunded). The caller holds the line's lock.

    1. The period running at ``at`` ends then; usage after it counts
       against no period.
    2. Periods paid for ahead, starting at or after ``at``, are removed; the
       orders that bought them keep their receipts (and the audit row says
       which they were), they only lose the link to the period.
    3. The line's expiry becomes ``at``, with an audit row of what was cut.

    Nothing happens to a line whose paid time ended by ``at``, so a second
    call is harmless.
    """
    if line.expires_at is None or line.expires_at <= at:
        return
    ahead = list(
        ServicePeriod.objects.filter(line=line, starts_at__gte=at).select_related("plan").order_by("starts_at")
    )
    bought_by = {order.period_id: order for order in Order.objects.filter(period__in=ahead)}
    removed = [
        {
            "plan": period.plan.code,
            "starts_at": period.starts_at.isoformat(),
            "ends_at": period.ends_at.isoformat(),
            "order": str(bought_by[period.pk].public_id) if period.pk in bought_by else "",
        }
        for period in ahead
    ]
    Order.objects.filter(period__in=ahead).update(period=None)
    ServicePeriod.objects.filter(pk__in=[period.pk for period in ahead]).delete()
    running = ServicePeriod.objects.filter(line=line, starts_at__lt=at, ends_at__gt=at).first()
    if running is not None:
        running.ends_at = at
        running.save(update_fields=["ends_at"])
    before = line.expires_at
    line.expires_at = at
    line.save(update_fields=["expires_at"])
    audit_record(
        line=line,
        action="paid_time_ended",
        by=by,
        reason=reason,
        data={"was_paid_until": before.isoformat(), "ended_at": at.isoformat(), "removed_periods": removed},
    )


@transaction.atomic
def line_extend(*, line: Line, days: int, by: User | None, reason: str) -> Line:
    """Goodwill: add ``days`` of service at no charge. The last period is
    lengthened (the line keeps its allowances); a lapsed line gets a new
    period from now on its last plan and becomes active again."""
    if not 1 <= days <= 365:
        raise CustomerError(_("Extend by 1 to 365 days."))
    if not reason.strip():
        raise CustomerError(_("Say why, for the audit log."))
    locked = _locked(line)
    if locked.is_closed:
        # Its paid time ended with the cancellation; it comes back only by
        # paying a new period.
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be extended."))
    last = locked.periods.order_by("-ends_at").first()
    if last is None:
        raise CustomerError(_("This line has no period to extend yet."))
    now = timezone.now()
    if last.ends_at > now:
        last.ends_at += timedelta(days=days)
        last.save(update_fields=["ends_at"])
        new_end = last.ends_at
    else:
        period = ServicePeriod.objects.create(
            line=locked,
            plan=last.plan,
            starts_at=now,
            ends_at=now + timedelta(days=days),
            data_mb=last.data_mb,
            voice_minutes=last.voice_minutes,
            sms_count=last.sms_count,
            source="goodwill",
        )
        new_end = period.ends_at
    locked.expires_at = new_end
    locked.save(update_fields=["expires_at"])
    if locked.status == LineStatus.EXPIRED:
        _move(locked, LineStatus.ACTIVE, by=by, reason=reason, action="activate")
    audit_record(
        line=locked, action="extend", by=by, reason=reason, data={"days": days, "ends_at": new_end.isoformat()}
    )
    return locked


@transaction.atomic
def line_set_low_balance_threshold(*, line: Line, threshold_ore: int | None, by: User) -> None:
    if threshold_ore is not None and not 0 <= threshold_ore <= LOW_BALANCE_THRESHOLD_MAX_ORE:
        raise CustomerError(
            _("Choose an amount between %(min)s and %(max)s.")
            % {"min": format_nok(0), "max": format_nok(LOW_BALANCE_THRESHOLD_MAX_ORE)}
        )
    locked = _locked(line)
    locked.low_balance_threshold_ore = threshold_ore
    locked.save(update_fields=["low_balance_threshold_ore"])
    audit_record(line=locked, action="low_balance_threshold", by=by, data={"threshold_ore": threshold_ore})


EXPIRY_BATCH = 500
LOW_BALANCE_THRESHOLD_MAX_ORE = 100_000_00


def lines_expire_lapsed(*, now: datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Move every active line whose paid time has ended to expired; returns
    how many moved.

    Lines are taken in id order, a batch at a time, each in its own short
    transaction under a row lock. A line renewed meanwhile (its expiry moved
    on) or already moved by another runner is left alone, so two sweeps at
    once, or one run twice, expire each line once with one audit row.
    """
    now = now or timezone.now()
    moved = 0
    after = 0
    while True:
        ids = list(
            Line.objects.filter(status=LineStatus.ACTIVE, expires_at__lte=now, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return moved
        for line_id in ids:
            with transaction.atomic():
                line = Line.objects.select_for_update().get(pk=line_id)
                if line.status != LineStatus.ACTIVE or line.expires_at is None or line.expires_at > now:
                    continue
                _move(line, LineStatus.EXPIRED, by=None, reason="The paid period ended.", action="expire")
                moved += 1
        after = ids[-1]
