"""Replacement eSIM requests: every write, from the customer's request to the
moment a request is ready for fulfilment, stopped, rejected or failed.

- A request is made once per form (``idempotency_key``) and a line has at
  most one open request (a partial unique constraint decides a race).
- New phone, deleted profile, failed install: a six-digit code goes to the
  account's email (never to the line, which may be in the wrong hands); it
  is stored as a keyed hash, expires, and takes three tries, each try counted
  by a conditional update so parallel guesses cannot exceed that.
- Lost or stolen: the line is to be blocked at once and the request waits
  for support to approve an identity document.
- More than two requests for a line in 30 days go to support's review.
- The first replacement per line in 12 months is free; a later one's fee is
  an order of its own kind, fulfilled once by ``replacement_fee_paid``.
- A request support did not review waits the cooling-off time. When the
  identity check passes, an SMS goes to the line (not to a lost one) and an
  email to the account, each with a single-use link that stops the request.

Each step moves the request through ``TRANSITIONS`` under its row lock and
writes an audit row on the line; mail and texts leave once the transaction
commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.messaging import email_send, sms_send
from accounts.models import IdentityDocument, User
from portal.support import support_contact_get
from subscriptions.errors import CustomerError, TransitionNotAllowed
from subscriptions.models import (
    EsimProfile,
    EsimState,
    Line,
    LineStatus,
    Order,
    ProvisioningJob,
    ProvisioningStatus,
    RejectReason,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
    ReviewCause,
)
from subscriptions.models.replacements import OPEN_STATUSES, STOPPABLE_STATUSES, TRANSITIONS
from subscriptions.network import get_network
from subscriptions.services.audit import audit_record
from subscriptions.services.provisioning import provisioning_start

S = ReplacementStatus
CODE_ATTEMPTS = 3
FREE_WINDOW = timedelta(days=365)
REVIEW_WINDOW = timedelta(days=30)
# Identity-checked requests for one line in REVIEW_WINDOW before the next
# one goes to support: "more than two replacements in 30 days".
REVIEW_AFTER = 2
# An unblock support asked for and not recorded after this had its task lost.
UNBLOCK_STALE_AFTER = timedelta(minutes=10)
STOP_SALT = "subscriptions.replacement-stop"
CODE_SALT = "subscriptions.replacement-code"


class WrongCode(CustomerError):
    """The code did not match; the message says how many tries are left."""


def _locked(replacement: ReplacementRequest) -> ReplacementRequest:
    return ReplacementRequest.objects.select_for_update().select_related("line").get(pk=replacement.pk)


def _move(replacement: ReplacementRequest, to: str, *, by: User | None, action: str, why: str = "") -> None:
    """Move a locked request to ``to`` (or raise TransitionNotAllowed) and
    write the audit row on its line."""
    if to not in TRANSITIONS[replacement.status]:
        raise TransitionNotAllowed(
            _("This replacement request is %(status)s and cannot become %(target)s.")
            % {"status": replacement.get_status_display().lower(), "target": S(to).label.lower()}
        )
    before = replacement.status
    now = timezone.now()
    replacement.status = to
    fields = ["status"]
    if to == S.READY:
        replacement.ready_at = now
        fields.append("ready_at")
        if before == S.FAILED:
            replacement.closed_at, replacement.why = None, ""
            fields += ["closed_at", "why"]
    elif to == S.FULFILLED:
        replacement.fulfilled_at = now
        fields.append("fulfilled_at")
    elif to in (S.STOPPED, S.REJECTED, S.FAILED):
        replacement.closed_at = now
        replacement.why = why[:300]
        replacement.stop_nonce = ""
        fields += ["closed_at", "why", "stop_nonce"]
    replacement.save(update_fields=fields)
    audit_record(
        line=replacement.line,
        action=action,
        by=by,
        reason=why,
        data={"replacement": str(replacement.public_id), "from": before, "to": to},
    )
    if to == S.READY and before != S.FAILED:
        _fulfilment_start(replacement)


# --- fulfilment: a new profile by the provisioning worker -------------------------------

IN_USE = (EsimState.ASSIGNED, EsimState.RELEASED, EsimState.INSTALLED)


def _provisioning_key(replacement: ReplacementRequest) -> str:
    return f"replacement:{replacement.public_id}"


def _fulfilment_start(replacement: ReplacementRequest) -> None:
    """Hand the request to the provisioning worker (subscriptions/services/
    provisioning.py): a new profile from stock, the old one disabled once the
    new one is confirmed, the number moved to it. Its key is the request's,
    so a second start is the same job."""
    current = (
        EsimProfile.objects.filter(line=replacement.line, state__in=IN_USE).order_by("-assigned_at", "-id").first()
    )
    provisioning_start(line=replacement.line, replacing=current, key=_provisioning_key(replacement))


def _job_replacement(job: ProvisioningJob) -> ReplacementRequest | None:
    """The request a provisioning job is for, locked (None: a new line's job)."""
    prefix, _colon, public_id = job.key.partition(":")
    try:
        public_id = str(uuid.UUID(public_id))
    except ValueError:
        return None
    if prefix != "replacement":
        return None
    return ReplacementRequest.objects.select_for_update().select_related("line").filter(public_id=public_id).first()


def replacement_provisioning_retried(*, job: ProvisioningJob, by: User) -> ReplacementRequest | None:
    """Support retried a request's stopped job (inside its transaction): the
    failed request is ready for fulfilment again, its job the same one.
    CustomerError when the line has another open request meanwhile."""
    replacement = _job_replacement(job)
    if replacement is None or replacement.status != S.FAILED:
        return replacement
    if ReplacementRequest.objects.filter(line=replacement.line, status__in=OPEN_STATUSES).exists():
        raise CustomerError(
            _("The line has another open replacement request; finish or stop that one instead of retrying this.")
        )
    _move(replacement, S.READY, by=by, action="replacement_retried")
    return replacement


def replacement_provisioning_finished(*, job: ProvisioningJob) -> ReplacementRequest | None:
    """The provisioning worker finished a request's job (inside its
    transaction): ready to install makes the request fulfilled; a job that
    stopped fails it, with why and what to do (call support)."""
    replacement = _job_replacement(job)
    if replacement is None or replacement.status != S.READY:
        return None
    if job.status == ProvisioningStatus.READY:
        _move(replacement, S.FULFILLED, by=None, action="replacement_fulfilled")
        if replacement.block_requested:
            # The number is on the new eSIM now; the lost phone's is disabled.
            _line_unblock_queue(replacement)
    else:
        why = _("We could not prepare the new eSIM. Call customer service and we will finish it for you.")
        _move(replacement, S.FAILED, by=None, action="replacement_failed", why=why)
    return replacement


def replacement_request(*, line: Line, by: User, reason: str, idempotency_key: str) -> ReplacementRequest:
    """Make (or find again) the request one form asked for.

    1. The same form sent again finds its request.
    2. Refuse a closed line and a line with an open request.
    3. Lost or stolen: record that the line is to be blocked and send the
       request to support's document review, emailing the account at once.
    """
    key = idempotency_key.strip()
    if not key or len(key) > 64:
        raise CustomerError(_("This form has expired. Please start again."))
    if reason not in ReplacementReason.values:
        raise CustomerError(_("Choose why you need a new eSIM."))
    if line.owner_id != by.pk:
        raise CustomerError(_("This line is not yours."))
    found = ReplacementRequest.objects.filter(requested_by=by, idempotency_key=key).first()
    if found is not None:
        return found
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot get a new eSIM."))
    try:
        with transaction.atomic():
            Line.objects.select_for_update().get(pk=line.pk)
            if ReplacementRequest.objects.filter(line=line, status__in=OPEN_STATUSES).exists():
                raise _already_open()
            replacement = ReplacementRequest.objects.create(
                line=line, requested_by=by, reason=reason, idempotency_key=key, stop_nonce=secrets.token_hex(16)
            )
            audit_record(
                line=line,
                action="replacement_requested",
                by=by,
                data={"replacement": str(replacement.public_id), "reason": reason},
            )
            if reason == ReplacementReason.LOST_OR_STOLEN:
                replacement.block_requested = True
                replacement.needs_document_review = True
                replacement.review_cause = ReviewCause.LOST_OR_STOLEN
                replacement.save(update_fields=["block_requested", "needs_document_review", "review_cause"])
                audit_record(
                    line=line,
                    action="line_block_requested",
                    by=by,
                    reason="phone lost or stolen",
                    data={"replacement": str(replacement.public_id)},
                )
                _move(replacement, S.REVIEW, by=by, action="replacement_review")
                _notices_send(replacement, text_the_line=False)
                _line_block_queue(replacement)
    except IntegrityError:
        found = ReplacementRequest.objects.filter(requested_by=by, idempotency_key=key).first()
        if found is not None:
            return found
        raise _already_open() from None
    return replacement


def _already_open() -> CustomerError:
    return CustomerError(_("A replacement for this line is already in progress: see its status below."))


def _code_hash(replacement: ReplacementRequest, code: str) -> str:
    key = hashlib.sha256(f"{CODE_SALT}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{replacement.public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _code_allowance_take(user: User) -> bool:
    """One code from the customer's hourly allowance, counted atomically in
    the cache (shared by every web process)."""
    hour = timezone.now().strftime("%Y%m%d%H")
    cache_key = f"replacement-codes:{user.pk}:{hour}"
    cache.add(cache_key, 0, timeout=3600)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between the two calls
        cache.add(cache_key, 1, timeout=3600)
        count = 1
    return count <= settings.REPLACEMENT_CODES_PER_HOUR


def replacement_code_send(*, replacement: ReplacementRequest) -> None:
    """Email a new identity code to the account (replacing any earlier one).
    CustomerError when the account has no email address, the request no
    longer waits for a code, or the hourly allowance is spent."""
    owner = replacement.requested_by
    if not owner.email:
        raise CustomerError(
            _("Your account has no email address to send the code to. Add one on your profile page, or call us.")
        )
    with transaction.atomic():
        locked = _locked(replacement)
        if locked.status != S.REQUESTED:
            raise CustomerError(_("This request no longer needs a code."))
        if not _code_allowance_take(owner):
            raise CustomerError(_("Too many codes were sent in the last hour. Please try again later."))
        code = f"{secrets.randbelow(1_000_000):06d}"
        locked.code_hash = _code_hash(locked, code)
        locked.code_expires_at = timezone.now() + timedelta(seconds=settings.REPLACEMENT_CODE_SECONDS)
        locked.code_attempts = 0
        locked.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
        audit_record(
            line=locked.line, action="replacement_code_sent", by=owner, data={"replacement": str(locked.public_id)}
        )
        with translation.override(owner.language):
            context = {
                "code": code,
                "minutes": settings.REPLACEMENT_CODE_SECONDS // 60,
                "number": locked.line.number_display,
                "support": support_contact_get(),
            }
            message = EmailMessage(
                subject=render_to_string("emails/replacement_code_subject.txt", context).strip(),
                body=render_to_string("emails/replacement_code_message.txt", context),
                from_email=None,
                to=[owner.email],
            )
        email_send(message=message)


def replacement_code_check(*, replacement: ReplacementRequest, code: str) -> ReplacementRequest:
    """Check the identity code and, when it matches, take the request on:
    to support's review, to the fee, or to the cooling-off hour.

    Each try is taken by a conditional update that must change one row, so
    three tries are three whatever arrives at once; WrongCode says how many
    are left, CustomerError when the code expired or none are left."""
    now = timezone.now()
    taken = (
        ReplacementRequest.objects.filter(
            pk=replacement.pk,
            status=S.REQUESTED,
            code_attempts__lt=CODE_ATTEMPTS,
            code_expires_at__gt=now,
        )
        .exclude(code_hash="")
        .update(code_attempts=F("code_attempts") + 1)
    )
    if taken != 1:
        raise CustomerError(_("This code has expired or was tried too often. Ask for a new code."))
    with transaction.atomic():
        locked = _locked(replacement)
        if not hmac.compare_digest(locked.code_hash, _code_hash(locked, code.strip())):
            left = CODE_ATTEMPTS - locked.code_attempts
            if left <= 0:
                raise CustomerError(_("This code has expired or was tried too often. Ask for a new code."))
            raise WrongCode(_("That code is not right. You have %(left)s more tries.") % {"left": left})
        locked.code_hash = ""
        locked.identity_checked_at = now
        locked.save(update_fields=["code_hash", "identity_checked_at"])
        audit_record(
            line=locked.line,
            action="replacement_identity_checked",
            by=locked.requested_by,
            data={"replacement": str(locked.public_id), "by": "email code"},
        )
        if _recent_count(locked, now) >= REVIEW_AFTER:
            locked.review_cause = ReviewCause.TOO_MANY
            locked.save(update_fields=["review_cause"])
            _move(locked, S.REVIEW, by=locked.requested_by, action="replacement_review", why="too many in 30 days")
        else:
            _fee_decide(locked, now)
            if locked.fee_ore:
                _move(locked, S.PAYMENT_DUE, by=locked.requested_by, action="replacement_fee_due")
            else:
                _cooling_off_start(locked, now)
        _notices_send(locked, text_the_line=True)
    return locked


def _recent_count(replacement: ReplacementRequest, now: datetime) -> int:
    """The line's other requests whose identity check passed in the last 30 days."""
    return (
        ReplacementRequest.objects.filter(line=replacement.line, identity_checked_at__gte=now - REVIEW_WINDOW)
        .exclude(pk=replacement.pk)
        .count()
    )


def _fee_decide(replacement: ReplacementRequest, now: datetime) -> None:
    """Free when the line had no replacement fulfilled in the last 12 months."""
    earlier = ReplacementRequest.objects.filter(
        line=replacement.line, status=S.FULFILLED, fulfilled_at__gte=now - FREE_WINDOW
    ).exclude(pk=replacement.pk)
    replacement.fee_ore = settings.REPLACEMENT_FEE_ORE if earlier.exists() else 0
    replacement.save(update_fields=["fee_ore"])


def _cooling_off_start(replacement: ReplacementRequest, now: datetime) -> None:
    replacement.cooling_off_until = now + timedelta(seconds=settings.REPLACEMENT_COOLING_OFF_SECONDS)
    replacement.save(update_fields=["cooling_off_until"])
    _move(replacement, S.COOLING_OFF, by=None, action="replacement_cooling_off")


def replacement_fee_paid(*, order: Order) -> None:
    """The fee order is paid (the caller, ``order_fulfil``, holds the order's
    lock): a reviewed request is ready, any other starts its cooling-off
    hour. CustomerError when the request no longer waits for its fee (it
    was stopped meanwhile): the payment is then flagged for a refund."""
    assert order.replacement_id is not None
    replacement = ReplacementRequest.objects.select_for_update().select_related("line").get(pk=order.replacement_id)
    if replacement.status != S.PAYMENT_DUE:
        raise CustomerError(_("This replacement request no longer waits for its fee."))
    now = timezone.now()
    replacement.paid_at = now
    replacement.save(update_fields=["paid_at"])
    if replacement.review_cause:
        _move(replacement, S.READY, by=order.owner, action="replacement_paid")
    else:
        audit_record(
            line=replacement.line,
            action="replacement_paid",
            by=order.owner,
            data={"replacement": str(replacement.public_id), "order": str(order.public_id)},
        )
        _cooling_off_start(replacement, now)


def replacement_review_approve(*, replacement: ReplacementRequest, by: User) -> ReplacementRequest:
    """Support approves a request in review (for a lost phone: after checking
    the identity document): it goes to its fee, or is ready."""
    with transaction.atomic():
        locked = _locked(replacement)
        if locked.status != S.REVIEW:
            raise CustomerError(_("Only a request waiting for review can be approved."))
        now = timezone.now()
        locked.reviewed_by = by
        if locked.identity_checked_at is None:
            locked.identity_checked_at = now
        locked.save(update_fields=["reviewed_by", "identity_checked_at"])
        _fee_decide(locked, now)
        target = S.PAYMENT_DUE if locked.fee_ore else S.READY
        _move(locked, target, by=by, action="replacement_approved")
    return locked


def replacement_reject(*, replacement: ReplacementRequest, by: User, reason: str, note: str = "") -> ReplacementRequest:
    """Support rejects a request in review. ``reason`` (a ``RejectReason``)
    is what the customer reads, in their language, on the request's page and
    in the email sent on commit; ``note`` is for staff (the audit row)."""
    with transaction.atomic():
        locked = _locked(replacement)
        _reject(locked, by=by, reason=reason, note=note)
        _rejection_email(locked)
    return locked


def _reject(replacement: ReplacementRequest, *, by: User, reason: str, note: str) -> None:
    """Reject a locked request in review (CustomerError otherwise)."""
    if reason not in RejectReason.values:
        raise CustomerError(_("Choose the reason the customer will read."))
    if replacement.status != S.REVIEW:
        raise CustomerError(_("Only a request waiting for review can be rejected."))
    replacement.reject_reason = reason
    replacement.reviewed_by = by
    replacement.save(update_fields=["reject_reason", "reviewed_by"])
    why = note.strip() or str(RejectReason(reason).label)
    _move(replacement, S.REJECTED, by=by, action="replacement_rejected", why=why)


def _rejection_email(replacement: ReplacementRequest) -> None:
    """The reason, in the customer's language, with a link to the request."""
    owner = replacement.requested_by
    if not owner.email:
        return
    link = settings.SITE_URL + reverse("replacement_detail", args=[replacement.public_id])
    with translation.override(owner.language):
        context = {
            "number": replacement.line.number_display,
            "reason": replacement.get_reject_reason_display(),
            "link": link,
            "support": support_contact_get(),
        }
        message = EmailMessage(
            subject=render_to_string("emails/replacement_rejected_subject.txt", context).strip(),
            body=render_to_string("emails/replacement_rejected_message.txt", context),
            from_email=None,
            to=[owner.email],
        )
    email_send(message=message)


def replacement_stop(*, replacement: ReplacementRequest, by: User | None, why: str) -> ReplacementRequest:
    """The customer stops their request (from its page or by the stop link)."""
    with transaction.atomic():
        locked = _locked(replacement)
        if locked.status not in STOPPABLE_STATUSES:
            raise CustomerError(_("This request can no longer be stopped. Please call customer service."))
        _move(locked, S.STOPPED, by=by, action="replacement_stopped", why=why)
    return locked


def replacement_stop_token(replacement: ReplacementRequest) -> str:
    """The stop link's token: the request id and its single-use nonce, signed.
    It names nothing else (no line, number or customer)."""
    return signing.dumps([str(replacement.public_id), replacement.stop_nonce], salt=STOP_SALT)


def replacement_stop_token_read(token: str) -> ReplacementRequest:
    """The request a stop link is for; CustomerError for a link that is
    forged, expired, already used or too late."""
    try:
        public_id, nonce = signing.loads(token, salt=STOP_SALT, max_age=settings.REPLACEMENT_STOP_LINK_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        raise CustomerError(_("This link is not valid or has expired.")) from None
    replacement = ReplacementRequest.objects.select_related("line").filter(public_id=public_id).first()
    if replacement is None or not nonce:
        raise CustomerError(_("This link is not valid or has expired."))
    if not hmac.compare_digest(replacement.stop_nonce, str(nonce)):
        raise CustomerError(_("This link was already used."))
    return replacement


def replacement_stop_link_language(token: str) -> str | None:
    """The language of the account whose request a stop link names, for its
    page (whoever holds the phone, the owner is the one warned); None for a
    link that is forged or expired. A used link still names its owner."""
    try:
        public_id, _nonce = signing.loads(token, salt=STOP_SALT, max_age=settings.REPLACEMENT_STOP_LINK_SECONDS)
        found = ReplacementRequest.objects.filter(public_id=public_id).values_list("line__owner__language", flat=True)
        language = found.first()
    except (signing.BadSignature, ValueError, TypeError, ValidationError):
        return None
    return language or None


def replacement_stop_by_link(*, token: str) -> ReplacementRequest:
    """Stop the one request the link is for, once, without a sign-in."""
    replacement = replacement_stop_token_read(token)
    with transaction.atomic():
        locked = _locked(replacement)
        if not locked.stop_nonce or locked.stop_nonce != replacement.stop_nonce:
            raise CustomerError(_("This link was already used."))
        if locked.status not in STOPPABLE_STATUSES:
            raise CustomerError(_("This request can no longer be stopped. Please call customer service."))
        _move(locked, S.STOPPED, by=None, action="replacement_stopped", why="stopped by the link in the notice")
    return locked


def replacements_cooling_off_end(*, now: datetime | None = None) -> int:
    """Requests whose cooling-off time is over become ready for fulfilment.
    Safe to run twice or side by side: each request moves under its lock."""
    now = now or timezone.now()
    due = list(
        ReplacementRequest.objects.filter(status=S.COOLING_OFF, cooling_off_until__lte=now).values_list("pk", flat=True)
    )
    moved = 0
    for pk in due:
        with transaction.atomic():
            locked = ReplacementRequest.objects.select_for_update().select_related("line").get(pk=pk)
            if locked.status == S.COOLING_OFF and locked.cooling_off_until and locked.cooling_off_until <= now:
                _move(locked, S.READY, by=None, action="replacement_ready")
                moved += 1
    return moved


def _notices_send(replacement: ReplacementRequest, *, text_the_line: bool) -> None:
    """'An eSIM replacement was requested; if it was not you, call us', with
    the stop link, by email to the account and by SMS to the line (not to a
    line reported lost or stolen)."""
    owner = replacement.requested_by
    link = settings.SITE_URL + reverse("replacement_stop", args=[replacement_stop_token(replacement)])
    with translation.override(owner.language):
        context = {
            "number": replacement.line.number_display,
            "link": link,
            "support": support_contact_get(),
            "reason": replacement.get_reason_display(),
        }
        if owner.email:
            email_send(
                message=EmailMessage(
                    subject=render_to_string("emails/replacement_notice_subject.txt", context).strip(),
                    body=render_to_string("emails/replacement_notice_message.txt", context),
                    from_email=None,
                    to=[owner.email],
                )
            )
        if text_the_line and replacement.reason != ReplacementReason.LOST_OR_STOLEN:
            sms_send(
                to=replacement.line.number, body=render_to_string("emails/replacement_notice_sms.txt", context).strip()
            )


# --- a lost or stolen phone: block the line, review the identity document ----------


def _line_block_queue(replacement: ReplacementRequest) -> None:
    from subscriptions.tasks import block_line_for_replacement

    replacement_id = replacement.pk
    transaction.on_commit(lambda: block_line_for_replacement.delay(replacement_id))


def replacement_line_block(*, replacement_id: int) -> bool:
    """Block on the network the line of a request for a lost or stolen phone,
    once: the call carries the request's id (a retry is harmless), then the
    moment is recorded with a conditional update and an audit row. False if
    there was nothing to do. The network's errors are raised: the task
    retries NetworkUnavailable."""
    replacement = ReplacementRequest.objects.select_related("line").get(pk=replacement_id)
    if not replacement.block_requested or replacement.blocked_at is not None:
        return False
    if replacement.status == S.FULFILLED:
        # A block still retrying when the new eSIM was ready would cut it off.
        return False
    get_network().block_line(msisdn=replacement.line.number, request_id=f"{replacement.public_id}-block")
    with transaction.atomic():
        blocked = ReplacementRequest.objects.filter(pk=replacement.pk, blocked_at__isnull=True).update(
            blocked_at=timezone.now()
        )
        if blocked:
            audit_record(
                line=replacement.line,
                action="line_blocked",
                by=None,
                reason="phone lost or stolen",
                data={"replacement": str(replacement.public_id)},
            )
    return bool(blocked)


def _line_unblock_queue(replacement: ReplacementRequest) -> None:
    from subscriptions.tasks import unblock_line_after_replacement

    replacement_id = replacement.pk
    transaction.on_commit(lambda: unblock_line_after_replacement.delay(replacement_id))


def replacement_line_unblock(*, replacement_id: int) -> bool:
    """Unblock, once, the line a lost-phone request blocked: when the request
    is fulfilled (the number is on the new eSIM, the lost phone's profile
    disabled) or when support asked for it after the request was stopped or
    rejected (``replacement_unblock_ask``). Each path has its own network
    request id; the moment is recorded with a conditional update and an
    audit row. False if there was nothing to do (never blocked, already
    unblocked, neither fulfilled nor asked for)."""
    replacement = ReplacementRequest.objects.select_related("line").get(pk=replacement_id)
    fulfilled = replacement.status == S.FULFILLED
    asked = replacement.unblock_requested_at is not None
    if not (fulfilled or asked) or replacement.blocked_at is None or replacement.unblocked_at is not None:
        return False
    step = "unblock" if fulfilled else "support-unblock"
    get_network().unblock_line(msisdn=replacement.line.number, request_id=f"{replacement.public_id}-{step}")
    with transaction.atomic():
        unblocked = ReplacementRequest.objects.filter(pk=replacement.pk, unblocked_at__isnull=True).update(
            unblocked_at=timezone.now()
        )
        if unblocked:
            audit_record(
                line=replacement.line,
                action="line_unblocked",
                by=None,
                reason="the new eSIM is ready" if fulfilled else "support unblocked the number",
                data={"replacement": str(replacement.public_id)},
            )
    return bool(unblocked)


# A request that ended without a new eSIM: its block may be lifted by support.
UNBLOCKABLE_STATUSES = frozenset({S.STOPPED, S.REJECTED})
# Only these lines have no block of their own (a suspension's, a cancellation's).
UNBLOCKABLE_LINES = frozenset({LineStatus.ACTIVE, LineStatus.EXPIRED})


def replacement_unblock_ask(*, replacement: ReplacementRequest, by: User, reason: str) -> ReplacementRequest:
    """Support lift the block of a lost-phone request that was stopped or
    rejected: the number works again on the eSIM still on the line.

    1. Under the line's and the request's locks, refuse: no reason given; a
       request that blocked nothing, is not stopped or rejected, or is
       already unblocked or being unblocked (only once); a block not yet
       recorded (its worker may still be calling the network); a line with
       a block of its own (suspended, being cancelled) or another open
       lost-phone request; a line whose old profile is disabled and that
       has no eSIM installed (it would be reachable on no phone).
    2. Record who asked, when and why, with an audit row; once this commits
       the worker calls the network with the request's own unblock id.
    """
    reason = reason.strip()
    if not reason:
        raise CustomerError(_("Say why the number is unblocked."))
    with transaction.atomic():
        line = Line.objects.select_for_update().get(pk=replacement.line_id)
        locked = _locked(replacement)
        if not locked.block_requested:
            raise CustomerError(_("This request did not block the number."))
        if locked.status not in UNBLOCKABLE_STATUSES:
            raise CustomerError(
                _("Only the number of a stopped or rejected request is unblocked here; a new eSIM unblocks it itself.")
            )
        if locked.unblock_requested_at is not None or locked.unblocked_at is not None:
            raise CustomerError(_("This number is already unblocked or being unblocked."))
        if locked.blocked_at is None:
            raise CustomerError(_("The block is not recorded yet. Try again in a few minutes."))
        if line.status not in UNBLOCKABLE_LINES:
            raise CustomerError(
                _("The line is %(status)s and keeps its own block.") % {"status": line.get_status_display().lower()}
            )
        if ReplacementRequest.objects.filter(line=line, status__in=OPEN_STATUSES, block_requested=True).exists():
            raise CustomerError(_("Another lost-phone request for this line is open and keeps the number blocked."))
        if not _esim_reachable(locked):
            raise CustomerError(
                _(
                    "The line's old eSIM is disabled and no new one is installed: unblocking would help nobody. "
                    "The customer needs a new eSIM."
                )
            )
        locked.unblock_requested_at = timezone.now()
        locked.unblock_requested_by = by
        locked.unblock_reason = reason[:300]
        locked.save(update_fields=["unblock_requested_at", "unblock_requested_by", "unblock_reason"])
        audit_record(
            line=line,
            action="line_unblock_requested",
            by=by,
            reason=reason,
            data={"replacement": str(locked.public_id), "status": locked.status},
        )
        _line_unblock_queue(locked)
    return locked


def _esim_reachable(replacement: ReplacementRequest) -> bool:
    """An eSIM on the line can carry the unblocked number: one installed, or
    the old one (from before the request) not yet installed but enabled."""
    profiles = EsimProfile.objects.filter(line=replacement.line_id)
    return (
        profiles.filter(state=EsimState.INSTALLED).exists()
        or profiles.filter(
            state__in=(EsimState.ASSIGNED, EsimState.RELEASED), assigned_at__lte=replacement.requested_at
        ).exists()
    )


def replacements_unblock_queue_due(*, now: datetime | None = None) -> int:
    """Queue again the unblocks support asked for and not recorded in time
    (their task was lost); the task is safe to run twice."""
    now = now or timezone.now()
    due = ReplacementRequest.objects.filter(
        unblock_requested_at__lt=now - UNBLOCK_STALE_AFTER, unblocked_at=None
    ).exclude(blocked_at=None)
    ids = list(due.values_list("pk", flat=True))
    from subscriptions.tasks import unblock_line_after_replacement

    for replacement_id in ids:
        unblock_line_after_replacement.delay(replacement_id)
    return len(ids)


def replacement_document_decided(*, document: IdentityDocument) -> ReplacementRequest | None:
    """Support decided an identity document uploaded for a replacement: the
    owner's request waiting for it (a lost or stolen phone) goes on when it is
    approved, and is rejected, with the document's reason, when it is not.
    Called inside the deciding transaction, so both move together."""
    if document.purpose != IdentityDocument.Purpose.REPLACEMENT:
        return None
    waiting = (
        ReplacementRequest.objects.select_for_update()
        .filter(
            requested_by=document.owner_id,
            status=S.REVIEW,
            review_cause=ReviewCause.LOST_OR_STOLEN,
            requested_at__lte=document.uploaded_at,
        )
        .order_by("-requested_at")
        .first()
    )
    if waiting is None or document.decided_by is None:
        return None
    waiting.identity_document = document
    waiting.save(update_fields=["identity_document"])
    if document.status == IdentityDocument.Status.APPROVED:
        return replacement_review_approve(replacement=waiting, by=document.decided_by)
    # The customer has the document's own email with its reason: no second one.
    _reject(
        waiting,
        by=document.decided_by,
        reason=RejectReason.DOCUMENT,
        note=str(document.get_reason_display() or ""),
    )
    return waiting
