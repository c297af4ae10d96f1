"""Auto-renew (自动扣款): turning it on with a saved card, off, and the sweep
that charges lines a few days before their paid period ends.

Once per period, whatever happens: the sweep claims a line's period by
creating its ``AutoRenewCharge`` row (unique per line and period end); a
charge run takes the row under a lock and moves it to "charging" before it
talks to the provider; the order it pays is keyed by the charge and the
attempt, and the provider's key by the order, so a run repeated after a
killed worker gets the same charge's answer instead of a second charge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.messaging import email_send
from accounts.models import User
from subscriptions.errors import CustomerError
from subscriptions.models import (
    VIPPS_AGREEMENT_PROVIDERS,
    AutoRenewal,
    AutoRenewCharge,
    CardSetup,
    ChargeStatus,
    Line,
    LineStatus,
    Order,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Plan,
    PlanPeriod,
    SavedCard,
    SetupStatus,
)
from subscriptions.payments import PaymentProviderError, get_provider
from subscriptions.payments.vipps_recurring import DUE_AFTER_DAYS
from subscriptions.services.audit import audit_record
from subscriptions.services.checkout import VIPPS_COUNTRY_CODES, Billing, OrderRequest, order_charge_saved_card
from subscriptions.services.settlement import order_refresh, payment_update_apply

logger = logging.getLogger(__name__)

# A charge left "charging" this long was cut off (a worker killed mid-charge):
# the next sweep runs it again, with the same keys.
STALE_CHARGE = timedelta(minutes=10)
SWEEP_CHUNK = 500


@dataclass(frozen=True)
class NextCharge:
    when: datetime
    amount_ore: int
    plan: Plan
    card: SavedCard


# --- the customer's choices ---------------------------------------------------------------


def _check_plan(line: Line, plan: Plan) -> None:
    if line.is_closed:
        raise CustomerError(_("This line is being cancelled or is cancelled, so it cannot be renewed."))
    if plan.kind != line.kind or not plan.is_active:
        raise CustomerError(_("This plan is not available for this line."))


def _check_vipps_plan(plan: Plan) -> None:
    if not vipps_renews_in_time(plan.period):
        raise CustomerError(
            _(
                "This plan is too short to renew automatically with Vipps MobilePay: Vipps MobilePay takes an "
                "automatic payment on a later day, after the plan would have run out. Choose a longer plan, or "
                "turn auto-renew on with a card."
            )
        )


def auto_renew_start(
    *, owner: User, line: Line, plan: Plan, site_url: str, method: str = PaymentMethod.CARD
) -> CardSetup:
    """Begin turning auto-renew on with a new card: the provider's page
    where the customer saves it. Auto-renew is on once they come back and
    the provider says the card is saved (``auto_renew_setup_finish``).
    With Vipps MobilePay (``method``), the page is the agreement the
    customer approves in the app, for the plan's price and period; the
    agreement then stands in for the card."""
    _check_plan(line, plan)
    extra: dict[str, Any] = {}
    if method == PaymentMethod.VIPPS:
        if not settings.VIPPS_RECURRING_PROVIDER:
            raise CustomerError(_("Vipps MobilePay is not available just now. Pay by card instead."))
        _check_vipps_plan(plan)
        provider = get_provider(settings.VIPPS_RECURRING_PROVIDER)
        phone = next((n for n in (owner.phone or "", line.number) if n.startswith(VIPPS_COUNTRY_CODES)), "")
        extra = {
            "product_name": plan.name,
            "amount_ore": plan.price_ore,
            "period": plan.period,
            "customer_phone": phone,
        }
    else:
        provider = get_provider()
    setup = CardSetup.objects.create(owner=owner, line=line, plan=plan, provider=provider.name)
    try:
        created = provider.create_card_setup(
            reference=str(setup.public_id),
            customer_reference=f"user-{owner.pk}",
            customer_email=owner.email or "",
            idempotency_key=f"setup-{setup.public_id}",
            return_url=site_url + reverse("auto_renew_return", args=[setup.public_id]),
            language=owner.language,
            **extra,
        )
    except PaymentProviderError:
        logger.warning("payment provider %s could not start a card setup", provider.name)
        setup.status = SetupStatus.FAILED
        setup.save(update_fields=["status"])
        raise CustomerError(_("The payment service did not answer. Please try again in a moment.")) from None
    setup.setup_id = created.payment_id
    setup.provider_url = created.redirect_url
    setup.save(update_fields=["setup_id", "provider_url"])
    return setup


def auto_renew_setup_finish(*, setup: CardSetup) -> CardSetup:
    """Ask the provider how saving the card went; once saved, keep the card
    and turn auto-renew on for the line with the chosen plan."""
    if setup.status != SetupStatus.PENDING:
        return setup
    try:
        result = get_provider(setup.provider).fetch_card_setup(setup_id=setup.setup_id)
    except PaymentProviderError:
        logger.warning("payment provider %s did not answer about card setup %s", setup.provider, setup.public_id)
        return setup
    if result.state == PaymentState.PENDING:
        return setup
    with transaction.atomic():
        locked = CardSetup.objects.select_for_update().get(pk=setup.pk)
        if locked.status != SetupStatus.PENDING:
            return locked
        if result.state != PaymentState.PAID or result.method is None:
            locked.status = SetupStatus.FAILED
            locked.save(update_fields=["status"])
            return locked
        method = result.method
        card, _created = SavedCard.objects.get_or_create(
            provider=locked.provider,
            method_id=method.method_id,
            defaults={
                "owner": locked.owner,
                "provider_customer_id": method.customer_id,
                "brand": method.brand,
                "last4": method.last4,
                "exp_month": method.exp_month,
                "exp_year": method.exp_year,
            },
        )
        locked.status = SetupStatus.SAVED
        locked.card = card
        locked.save(update_fields=["status", "card"])
        auto_renew_enable(line=locked.line, plan=locked.plan, card=card, by=locked.owner)
        return locked


@transaction.atomic
def auto_renew_enable(*, line: Line, plan: Plan, card: SavedCard, by: User) -> AutoRenewal:
    """Turn auto-renew on (or change its plan or card)."""
    locked = Line.objects.select_for_update().get(pk=line.pk)
    _check_plan(locked, plan)
    if card.owner_id != locked.owner_id or card.removed_at is not None:
        raise CustomerError(_("This card is not yours to use."))
    if card.provider in VIPPS_AGREEMENT_PROVIDERS:
        _check_vipps_plan(plan)
    setting, _created = AutoRenewal.objects.update_or_create(
        line=locked, defaults={"plan": plan, "card": card, "enabled": True, "updated_at": timezone.now()}
    )
    if not locked.auto_renew:
        locked.auto_renew = True
        locked.save(update_fields=["auto_renew"])
    # A charge already scheduled for this period uses the new choice; one
    # cancelled when auto-renew was turned off in this period is scheduled
    # again (the sweep claims a period once, so it would never make another).
    AutoRenewCharge.objects.filter(line=locked, status=ChargeStatus.SCHEDULED).update(plan=plan, card=card)
    if locked.expires_at is not None:
        AutoRenewCharge.objects.filter(line=locked, period_end=locked.expires_at, status=ChargeStatus.CANCELLED).update(
            status=ChargeStatus.SCHEDULED,
            plan=plan,
            card=card,
            next_attempt_at=Coalesce("next_attempt_at", Value(timezone.now())),
            updated_at=timezone.now(),
        )
    audit_record(line=locked, action="auto_renew_on", by=by, data={"plan": plan.code, "card": str(card)})
    return setting


@transaction.atomic
def auto_renew_disable(*, line: Line, by: User | None, reason: str = "") -> None:
    """Turn auto-renew off; a charge waiting for this period is cancelled,
    and a Vipps MobilePay charge made but not yet due is withdrawn at Vipps
    (by a worker, after commit: ``auto_renew_charge_withdraw``). A Vipps
    MobilePay agreement no other line renews with is stopped (by a worker,
    after commit), so it leaves the customer's app too."""
    locked = Line.objects.select_for_update().get(pk=line.pk)
    setting = AutoRenewal.objects.filter(line=locked, enabled=True).select_related("card").first()
    AutoRenewal.objects.filter(line=locked).update(enabled=False, updated_at=timezone.now())
    if setting is not None and setting.card.provider in VIPPS_AGREEMENT_PROVIDERS:
        transaction.on_commit(partial(_agreement_stop_queue, card_id=setting.card_id), robust=True)
    waiting = AutoRenewCharge.objects.filter(
        line=locked,
        status=ChargeStatus.CHARGING,
        order__status=OrderStatus.PENDING,
        order__provider__in=VIPPS_AGREEMENT_PROVIDERS,
    )
    for order_id in waiting.values_list("order_id", flat=True):
        transaction.on_commit(partial(_charge_withdraw_queue, order_id=order_id), robust=True)
    AutoRenewCharge.objects.filter(line=locked, status=ChargeStatus.SCHEDULED).update(
        status=ChargeStatus.CANCELLED, updated_at=timezone.now()
    )
    if locked.auto_renew:
        locked.auto_renew = False
        locked.save(update_fields=["auto_renew"])
        audit_record(line=locked, action="auto_renew_off", by=by, reason=reason)


def _agreement_stop_queue(*, card_id: int) -> None:
    from subscriptions.tasks import stop_vipps_agreement

    stop_vipps_agreement.delay(card_id)


def _charge_withdraw_queue(*, order_id: int | None) -> None:
    from subscriptions.tasks import withdraw_auto_renew_charge

    if order_id is not None:
        withdraw_auto_renew_charge.delay(order_id)


def auto_renew_charge_withdraw(*, order_id: int) -> AutoRenewCharge | None:
    """Withdraw the auto-renew charge of ``order_id`` at the provider, now
    that auto-renew is off (or the line cancelled): a Vipps MobilePay charge
    waits days for its due date, and the customer must not pay for a renewal
    they turned off. Then finish our charge as the outcome says: cancelled
    (no retry, no email), or, if Vipps took the money first, paid, as any
    payment (a cancelled line refuses it and it is flagged for a refund).
    Safe to run twice; PaymentProviderError while Vipps cannot be reached
    (the task retries)."""
    order = Order.objects.filter(pk=order_id, status=OrderStatus.PENDING).exclude(provider_payment_id="").first()
    if order is None:
        return None
    provider = get_provider(order.provider)
    update = provider.cancel_payment(payment_id=order.provider_payment_id)
    if update.state != PaymentState.PENDING:
        payment_update_apply(provider=provider.name, update=update)
    return auto_renew_charge_settle(order_id=order_id)


def vipps_agreement_ended(*, provider: str, agreement_id: str, status: str) -> int:
    """A Vipps MobilePay agreement stopped (in the app, or by Vipps) or
    expired, as its webhook says: it can never be charged again. It stops
    being offered, and auto-renew is turned off for each line that renewed
    with it (an audit row each, and the page shows it off). Returns how many
    lines; a repeat, or the echo of a stop of ours, changes nothing."""
    card = SavedCard.objects.filter(provider=provider, method_id=agreement_id).first()
    if card is None:
        return 0
    # Marked first, so the stop auto_renew_disable queues is not sent for
    # an agreement Vipps has ended already.
    SavedCard.objects.filter(pk=card.pk, removed_at__isnull=True).update(removed_at=timezone.now())
    line_ids = list(AutoRenewal.objects.filter(card=card, enabled=True).values_list("line_id", flat=True))
    reason = f"the Vipps MobilePay agreement was {status.lower()}"
    for line in Line.objects.filter(pk__in=line_ids).order_by("pk"):
        auto_renew_disable(line=line, by=None, reason=reason)
    return len(line_ids)


def vipps_agreement_stop(*, card_id: int) -> bool:
    """Stop a Vipps MobilePay agreement that no line renews with any more,
    and stop offering it; True if this call did. PaymentProviderError when
    Vipps fails: the worker tries again with the same key."""
    card = SavedCard.objects.get(pk=card_id)
    if card.removed_at is not None or AutoRenewal.objects.filter(card=card, enabled=True).exists():
        return False
    stop = getattr(get_provider(card.provider), "agreement_stop", None)
    if stop is None:
        return False
    stop(agreement_id=card.method_id, idempotency_key=f"stop-agreement-{card.pk}")
    return bool(SavedCard.objects.filter(pk=card.pk, removed_at__isnull=True).update(removed_at=timezone.now()))


def auto_renew_next_charge(
    *, line: Line, setting: AutoRenewal, charge: AutoRenewCharge | None, now: datetime | None = None
) -> NextCharge | None:
    """When the next automatic charge will happen and for how much, given
    the line's choice and the charge already made for its current period."""
    # Only an active line is charged (see lines_due_for_auto_renew): the page
    # promises no charge for a suspended one.
    if not setting.enabled or line.expires_at is None or line.status != LineStatus.ACTIVE:
        return None
    if charge is not None and charge.status not in (ChargeStatus.SCHEDULED, ChargeStatus.CHARGING):
        return None  # this period's charge is done (paid, or given up)
    now = now or timezone.now()
    if charge and charge.next_attempt_at:
        when = charge.next_attempt_at
    else:
        when = line.expires_at - auto_renew_window_of(setting)
    return NextCharge(when=max(when, now), amount_ore=setting.plan.price_ore, plan=setting.plan, card=setting.card)


# Half of each plan period's nominal length. A line is charged no earlier
# than this before its paid end, so the period bought always ends further
# away than the window: exactly one period is bought ahead, never several
# (a day plan inside a three-day window would otherwise be bought again at
# every sweep).
HALF_PERIOD = {
    PlanPeriod.DAY: timedelta(hours=12),
    PlanPeriod.WEEK: timedelta(days=3, hours=12),
    PlanPeriod.MONTH: timedelta(days=14),
    PlanPeriod.QUARTER: timedelta(days=45),
    PlanPeriod.YEAR: timedelta(days=182),
}


# How long before the paid end a Vipps MobilePay charge must be made so that
# Vipps takes the money before the line expires: Vipps takes it at any hour
# of the due date, which is at the earliest DUE_AFTER_DAYS after the day the
# charge is made, and must be no later than the day before the line expires
# (Oslo dates). Two calendar days can last 50 hours (a daylight-saving day
# has 25); the rest is slack for the sweep's interval.
VIPPS_CHARGE_LEAD = timedelta(days=DUE_AFTER_DAYS + 1, hours=3)


def auto_renew_window(period: str, *, within: timedelta | None = None, vipps: bool = False) -> timedelta:
    """How long before the paid end a line renewing with a plan of
    ``period`` is charged: AUTO_RENEW_DAYS_BEFORE days (or ``within``), at
    least VIPPS_CHARGE_LEAD with a Vipps MobilePay agreement (``vipps``),
    and at most half of the period."""
    cap = within if within is not None else timedelta(days=settings.AUTO_RENEW_DAYS_BEFORE)
    if vipps:
        cap = max(cap, VIPPS_CHARGE_LEAD)
    return min(cap, HALF_PERIOD[PlanPeriod(period)])


def auto_renew_window_of(setting: AutoRenewal) -> timedelta:
    """``auto_renew_window`` for a line's choice. Its card is read only when
    a Vipps MobilePay agreement would change the window (not with the
    default settings), so a page listing lines asks nothing more."""
    period = setting.plan.period
    window = auto_renew_window(period)
    if window != auto_renew_window(period, vipps=True) and setting.card.provider in VIPPS_AGREEMENT_PROVIDERS:
        return auto_renew_window(period, vipps=True)
    return window


def vipps_renews_in_time(period: str) -> bool:
    """Whether a plan of ``period`` can renew with a Vipps MobilePay
    agreement without the line running out first: half of a day plan is
    shorter than Vipps's lead time, so a day plan cannot (its charge would be
    due after the paid end); every longer plan can."""
    return auto_renew_window(period, vipps=True) >= VIPPS_CHARGE_LEAD


# --- the sweep ---------------------------------------------------------------------------------


def lines_due_for_auto_renew(*, now: datetime, within: timedelta | None = None) -> QuerySet[Line]:
    """Active lines with auto-renew on whose paid period ends within the
    window of the plan they renew with (``auto_renew_window``: ``within``,
    AUTO_RENEW_DAYS_BEFORE days unless given, longer with a Vipps MobilePay
    agreement if its lead time needs it, at most half the plan's period)
    and has no charge yet. Found through the partial index on expiry
    of auto-renew lines: the work grows with the lines due, not with all
    lines."""
    vipps_card = Q(auto_renewal__card__provider__in=VIPPS_AGREEMENT_PROVIDERS)
    clauses = []
    windows = []
    for period in PlanPeriod.values:
        window = auto_renew_window(period, within=within)
        vipps_window = auto_renew_window(period, within=within, vipps=True)
        windows += [window, vipps_window]
        in_period = Q(auto_renewal__plan__period=period)
        if vipps_window == window:
            # The same for both (always, with the default settings): no join to the card.
            clauses.append(in_period & Q(expires_at__lte=now + window))
        else:
            clauses.append(in_period & ~vipps_card & Q(expires_at__lte=now + window))
            clauses.append(in_period & vipps_card & Q(expires_at__lte=now + vipps_window))
    in_window = reduce(or_, clauses)
    claimed = AutoRenewCharge.objects.filter(line=OuterRef("pk"), period_end=OuterRef("expires_at"))
    return (
        Line.objects.filter(
            auto_renew=True,
            status=LineStatus.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + max(windows),
        )
        .filter(in_window)
        .exclude(Exists(claimed))
    )


def auto_renew_sweep(*, now: datetime | None = None) -> list[int]:
    """Claim a charge for every line due, and return the ids of the charges
    to run now (new ones, retries whose time has come, and runs cut off)."""
    now = now or timezone.now()
    due = lines_due_for_auto_renew(now=now).order_by("pk").values_list("pk", "expires_at")
    for line_id, expires_at in due.iterator(chunk_size=SWEEP_CHUNK):
        assert expires_at is not None  # the filter asks for one
        setting = AutoRenewal.objects.filter(line_id=line_id, enabled=True).first()
        if setting is None:
            continue
        try:
            with transaction.atomic():
                AutoRenewCharge.objects.create(
                    line_id=line_id,
                    period_end=expires_at,
                    plan_id=setting.plan_id,
                    card_id=setting.card_id,
                    next_attempt_at=now,
                )
        except IntegrityError:
            pass  # another sweep claimed it first
    ready = AutoRenewCharge.objects.filter(status=ChargeStatus.SCHEDULED, next_attempt_at__lte=now)
    stale = AutoRenewCharge.objects.filter(status=ChargeStatus.CHARGING, updated_at__lte=now - STALE_CHARGE)
    return sorted(set(ready.values_list("pk", flat=True)) | set(stale.values_list("pk", flat=True)))


# --- one charge --------------------------------------------------------------------------------


def auto_renew_charge_run(*, charge_id: int, now: datetime | None = None) -> AutoRenewCharge:
    """Run one charge, once.

    1. Take it under a lock: scheduled and due, or charging but cut off long
       ago; anything else (paid, failed, cancelled, another run busy) is
       left alone. A line renewed by hand since, or with auto-renew off, is
       cancelled without a charge, unless a run cut off had already placed
       this attempt's order: that one is finished, never charged twice.
    2. Charge the saved card through the order of this attempt (the same
       order and keys if this attempt was cut off before).
    3. Paid: the order added the period and sent the receipt. Declined:
       schedule the next retry, or give up after the last; email the
       customer either way.
    """
    now = now or timezone.now()
    with transaction.atomic():
        charge = AutoRenewCharge.objects.select_for_update(of=("self",)).select_related("line").get(pk=charge_id)
        ready = charge.status == ChargeStatus.SCHEDULED and (charge.next_attempt_at or now) <= now
        cut_off = charge.status == ChargeStatus.CHARGING and charge.updated_at <= now - STALE_CHARGE
        if not (ready or cut_off):
            return charge
        line = charge.line
        key = _attempt_key(charge)
        # A run cut off after the provider charged (and the order added the
        # period) must still record that payment, not take the moved expiry
        # for a renewal by hand.
        begun = cut_off and Order.objects.filter(owner_id=line.owner_id, idempotency_key=key).exists()
        unrenewed = line.expires_at == charge.period_end and line.auto_renew
        # A retry that comes after the paid end (the workers were down until
        # then) is too late: the customer is told the charge failed for good,
        # as after the last retry, not left to wonder.
        lapsed = unrenewed and charge.period_end <= now and line.status in (LineStatus.ACTIVE, LineStatus.EXPIRED)
        if not begun and charge.attempts and lapsed:
            charge.status = ChargeStatus.FAILED
            charge.next_attempt_at = None
            charge.updated_at = now
            charge.save(update_fields=["status", "next_attempt_at", "updated_at"])
            _email_failure(charge, now=now)
            audit_record(
                line=line,
                action="auto_renew_charge",
                by=None,
                data={"status": charge.status, "attempt": charge.attempts, "order": None, "lapsed": True},
            )
            return charge
        wanted = unrenewed and line.status == LineStatus.ACTIVE
        if not (begun or wanted):
            charge.status = ChargeStatus.CANCELLED
            charge.updated_at = now
            charge.save(update_fields=["status", "updated_at"])
            return charge
        charge.status = ChargeStatus.CHARGING
        charge.updated_at = now
        charge.save(update_fields=["status", "updated_at"])
    owner = line.owner
    request = OrderRequest(
        line=line,
        kind=OrderKind.RENEWAL,
        amount_ore=charge.plan.price_ore,
        method=PaymentMethod.SAVED_CARD,
        plan=charge.plan,
    )
    # The profile as it is: an order saves a billing that differs back to
    # the profile, and a charge nobody watches must not rename anyone.
    billing = Billing(
        name=owner.full_name,
        street=owner.street_address,
        postal_code=owner.postal_code,
        city=owner.city,
    )
    order: Order | None = None
    # This attempt's payment already made and not decided yet: ask how it
    # stands. Charging again with the same key would not tell (a provider
    # such as Stripe replays its first "processing" answer to a repeated
    # key), and a new key could charge twice.
    undecided = Order.objects.filter(
        owner_id=owner.pk, idempotency_key=key, status=OrderStatus.PENDING, method=PaymentMethod.SAVED_CARD
    ).exclude(provider_payment_id="")
    try:
        if (asked := undecided.select_related("line", "plan", "owner").first()) is not None:
            order = order_refresh(order=asked)
            failure = order.decline_reason
        else:
            order = order_charge_saved_card(
                owner=owner,
                request=request,
                billing=billing,
                idempotency_key=key,
                card=charge.card,
                # A provider that takes the money on a later day (Vipps) has
                # it by the last whole day of the paid period.
                pay_by=timezone.localdate(charge.period_end) - timedelta(days=1),
            )
            failure = order.decline_reason
    except CustomerError as error:
        failure = str(error)
    except PaymentProviderError:
        # Nothing known about this attempt: it stays "charging" and the sweep
        # runs it again after STALE_CHARGE, with the same keys.
        logger.warning("payment provider %s did not answer about auto-renew charge %s", charge.card.provider, charge.pk)
        return charge
    with transaction.atomic():
        charge = AutoRenewCharge.objects.select_for_update(of=("self",)).select_related("line").get(pk=charge_id)
        if charge.status != ChargeStatus.CHARGING:
            return charge  # finished meanwhile (auto_renew_charge_settle)
        if order is not None and order.status == OrderStatus.PENDING:
            # The provider has not decided: its webhook, the order's
            # reconciling sweep or this attempt run again (same keys, after
            # the stale time) will.
            charge.order = order
            charge.updated_at = timezone.now()
            charge.save(update_fields=["order", "updated_at"])
            return charge
        _charge_finish(charge, order=order, failure=failure, now=now)
    return charge


def auto_renew_charge_settle(*, order_id: int, now: datetime | None = None) -> AutoRenewCharge | None:
    """Finish the charge whose order the provider decided outside the
    charge's run (a webhook about a Vipps MobilePay charge due days later,
    or the order sweep): paid, or the retry and the email as after a
    declined run. The charge's lock and status make it once: a run that
    polls the same order finds the charge finished, and the other way round.
    None if no charge waits on this order: an order of an earlier attempt
    (its event sent again while the next attempt runs, whose order the
    charge does not point at yet) finishes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        charge = (
            AutoRenewCharge.objects.select_for_update(of=("self",))
            .select_related("line")
            .filter(order_id=order_id, status=ChargeStatus.CHARGING)
            .first()
        )
        if charge is None:
            return None
        order = Order.objects.get(pk=order_id)
        if order.idempotency_key != _attempt_key(charge):
            return None
        if order.status == OrderStatus.PENDING:
            return charge
        _charge_finish(charge, order=order, failure=order.decline_reason, now=now)
    return charge


def _attempt_key(charge: AutoRenewCharge) -> str:
    """The idempotency key of the charge's order for its attempt now running:
    the same for a run cut off and run again, new for each retry."""
    return f"auto-renew-{charge.pk}-{charge.attempts + 1}"


def _charge_finish(charge: AutoRenewCharge, *, order: Order | None, failure: str, now: datetime) -> None:
    """Record the outcome of the charge's attempt (its row locked, charging):
    paid; or declined, with the next retry scheduled or, after the last,
    given up; the customer emailed about a decline either way."""
    attempt = charge.attempts + 1
    charge.order = order
    charge.attempts = attempt
    charge.updated_at = timezone.now()
    if order is not None and order.status == OrderStatus.PAID:
        charge.status = ChargeStatus.PAID
        charge.last_error = ""
    elif not charge.line.auto_renew:
        # Turned off while the provider decided (a Vipps agreement stopped
        # cancels its charges): nothing is tried again, nobody is told so.
        charge.status = ChargeStatus.CANCELLED
        charge.next_attempt_at = None
        charge.last_error = (failure or "declined")[:200]
    else:
        delays = settings.AUTO_RENEW_RETRY_DELAYS_SECONDS
        charge.last_error = (failure or "declined")[:200]
        retry_at = now + timedelta(seconds=delays[attempt - 1]) if attempt <= len(delays) else None
        # A retry at or after the paid end would find the line expired:
        # this attempt is the last one, and the customer is told so now.
        if retry_at is not None and retry_at < charge.period_end:
            charge.status = ChargeStatus.SCHEDULED
            charge.next_attempt_at = retry_at
        else:
            charge.status = ChargeStatus.FAILED
            charge.next_attempt_at = None
        _email_failure(charge, now=now)
    charge.save()
    audit_record(
        line=charge.line,
        action="auto_renew_charge",
        by=None,
        data={"status": charge.status, "attempt": attempt, "order": str(order.public_id) if order else None},
    )


def _renew_path(charge: AutoRenewCharge) -> str:
    """Renewing by hand in one step: the checkout of the plan the charge was
    for, or the list of plans once that plan is no longer sold."""
    plan = charge.plan
    if plan.is_active and plan.kind == charge.line.kind:
        return reverse("renew_checkout", args=[charge.line_id, plan.code])
    return reverse("renew", args=[charge.line_id])


def _email_failure(charge: AutoRenewCharge, *, now: datetime) -> None:
    """Tell the customer a charge failed: when we try again, or, after the
    last try, that the line expires at its end (or has expired) unless they
    renew by hand."""
    owner = charge.line.owner
    if not owner.email:
        return
    with translation.override(owner.language):
        context = {
            "user": owner,
            "line": charge.line,
            "charge": charge,
            "final": charge.status == ChargeStatus.FAILED,
            "lapsed": charge.period_end <= now,
            "renew_url": settings.SITE_URL + _renew_path(charge),
        }
        subject = render_to_string("emails/auto_renew_failed_subject.txt", context).strip()
        body = render_to_string("emails/auto_renew_failed_message.txt", context)
    email_send(message=EmailMessage(subject=subject, body=body, to=[owner.email]))
