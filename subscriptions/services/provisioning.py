"""Giving a line a new eSIM profile from stock, exactly once, by a worker.

For callers (a replacement request, a new-line order):

- ``provisioning_start(line=…, replacing=old_profile_or_None, key=…)``
  returns the line's ``ProvisioningJob`` for that key, creating it (and
  queueing the worker) the first time; the same key again returns the same
  job and queues nothing. ``key`` is the caller's own unique reference, e.g.
  ``"replacement:<request id>"`` or ``"new-line:<order public id>"``.
- A status page reads the job (``subscriptions.selectors.provisioning``):
  ``status`` is WAITING ("we are preparing your eSIM": no profile in stock
  yet), RUNNING, READY (the profile is RELEASED on the line: the install
  page shows its code) or STOPPED (``stop_reason`` says why, for support);
  each step's moment is on the job (``profile_taken_at``, ``confirmed_at``,
  ``old_disabled_at``, ``number_moved_at``, ``ready_at``, ``stopped_at``).
- ``provisioning_ready`` and ``provisioning_stopped`` are sent, with the
  job, inside the transaction that makes it so; a receiver that sends
  anything out does it on commit.

The worker's steps (``provisioning_run``), each recorded on the job when
done, so a run cut off anywhere resumes at the first step not done:

1. Take an AVAILABLE profile under a row lock (``SKIP LOCKED``, so two jobs
   never wait for or take the same one); it becomes RESERVED for the line,
   not yet shown to the customer. None in stock: the job WAITS, and is
   queued again when a vendor file is imported and by the beat sweep.
2. SM-DP+ DownloadOrder, 3. ConfirmOrder with release (and, for a profile
   that needs one, its confirmation code, made and kept before the call:
   subscriptions.services.esim_confirmation). Each call's request id comes
   from the job and the step, so a repeat is answered as the first.
4. Only now, with the new profile confirmed, the old one (a replacement's)
   is disabled: cancelled at the SM-DP+ if it was never installed, and
   DISABLED in our state.
5. The network moves the number from the old IMSI to the new one.
6. The new profile is RELEASED (ready to install) and the job READY, in one
   transaction; its confirmation code, if any, is emailed on commit. A
   line still PENDING (a new line) gets its first period of the plan it
   was ordered with and becomes ACTIVE.

``SmdpUnavailable`` and ``NetworkUnavailable`` are noted on the job and
raised for the task to retry with backoff; ``SmdpRefused`` and
``NetworkRefused`` stop the job with the codes as the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import (
    EsimProfile,
    EsimState,
    EsimStockWatch,
    Line,
    ProvisioningJob,
    ProvisioningStatus,
)
from subscriptions.network import NetworkRefused, NetworkUnavailable, get_network
from subscriptions.services.audit import audit_record
from subscriptions.services.esim_confirmation import (
    ConfirmationCodeGone,
    esim_confirmation_code_issue,
    esim_confirmation_code_queue,
)
from subscriptions.smdp import ConfirmedOrder, SmdpRefused, SmdpUnavailable, get_smdp
from subscriptions.smdp.base import PROFILE_UNAVAILABLE

logger = logging.getLogger(__name__)

# Sent with ``job=`` inside the transaction that makes the job ready or stopped.
provisioning_ready = Signal()
provisioning_stopped = Signal()
# Sent with ``job=`` and ``by=`` inside the transaction in which support
# retries a stopped job; a receiver may refuse by raising CustomerError.
provisioning_retried = Signal()

Status = ProvisioningStatus
FINISHED = (Status.READY, Status.STOPPED)
# An old profile that never reached a phone is cancelled at the SM-DP+; an
# installed one cannot be, and is cut off by moving the number.
NEVER_INSTALLED = (EsimState.RESERVED, EsimState.ASSIGNED, EsimState.RELEASED)


class ProvisioningConflict(Exception):
    """The key was used for another line or another profile to replace."""


@transaction.atomic
def provisioning_start(*, line: Line, replacing: EsimProfile | None, key: str) -> ProvisioningJob:
    """The job for ``key``, created and queued (on commit) the first time."""
    if replacing is not None and replacing.line_id != line.pk:
        raise ProvisioningConflict("the profile to replace is not on this line")
    job, created = ProvisioningJob.objects.get_or_create(key=key, defaults={"line": line, "replacing": replacing})
    if (job.line_id, job.replacing_id) != (line.pk, replacing.pk if replacing else None):
        raise ProvisioningConflict(f"key {key!r} is another line's or another profile's")
    if created:
        audit_record(
            line=line,
            action="esim_provisioning_started",
            by=None,
            data={"job": str(job.public_id), "replacing": replacing.iccid if replacing else ""},
        )
        transaction.on_commit(lambda: provisioning_queue(job_ids=[job.pk]), robust=True)
    return job


def provisioning_retry(*, job: ProvisioningJob, by: User, note: str = "") -> ProvisioningJob:
    """Support retries a stopped job from the step where it stopped.

    1. Under the job's lock, refuse a job that is not stopped.
    2. Start a new round: the outside calls get new request ids (the SM-DP+
       and the network answer a known id with its first answer, so the same
       id would only replay the refusal); steps already done stay done.
    3. The audit row names the staff member; ``provisioning_retried`` lets
       the caller's request reopen (or refuse, rolling all of it back).
    4. The worker is queued once the transaction commits.
    """
    with transaction.atomic():
        locked = ProvisioningJob.objects.select_for_update().select_related("line").get(pk=job.pk)
        if locked.status != Status.STOPPED:
            raise CustomerError(
                _("Only a stopped job can be retried; this one is %(status)s.")
                % {"status": locked.get_status_display().lower()}
            )
        stopped_because = locked.stop_reason
        locked.round += 1
        locked.status = Status.RUNNING if locked.profile_id else Status.WAITING
        locked.stopped_at = None
        locked.stop_reason = ""
        locked.last_error = ""
        locked.updated_at = timezone.now()
        locked.save(update_fields=["round", "status", "stopped_at", "stop_reason", "last_error", "updated_at"])
        audit_record(
            line=locked.line,
            action="esim_provisioning_retried",
            by=by,
            reason=note,
            data={"job": str(locked.public_id), "round": locked.round, "stopped_because": stopped_because},
        )
        provisioning_retried.send(sender=ProvisioningJob, job=locked, by=by)
        job_id = locked.pk
        transaction.on_commit(lambda: provisioning_queue(job_ids=[job_id]), robust=True)
    return locked


def provisioning_queue(*, job_ids: list[int]) -> None:
    """Hand jobs to the worker. A queue that cannot take them loses nothing:
    the sweep finds them again."""
    from subscriptions.tasks import provision_esim

    for job_id in job_ids:
        provision_esim.delay(job_id)


def provisioning_run(*, job_id: int) -> ProvisioningJob:
    """Do the steps not done yet (see the module's docstring). Safe to run
    twice, also at once: each step is guarded by its moment on the job, and
    the outside calls by their request ids."""
    job = ProvisioningJob.objects.select_related("line", "profile", "replacing").get(pk=job_id)
    if job.status in FINISHED:
        return job
    try:
        if job.profile is None:
            job = _take_profile(job)
            if job.profile is None:
                return job
        profile = job.profile
        smdp = get_smdp()
        if job.ordered_at is None:
            smdp.download_order(iccid=profile.iccid, request_id=job.request_id("download-order"))
            _step_done(job, "ordered_at")
        if job.confirmed_at is None:
            # Made and kept before the call, so a repeat sends the same code.
            code = esim_confirmation_code_issue(profile=profile) if profile.confirmation_code_required else ""
            confirmed = smdp.confirm_order(
                iccid=profile.iccid,
                request_id=job.request_id("confirm-order"),
                matching_id=profile.matching_id,
                confirmation_code=code,
                release=True,
            )
            _confirmed(job, confirmed)
        old = job.replacing
        if old is not None and job.old_disabled_at is None:
            _disable_old(job, old)
        if old is not None and job.number_moved_at is None:
            get_network().swap_imsi(
                msisdn=job.line.number, old_imsi=old.imsi, new_imsi=profile.imsi, request_id=job.request_id("imsi-swap")
            )
            _step_done(job, "number_moved_at")
        return _ready(job)
    except (SmdpUnavailable, NetworkUnavailable) as error:
        ProvisioningJob.objects.filter(pk=job.pk).update(
            attempts=F("attempts") + 1, last_error=str(error)[:300], updated_at=timezone.now()
        )
        logger.warning("provisioning job %s: %s; it will be tried again", job.pk, error)
        raise
    except SmdpRefused as refusal:
        return _stop(job, f"SM-DP+ refused: subject {refusal.subject_code}, reason {refusal.reason_code}")
    except NetworkRefused as refusal:
        return _stop(job, f"network refused: {refusal.code}")
    except ConfirmationCodeGone:
        return _stop(job, "the confirmation code was emailed before ConfirmOrder and cannot be made again")


def _take_profile(job: ProvisioningJob) -> ProvisioningJob:
    """Step 1, under the job's lock: a profile from stock, or WAITING."""
    with transaction.atomic():
        locked = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
        if locked.profile_id is not None or locked.status in FINISHED:
            return ProvisioningJob.objects.select_related("line", "profile", "replacing").get(pk=job.pk)
        now = timezone.now()
        # SKIP LOCKED: a profile another job is taking is passed over, not
        # waited for (SQLite has no row locks; it runs one writer at a time).
        profile = (
            EsimProfile.objects.select_for_update(skip_locked=True)
            .filter(state=EsimState.AVAILABLE, line=None)
            .order_by("iccid")
            .first()
        )
        if profile is None:
            locked.status = Status.WAITING
            locked.updated_at = now
            locked.save(update_fields=["status", "updated_at"])
            esim_stock_check()
            return ProvisioningJob.objects.select_related("line", "profile", "replacing").get(pk=job.pk)
        profile.state = EsimState.RESERVED
        profile.line = job.line
        profile.assigned_at = now
        profile.state_changed_at = now
        profile.save(update_fields=["state", "line", "assigned_at", "state_changed_at"])
        locked.profile = profile
        locked.profile_taken_at = now
        locked.status = Status.RUNNING
        locked.updated_at = now
        locked.save(update_fields=["profile", "profile_taken_at", "status", "updated_at"])
        audit_record(
            line=job.line,
            action="esim_profile_reserved",
            by=None,
            from_status=EsimState.AVAILABLE,
            to_status=EsimState.RESERVED,
            data={"iccid": profile.iccid, "job": str(job.public_id)},
        )
        esim_stock_check()
    return ProvisioningJob.objects.select_related("line", "profile", "replacing").get(pk=job.pk)


def _step_done(job: ProvisioningJob, field: str) -> None:
    now = timezone.now()
    ProvisioningJob.objects.filter(pk=job.pk, **{field: None}).update(
        **{field: now}, status=Status.RUNNING, updated_at=now
    )
    setattr(job, field, now)


@transaction.atomic
def _confirmed(job: ProvisioningJob, confirmed: ConfirmedOrder) -> None:
    """Step 3 done: keep the address and matching ID the SM-DP+ confirmed
    (the vendor's, unless the SM-DP+ made its own)."""
    assert job.profile is not None
    EsimProfile.objects.filter(pk=job.profile.pk).update(
        matching_id=confirmed.matching_id, smdp_address=confirmed.smdp_address
    )
    job.profile.matching_id, job.profile.smdp_address = confirmed.matching_id, confirmed.smdp_address
    _step_done(job, "confirmed_at")


def _disable_old(job: ProvisioningJob, old: EsimProfile) -> None:
    """Step 4: the profile replaced is disabled at the SM-DP+ (when it never
    reached a phone) and in our state, now that its successor is confirmed."""
    old.refresh_from_db()
    cancel_refused = ""
    if old.state in NEVER_INSTALLED:
        try:
            get_smdp().cancel_order(
                iccid=old.iccid, request_id=job.request_id("cancel-old"), final_status=PROFILE_UNAVAILABLE
            )
        except SmdpRefused as refusal:
            # The number leaves its IMSI in the next step, which cuts the old
            # profile off whatever the SM-DP+ says; support see the codes.
            cancel_refused = f"{refusal.subject_code}/{refusal.reason_code}"
            logger.warning("provisioning job %s: the SM-DP+ would not cancel %s: %s", job.pk, old.iccid, refusal)
    with transaction.atomic():
        now = timezone.now()
        before = old.state
        disabled = (
            EsimProfile.objects.filter(pk=old.pk)
            .exclude(state=EsimState.DISABLED)
            .update(state=EsimState.DISABLED, state_changed_at=now)
        )
        if disabled:
            audit_record(
                line=job.line,
                action="esim_disabled",
                by=None,
                from_status=before,
                to_status=EsimState.DISABLED,
                data={"iccid": old.iccid, "job": str(job.public_id), "smdp_cancel_refused": cancel_refused},
            )
        _step_done(job, "old_disabled_at")


def _ready(job: ProvisioningJob) -> ProvisioningJob:
    """Step 6: the new profile RELEASED and the job READY, once."""
    assert job.profile is not None
    with transaction.atomic():
        now = timezone.now()
        moved = ProvisioningJob.objects.filter(pk=job.pk, ready_at=None, stopped_at=None).update(
            status=Status.READY, ready_at=now, updated_at=now
        )
        if moved == 1:
            EsimProfile.objects.filter(pk=job.profile.pk, state=EsimState.RESERVED).update(
                state=EsimState.RELEASED, state_changed_at=now
            )
            audit_record(
                line=job.line,
                action="esim_ready",
                by=None,
                from_status=EsimState.RESERVED,
                to_status=EsimState.RELEASED,
                data={"iccid": job.profile.iccid, "job": str(job.public_id)},
            )
            job.refresh_from_db()
            if job.profile.confirmation_code_required:
                esim_confirmation_code_queue(profile=job.profile)
            # A new line starts its paid time and a replacement is done
            # (subscriptions/receivers.py), in this transaction.
            provisioning_ready.send(sender=ProvisioningJob, job=job)
    job.refresh_from_db()
    return job


def _stop(job: ProvisioningJob, reason: str) -> ProvisioningJob:
    with transaction.atomic():
        now = timezone.now()
        stopped = ProvisioningJob.objects.filter(pk=job.pk, ready_at=None, stopped_at=None).update(
            status=Status.STOPPED, stopped_at=now, stop_reason=reason[:300], updated_at=now
        )
        if stopped == 1:
            audit_record(
                line=job.line,
                action="esim_provisioning_stopped",
                by=None,
                reason=reason,
                data={"job": str(job.public_id)},
            )
            job.refresh_from_db()
            provisioning_stopped.send(sender=ProvisioningJob, job=job)
    logger.warning("provisioning job %s stopped: %s", job.pk, reason)
    job.refresh_from_db()
    return job


# --- waiting jobs and the stock -------------------------------------------------------


def provisioning_jobs_due(*, now: datetime | None = None) -> list[int]:
    """Jobs to queue again: those waiting for stock, and those left running
    (their worker died and its retries ran out) for longer than
    ``PROVISIONING_STALE_AFTER_SECONDS``."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PROVISIONING_STALE_AFTER_SECONDS)
    due = Q(status=Status.WAITING) | Q(status=Status.RUNNING, updated_at__lt=stale)
    return list(ProvisioningJob.objects.filter(due).order_by("created_at", "id").values_list("id", flat=True))


def provisioning_queue_due() -> int:
    """The beat sweep and every inventory import: look at the stock again
    and queue the jobs due. Returns how many were queued."""
    esim_stock_check()
    job_ids = provisioning_jobs_due()
    provisioning_queue(job_ids=job_ids)
    return len(job_ids)


@transaction.atomic
def esim_stock_check() -> bool:
    """Note whether AVAILABLE stock is below ``ESIM_STOCK_ALERT_BELOW``; on
    the move from enough to below, email support (on commit). A conditional
    update decides the move, so two jobs at once send one alert. Returns
    whether stock is below."""
    available = EsimProfile.objects.filter(state=EsimState.AVAILABLE).count()
    below = available < settings.ESIM_STOCK_ALERT_BELOW
    EsimStockWatch.objects.get_or_create(pk=1)
    flipped = EsimStockWatch.objects.filter(pk=1).exclude(below=below).update(below=below, changed_at=timezone.now())
    if flipped and below:
        logger.warning("eSIM stock is low: %d profiles available", available)
        transaction.on_commit(lambda: _queue_stock_alert(available), robust=True)
    return below


def _queue_stock_alert(available: int) -> None:
    from subscriptions.tasks import send_esim_stock_alert

    send_esim_stock_alert.delay(available)


def esim_stock_alert_send(*, available: int) -> None:
    """The email to support: stock is low, upload a vendor file."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("eSIM stock is low: %(count)d profiles available") % {"count": available}
        body = _(
            "Only %(count)d eSIM profiles are available in stock (the alert is set below %(threshold)d). "
            "New lines and replacements wait for stock until a vendor inventory file is uploaded in the admin."
        ) % {"count": available, "threshold": settings.ESIM_STOCK_ALERT_BELOW}
    send_mail(subject, body, None, [settings.SUPPORT_EMAIL])
