"""Suspending and resuming a line (停机 / 复机), by its customer or by
support, and the network's block and unblock that go with them.

- Only an active line can be suspended: a pending, expired, suspended or
  closed one is refused with a translated reason.
- The line's move (``line_suspend`` / ``line_resume``, with their audit
  rows) and the ``LineSuspension`` row are written in one transaction; the
  network's block or unblock is queued on commit for a worker.
- A customer resumes only their own suspension: one made by support (or a
  suspension older than these rows) is resumed by support.
- The worker's calls carry the suspension's request ids, so a retry is
  harmless, and each is recorded once by a conditional update. An unblock
  waits (``NetworkPending``) for a block that started and is not recorded,
  and a block waits for the unblock of the line's previous suspension, so
  the network ends in the state the line is in whatever order the tasks run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import Line, LineStatus, LineSuspension, SuspensionReason
from subscriptions.models.suspensions import CUSTOMER_REASONS
from subscriptions.network import NetworkUnavailable, get_network
from subscriptions.services.audit import audit_record
from subscriptions.services.lines import line_resume, line_suspend


class NetworkPending(NetworkUnavailable):
    """Not yet: an earlier call on the same number is still on its way. Retried like an outage."""


def line_suspension_open(*, line: Line) -> LineSuspension | None:
    return LineSuspension.objects.filter(line=line, resumed_at=None).first()


def line_suspension_start(
    *, line: Line, by: User | None, reason: str, note: str = "", by_support: bool = False
) -> Line:
    """Suspend an active line and queue its block on the network; returns the line.

    1. Refuse a reason that is not the customer's to give (or support's).
    2. Lock the line and refuse any line that is not active.
    3. Move it to suspended (its audit row), write the suspension row and
       queue the block on commit.
    """
    allowed = (SuspensionReason.SUPPORT,) if by_support else CUSTOMER_REASONS
    if reason not in allowed:
        raise CustomerError(_("Choose why you are suspending the line."))
    try:
        with transaction.atomic():
            locked = Line.objects.select_for_update().get(pk=line.pk)
            if locked.status != LineStatus.ACTIVE:
                raise _not_suspendable(locked)
            _stale_close(locked)
            line_suspend(line=locked, by=by, reason=note or reason)
            suspension = LineSuspension.objects.create(
                line=locked, reason=reason, note=note[:300], by_support=by_support, suspended_by=by
            )
            suspension_id = suspension.pk
            transaction.on_commit(lambda: _queue("block_suspended_line", suspension_id), robust=True)
    except IntegrityError:
        raise CustomerError(_("This line is already suspended.")) from None
    line.refresh_from_db()
    return line


def _stale_close(line: Line) -> None:
    """An active line's suspension still open ended another way (it went
    through cancellation and came back): close it, and queue its unblock,
    which a block of the new suspension waits for."""
    for stale in LineSuspension.objects.select_for_update().filter(line=line, resumed_at=None):
        stale.resumed_at = timezone.now()
        stale.save(update_fields=["resumed_at"])
        transaction.on_commit(partial(_queue, "unblock_resumed_line", stale.pk), robust=True)


def _not_suspendable(line: Line) -> CustomerError:
    if line.status == LineStatus.SUSPENDED:
        return CustomerError(_("This line is already suspended."))
    if line.status == LineStatus.EXPIRED:
        return CustomerError(_("This line has expired: there is nothing to suspend. Renew it to use it again."))
    return CustomerError(
        _("A line that is %(status)s cannot be suspended.") % {"status": line.get_status_display().lower()}
    )


def line_suspension_end(*, line: Line, by: User | None, by_support: bool = False, note: str = "") -> Line:
    """Resume a suspended line and queue its unblock on the network. A
    customer cannot resume support's suspension. The line is active again,
    or expired if its paid time ran out meanwhile (``line_resume``)."""
    with transaction.atomic():
        locked = Line.objects.select_for_update().get(pk=line.pk)
        if locked.status != LineStatus.SUSPENDED:
            raise CustomerError(_("This line is not suspended."))
        suspension = LineSuspension.objects.select_for_update().filter(line=locked, resumed_at=None).first()
        if not by_support and (suspension is None or suspension.by_support):
            raise CustomerError(_("Customer service suspended this line: contact them to resume it."))
        line_resume(line=locked, by=by, reason=note or "resumed")
        if suspension is not None:
            suspension.resumed_at = timezone.now()
            suspension.resumed_by = by
            suspension.save(update_fields=["resumed_at", "resumed_by"])
            suspension_id = suspension.pk
            transaction.on_commit(lambda: _queue("unblock_resumed_line", suspension_id), robust=True)
    line.refresh_from_db()
    return line


def _queue(task_name: str, suspension_id: int) -> None:
    from subscriptions import tasks

    getattr(tasks, task_name).delay(suspension_id)


# --- the worker's side: the network ------------------------------------------------------


def suspension_network_block(*, suspension_id: int) -> bool:
    """Block the suspended line on the network, once. False when there is
    nothing to do (done already, or resumed before the block started).

    1. Wait for the unblock of the line's previous suspension, if it is
       still on its way (the network takes calls in the order they come).
    2. Take the start (only while not resumed), ask the network with the
       block's request id, and record the moment and an audit row once.
    """
    suspension = LineSuspension.objects.select_related("line").get(pk=suspension_id)
    if suspension.blocked_at is not None:
        return False
    earlier_unblock_pending = (
        LineSuspension.objects.filter(line=suspension.line_id, suspended_at__lt=suspension.suspended_at)
        .exclude(block_started_at=None)
        .filter(unblocked_at=None)
        .exists()
    )
    if earlier_unblock_pending:
        raise NetworkPending("the previous suspension's unblock is not done")
    if suspension.block_started_at is None:
        started = LineSuspension.objects.filter(pk=suspension.pk, block_started_at=None, resumed_at=None).update(
            block_started_at=timezone.now()
        )
        if not started:
            suspension.refresh_from_db()
            if suspension.block_started_at is None:
                return False  # resumed before the block started: nothing to block
    get_network().block_line(msisdn=suspension.line.number, request_id=suspension.request_id("block"))
    return _network_done(suspension, field="blocked_at", action="line_blocked")


def suspension_network_unblock(*, suspension_id: int) -> bool:
    """Unblock a resumed line on the network, once. False when there is
    nothing to do (done already, or the block never started); NetworkPending
    while the block has started and is not recorded."""
    suspension = LineSuspension.objects.select_related("line").get(pk=suspension_id)
    if suspension.resumed_at is None or suspension.unblocked_at is not None:
        return False
    if suspension.block_started_at is None:
        return False
    if suspension.blocked_at is None:
        raise NetworkPending("the block is not recorded yet")
    get_network().unblock_line(msisdn=suspension.line.number, request_id=suspension.request_id("unblock"))
    return _network_done(suspension, field="unblocked_at", action="line_unblocked")


def _network_done(suspension: LineSuspension, *, field: str, action: str) -> bool:
    with transaction.atomic():
        done = LineSuspension.objects.filter(pk=suspension.pk, **{field: None}).update(**{field: timezone.now()})
        if done:
            audit_record(
                line=suspension.line,
                action=action,
                by=None,
                reason="suspension",
                data={"suspension": str(suspension.public_id)},
            )
    return bool(done)


# --- the sweep: network work whose task was lost ----------------------------------------

# Work not recorded this long after it was asked for is queued again: its
# task was lost (the queue was down at commit) or ran out of retries.
NETWORK_STALE_AFTER = timedelta(minutes=10)


def suspensions_network_queue_due(*, now: datetime | None = None) -> int:
    """Queue again the blocks and unblocks not recorded in time; the tasks
    are safe to run twice. Returns how many were queued."""
    now = now or timezone.now()
    stale = now - NETWORK_STALE_AFTER
    blocks = LineSuspension.objects.filter(resumed_at=None, blocked_at=None, suspended_at__lt=stale)
    unblocks = LineSuspension.objects.filter(resumed_at__lt=stale, unblocked_at=None).exclude(block_started_at=None)
    block_ids = list(blocks.values_list("pk", flat=True))
    unblock_ids = list(unblocks.values_list("pk", flat=True))
    for suspension_id in block_ids:
        _queue("block_suspended_line", suspension_id)
    for suspension_id in unblock_ids:
        _queue("unblock_resumed_line", suspension_id)
    return len(block_ids) + len(unblock_ids)
