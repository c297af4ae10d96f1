"""Messages to customers: expiry reminders, auto-renew notices and
low-balance alerts, by email and text, each sent once, at a decent hour, in
the customer's language.

The pipeline, for every kind:

1. Claim: write the message's row, whose ``claim_key`` (line, period end,
   step, channel) is unique, in the transaction that decides it is due. A
   second sweep, a chunk run twice or a redelivered task meets the
   constraint and claims nothing. A kind or channel the customer turned off
   is claimed as skipped, so it is not considered again.
2. Queue: once the claim commits, ``deliver_notification`` gets the row's
   id, on a queue of its own (``messages``), which workers take from before
   the sweep's chunks (``bulk``; CELERY_TASK_QUEUES): claimed messages go
   out while later chunks wait. The row notes when the queue took it; one
   it never took (the process died after the commit) is queued by the
   one-minute sweep. A text due between 21:00 and 09:00 Oslo time is not
   queued with an ETA (Redis would deliver a long ETA again after its
   visibility timeout): it waits with ``not_before`` at 09:00, and
   ``notifications_queue_due``, run by beat every minute, queues it then.
3. Deliver: under a lock on the row, check it is still wanted (renewed
   meanwhile, auto-renew turned on, setting turned off, …: skipped, with
   why), render it in the customer's language and send it. A transient
   failure (the mail server, the SMS gateway) counts an attempt and is
   retried with backoff; after MAX_ATTEMPTS the message is failed, and
   staff see it in the admin's list of failed messages.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import KombuError

from accounts.models import NotificationChannel, NotificationKind, User
from accounts.notifications import notification_enabled, unsubscribe_headers
from portal import sms
from subscriptions.models import AutoRenewal, Line, LineStatus, Notification, NotificationState, SkipReason, TextsStop
from subscriptions.models.plans import PlanPeriod
from subscriptions.periods import OSLO
from subscriptions.services.audit import audit_record

logger = logging.getLogger(__name__)

K = NotificationKind
C = NotificationChannel

# Texts go out between these Oslo times; one due outside waits for the start.
TEXTS_FROM = time(9, 0)
TEXTS_UNTIL = time(21, 0)
# Tries of one message before it is failed (the first and the retries).
MAX_ATTEMPTS = 5
# A message the queue took and still waiting after this is queued again
# (its task was lost): longer than deliver_notification's retries take, so a
# message still retrying is not doubled.
QUEUED_GRACE = timedelta(hours=2)
# A message claimed to go at once is handed to the queue as its claim
# commits; the sweep leaves it that long before taking it for one the queue
# never took (a chunk hands over a thousand one after another).
HANDOFF_GRACE = timedelta(minutes=1)
SWEEP_CHUNK = 500
TRANSIENT = (smtplib.SMTPException, OSError, sms.SmsDeliveryError)


class NotificationDeferred(Exception):
    """A transient failure; the task tries again later."""


# --- quiet hours --------------------------------------------------------------------------


def text_time(moment: datetime) -> datetime:
    """The first moment at or after ``moment`` at which a text may go out:
    between TEXTS_FROM and TEXTS_UNTIL, Oslo time."""
    local = moment.astimezone(OSLO)
    if TEXTS_FROM <= local.time() < TEXTS_UNTIL:
        return moment
    day = local.date() if local.time() < TEXTS_FROM else local.date() + timedelta(days=1)
    return datetime.combine(day, TEXTS_FROM, tzinfo=OSLO).astimezone(moment.tzinfo)


def _texts_allowed_to(msisdn: str) -> bool:
    """Whether ``msisdn`` takes texts from us: it has not texted STOP. (The
    model is read here, not through selectors/, whose package imports the
    services that import this one.)"""
    return not TextsStop.objects.filter(number=msisdn).exists()


# --- claiming -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """What a message is about; ``key`` without the channel."""

    owner_id: int
    line: Line | None
    kind: str
    key: str
    period_end: datetime | None = None
    step: str = ""
    params: dict[str, Any] | None = None


def notifications_claim(*, claim: Claim, now: datetime, channels: Iterable[str] = (C.EMAIL, C.SMS)) -> list[int]:
    """Claim the message on each channel, in the caller's transaction; the
    ids of the ones this call claimed (none when another got there first).
    Each is queued once the transaction commits."""
    claimed: list[Notification] = []
    for channel in channels:
        not_before = text_time(now) if channel == C.SMS else now
        enabled = notification_enabled(user_id=claim.owner_id, kind=claim.kind, channel=channel)
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    owner_id=claim.owner_id,
                    line=claim.line,
                    kind=claim.kind,
                    channel=channel,
                    claim_key=f"{claim.key}:{channel}",
                    period_end=claim.period_end,
                    step=claim.step,
                    params=claim.params or {},
                    state=NotificationState.QUEUED if enabled else NotificationState.SKIPPED,
                    skip_reason="" if enabled else SkipReason.SETTING_OFF,
                    not_before=not_before,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            continue  # claimed already
        if enabled and not_before <= now:
            claimed.append(notification)
    ids = [notification.pk for notification in claimed]
    for notification_id in ids:
        transaction.on_commit(partial(notification_queue, notification_id=notification_id))
    return ids


def notification_queue(*, notification_id: int) -> None:
    """Hand a message to the task queue, then note that the queue took it.
    Until then ``notifications_queue_due`` sees it as never queued: a queue
    that cannot take it, or a process that dies first, leaves it to that
    sweep (which at worst queues it a second time; delivering is once)."""
    from subscriptions.tasks import deliver_notification

    handed_at = timezone.now()
    try:
        deliver_notification.delay(notification_id)
    except (KombuError, OSError):
        logger.exception("message %s could not be queued; the sweep will queue it again", notification_id)
        return
    # Also when a worker has sent it already: the row says when it was queued.
    Notification.objects.filter(pk=notification_id, queued_at=None).update(queued_at=handed_at)


def notifications_queue_due(*, now: datetime | None = None) -> list[int]:
    """The waiting messages to queue now, each claimed by a conditional
    update of its queue time (two sweeps side by side queue it once): texts
    whose quiet hours are over, messages the queue never took, and ones it
    took long ago whose task was lost."""
    now = now or timezone.now()
    never_taken = Q(queued_at__isnull=True) & (
        # Held for its time (quiet hours), or claimed to go at once a while ago.
        Q(not_before__gt=F("created_at")) | Q(created_at__lte=now - HANDOFF_GRACE)
    )
    due = Notification.objects.filter(state=NotificationState.QUEUED, not_before__lte=now).filter(
        never_taken | Q(queued_at__lte=now - QUEUED_GRACE)
    )
    claimed = []
    for notification_id, queued_at in due.order_by("not_before").values_list("pk", "queued_at")[:SWEEP_CHUNK]:
        updated = Notification.objects.filter(
            pk=notification_id, state=NotificationState.QUEUED, queued_at=queued_at
        ).update(queued_at=now)
        if updated == 1:
            claimed.append(notification_id)
    return claimed


# --- delivering ---------------------------------------------------------------------------


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Send one message, once; returns its state.

    1. Lock the row; leave it alone unless it is waiting and its time has
       come (a text at night waits for 09:00).
    2. Skip it, saying why, when it is no longer wanted.
    3. Render it in the customer's language and send it; on a transient
       failure note the attempt and raise NotificationDeferred (the task
       retries), or fail it after MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",)).select_related("owner", "line").get(pk=notification_id)
        )
        if notification.state != NotificationState.QUEUED:
            return notification.state
        if notification.channel == C.SMS and text_time(now) > now:
            notification.not_before = text_time(now)
            notification.queued_at = None
            notification.updated_at = now
            notification.save(update_fields=["not_before", "queued_at", "updated_at"])
            return notification.state
        if notification.not_before > now:
            return notification.state
        why = _why_not(notification, now=now)
        if why:
            _finish(notification, state=NotificationState.SKIPPED, now=now, skip_reason=why)
            return notification.state
        try:
            _send(notification)
        except TRANSIENT as error:
            notification.attempts += 1
            notification.error = f"{error.__class__.__name__}: {error}"[:300]
            final = notification.attempts >= MAX_ATTEMPTS
            if final:
                notification.state = NotificationState.FAILED
            notification.updated_at = now
            notification.save(update_fields=["attempts", "error", "state", "updated_at"])
            logger.warning("message %s not delivered (attempt %s): %s", notification.pk, notification.attempts, error)
            if final:
                return notification.state
            deferred = NotificationDeferred(notification.error)
        else:
            notification.attempts += 1
            _finish(notification, state=NotificationState.SENT, now=now)
            return notification.state
    raise deferred


def _finish(notification: Notification, *, state: str, now: datetime, skip_reason: str = "") -> None:
    notification.state = state
    notification.skip_reason = skip_reason
    notification.updated_at = now
    if state == NotificationState.SENT:
        notification.sent_at = now
        notification.error = ""
    notification.save(update_fields=["state", "skip_reason", "attempts", "sent_at", "error", "updated_at"])


def _why_not(notification: Notification, *, now: datetime) -> str:
    """Why the message should not go out now, or ""."""
    owner = notification.owner
    line = notification.line
    if not notification.resent_from_id and not notification_enabled(
        user_id=owner.pk, kind=notification.kind, channel=notification.channel
    ):
        return SkipReason.SETTING_OFF
    if not _address(notification):
        return SkipReason.NO_ADDRESS
    if notification.channel == C.SMS and not _texts_allowed_to(_address(notification)):
        return SkipReason.TEXTS_STOPPED
    if line is None:
        return ""
    if line.is_closed:
        return SkipReason.LINE_CLOSED
    if notification.kind == K.EXPIRY:
        if line.expires_at != notification.period_end:
            return SkipReason.RENEWED
        if line.auto_renew:
            return SkipReason.AUTO_RENEW
        if line.expires_at is not None and line.expires_at <= now:
            return SkipReason.ENDED
    if notification.kind == K.AUTO_RENEW:
        if line.expires_at != notification.period_end:
            return SkipReason.RENEWED
        if not line.auto_renew:
            return SkipReason.AUTO_RENEW_OFF
    if notification.kind == K.LOW_BALANCE and line.low_balance_alerted_at is None:
        return SkipReason.BALANCE_BACK
    return ""


def _address(notification: Notification) -> str:
    if notification.channel == C.EMAIL:
        return notification.owner.email or ""
    return notification.line.number if notification.line else (notification.owner.phone or "")


def _send(notification: Notification) -> None:
    owner = notification.owner
    with translation.override(owner.language):
        context = _context(notification)
        base = f"emails/notice_{notification.kind}"
        if notification.channel == C.SMS:
            body = render_to_string(f"{base}_sms.txt", context).strip()
            sms.send(to=_address(notification), body=body, reference=f"notification-{notification.pk}")
            return
        headers = unsubscribe_headers(user_id=owner.pk, kind=notification.kind)
        context["unsubscribe_url"] = headers["List-Unsubscribe"].strip("<>")
        message = EmailMultiAlternatives(
            subject=render_to_string(f"{base}_subject.txt", context).strip(),
            body=render_to_string(f"{base}_message.txt", context),
            to=[_address(notification)],
            headers=headers,
        )
        message.attach_alternative(render_to_string(f"{base}_message.html", context), "text/html")
        message.send()


def _context(notification: Notification) -> dict[str, Any]:
    """What the templates of a message need, read as things are now."""
    line = notification.line
    owner = notification.owner
    context: dict[str, Any] = {
        "name": owner.get_short_name() or owner.full_name,
        "notification": notification,
        "language": owner.language,
        "line": line,
        "params": notification.params,
        "site_url": settings.SITE_URL,
        "settings_url": settings.SITE_URL + reverse("profile") + "#notifications",
    }
    if line is None:
        return context
    context["line_url"] = settings.SITE_URL + reverse("line_detail", args=[line.pk])
    if notification.kind == K.EXPIRY:
        ends = notification.period_end or line.expires_at or timezone.now()
        plan = line.periods.select_related("plan").filter(ends_at=ends).order_by("-starts_at").first()
        current = plan.plan if plan else None
        if current is not None and current.is_active and current.kind == line.kind:
            renew_path = reverse("renew_checkout", args=[line.pk, current.code])
        else:
            renew_path = reverse("renew", args=[line.pk])
        context.update(
            plan=current,
            ends_at=line.expires_at,
            renew_url=settings.SITE_URL + renew_path,
            number_lost_at=(
                line.expires_at + timedelta(days=settings.NUMBER_KEEPING_GRACE_DAYS)
                if line.is_number_keeping and line.expires_at
                else None
            ),
        )
    elif notification.kind == K.AUTO_RENEW:
        setting = AutoRenewal.objects.select_related("plan", "card").filter(line=line).first()
        context.update(
            setting=setting,
            ends_at=line.expires_at,
            charge_at=datetime.fromisoformat(notification.params["charge_at"]),
            auto_renew_url=settings.SITE_URL + reverse("auto_renew", args=[line.pk]),
        )
    elif notification.kind == K.LOW_BALANCE:
        balance = Line.objects.with_balance().only("pk").get(pk=line.pk).balance_ore
        context.update(
            balance_ore=balance,
            threshold_ore=line.low_balance_threshold_ore or 0,
            top_up_url=settings.SITE_URL + reverse("top_up", args=[line.pk]),
        )
    return context


# --- expiry reminders ---------------------------------------------------------------------

# The reminders before a paid period ends, and when each is due: so long
# before the end, or (``DAY``) from the start of the Oslo day it ends.
DAY = "day"
STEPS: dict[str, timedelta | None] = {"7d": timedelta(days=7), "3d": timedelta(days=3), "1d": timedelta(days=1)}
STEPS_BY_PERIOD: dict[str, tuple[str, ...]] = {
    # A day plan gets one reminder, some hours before.
    PlanPeriod.DAY: ("hours",),
    # A week plan: no reminder the day it was bought.
    PlanPeriod.WEEK: ("3d", "1d", DAY),
}
ALL_STEPS = ("7d", "3d", "1d", DAY)
HOURS_BEFORE_END_OF_DAY_PLAN = timedelta(hours=6)
REMINDER_HORIZON = timedelta(days=7)


def _start_of_oslo_day(moment: datetime) -> datetime:
    local = moment.astimezone(OSLO)
    return datetime.combine(local.date(), time(0), tzinfo=OSLO)


def expiry_reminder_step(*, expires_at: datetime, plan_period: str | None, now: datetime) -> str | None:
    """The reminder due now for a period ending at ``expires_at`` paid for by
    a plan of ``plan_period``: the one whose time came last (a line that
    missed the 7-day one while the sweep was down gets the 3-day one, not
    both). None before the first or after the end."""
    if expires_at <= now:
        return None
    steps = STEPS_BY_PERIOD.get(plan_period or PlanPeriod.MONTH, ALL_STEPS)
    due: dict[str, datetime] = {}
    for step in steps:
        if step == DAY:
            due[step] = _start_of_oslo_day(expires_at)
        elif step == "hours":
            due[step] = expires_at - HOURS_BEFORE_END_OF_DAY_PLAN
        else:
            offset = STEPS[step]
            assert offset is not None
            due[step] = expires_at - offset
    ready = [(when, step) for step, when in due.items() if when <= now]
    return max(ready)[1] if ready else None


def lines_near_reminder(*, now: datetime) -> QuerySet[Line]:
    """Lines renewed by hand whose paid period ends within REMINDER_HORIZON,
    each with its paid plan's period (``paid_plan_period``, which sets its
    steps). Read through the partial index on the expiry of lines without
    auto-renew: the work grows with the lines near their end, not with all
    lines."""
    return Line.objects.filter(
        auto_renew=False,
        status__in=[LineStatus.ACTIVE, LineStatus.SUSPENDED],
        expires_at__gt=now,
        expires_at__lte=now + REMINDER_HORIZON,
    ).with_paid_period()


def lines_due_for_reminder(*, now: datetime) -> list[int]:
    """The ids, in order, of the lines near their end whose reminder due now
    (``expiry_reminder_step``, the one rule, here in Python) is not claimed
    yet. Two reads: the lines, and the reminders already claimed for their
    current periods."""
    near = lines_near_reminder(now=now)
    claimed = set(
        Notification.objects.filter(
            kind=K.EXPIRY, line__in=near.values("pk"), period_end=F("line__expires_at")
        ).values_list("line_id", "step")
    )
    due = []
    for line in near.only("id", "expires_at").order_by("pk"):
        assert line.expires_at is not None  # filtered on
        step = expiry_reminder_step(expires_at=line.expires_at, plan_period=line.paid_plan_period, now=now)
        if step is not None and (line.pk, step) not in claimed:
            due.append(line.pk)
    return due


def reminders_due_chunks(*, now: datetime | None = None) -> list[list[int]]:
    """The ids of the lines due for a reminder, in chunks of SWEEP_CHUNK, in
    id order: each chunk is one task, so more workers send faster."""
    now = now or timezone.now()
    ids = lines_due_for_reminder(now=now)
    return [ids[start : start + SWEEP_CHUNK] for start in range(0, len(ids), SWEEP_CHUNK)]


def expiry_reminders_claim(*, line_ids: list[int], now: datetime | None = None) -> int:
    """Claim the reminder due now for each of these lines (email and text),
    one transaction per line; how many messages this call claimed. Safe to
    run twice, side by side, or again after a worker died in the middle:
    a claim made stays made, and is never made twice."""
    now = now or timezone.now()
    lines = (
        Line.objects.filter(pk__in=line_ids, auto_renew=False, status__in=[LineStatus.ACTIVE, LineStatus.SUSPENDED])
        .with_paid_period()
        .order_by("pk")
    )
    claimed = 0
    for line in lines:
        if line.expires_at is None:
            continue
        step = expiry_reminder_step(expires_at=line.expires_at, plan_period=line.paid_plan_period, now=now)
        if step is None:
            continue
        claim = Claim(
            owner_id=line.owner_id,
            line=line,
            kind=K.EXPIRY,
            key=f"expiry:{line.pk}:{line.expires_at.isoformat()}:{step}",
            period_end=line.expires_at,
            step=step,
        )
        with transaction.atomic():
            claimed += len(notifications_claim(claim=claim, now=now))
    return claimed


# --- low balance ---------------------------------------------------------------------------


def low_balance_check(*, line_ids: Iterable[int], now: datetime | None = None) -> int:
    """After entries were added to these lines' ledgers: alert each line whose
    balance is now below its threshold and was not (one alert per fall),
    and re-arm each whose balance is back at or above it. Call it in the
    transaction that wrote the entries: the alert goes once it commits.
    The conditional update on ``low_balance_alerted_at`` makes two writers
    at once alert once."""
    now = now or timezone.now()
    ids = sorted(set(line_ids))
    if not ids:
        return 0
    lines = Line.objects.with_balance().filter(pk__in=ids, low_balance_threshold_ore__isnull=False)
    claimed = 0
    for line in lines:
        threshold = line.low_balance_threshold_ore or 0
        if line.balance_ore >= threshold:
            if line.low_balance_alerted_at is not None:
                Line.objects.filter(pk=line.pk).update(low_balance_alerted_at=None)
            continue
        if line.low_balance_alerted_at is not None:
            continue
        if Line.objects.filter(pk=line.pk, low_balance_alerted_at__isnull=True).update(low_balance_alerted_at=now) != 1:
            continue
        line.low_balance_alerted_at = now
        claim = Claim(
            owner_id=line.owner_id,
            line=line,
            kind=K.LOW_BALANCE,
            # Once per fall: the conditional update above is the guard; the
            # key only names this fall.
            key=f"low-balance:{line.pk}:{uuid.uuid4().hex}",
            params={"balance_ore": line.balance_ore, "threshold_ore": threshold},
        )
        claimed += len(notifications_claim(claim=claim, now=now))
    return claimed


# --- staff ---------------------------------------------------------------------------------


@transaction.atomic
def notification_resend(*, notification: Notification, reason: str, by: User) -> Notification:
    """Send a message again, as a new row (the first stays as it was), with
    the reason in the line's audit trail. A resend ignores the customer's
    settings (staff send it on purpose) but not quiet hours."""
    now = timezone.now()
    not_before = text_time(now) if notification.channel == C.SMS else now
    copy = Notification.objects.create(
        owner_id=notification.owner_id,
        line_id=notification.line_id,
        kind=notification.kind,
        channel=notification.channel,
        claim_key=f"resend:{notification.pk}:{now.isoformat()}",
        period_end=notification.period_end,
        step=notification.step,
        params=notification.params,
        not_before=not_before,
        resent_from=notification,
        resend_reason=reason[:300],
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    if notification.line_id is not None:
        audit_record(
            line=notification.line,  # type: ignore[arg-type]
            action="notification_resend",
            by=by,
            reason=reason,
            data={"notification": notification.pk, "resend": copy.pk, "kind": copy.kind, "channel": copy.channel},
        )
    if not_before <= now:
        transaction.on_commit(lambda: notification_queue(notification_id=copy.pk))
    return copy
