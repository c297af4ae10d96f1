"""Vouchers sold in shops (充值卡): making a batch of codes, voiding a batch
or one code, and redeeming a code for a line.

A code's plaintext exists only in the return value of
``voucher_batch_create`` (which the admin turns into the printer's CSV) and in
what a customer types; the database holds its keyed hash. Redemption takes
the voucher's row lock and flips it with a conditional update, so a code is
credited once however many requests race for it. Every attempt is recorded,
a refusal too (after its redemption rolled back to a savepoint), in the
transaction that counted the recent failures, while that transaction holds
the throttle for the customer, the line and the IP address: parallel guesses
are counted one after another, so no more get checked than the limits allow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_nok, format_number
from subscriptions.models import (
    LedgerKind,
    LedgerText,
    Line,
    Plan,
    PlanKind,
    RedemptionResult,
    Voucher,
    VoucherAttempt,
    VoucherBatch,
    VoucherStatus,
    VoucherValue,
)
from subscriptions.periods import OSLO
from subscriptions.services.audit import audit_record
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.lines import line_add_period
from subscriptions.services.throttle import throttle_free_at, throttle_hold, throttle_minutes
from subscriptions.services.voucher_codes import code_check_digit_ok, code_generate, code_hash, code_normalize

logger = logging.getLogger(__name__)

VOUCHER_BATCH_MAX = 10_000
VOUCHER_AMOUNT_MIN_ORE = 10_00
VOUCHER_AMOUNT_MAX_ORE = 5_000_00
# What the throttle counts: every refusal of a code. A THROTTLED answer is
# not counted, so that waiting out the hour is enough to be let in again.
FAILURES = (
    RedemptionResult.UNKNOWN,
    RedemptionResult.USED,
    RedemptionResult.EXPIRED,
    RedemptionResult.VOIDED,
    RedemptionResult.WRONG_KIND,
)
LOOKUP_CHUNK = 2000


class VoucherError(CustomerError):
    """A code refused; ``result`` says why (for the attempt row and for an
    interface that answers in its own words, such as an SMS), ``str()`` is
    the translated message."""

    def __init__(self, result: RedemptionResult, message: str, *, voucher: Voucher | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.voucher = voucher


@dataclass(frozen=True)
class Redemption:
    """What a code gave: money for the balance (``amount_ore``, and the
    balance after it) or a period of ``plan`` (and the line's new expiry)."""

    voucher: Voucher
    line: Line
    amount_ore: int | None = None
    balance_ore: int | None = None
    plan: Plan | None = None
    expires_at: datetime | None = None

    @property
    def message(self) -> str:
        """What was credited, in the active language."""
        number = format_number(self.line.number)
        if self.plan is not None and self.expires_at is not None:
            expiry = formats.date_format(timezone.localtime(self.expires_at, OSLO), "DATETIME_FORMAT")
            if self.line.is_number_keeping:
                text = _("%(plan)s is added to %(number)s. Your number is now kept until %(expiry)s.")
            else:
                text = _("%(plan)s is added to %(number)s. It is now valid until %(expiry)s.")
            return text % {"plan": self.plan.name, "number": number, "expiry": expiry}
        return _("%(amount)s is added to the balance of %(number)s. The balance is now %(balance)s.") % {
            "amount": format_nok(self.amount_ore or 0),
            "number": number,
            "balance": format_nok(self.balance_ore or 0),
        }


# --- batches ----------------------------------------------------------------------


def oslo_today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), OSLO).date()


def _batch_check(
    *, label: str, value_kind: str, amount_ore: int | None, plan: Plan | None, count: int, expires_on: date
) -> None:
    """The rules a batch keeps (the admin form says the same next to its fields)."""
    if not label.strip():
        raise CustomerError(_("Name the retailer the codes are for."))
    if not 1 <= count <= VOUCHER_BATCH_MAX:
        raise CustomerError(_("A batch has 1 to %(max)d codes.") % {"max": VOUCHER_BATCH_MAX})
    if value_kind == VoucherValue.AMOUNT:
        if plan is not None or amount_ore is None:
            raise CustomerError(_("An amount voucher has an amount and no plan."))
        if not VOUCHER_AMOUNT_MIN_ORE <= amount_ore <= VOUCHER_AMOUNT_MAX_ORE:
            raise CustomerError(
                _("A voucher is worth %(min)s to %(max)s.")
                % {"min": format_nok(VOUCHER_AMOUNT_MIN_ORE), "max": format_nok(VOUCHER_AMOUNT_MAX_ORE)}
            )
    elif value_kind == VoucherValue.PLAN:
        if plan is None or amount_ore is not None:
            raise CustomerError(_("A plan voucher has a plan and no amount."))
        if not plan.is_active:
            raise CustomerError(_("Choose a plan that is on sale."))
    else:
        raise CustomerError(_("Choose an amount or a plan."))
    if expires_on <= oslo_today():
        raise CustomerError(_("The last valid day must be after today."))


@sensitive_variables()  # the codes: an error report must not carry them
@transaction.atomic
def voucher_batch_create(
    *,
    label: str,
    value_kind: str,
    amount_ore: int | None,
    plan: Plan | None,
    count: int,
    expires_on: date,
    by: User,
) -> tuple[VoucherBatch, list[tuple[int, str]]]:
    """Make a batch of ``count`` codes.

    1. Check the batch (CustomerError if it breaks a rule).
    2. Draw the codes from ``secrets``, distinct from each other and from
       every code issued before (compared by their hashes).
    3. Store the batch and one row per code: its serial (1, 2, …) and keyed
       hash.

    Returns the batch and its (serial, code) pairs: the only time the codes
    exist whole. Nothing keeps them; the caller hands them to the printer.
    """
    _batch_check(
        label=label, value_kind=value_kind, amount_ore=amount_ore, plan=plan, count=count, expires_on=expires_on
    )
    batch = VoucherBatch.objects.create(
        label=label.strip(),
        value_kind=value_kind,
        amount_ore=amount_ore,
        plan=plan,
        count=count,
        expires_on=expires_on,
        created_by=by,
    )
    codes = _fresh_codes(count)
    # Another batch drawing one of these codes at this very moment (odds of
    # one in 10^15 a code) meets the unique hash and rolls this batch back.
    Voucher.objects.bulk_create(
        [Voucher(batch=batch, serial=serial, code_hash=digest) for serial, (digest, _code) in enumerate(codes, 1)],
        batch_size=1000,
    )
    logger.info("voucher batch %s made: %d codes for %r by user %s", batch.pk, count, batch.label, by.pk)
    return batch, [(serial, code) for serial, (_digest, code) in enumerate(codes, 1)]


def _fresh_codes(count: int) -> list[tuple[str, str]]:
    """``count`` (hash, code) pairs whose hashes are not in the database."""
    fresh: dict[str, str] = {}
    while len(fresh) < count:
        drawn: dict[str, str] = {}
        while len(fresh) + len(drawn) < count:
            code = code_generate()
            digest = code_hash(code)
            if digest not in fresh:
                drawn[digest] = code
        digests = list(drawn)
        for start in range(0, len(digests), LOOKUP_CHUNK):
            taken = Voucher.objects.filter(code_hash__in=digests[start : start + LOOKUP_CHUNK])
            for digest in taken.values_list("code_hash", flat=True):
                del drawn[digest]
        fresh.update(drawn)
    return list(fresh.items())


@transaction.atomic
def voucher_batch_void(*, batch: VoucherBatch, by: User, reason: str) -> int:
    """Void a batch: its codes not yet redeemed stop working (those redeemed
    keep what they gave). Returns how many codes were voided."""
    if not reason.strip():
        raise CustomerError(_("Say why, for the record."))
    locked = VoucherBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.voided_at is not None:
        raise CustomerError(_("This batch is already voided."))
    now = timezone.now()
    locked.voided_at = now
    locked.voided_by = by
    locked.void_reason = reason.strip()[:200]
    locked.save(update_fields=["voided_at", "voided_by", "void_reason"])
    # A redemption holding a code's lock finishes first; this update then
    # finds the code redeemed and leaves it.
    voided = Voucher.objects.filter(batch=locked, status=VoucherStatus.ACTIVE).update(
        status=VoucherStatus.VOIDED, voided_at=now
    )
    batch.refresh_from_db()
    logger.info("voucher batch %s voided by user %s: %d codes", batch.pk, by.pk, voided)
    return voided


@transaction.atomic
def voucher_void(*, voucher: Voucher, by: User, reason: str) -> Voucher:
    """Void one code not yet redeemed (a card lost or stolen from a shop).

    The voucher row keeps when; who and why go to the admin's history of
    the voucher (LogEntry), where staff look for them."""
    if not reason.strip():
        raise CustomerError(_("Say why, for the record."))
    locked = Voucher.objects.select_for_update().get(pk=voucher.pk)
    if locked.status == VoucherStatus.REDEEMED:
        raise CustomerError(_("Voucher %(serial)s is already redeemed, so it cannot be voided.") % {"serial": locked})
    if locked.status == VoucherStatus.VOIDED:
        raise CustomerError(_("Voucher %(serial)s is already voided.") % {"serial": locked})
    locked.status = VoucherStatus.VOIDED
    locked.voided_at = timezone.now()
    locked.save(update_fields=["status", "voided_at"])
    LogEntry.objects.log_actions(
        user_id=by.pk, queryset=[locked], action_flag=CHANGE, change_message=f"Voided: {reason.strip()}"
    )
    voucher.refresh_from_db()
    logger.info("voucher %s voided by user %s", locked, by.pk)
    return locked


# --- redeeming ----------------------------------------------------------------------


@sensitive_variables("code")  # a code not yet used is as good as money
def voucher_redeem(
    *,
    user: User,
    line: Line,
    code: str,
    ip_address: str | None,
    channel: str = "web",
    now: datetime | None = None,
) -> Redemption:
    """Redeem ``code`` for ``line`` (which the caller has checked ``user``
    may use). Call it outside a transaction: a refusal must stay recorded.

    1. A line being cancelled takes no voucher (nothing is looked up).
    2. Open one transaction and hold the throttle for the customer, the line
       and the IP address in it (``_throttle_hold``): attempts sharing any of
       them are counted and recorded one after another, so parallel guesses
       cannot all read the count before any of them is recorded.
    3. Refuse without looking when the failures of the last hour reach the
       limit for the customer, the IP address or the line (THROTTLED).
    4. A code that is not 16 digits ending in their check digit is unknown,
       without a lookup.
    5. In a savepoint: lock the voucher found by the code's hash; refuse a
       code used, voided, expired (after its last day, Oslo time) or for a
       plan of the other kind of line; mark it redeemed (a conditional update
       that must change one row); credit the balance or add the plan's
       period; write the audit row and the CREDITED attempt.
    6. A refusal rolls back the savepoint, is recorded in the transaction
       that still holds the throttle, and is raised as VoucherError once that
       transaction has committed.
    """
    now = now or timezone.now()
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so a voucher cannot be used on it."))
    ip_address = ip_address or None
    with transaction.atomic():
        _throttle_hold(user=user, line=line, ip_address=ip_address)
        # Read after the wait, so that attempts are stamped in the order they were counted.
        at = now or timezone.now()
        try:
            return _attempt(user=user, line=line, code=code, ip_address=ip_address, channel=channel, now=at)
        except VoucherError as error:
            VoucherAttempt.objects.create(
                user=user,
                line=line,
                ip_address=ip_address,
                channel=channel,
                result=error.result,
                voucher=error.voucher,
                created_at=at,
            )
            refusal = error
    log = logger.warning if refusal.result == RedemptionResult.THROTTLED else logger.info
    log("voucher refused (%s) for user %s, line %s, ip %s", refusal.result, user.pk, line.pk, ip_address)
    raise refusal


@sensitive_variables("code", "digits")
def _attempt(*, user: User, line: Line, code: str, ip_address: str | None, channel: str, now: datetime) -> Redemption:
    """Steps 3 to 5 of ``voucher_redeem``, under its throttle hold."""
    free_at = _throttled_until(user=user, line=line, ip_address=ip_address, now=now)
    if free_at is not None:
        minutes = throttle_minutes(free_at=free_at, now=now)
        raise VoucherError(
            RedemptionResult.THROTTLED,
            ngettext(
                "Too many wrong voucher codes. Try again in %(minutes)d minute.",
                "Too many wrong voucher codes. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
        )
    digits = code_normalize(code)
    if digits is None or not code_check_digit_ok(digits):
        raise VoucherError(RedemptionResult.UNKNOWN, _unknown())
    with transaction.atomic():
        return _redeem(user=user, line=line, digits=digits, ip_address=ip_address, channel=channel, now=now)


@sensitive_variables("digits")
def _redeem(*, user: User, line: Line, digits: str, ip_address: str | None, channel: str, now: datetime) -> Redemption:
    # Only the voucher's row is locked: the batch's plan is an outer join,
    # which PostgreSQL will not lock.
    voucher = (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("batch__plan")
        .filter(code_hash=code_hash(digits))
        .first()
    )
    if voucher is None:
        raise VoucherError(RedemptionResult.UNKNOWN, _unknown())
    batch = voucher.batch
    if voucher.status == VoucherStatus.REDEEMED:
        raise VoucherError(RedemptionResult.USED, _used(voucher, user), voucher=voucher)
    if voucher.status == VoucherStatus.VOIDED or batch.voided_at is not None:
        raise VoucherError(
            RedemptionResult.VOIDED,
            _("This voucher has been cancelled and cannot be used. The shop that sold it can help."),
            voucher=voucher,
        )
    if oslo_today(now) > batch.expires_on:
        raise VoucherError(
            RedemptionResult.EXPIRED,
            _("This voucher was valid until %(date)s and has expired.")
            % {"date": formats.date_format(batch.expires_on, "DATE_FORMAT")},
            voucher=voucher,
        )
    if batch.plan is not None and batch.plan.kind != line.kind:
        if batch.plan.kind == PlanKind.NUMBER_KEEPING:
            message = _("This voucher is for a number-keeping plan, so it can only be used on a number-keeping line.")
        else:
            message = _("This voucher is for an eSIM plan, so it cannot be used on a number-keeping line.")
        raise VoucherError(RedemptionResult.WRONG_KIND, message, voucher=voucher)
    locked_line = Line.objects.select_for_update().get(pk=line.pk)
    if locked_line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so a voucher cannot be used on it."))

    taken = Voucher.objects.filter(pk=voucher.pk, status=VoucherStatus.ACTIVE).update(
        status=VoucherStatus.REDEEMED, redeemed_at=now, redeemed_by=user, line=locked_line
    )
    if taken != 1:  # without row locks (SQLite), the update is the guard
        voucher.refresh_from_db()
        raise VoucherError(RedemptionResult.USED, _used(voucher, user), voucher=voucher)
    voucher.refresh_from_db()

    if batch.plan is not None:
        period = line_add_period(
            line=locked_line, plan=batch.plan, by=user, reason=f"voucher {voucher}", source="voucher", now=now
        )
        redemption = Redemption(voucher=voucher, line=locked_line, plan=batch.plan, expires_at=period.ends_at)
        value: dict[str, Any] = {"plan": batch.plan.code}
    else:
        assert batch.amount_ore is not None
        ledger_add(
            line=locked_line,
            kind=LedgerKind.VOUCHER,
            amount_ore=batch.amount_ore,
            reference=f"voucher:{voucher.pk}",
            params={"text": LedgerText.VOUCHER, "serial": str(voucher)},
            by=user,
        )
        redemption = Redemption(
            voucher=voucher,
            line=locked_line,
            amount_ore=batch.amount_ore,
            balance_ore=ledger_balance(line=locked_line),
        )
        value = {"amount_ore": batch.amount_ore}
    audit_record(
        line=locked_line,
        action="voucher_redeemed",
        by=user,
        data={"voucher": voucher.pk, "serial": str(voucher), "batch": batch.pk, "channel": channel, **value},
    )
    VoucherAttempt.objects.create(
        user=user,
        line=locked_line,
        ip_address=ip_address,
        channel=channel,
        result=RedemptionResult.CREDITED,
        voucher=voucher,
        created_at=now,
    )
    line.refresh_from_db()
    return redemption


def _throttle_hold(*, user: User, line: Line, ip_address: str | None) -> None:
    """Attempts sharing the customer, the line or the IP address wait for
    each other (``throttle_hold``)."""
    scopes = [f"user:{user.pk}", f"line:{line.pk}"]
    if ip_address:
        scopes.append(f"ip:{ip_address}")
    throttle_hold(name="voucher-throttle", scopes=scopes)


def _throttled_until(*, user: User, line: Line, ip_address: str | None, now: datetime) -> datetime | None:
    """When the customer may try again, if the failures of the last hour
    for the customer, the IP address or the line reached their limit; else
    None."""
    scopes = {"user": Q(user=user), "line": Q(line=line)}
    if ip_address:
        scopes["ip"] = Q(ip_address=ip_address)
    return throttle_free_at(
        failures=VoucherAttempt.objects.filter(result__in=FAILURES),
        scopes=scopes,
        limits=settings.VOUCHER_FAILURES_PER_HOUR,
        now=now,
    )


def _unknown() -> str:
    return _("We do not know this voucher code. Check the 16 digits and try again.")


def _used(voucher: Voucher, user: User) -> str:
    """Already used; the customer who used it is told where and when (a
    double tap on the button is the usual reason), anyone else only that."""
    if voucher.redeemed_by_id == user.pk and voucher.line is not None and voucher.redeemed_at is not None:
        return _("You already used this voucher on %(number)s (%(when)s).") % {
            "number": format_number(voucher.line.number),
            "when": formats.date_format(timezone.localtime(voucher.redeemed_at, OSLO), "DATETIME_FORMAT"),
        }
    return _("This voucher has already been used.")
