"""Cancelling a line: every write, from the customer's request to the
worker's last step, and a cancelled line coming back.

- A request is made once per form (``idempotency_key``); a line has at most
  one open request (a partial unique constraint decides a race). Making it
  moves the line to CANCELLATION_PENDING, so nothing renews, tops up or
  charges it (auto-renew's run cancels a charge for a line that is not
  active) until the request is withdrawn or rejected, which puts the line
  back where it was.
- The identity check is a fresh sign-in (the view) and an identity document
  support approves; support then approves or rejects the request with a
  reason the customer reads in their language. A port-out completed at
  another operator is marked by support and takes the same path, approved.
- Approved, a worker deactivates the line (``cancellation_deactivate``);
  its paid time ends when it becomes cancelled (not refunded, as the form
  says).
- Within CANCELLATION_GRACE_DAYS a renewal brings the line back with a new
  period from the payment (``line_reactivated`` from the lines' service,
  heard by ``cancellation_line_came_back``); after them a sweep quarantines
  it, and after QUARANTINE_RELEASE_DAYS its number goes back to the pool.

Locks are taken line first, then request, in every path, like a payment
takes the line before anything of the line: a renewal and an approval at
the same moment are one after the other, never crossed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.messaging import email_send
from accounts.models import IdentityDocument, User
from portal.support import support_contact_get
from subscriptions.bank_accounts import bank_account_masked, bank_account_normalize, is_valid_bank_account
from subscriptions.errors import CustomerError, TransitionNotAllowed
from subscriptions.models import (
    BalanceChoice,
    CancellationReason,
    CancellationRejectReason,
    CancellationRequest,
    CancellationSource,
    CancellationStatus,
    CreditNote,
    CreditNoteSequence,
    EsimProfile,
    EsimState,
    LedgerKind,
    LedgerText,
    Line,
    LineStatus,
    NumberBatch,
    Order,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    PoolNumber,
)
from subscriptions.models.cancellations import OPEN_STATUSES, TRANSITIONS, WITHDRAWABLE_STATUSES
from subscriptions.network import get_network
from subscriptions.periods import OSLO
from subscriptions.services.audit import audit_record
from subscriptions.services.autorenew import auto_renew_disable
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.lines import line_paid_time_end, line_transition
from subscriptions.smdp import SmdpRefused, get_smdp
from subscriptions.smdp.base import PROFILE_UNAVAILABLE
from subscriptions.working_days import working_days_after

logger = logging.getLogger(__name__)

S = CancellationStatus
# A deactivation approved or started this long ago and not done was cut off
# (a worker killed, its retries spent): the sweep queues it again.
STALE_AFTER = timedelta(minutes=10)
SWEEP_BATCH = 500
# The profiles the network and the SM-DP+ may still know as the line's.
ON_THE_LINE = (EsimState.RESERVED, EsimState.ASSIGNED, EsimState.RELEASED, EsimState.INSTALLED, EsimState.DISABLED)
NEVER_INSTALLED = (EsimState.RESERVED, EsimState.ASSIGNED, EsimState.RELEASED)
# A line in these states may be cancelled.
CANCELLABLE = frozenset({LineStatus.ACTIVE, LineStatus.SUSPENDED, LineStatus.EXPIRED})
# Norwegian mobile numbers never start with 0: a retired line's number.
RETIRED_PREFIX = "+470"


def cancellation_decide_by(*, requested_at: datetime) -> date:
    """The day by which support will have decided: CANCELLATION_DECISION_
    WORKING_DAYS Norwegian working days after the (Oslo) day of the request."""
    return working_days_after(requested_at.astimezone(OSLO).date(), settings.CANCELLATION_DECISION_WORKING_DAYS)


def _locked(cancellation: CancellationRequest) -> CancellationRequest:
    return CancellationRequest.objects.select_for_update().select_related("line").get(pk=cancellation.pk)


def _lock_line_then_request(cancellation: CancellationRequest) -> CancellationRequest:
    Line.objects.select_for_update().filter(pk=cancellation.line_id).exists()
    return _locked(cancellation)


def _move(cancellation: CancellationRequest, to: str, *, by: User | None, action: str, why: str = "") -> None:
    """Move a locked request to ``to`` (or raise TransitionNotAllowed) and
    write the audit row on its line."""
    if to not in TRANSITIONS[cancellation.status]:
        raise TransitionNotAllowed(
            _("This cancellation request is %(status)s and cannot become %(target)s.")
            % {"status": cancellation.get_status_display().lower(), "target": S(to).label.lower()}
        )
    before = cancellation.status
    now = timezone.now()
    cancellation.status = to
    fields = ["status"]
    if to == S.APPROVED:
        cancellation.approved_at = now
        fields.append("approved_at")
    elif to == S.DEACTIVATING and cancellation.deactivation_started_at is None:
        cancellation.deactivation_started_at = now
        fields.append("deactivation_started_at")
    elif to == S.DONE:
        cancellation.done_at = now
        fields.append("done_at")
    elif to in (S.WITHDRAWN, S.REJECTED, S.FAILED):
        cancellation.closed_at = now
        fields.append("closed_at")
        if to != S.FAILED:
            # Nothing is refunded now: the account number is not kept.
            cancellation.refund_account = ""
            fields.append("refund_account")
    cancellation.save(update_fields=fields)
    audit_record(
        line=cancellation.line,
        action=action,
        by=by,
        reason=why,
        data={"cancellation": str(cancellation.public_id), "from": before, "to": to},
    )


# --- the customer's request ---------------------------------------------------------------


def cancellation_request(
    *,
    line: Line,
    by: User,
    reason: str,
    balance_choice: str,
    refund_account: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> CancellationRequest:
    """Make (or find again) the request one form asked for.

    1. The same form sent again finds its request.
    2. Refuse a line that is not the customer's, not yet active, already
       being cancelled, or with an open request; a positive balance needs a
       choice (a valid bank account for a refund, or giving it up).
    3. Lock the line, record the request with the day support decides by,
       move the line to CANCELLATION_PENDING, and email the customer.
    """
    key = idempotency_key.strip()
    if not key or len(key) > 64:
        raise CustomerError(_("This form has expired. Please start again."))
    if reason not in CancellationReason.values:
        raise CustomerError(_("Choose why you want to cancel."))
    if line.owner_id != by.pk:
        raise CustomerError(_("This line is not yours."))
    found = CancellationRequest.objects.filter(requested_by=by, idempotency_key=key).first()
    if found is not None:
        return found
    now = now or timezone.now()
    account = bank_account_normalize(refund_account)
    try:
        with transaction.atomic():
            locked = Line.objects.select_for_update().get(pk=line.pk)
            if locked.is_closed:
                raise CustomerError(_("This line is already being cancelled or is cancelled."))
            if locked.status == LineStatus.PENDING:
                raise CustomerError(_("This line is not active yet. Call customer service to stop a new line."))
            if CancellationRequest.objects.filter(line=locked, status__in=OPEN_STATUSES).exists():
                raise _already_open()
            choice = _balance_choice(balance=ledger_balance(line=locked), choice=balance_choice, account=account)
            cancellation = CancellationRequest.objects.create(
                line=locked,
                requested_by=by,
                reason=reason,
                idempotency_key=key,
                line_status_before=locked.status,
                balance_choice=choice,
                refund_account=account if choice == BalanceChoice.REFUND else "",
                decide_by=cancellation_decide_by(requested_at=now),
                requested_at=now,
            )
            audit_record(
                line=locked,
                action="cancellation_requested",
                by=by,
                data={"cancellation": str(cancellation.public_id), "reason": reason, "balance": choice},
            )
            line_transition(
                line=locked, to=LineStatus.CANCELLATION_PENDING, by=by, reason=reason, action="cancellation_pending"
            )
            _tell_received(cancellation)
    except IntegrityError:
        found = CancellationRequest.objects.filter(requested_by=by, idempotency_key=key).first()
        if found is not None:
            return found
        raise _already_open() from None
    return cancellation


def _tell_received(cancellation: CancellationRequest) -> None:
    """The request by email (on commit): what comes next, the decision day,
    and whom to call if it was not the customer."""
    owner = cancellation.requested_by
    if not owner.email:
        return
    with translation.override(owner.language):
        context = {
            "number": cancellation.line.number_display,
            "decide_by": cancellation.decide_by,
            "link": settings.SITE_URL + reverse("cancellation_detail", args=[cancellation.public_id]),
            "support": support_contact_get(),
        }
        email_send(
            message=EmailMessage(
                subject=render_to_string("emails/cancellation_received_subject.txt", context).strip(),
                body=render_to_string("emails/cancellation_received_message.txt", context),
                to=[owner.email],
            )
        )


def _already_open() -> CustomerError:
    return CustomerError(_("A cancellation of this line is already in progress: see its status."))


def _balance_choice(*, balance: int, choice: str, account: str) -> str:
    if balance <= 0:
        return BalanceChoice.NONE
    if choice == BalanceChoice.GIVE_UP:
        return BalanceChoice.GIVE_UP
    if choice != BalanceChoice.REFUND:
        raise CustomerError(_("Choose what we do with your prepaid balance."))
    if not is_valid_bank_account(account):
        raise CustomerError(bank_account_error())
    return BalanceChoice.REFUND


def bank_account_error() -> str:
    return _(
        "This is not a valid Norwegian bank account number: it has 11 digits, and the last one is a check digit. "
        "Check it against your bank's app."
    )


def cancellation_withdraw(*, cancellation: CancellationRequest, by: User) -> CancellationRequest:
    """The customer withdraws a request support has not approved yet: the
    line goes back to where it was."""
    with transaction.atomic():
        locked = _lock_line_then_request(cancellation)
        if locked.status not in WITHDRAWABLE_STATUSES:
            raise CustomerError(_("This request can no longer be withdrawn. Please call customer service."))
        _move(locked, S.WITHDRAWN, by=by, action="cancellation_withdrawn", why="withdrawn by the customer")
        _line_restore(locked, by=by, action="cancellation_withdrawn")
    return locked


def _line_restore(cancellation: CancellationRequest, *, by: User | None, action: str) -> None:
    """Put a line that was pending cancellation back where it was; an active
    line whose paid time ran out meanwhile comes back expired."""
    line = Line.objects.select_for_update().get(pk=cancellation.line_id)
    if line.status != LineStatus.CANCELLATION_PENDING:
        return
    target = cancellation.line_status_before
    lapsed = line.expires_at is None or line.expires_at <= timezone.now()
    if target == LineStatus.ACTIVE and lapsed:
        target = LineStatus.EXPIRED
    line_transition(line=line, to=target, by=by, reason="cancellation not going ahead", action=action)


# --- the identity document ----------------------------------------------------------------


def cancellation_document_received(*, document: IdentityDocument) -> CancellationRequest | None:
    """A document for a cancellation was uploaded (inside the upload's
    transaction): the owner's request waiting for one goes to support."""
    if document.purpose != IdentityDocument.Purpose.CANCELLATION:
        return None
    waiting = (
        CancellationRequest.objects.select_for_update()
        .select_related("line")
        .filter(requested_by=document.owner_id, status=S.REQUESTED)
        .order_by("-requested_at")
        .first()
    )
    if waiting is None:
        return None
    waiting.identity_document = document
    waiting.document_at = document.uploaded_at
    waiting.save(update_fields=["identity_document", "document_at"])
    _move(waiting, S.REVIEW, by=document.owner, action="cancellation_document_received")
    return waiting


def cancellation_document_decided(*, document: IdentityDocument) -> CancellationRequest | None:
    """Support decided the document of a request in review (inside the
    deciding transaction): approved, the identity is checked; rejected, the
    request waits for another document (the customer was told why)."""
    if document.purpose != IdentityDocument.Purpose.CANCELLATION:
        return None
    waiting = (
        CancellationRequest.objects.select_for_update()
        .select_related("line")
        .filter(identity_document=document, status=S.REVIEW)
        .first()
    )
    if waiting is None:
        return None
    if document.status == IdentityDocument.Status.APPROVED:
        waiting.identity_checked_at = document.decided_at or timezone.now()
        waiting.save(update_fields=["identity_checked_at"])
        audit_record(
            line=waiting.line,
            action="cancellation_identity_checked",
            by=document.decided_by,
            data={"cancellation": str(waiting.public_id), "document": document.pk},
        )
    else:
        waiting.document_at = None
        waiting.save(update_fields=["document_at"])
        _move(waiting, S.REQUESTED, by=document.decided_by, action="cancellation_document_rejected")
    return waiting


# --- support's decision -----------------------------------------------------------------


def cancellation_approve(*, cancellation: CancellationRequest, by: User) -> CancellationRequest:
    """Support approves a request whose identity document they approved; the
    worker deactivates the line once this commits."""
    with transaction.atomic():
        locked = _lock_line_then_request(cancellation)
        if locked.status != S.REVIEW:
            raise CustomerError(_("Only a request waiting for support's decision can be approved."))
        if locked.identity_checked_at is None:
            raise CustomerError(_("Approve the customer's identity document first."))
        locked.decided_by = by
        locked.save(update_fields=["decided_by"])
        _move(locked, S.APPROVED, by=by, action="cancellation_approved")
        _deactivation_queue(locked)
    return locked


def cancellation_reject(
    *, cancellation: CancellationRequest, by: User, reason: str, note: str = ""
) -> CancellationRequest:
    """Support rejects a request with one of the standard reasons (the
    customer reads it, translated, by email and on the status page); the
    line goes back to where it was."""
    if reason not in CancellationRejectReason.values:
        raise CustomerError(_("Choose the reason the customer will read."))
    with transaction.atomic():
        locked = _lock_line_then_request(cancellation)
        locked.reject_reason = reason
        locked.why = note.strip()[:300]
        locked.decided_by = by
        _move(locked, S.REJECTED, by=by, action="cancellation_rejected", why=reason)
        locked.save(update_fields=["reject_reason", "why", "decided_by"])
        _line_restore(locked, by=by, action="cancellation_rejected")
        _tell_rejected(locked)
    return locked


def _tell_rejected(cancellation: CancellationRequest) -> None:
    owner = cancellation.requested_by
    if not owner.email:
        return
    with translation.override(owner.language):
        context = {
            "number": cancellation.line.number_display,
            "reason": cancellation.get_reject_reason_display(),
            "link": settings.SITE_URL + reverse("cancellation_detail", args=[cancellation.public_id]),
            "support": support_contact_get(),
        }
        email_send(
            message=EmailMessage(
                subject=render_to_string("emails/cancellation_rejected_subject.txt", context).strip(),
                body=render_to_string("emails/cancellation_rejected_message.txt", context),
                to=[owner.email],
            )
        )


def cancellation_port_out(*, line: Line, by: User, note: str = "") -> CancellationRequest:
    """Support marks that the number was ported out to another operator (who
    checked the holder's identity): the line is cancelled here by the same
    deactivation, approved at once. A customer's open request that waits is
    taken over; a positive balance is refunded to the account the customer
    gives support (or gave in their request)."""
    with transaction.atomic():
        locked_line = Line.objects.select_for_update().get(pk=line.pk)
        existing = CancellationRequest.objects.filter(line=locked_line, status__in=OPEN_STATUSES).first()
        now = timezone.now()
        if existing is not None:
            cancellation = _locked(existing)
            if cancellation.status not in WITHDRAWABLE_STATUSES:
                raise CustomerError(_("This line's cancellation is already approved."))
        else:
            if locked_line.status not in CANCELLABLE:
                raise CustomerError(
                    _("This line cannot be cancelled now (it is %(status)s).")
                    % {"status": locked_line.get_status_display().lower()}
                )
            balance = ledger_balance(line=locked_line)
            cancellation = CancellationRequest.objects.create(
                line=locked_line,
                requested_by=locked_line.owner,
                source=CancellationSource.PORT_OUT,
                reason=CancellationReason.OTHER_OPERATOR,
                idempotency_key=f"port-out-{now.timestamp():.0f}-{locked_line.pk}",
                line_status_before=locked_line.status,
                balance_choice=BalanceChoice.REFUND if balance > 0 else BalanceChoice.NONE,
                decide_by=now.astimezone(OSLO).date(),
                requested_at=now,
            )
            line_transition(
                line=locked_line,
                to=LineStatus.CANCELLATION_PENDING,
                by=by,
                reason="ported out",
                action="cancellation_pending",
            )
        cancellation.source = CancellationSource.PORT_OUT
        cancellation.identity_checked_at = cancellation.identity_checked_at or now
        cancellation.decided_by = by
        cancellation.why = note.strip()[:300]
        cancellation.save(update_fields=["source", "identity_checked_at", "decided_by", "why"])
        _move(cancellation, S.APPROVED, by=by, action="cancellation_port_out", why=note or "ported out")
        _deactivation_queue(cancellation)
    return cancellation


def cancellation_retry(*, cancellation: CancellationRequest, by: User) -> CancellationRequest:
    """Support runs a failed deactivation again, from the step it stopped at."""
    with transaction.atomic():
        locked = _lock_line_then_request(cancellation)
        if locked.status != S.FAILED:
            raise CustomerError(_("Only a failed cancellation can be retried."))
        locked.closed_at = None
        locked.last_error = ""
        locked.save(update_fields=["closed_at", "last_error"])
        _move(locked, S.DEACTIVATING, by=by, action="cancellation_retried")
        _deactivation_queue(locked)
    return locked


# --- the worker's deactivation ---------------------------------------------------------


def _deactivation_queue(cancellation: CancellationRequest) -> None:
    from subscriptions.tasks import deactivate_cancelled_line

    cancellation_id = cancellation.pk
    transaction.on_commit(lambda: deactivate_cancelled_line.delay(cancellation_id), robust=True)


def _step_done(cancellation: CancellationRequest, field: str, *, action: str, data: dict[str, object]) -> bool:
    """Record a step once (a conditional update) with its audit row."""
    with transaction.atomic():
        done = CancellationRequest.objects.filter(pk=cancellation.pk, **{field: None}).update(**{field: timezone.now()})
        if done:
            audit_record(
                line=cancellation.line,
                action=action,
                by=None,
                data={"cancellation": str(cancellation.public_id), **data},
            )
    cancellation.refresh_from_db()
    return bool(done)


def _current_profile(line: Line) -> EsimProfile | None:
    return EsimProfile.objects.filter(line=line, state__in=ON_THE_LINE).order_by("-assigned_at", "-id").first()


def cancellation_deactivate(*, cancellation_id: int) -> CancellationRequest:
    """Deactivate an approved request's line, each step once.

    1. Claim it: approved (or deactivating, a run cut off) becomes
       deactivating; anything else is left alone.
    2. The network blocks the number, then 3. releases its IMSI.
    4. The SM-DP+ cancels a profile that never reached a phone (an installed
       one is cut off by the released IMSI); ours becomes DISABLED.
    5. The line becomes CANCELLED, its paid time ends then, and auto-renew
       is turned off.
    6. Orders still waiting for payment are closed at the provider and here.
    7. The balance: refunded (a credit note and a ledger entry) or given up.
    8. The confirmation email, then DONE.

    Each outside call carries the request's id and the step, so a repeat is
    answered as the first; each step records its moment, so a run cut off
    anywhere, or two runs at once, do every step once. Transient errors
    (``NetworkUnavailable``, ``SmdpUnavailable``, ``PaymentProviderError``)
    are noted and raised for the task to retry; a refusal fails the request
    for support, who retry it from the admin.
    """
    from subscriptions.network import NetworkRefused, NetworkUnavailable
    from subscriptions.payments import PaymentProviderError
    from subscriptions.smdp import SmdpUnavailable

    with transaction.atomic():
        cancellation = CancellationRequest.objects.select_for_update().select_related("line").get(pk=cancellation_id)
        if cancellation.status not in (S.APPROVED, S.DEACTIVATING):
            return cancellation
        if cancellation.status == S.APPROVED:
            _move(cancellation, S.DEACTIVATING, by=None, action="cancellation_deactivating")
        cancellation.attempts += 1
        cancellation.save(update_fields=["attempts"])
    try:
        _deactivation_steps(cancellation)
    except (NetworkUnavailable, SmdpUnavailable, PaymentProviderError) as error:
        CancellationRequest.objects.filter(pk=cancellation.pk).update(last_error=str(error)[:300])
        logger.warning("cancellation %s: %s; it will be tried again", cancellation.pk, error)
        raise
    except (NetworkRefused, SmdpRefused) as refusal:
        with transaction.atomic():
            locked = _lock_line_then_request(cancellation)
            locked.last_error = str(refusal)[:300]
            locked.save(update_fields=["last_error"])
            if locked.status == S.DEACTIVATING:
                _move(locked, S.FAILED, by=None, action="cancellation_failed", why=str(refusal))
        logger.warning("cancellation %s failed: %s", cancellation.pk, refusal)
    cancellation.refresh_from_db()
    return cancellation


def _deactivation_steps(cancellation: CancellationRequest) -> None:
    line = cancellation.line
    request_id = str(cancellation.public_id)
    network = get_network()
    if cancellation.network_blocked_at is None:
        network.block_line(msisdn=line.number, request_id=f"{request_id}-block")
        _step_done(cancellation, "network_blocked_at", action="line_blocked", data={})
    profile = _current_profile(line)
    if cancellation.imsi_released_at is None:
        if profile is not None and profile.imsi:
            network.release_imsi(msisdn=line.number, imsi=profile.imsi, request_id=f"{request_id}-release")
        _step_done(
            cancellation, "imsi_released_at", action="imsi_released", data={"imsi": profile.imsi if profile else ""}
        )
    if cancellation.profile_disabled_at is None:
        _profile_disable(cancellation, profile)
    if cancellation.line_cancelled_at is None:
        _line_cancel(cancellation)
    if cancellation.orders_closed_at is None:
        _orders_close(cancellation)
        _step_done(cancellation, "orders_closed_at", action="cancellation_orders_closed", data={})
    if cancellation.balance_settled_at is None:
        _balance_settle(cancellation)
    if cancellation.email_sent_at is None or cancellation.done_at is None:
        _finish(cancellation)


def _profile_disable(cancellation: CancellationRequest, profile: EsimProfile | None) -> None:
    refused = ""
    if profile is not None and profile.state in NEVER_INSTALLED:
        try:
            get_smdp().cancel_order(
                iccid=profile.iccid,
                request_id=f"{cancellation.public_id}-cancel-profile",
                final_status=PROFILE_UNAVAILABLE,
            )
        except SmdpRefused as refusal:
            # The released IMSI cuts the profile off whatever the SM-DP+
            # says; support see the codes in the audit row.
            refused = f"{refusal.subject_code}/{refusal.reason_code}"
    with transaction.atomic():
        if profile is not None:
            before = profile.state
            now = timezone.now()
            disabled = (
                EsimProfile.objects.filter(pk=profile.pk)
                .exclude(state=EsimState.DISABLED)
                .update(state=EsimState.DISABLED, state_changed_at=now)
            )
            if disabled:
                audit_record(
                    line=cancellation.line,
                    action="esim_disabled",
                    by=None,
                    from_status=before,
                    to_status=EsimState.DISABLED,
                    data={"iccid": profile.iccid, "cancellation": str(cancellation.public_id), "smdp_refused": refused},
                )
        _step_done(
            cancellation,
            "profile_disabled_at",
            action="cancellation_profile_disabled",
            data={"iccid": profile.iccid if profile else ""},
        )


def _line_cancel(cancellation: CancellationRequest) -> None:
    with transaction.atomic():
        line = Line.objects.select_for_update().get(pk=cancellation.line_id)
        if line.status == LineStatus.CANCELLATION_PENDING:
            line = line_transition(
                line=line, to=LineStatus.CANCELLED, by=None, reason="cancellation done", action="cancelled"
            )
        if line.status == LineStatus.CANCELLED:
            # Paid time not used is not refunded: it ends here, and a line
            # that comes back pays a new period from its comeback.
            line_paid_time_end(line=line, at=line.status_changed_at, by=None, reason="the line was cancelled")
        # As the customer turning it off would: the setting, a scheduled
        # charge and a Vipps agreement no other line uses all end.
        auto_renew_disable(line=line, by=None, reason="line cancelled")
        _step_done(cancellation, "line_cancelled_at", action="cancellation_line_cancelled", data={})


def _orders_close(cancellation: CancellationRequest) -> None:
    """Close every order of the line still waiting for payment: at the
    provider first (a payment made all the same is applied, and refused by
    the cancelled line, flagged for a refund), then here."""
    from subscriptions.payments import get_provider
    from subscriptions.services.settlement import order_close, payment_update_apply

    for order in Order.objects.filter(line_id=cancellation.line_id, status=OrderStatus.PENDING):
        if order.method == PaymentMethod.SAVED_CARD and order.provider_payment_id:
            # A charge on a saved card or agreement may still be collected
            # (a Vipps charge falls due days later): left pending, its
            # outcome is applied when it comes, and money taken for the
            # cancelled line is flagged for a refund, as reconcile does.
            continue
        if order.provider_payment_id:
            provider = get_provider(order.provider)
            update = provider.cancel_payment(payment_id=order.provider_payment_id)
            if update.state != PaymentState.PENDING:
                payment_update_apply(provider=provider.name, update=update)
        with transaction.atomic():
            locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
            if locked.status == OrderStatus.PENDING:
                order_close(order=locked, status=OrderStatus.ABANDONED, reason="line_cancelled")
                audit_record(
                    line=cancellation.line,
                    action="order_closed",
                    by=None,
                    reason="line cancelled",
                    data={"order": str(locked.public_id), "cancellation": str(cancellation.public_id)},
                )


def _balance_settle(cancellation: CancellationRequest) -> None:
    """Under the line's lock, once: a positive balance refunded (a credit
    note numbered in its own series, and a ledger entry taking the balance
    to zero) or given up (a ledger entry saying so)."""
    with transaction.atomic():
        Line.objects.select_for_update().filter(pk=cancellation.line_id).exists()
        locked = _locked(cancellation)
        if locked.balance_settled_at is not None:
            return
        balance = ledger_balance(line=locked.line)
        reference = f"cancellation:{locked.public_id}"
        data: dict[str, object] = {"balance_ore": balance}
        if balance > 0 and locked.balance_choice == BalanceChoice.GIVE_UP:
            ledger_add(
                line=locked.line,
                kind=LedgerKind.ADJUSTMENT,
                amount_ore=-balance,
                reference=reference,
                params={"text": LedgerText.BALANCE_GIVEN_UP},
            )
            data["given_up"] = True
        elif balance > 0:
            note = _credit_note_issue(locked, amount_ore=balance)
            ledger_add(
                line=locked.line,
                kind=LedgerKind.REFUND,
                amount_ore=-balance,
                reference=reference,
                params={"text": LedgerText.CANCELLATION_REFUND, "credit_note": note.number},
            )
            data["credit_note"] = note.number
            locked.refund_account = ""
        locked.balance_settled_at = timezone.now()
        locked.save(update_fields=["balance_settled_at", "refund_account"])
        audit_record(
            line=locked.line,
            action="cancellation_balance_settled",
            by=None,
            data={"cancellation": str(locked.public_id), **data},
        )
    cancellation.refresh_from_db()


def _credit_note_issue(cancellation: CancellationRequest, *, amount_ore: int) -> CreditNote:
    """The next number of the Oslo year in the credit notes' own series,
    taken under the year's row lock in the issuing transaction."""
    now = timezone.now()
    year = now.astimezone(OSLO).year
    CreditNoteSequence.objects.get_or_create(year=year)
    sequence = CreditNoteSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    owner = cancellation.line.owner
    return CreditNote.objects.create(
        cancellation=cancellation,
        owner=owner,
        year=year,
        sequence=sequence.last_number,
        issued_at=now,
        customer_name=owner.full_name or str(owner),
        line_number=cancellation.line.number,
        amount_ore=amount_ore,
        bank_account=cancellation.refund_account,
    )


def _finish(cancellation: CancellationRequest) -> None:
    """The confirmation email (once: the moment is set by a conditional
    update, the email leaves when it commits) and DONE."""
    with transaction.atomic():
        locked = _lock_line_then_request(cancellation)
        if locked.email_sent_at is None:
            locked.email_sent_at = timezone.now()
            locked.save(update_fields=["email_sent_at"])
            _tell_done(locked)
        if locked.status == S.DEACTIVATING:
            _move(locked, S.DONE, by=None, action="cancellation_done")
    cancellation.refresh_from_db()


def _tell_done(cancellation: CancellationRequest) -> None:
    owner = cancellation.line.owner
    if not owner.email:
        return
    line = Line.objects.get(pk=cancellation.line_id)
    note = CreditNote.objects.filter(cancellation=cancellation).first()
    with translation.override(owner.language):
        context = {
            "number": line.number_display,
            "until": line.comes_back_until(),
            "credit_note": note,
            "account": bank_account_masked(note.bank_account) if note else "",
            "given_up": cancellation.balance_choice == BalanceChoice.GIVE_UP,
            "link": settings.SITE_URL + reverse("cancellation_detail", args=[cancellation.public_id]),
            "support": support_contact_get(),
        }
        email_send(
            message=EmailMessage(
                subject=render_to_string("emails/cancellation_done_subject.txt", context).strip(),
                body=render_to_string("emails/cancellation_done_message.txt", context),
                to=[owner.email],
            )
        )


def cancellations_unfinished(*, now: datetime | None = None) -> list[int]:
    """Requests approved or deactivating for longer than STALE_AFTER: their
    worker was cut off. The beat sweep queues them again."""
    now = now or timezone.now()
    stale = now - STALE_AFTER
    due = Q(status=S.APPROVED, approved_at__lte=stale) | Q(status=S.DEACTIVATING, deactivation_started_at__lte=stale)
    return list(CancellationRequest.objects.filter(due).order_by("pk").values_list("pk", flat=True))


# --- coming back, quarantine, the number pool -----------------------------------------


def cancellation_line_came_back(*, line: Line, now: datetime) -> CancellationRequest | None:
    """A cancelled line paid for within its grace period became active again
    (``line_reactivated``, inside the paying transaction): its request notes
    it, and once this commits a worker lifts the network block and prepares
    a new eSIM (the old profile was disabled)."""
    cancellation = (
        CancellationRequest.objects.select_for_update()
        .filter(line=line, status=S.DONE, reactivated_at=None)
        .order_by("-done_at")
        .first()
    )
    if cancellation is None:
        return None
    cancellation.reactivated_at = now
    cancellation.save(update_fields=["reactivated_at"])
    audit_record(
        line=line, action="cancellation_reactivated", by=None, data={"cancellation": str(cancellation.public_id)}
    )
    cancellation_id = cancellation.pk
    from subscriptions.tasks import bring_back_cancelled_line

    transaction.on_commit(lambda: bring_back_cancelled_line.delay(cancellation_id), robust=True)
    return cancellation


def cancellation_comeback_run(*, cancellation_id: int) -> bool:
    """After a reactivation: the network lifts the block (once, by request
    id), and the line gets a new eSIM through the provisioning worker (its
    key is the request's, so a second run is the same job)."""
    from subscriptions.services.provisioning import provisioning_start

    cancellation = CancellationRequest.objects.select_related("line").get(pk=cancellation_id)
    if cancellation.reactivated_at is None:
        return False
    line = cancellation.line
    if cancellation.unblocked_at is None:
        get_network().unblock_line(msisdn=line.number, request_id=f"{cancellation.public_id}-unblock")
        _step_done(cancellation, "unblocked_at", action="line_unblocked", data={})
    old = EsimProfile.objects.filter(line=line).order_by("-assigned_at", "-id").first()
    if old is not None and old.state == EsimState.DISABLED:
        provisioning_start(line=line, replacing=old, key=f"reactivation:{cancellation.public_id}")
    return True


def lines_quarantine(*, now: datetime | None = None) -> int:
    """Cancelled lines past their grace period become QUARANTINED. Safe to
    run twice or side by side: each line moves under its lock, once."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.CANCELLATION_GRACE_DAYS)
    moved = 0
    after = 0
    while True:
        ids = list(
            Line.objects.filter(status=LineStatus.CANCELLED, status_changed_at__lte=cutoff, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        if not ids:
            return moved
        for line_id in ids:
            with transaction.atomic():
                line = Line.objects.select_for_update().get(pk=line_id)
                if line.status != LineStatus.CANCELLED or line.status_changed_at > cutoff:
                    continue
                line_transition(
                    line=line,
                    to=LineStatus.QUARANTINED,
                    by=None,
                    reason="the grace period after cancellation ended",
                    action="quarantined",
                )
                moved += 1
        after = ids[-1]


def numbers_release_quarantined(*, now: datetime | None = None) -> int:
    """Numbers of lines quarantined for QUARANTINE_RELEASE_DAYS go back to
    the number pool: the line keeps its history under a retired number (no
    phone can have it), the audit row keeps the old one. Safe to run twice:
    a line whose number is already retired is skipped under its lock."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.QUARANTINE_RELEASE_DAYS)
    ids = list(
        Line.objects.filter(status=LineStatus.QUARANTINED, status_changed_at__lte=cutoff)
        .exclude(number__startswith=RETIRED_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    released = 0
    for line_id in ids:
        with transaction.atomic():
            line = Line.objects.select_for_update().get(pk=line_id)
            if line.number.startswith(RETIRED_PREFIX) or line.status != LineStatus.QUARANTINED:
                continue
            number = line.number
            line.number = f"{RETIRED_PREFIX}{line.pk:08d}"
            line.save(update_fields=["number"])
            _pool_return(number, now=now)
            audit_record(
                line=line,
                action="number_returned_to_pool",
                by=None,
                reason="quarantine ended",
                data={"number": number},
            )
            released += 1
    return released


def _pool_return(number: str, *, now: datetime) -> None:
    day = now.astimezone(OSLO).date().isoformat()
    batch, _created = NumberBatch.objects.get_or_create(
        sha256=hashlib.sha256(f"quarantine-return:{day}".encode()).hexdigest(),
        defaults={"filename": f"numbers back from quarantine {day}"},
    )
    pooled, created = PoolNumber.objects.get_or_create(number=number, defaults={"batch": batch})
    if not created:
        PoolNumber.objects.filter(pk=pooled.pk).update(taken_at=None, offered_to=None, offered_until=None)
    NumberBatch.objects.filter(pk=batch.pk).update(number_count=PoolNumber.objects.filter(batch=batch).count())
