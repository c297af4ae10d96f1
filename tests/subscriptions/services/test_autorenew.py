"""Auto-renew (自动扣款): the card saved on the provider's page, the lines the
sweep finds due, the charge that renews them once per period through the
same orders, periods and receipts as a renewal by hand, the retries after a
declined card, the emails, and turning it off or changing plan and card."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AuditEvent,
    AutoRenewal,
    AutoRenewCharge,
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
    Receipt,
    SavedCard,
    ServicePeriod,
    SetupStatus,
)
from subscriptions.payments import PaymentProviderError, PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.periods import OSLO
from subscriptions.selectors import line_auto_renew
from subscriptions.services.autorenew import (
    STALE_CHARGE,
    auto_renew_charge_run,
    auto_renew_disable,
    auto_renew_enable,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
    lines_due_for_auto_renew,
)
from subscriptions.services.checkout import Billing, OrderRequest, order_charge_saved_card
from subscriptions.services.lines import line_add_period, line_suspend, line_transition, lines_expire_lapsed
from subscriptions.services.reconcile import order_cancel, orders_reconcile
from subscriptions.tasks import charge_auto_renewals
from tests.factories import LineFactory, NumberKeepingPlanFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def customer():
    return UserFactory(
        email="kari@example.test",
        full_name="Kari Nordmann",
        street_address="Storgata 5",
        postal_code="0155",
        city="Oslo",
    )


@pytest.fixture
def plan() -> Plan:
    plan: Plan = PlanFactory(
        code="fjord-week",
        period=PlanPeriod.WEEK,
        price_ore=79_00,
        name_en="Fjord week",
        name_nb="Fjord uke",
        name_zh_hans="峡湾周套餐",
    )
    return plan


@pytest.fixture
def month_plan() -> Plan:
    plan: Plan = PlanFactory(
        code="fjord-month", price_ore=199_00, name_en="Fjord month", name_nb="Fjord måned", name_zh_hans="峡湾月套餐"
    )
    return plan


@pytest.fixture
def line(customer, plan) -> Line:
    """A week's period that started five days ago: it ends in two days, so
    it is due (AUTO_RENEW_DAYS_BEFORE is 3)."""
    line: Line = LineFactory(owner=customer, number="+4791234567", with_period=plan, with_period__days_ago=5)
    return line


def turn_on(line: Line, plan: Plan, *, declining: bool = False) -> SavedCard:
    """The customer's way: the provider's page saves a card (one whose later
    charges the sandbox declines, if asked), then the browser comes back."""
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)
    outcome = SandboxOutcome.SAVE_DECLINING_CARD if declining else SandboxOutcome.SAVE_CARD
    sandbox_decide(payment_id=setup.setup_id, outcome=outcome)
    setup = auto_renew_setup_finish(setup=setup)
    assert setup.status == SetupStatus.SAVED
    assert setup.card is not None
    line.refresh_from_db()
    return setup.card


def sweep_and_charge(now: datetime) -> list[AutoRenewCharge]:
    """One beat of the sweep at ``now``, each charge it hands out run."""
    return [auto_renew_charge_run(charge_id=charge_id, now=now) for charge_id in auto_renew_sweep(now=now)]


def provider_says_processing(monkeypatch) -> None:
    """The sandbox charges a saved card but answers "processing" (its payment
    left undecided), as Stripe can for a PaymentIntent."""
    charge_saved_card = SandboxProvider.charge_saved_card

    def processing(self, **kwargs):
        update = charge_saved_card(self, **kwargs)
        SandboxPayment.objects.filter(payment_id=update.payment_id).update(
            state=PaymentState.PENDING, outcome="", reason="", decided_at=None
        )
        return dataclasses.replace(update, state=PaymentState.PENDING, event_id=f"charge:{update.payment_id}:pending")

    monkeypatch.setattr(SandboxProvider, "charge_saved_card", processing)


def translated(message: str, language: str, **values: str) -> str:
    with translation.override(language):
        text = gettext(message)
    if language != "en":
        assert text != message, f"no {language} translation of {message!r}"
    return text % values if values else text


def shown_as(moment: datetime, language: str) -> str:
    with translation.override(language):
        return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


# --- turning it on ------------------------------------------------------------------------


def test_saving_a_card_turns_auto_renew_on_with_the_chosen_plan(line, plan):
    card = turn_on(line, plan)

    setting = AutoRenewal.objects.get(line=line)
    assert (setting.enabled, setting.plan, setting.card) == (True, plan, card)
    assert (card.owner, card.provider, card.brand, card.last4) == (line.owner, "sandbox", "visa", "4242")
    assert line.auto_renew
    assert AuditEvent.objects.filter(line=line, action="auto_renew_on").count() == 1


def test_a_card_page_left_with_cancel_leaves_auto_renew_off(line, plan):
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)
    sandbox_decide(payment_id=setup.setup_id, outcome=SandboxOutcome.CANCEL)

    setup = auto_renew_setup_finish(setup=setup)

    line.refresh_from_db()
    assert setup.status == SetupStatus.FAILED
    assert not line.auto_renew
    assert not AutoRenewal.objects.exists()
    assert not SavedCard.objects.exists()


def test_a_card_page_not_answered_yet_changes_nothing(line, plan):
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)

    setup = auto_renew_setup_finish(setup=setup)

    line.refresh_from_db()
    assert setup.status == SetupStatus.PENDING
    assert not line.auto_renew


def test_it_cannot_be_turned_on_for_a_line_being_cancelled(line, plan):
    line = line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=None, reason="test")

    with pytest.raises(CustomerError, match="being cancelled"):
        auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)
    assert not SandboxPayment.objects.exists()


def test_it_cannot_renew_with_a_plan_of_another_kind(line, plan):
    with pytest.raises(CustomerError, match="not available"):
        auto_renew_start(owner=line.owner, line=line, plan=NumberKeepingPlanFactory(), site_url=SITE)


def test_another_customers_card_cannot_be_used(line, plan):
    other_line = LineFactory(with_period=plan)
    other_card = turn_on(other_line, plan)

    with pytest.raises(CustomerError, match="not yours"):
        auto_renew_enable(line=line, plan=plan, card=other_card, by=line.owner)
    line.refresh_from_db()
    assert not line.auto_renew


# --- which lines are due ----------------------------------------------------------------


def test_a_line_is_due_within_the_days_before_its_end_until_its_period_is_claimed(customer, line, plan):
    turn_on(line, plan)
    later = LineFactory(owner=customer, with_period=plan, with_period__days_ago=3)  # ends in 4 days
    turn_on(later, plan)
    off = LineFactory(owner=customer, with_period=plan, with_period__days_ago=5)
    now = timezone.now()

    assert list(lines_due_for_auto_renew(now=now)) == [line]
    assert set(lines_due_for_auto_renew(now=now + DAY)) == {line, later}

    auto_renew_sweep(now=now)

    assert not lines_due_for_auto_renew(now=now).exists()
    assert AutoRenewCharge.objects.get().line == line
    assert not off.auto_renew


def test_the_days_before_come_from_the_settings(settings, customer, plan, month_plan):
    settings.AUTO_RENEW_DAYS_BEFORE = 5
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=3)  # ends in 4 days
    turn_on(line, month_plan)

    assert list(lines_due_for_auto_renew(now=timezone.now())) == [line]


@pytest.fixture
def day_plan() -> Plan:
    plan: Plan = PlanFactory(
        code="fjord-day", period=PlanPeriod.DAY, price_ore=19_00, name_en="Fjord day", name_nb="Fjord døgn"
    )
    return plan


def test_a_day_plan_is_bought_one_day_ahead_not_several(customer, day_plan, django_capture_on_commit_callbacks):
    line = LineFactory(owner=customer, with_period=day_plan, with_period__days_ago=0)  # ends in a day
    turn_on(line, day_plan)
    assert line.expires_at is not None
    end = line.expires_at

    # Half a day before its end at the earliest, though the days before are 3.
    assert sweep_and_charge(end - 12 * HOUR - timedelta(seconds=1)) == []
    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(end - 12 * HOUR)
        # The sweep runs every ten minutes: the day bought is not bought again.
        for minutes in (10, 20, 30):
            assert sweep_and_charge(end - 12 * HOUR + timedelta(minutes=minutes)) == []

    line.refresh_from_db()
    assert (charge.status, charge.period_end) == (ChargeStatus.PAID, end)
    assert line.expires_at == day_plan.end_of_period_starting(end)
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert SandboxPayment.objects.filter(mode="payment").count() == 1

    # The next day is bought in its own turn, half a day before the new end.
    assert sweep_and_charge(line.expires_at - 12 * HOUR - timedelta(seconds=1)) == []
    [following] = sweep_and_charge(line.expires_at - 12 * HOUR)
    assert (following.status, following.period_end) == (ChargeStatus.PAID, line.expires_at)
    assert Order.objects.count() == 2


def test_a_week_plan_is_charged_the_days_before_but_never_more_than_half_a_week_ahead(settings, customer, plan):
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=2)  # ends in five days
    turn_on(line, plan)
    assert line.expires_at is not None
    end = line.expires_at

    assert sweep_and_charge(end - 3 * DAY - timedelta(seconds=1)) == []
    settings.AUTO_RENEW_DAYS_BEFORE = 5
    assert sweep_and_charge(end - timedelta(days=3, hours=12, seconds=1)) == []
    [charge] = sweep_and_charge(end - timedelta(days=3, hours=12))

    line.refresh_from_db()
    assert charge.status == ChargeStatus.PAID
    assert line.expires_at == plan.end_of_period_starting(end)
    assert sweep_and_charge(end - 3 * DAY) == []
    assert Order.objects.count() == 1


def test_the_line_page_promises_a_day_plans_charge_half_a_day_before_the_end(customer, day_plan):
    line = LineFactory(owner=customer, with_period=day_plan, with_period__days_ago=0)
    turn_on(line, day_plan)
    assert line.expires_at is not None

    state = line_auto_renew(line=Line.objects.get(pk=line.pk), now=timezone.now())

    assert state.next_charge is not None
    assert state.next_charge.when == line.expires_at - 12 * HOUR


def test_lines_that_are_not_active_are_not_due(customer, plan):
    suspended = LineFactory(owner=customer, with_period=plan, with_period__days_ago=5)
    cancelling = LineFactory(owner=customer, with_period=plan, with_period__days_ago=5)
    lapsed = LineFactory(owner=customer, with_period=plan, with_period__days_ago=8)
    for line in (suspended, cancelling):
        turn_on(line, plan)
    Line.objects.filter(pk=lapsed.pk).update(auto_renew=True)
    line_suspend(line=suspended, by=None, reason="test")
    line_transition(line=cancelling, to=LineStatus.CANCELLATION_PENDING, by=None, reason="test")

    assert not lines_due_for_auto_renew(now=timezone.now()).exists()
    assert auto_renew_sweep(now=timezone.now()) == []
    assert not AutoRenewCharge.objects.exists()


# --- the charge ----------------------------------------------------------------------------


def test_the_charge_renews_like_a_renewal_by_hand_one_order_one_period_one_receipt(
    line, plan, django_capture_on_commit_callbacks
):
    card = turn_on(line, plan)
    old_end = line.expires_at
    assert old_end is not None

    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(timezone.now())

    line.refresh_from_db()
    order = Order.objects.get()
    assert (order.kind, order.method, order.status, order.plan, order.amount_ore) == (
        OrderKind.RENEWAL,
        PaymentMethod.SAVED_CARD,
        OrderStatus.PAID,
        plan,
        79_00,
    )
    assert (charge.status, charge.attempts, charge.order, charge.last_error) == (ChargeStatus.PAID, 1, order, "")
    new = ServicePeriod.objects.filter(line=line).order_by("starts_at").last()
    assert new is not None
    assert (new.starts_at, new.ends_at, new.plan) == (old_end, plan.end_of_period_starting(old_end), plan)
    assert order.period == new
    assert line.expires_at == new.ends_at
    receipt = Receipt.objects.get()
    assert (receipt.order, receipt.total_ore, receipt.customer_name) == (order, 79_00, "Kari Nordmann")
    [payment] = SandboxPayment.objects.filter(card__isnull=False, mode="payment")
    assert (payment.card.method_id, payment.amount_ore, payment.state) == (card.method_id, 79_00, "paid")
    # The success email is the receipt, with its PDF.
    [email] = mail.outbox
    assert email.to == ["kari@example.test"]
    assert receipt.number in email.subject
    assert email.attachments[0][0] == f"receipt-{receipt.number}.pdf"


def test_the_charge_leaves_the_customers_profile_as_it_is(plan, django_capture_on_commit_callbacks):
    nameless = UserFactory(full_name="", street_address="", postal_code="", city="")
    line = LineFactory(owner=nameless, with_period=plan, with_period__days_ago=5)
    turn_on(line, plan)

    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(timezone.now())

    nameless.refresh_from_db()
    assert charge.status == ChargeStatus.PAID
    assert (nameless.full_name, nameless.street_address) == ("", "")


def test_the_sweep_run_twice_charges_once(line, plan):
    turn_on(line, plan)
    now = timezone.now()

    first = auto_renew_sweep(now=now)
    second = auto_renew_sweep(now=now)
    for charge_id in first + second:
        auto_renew_charge_run(charge_id=charge_id, now=now)

    assert first == second
    assert AutoRenewCharge.objects.get().status == ChargeStatus.PAID
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert auto_renew_sweep(now=now) == []


def test_the_beat_task_run_twice_charges_once(line, plan, django_capture_on_commit_callbacks):
    turn_on(line, plan)

    with django_capture_on_commit_callbacks(execute=True):
        charge_auto_renewals.delay()
        charge_auto_renewals.delay()

    assert AutoRenewCharge.objects.get().status == ChargeStatus.PAID
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_next_period_is_charged_in_its_own_turn(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    sweep_and_charge(now)
    line.refresh_from_db()
    assert line.expires_at is not None
    renewed_until = line.expires_at

    assert sweep_and_charge(renewed_until - timedelta(days=3, seconds=1)) == []
    [charge] = sweep_and_charge(renewed_until - timedelta(days=2))

    line.refresh_from_db()
    assert (charge.period_end, charge.status) == (renewed_until, ChargeStatus.PAID)
    assert line.expires_at == plan.end_of_period_starting(renewed_until)
    assert AutoRenewCharge.objects.count() == 2
    assert Receipt.objects.count() == 2
    assert ServicePeriod.objects.filter(line=line).count() == 3


def test_a_charge_run_twice_for_the_same_period_charges_once(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)

    first = auto_renew_charge_run(charge_id=charge_id, now=now)
    again = auto_renew_charge_run(charge_id=charge_id, now=now)

    assert (first.status, again.status, again.attempts) == (ChargeStatus.PAID, ChargeStatus.PAID, 1)
    assert Order.objects.count() == 1
    assert SandboxPayment.objects.filter(mode="payment").count() == 1


def test_a_charge_another_worker_is_running_is_left_alone(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    AutoRenewCharge.objects.filter(pk=charge_id).update(status=ChargeStatus.CHARGING, updated_at=now)

    charge = auto_renew_charge_run(charge_id=charge_id, now=now + STALE_CHARGE - timedelta(seconds=1))

    assert (charge.status, charge.attempts) == (ChargeStatus.CHARGING, 0)
    assert not Order.objects.exists()
    assert auto_renew_sweep(now=now + timedelta(minutes=1)) == []


def test_a_worker_killed_before_the_provider_was_asked_is_replaced_by_the_next_sweep(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    AutoRenewCharge.objects.filter(pk=charge_id).update(status=ChargeStatus.CHARGING, updated_at=now)

    later = now + STALE_CHARGE
    assert auto_renew_sweep(now=later) == [charge_id]
    charge = auto_renew_charge_run(charge_id=charge_id, now=later)

    assert (charge.status, charge.attempts) == (ChargeStatus.PAID, 1)
    assert Order.objects.count() == 1
    assert SandboxPayment.objects.filter(mode="payment").count() == 1


def test_a_worker_killed_after_the_card_was_charged_records_that_payment_and_charges_nothing_more(line, plan):
    """The worker got as far as the paid order (and its period) and died
    before it wrote the charge down: the next run finds the order of the
    same attempt and records it, though the line's expiry has moved."""
    card = turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    AutoRenewCharge.objects.filter(pk=charge_id).update(status=ChargeStatus.CHARGING, updated_at=now)
    owner = line.owner
    paid = order_charge_saved_card(
        owner=owner,
        request=OrderRequest(
            line=line, kind=OrderKind.RENEWAL, amount_ore=plan.price_ore, method=PaymentMethod.SAVED_CARD, plan=plan
        ),
        billing=Billing(name=owner.full_name, street=owner.street_address, postal_code="0155", city="Oslo"),
        idempotency_key=f"auto-renew-{charge_id}-1",
        card=card,
    )
    assert paid.status == OrderStatus.PAID

    charge = auto_renew_charge_run(charge_id=charge_id, now=now + STALE_CHARGE)

    assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.PAID, 1, paid)
    assert Order.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2


def test_a_provider_that_does_not_answer_leaves_the_charge_to_the_next_sweep(
    line, plan, monkeypatch, django_capture_on_commit_callbacks
):
    turn_on(line, plan)
    now = timezone.now()

    def down(self, **kwargs):
        raise PaymentProviderError("timed out")

    with django_capture_on_commit_callbacks(execute=True):
        with monkeypatch.context() as patched:
            patched.setattr(SandboxProvider, "charge_saved_card", down)
            [charge] = sweep_and_charge(now)
        assert (charge.status, charge.attempts) == (ChargeStatus.CHARGING, 0)
        assert auto_renew_sweep(now=now + STALE_CHARGE - timedelta(seconds=1)) == []

        [charge] = sweep_and_charge(now + STALE_CHARGE)

    assert (charge.status, charge.attempts) == (ChargeStatus.PAID, 1)
    # The order of the attempt the provider did not answer, paid now.
    assert Order.objects.get() == charge.order
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    # Only the receipt: an attempt nobody answered is no failure to report.
    [receipt_email] = mail.outbox
    assert Receipt.objects.get().number in receipt_email.subject


def test_a_charge_the_provider_has_not_decided_stays_charging_and_is_settled_later_with_the_same_order(
    line, plan, monkeypatch, django_capture_on_commit_callbacks
):
    """The provider answers "processing" and, like Stripe, replays that
    first answer to the same key: no attempt is counted and no retry with a
    new key is made (it could charge twice); the run after the stale time
    asks how the same payment stands and settles the same order."""
    turn_on(line, plan)
    now = timezone.now()
    charge_saved_card = SandboxProvider.charge_saved_card
    first_answers: dict[str, PaymentUpdate] = {}

    def processing(self, **kwargs):
        key = kwargs["idempotency_key"]
        if key not in first_answers:
            update = charge_saved_card(self, **kwargs)
            SandboxPayment.objects.filter(payment_id=update.payment_id).update(
                state=PaymentState.PENDING, outcome="", reason="", decided_at=None
            )
            first_answers[key] = dataclasses.replace(
                update, state=PaymentState.PENDING, event_id=f"charge:{update.payment_id}:pending"
            )
        return first_answers[key]

    monkeypatch.setattr(SandboxProvider, "charge_saved_card", processing)
    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(now)

        order = Order.objects.get()
        assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.CHARGING, 0, order)
        assert order.status == OrderStatus.PENDING
        assert auto_renew_sweep(now=now + timedelta(minutes=1)) == []
        assert mail.outbox == []

        # Still undecided at the next run: nothing changes, nothing is charged again.
        [charge] = sweep_and_charge(now + STALE_CHARGE + timedelta(seconds=5))
        assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.CHARGING, 0, order)

        # The provider decides; the run after that records its answer.
        [payment] = SandboxPayment.objects.filter(mode="payment")
        payment.state, payment.outcome = PaymentState.PAID, SandboxOutcome.APPROVE
        payment.save(update_fields=["state", "outcome"])
        [charge] = sweep_and_charge(now + 2 * STALE_CHARGE + timedelta(seconds=10))

    line.refresh_from_db()
    assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.PAID, 1, order)
    assert Order.objects.get().status == OrderStatus.PAID
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert Receipt.objects.count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    [receipt_email] = mail.outbox
    assert Receipt.objects.get().number in receipt_email.subject


def test_the_order_sweep_keeps_an_undecided_saved_card_charge_open_rather_than_let_it_be_charged_again(
    line, plan, monkeypatch, django_capture_on_commit_callbacks
):
    """The payment sweep gives up card orders pending for an hour. A saved
    card's charge the provider still calls "processing" (and cannot cancel,
    as Stripe cannot cancel a processing PaymentIntent) stays pending: an
    abandoned order would send auto-renew to charge the card again."""
    turn_on(line, plan)
    now = timezone.now()
    provider_says_processing(monkeypatch)
    monkeypatch.setattr(
        SandboxProvider, "cancel_payment", lambda self, *, payment_id: self.fetch_status(payment_id=payment_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(now)
        order = charge.order
        late = now + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS + 60)

        assert orders_reconcile(now=late) == {"checked": 1, "settled": 0, "abandoned": 0}
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING

        [payment] = SandboxPayment.objects.filter(mode="payment")
        payment.state, payment.outcome = PaymentState.PAID, SandboxOutcome.APPROVE
        payment.save(update_fields=["state", "outcome"])
        assert orders_reconcile(now=late + timedelta(minutes=1))["settled"] == 1
        [charge] = sweep_and_charge(late + timedelta(minutes=2)) or [AutoRenewCharge.objects.get()]

    charge.refresh_from_db()
    assert (charge.status, charge.order) == (ChargeStatus.PAID, order)
    assert Order.objects.get().status == OrderStatus.PAID
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert Receipt.objects.count() == 1


def test_a_charge_whose_answer_was_lost_is_not_abandoned_by_the_order_sweep_nor_charged_twice(
    line, plan, monkeypatch, django_capture_on_commit_callbacks
):
    """The provider took the money but its answer never came back: the order
    has no payment id. The payment sweep leaves it to the charge run, which
    asks again with the same key and gets the first charge back."""
    turn_on(line, plan)
    now = timezone.now()
    charge_saved_card = SandboxProvider.charge_saved_card

    def charged_but_lost(self, **kwargs):
        charge_saved_card(self, **kwargs)
        raise PaymentProviderError("read timed out")

    with django_capture_on_commit_callbacks(execute=True):
        with monkeypatch.context() as patched:
            patched.setattr(SandboxProvider, "charge_saved_card", charged_but_lost)
            [charge] = sweep_and_charge(now)
        late = now + timedelta(seconds=settings.PAYMENT_ABANDON_AFTER_SECONDS + 60)

        assert orders_reconcile(now=late)["abandoned"] == 0
        assert Order.objects.get().status == OrderStatus.PENDING
        [charge] = sweep_and_charge(late)

    assert charge.status == ChargeStatus.PAID
    assert Order.objects.get().status == OrderStatus.PAID
    assert SandboxPayment.objects.filter(mode="payment").count() == 1
    assert Receipt.objects.count() == 1


def test_the_cancel_link_does_not_abandon_an_auto_renew_charge(
    line, plan, monkeypatch, django_capture_on_commit_callbacks
):
    turn_on(line, plan)
    provider_says_processing(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(timezone.now())

    assert order_cancel(order=charge.order).status == OrderStatus.PENDING
    assert SandboxPayment.objects.get(mode="payment").state == PaymentState.PENDING


def test_a_line_renewed_by_hand_meanwhile_is_not_charged(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    line_add_period(line=line, plan=plan, by=line.owner, reason="renewed by hand")

    charge = auto_renew_charge_run(charge_id=charge_id, now=now)

    assert charge.status == ChargeStatus.CANCELLED
    assert not Order.objects.exists()
    # Its new period ends in nine days: not due yet.
    assert auto_renew_sweep(now=now) == []


def test_a_line_being_cancelled_is_not_charged(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=line.owner, reason="moving home")

    charge = auto_renew_charge_run(charge_id=charge_id, now=now)

    assert charge.status == ChargeStatus.CANCELLED
    assert not Order.objects.exists()
    assert not SandboxPayment.objects.filter(mode="payment").exists()


# --- a declined card -------------------------------------------------------------------


def test_a_declined_card_is_tried_again_after_an_hour_then_after_a_day_then_given_up(line, plan):
    turn_on(line, plan, declining=True)
    now = timezone.now()

    [first] = sweep_and_charge(now)
    assert (first.status, first.attempts, first.next_attempt_at) == (ChargeStatus.SCHEDULED, 1, now + HOUR)
    assert first.last_error == "card_declined"
    assert auto_renew_sweep(now=now + HOUR - timedelta(seconds=1)) == []

    [second] = sweep_and_charge(now + HOUR)
    assert (second.status, second.attempts, second.next_attempt_at) == (ChargeStatus.SCHEDULED, 2, now + HOUR + DAY)
    assert auto_renew_sweep(now=now + HOUR + DAY - timedelta(seconds=1)) == []

    [third] = sweep_and_charge(now + HOUR + DAY)
    assert (third.status, third.attempts, third.next_attempt_at) == (ChargeStatus.FAILED, 3, None)

    assert auto_renew_sweep(now=now + 2 * DAY) == []
    orders = Order.objects.order_by("created_at")
    assert [order.status for order in orders] == [OrderStatus.DECLINED] * 3
    assert [order.decline_reason for order in orders] == ["card_declined"] * 3
    assert not Receipt.objects.exists()
    assert ServicePeriod.objects.filter(line=line).count() == 1


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_a_retry_that_would_come_after_the_end_is_not_made_the_last_try_says_so(
    language, settings, customer, plan, django_capture_on_commit_callbacks
):
    """With AUTO_RENEW_DAYS_BEFORE at 1 the first try is a day before the
    end: the retry an hour later is the last, since the one a day after
    that would find the line expired."""
    settings.AUTO_RENEW_DAYS_BEFORE = 1
    customer.language = language
    customer.save(update_fields=["language"])
    line = LineFactory(owner=customer, number="+4791234567", with_period=plan, with_period__days_ago=5)
    turn_on(line, plan, declining=True)
    assert line.expires_at is not None
    end = line.expires_at
    start = end - DAY

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_and_charge(start - timedelta(seconds=1)) == []
        [first] = sweep_and_charge(start)
        [second] = sweep_and_charge(start + HOUR)

    assert (first.status, first.next_attempt_at) == (ChargeStatus.SCHEDULED, start + HOUR)
    assert (second.status, second.attempts, second.next_attempt_at) == (ChargeStatus.FAILED, 2, None)
    assert auto_renew_sweep(now=end) == []
    next_try, last = mail.outbox
    number = "+47 912 34 567"
    assert translated("Next try: %(when)s", language, when=shown_as(start + HOUR, language)) in next_try.body
    assert last.subject == translated("Automatic renewal of %(number)s failed", language, number=number)
    assert (
        translated(
            "We will not try again. Your line stays active until %(end)s and then expires. "
            "To keep it, renew it yourself:",
            language,
            end=shown_as(end, language),
        )
        in last.body
    )
    assert Order.objects.count() == 2


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_a_retry_found_after_the_line_lapsed_fails_with_the_last_email_instead_of_vanishing(
    language, customer, line, plan, django_capture_on_commit_callbacks
):
    """A retry scheduled for after the end (as they were before retries were
    kept inside the period) finds the line expired: the charge has failed
    for good and the customer is told to renew by hand."""
    customer.language = language
    customer.save(update_fields=["language"])
    turn_on(line, plan, declining=True)
    assert line.expires_at is not None
    end = line.expires_at
    now = timezone.now()
    [charge] = sweep_and_charge(now)
    AutoRenewCharge.objects.filter(pk=charge.pk).update(next_attempt_at=end + HOUR)
    assert lines_expire_lapsed(now=end) == 1

    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(end + HOUR)

    assert (charge.status, charge.attempts, charge.next_attempt_at) == (ChargeStatus.FAILED, 1, None)
    assert Order.objects.count() == 1
    line.refresh_from_db()
    assert line.status == LineStatus.EXPIRED
    [last] = mail.outbox
    assert last.subject == translated("Automatic renewal of %(number)s failed", language, number="+47 912 34 567")
    assert (
        translated(
            "We will not try again. Your line expired at %(end)s. To get it back, renew it yourself:",
            language,
            end=shown_as(end, language),
        )
        in last.body
    )
    assert settings.SITE_URL + reverse("renew", args=[line.pk]) in last.body
    state = line_auto_renew(line=Line.objects.get(pk=line.pk), now=end + HOUR)
    assert state.failed_charge == charge
    assert state.next_charge is None


def test_after_the_last_failure_the_line_expires_at_its_end(line, plan):
    turn_on(line, plan, declining=True)
    end = line.expires_at
    assert end is not None
    now = timezone.now()
    for moment in (now, now + HOUR, now + HOUR + DAY):
        sweep_and_charge(moment)

    assert lines_expire_lapsed(now=end - timedelta(seconds=1)) == 0
    assert lines_expire_lapsed(now=end) == 1

    line.refresh_from_db()
    assert (line.status, line.expires_at) == (LineStatus.EXPIRED, end)
    assert auto_renew_sweep(now=end) == []
    assert Order.objects.count() == 3


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_each_failure_is_emailed_in_the_customers_language_the_last_with_how_to_renew_by_hand(
    language, customer, line, plan, django_capture_on_commit_callbacks
):
    customer.language = language
    customer.save(update_fields=["language"])
    turn_on(line, plan, declining=True)
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        for moment in (now, now + HOUR, now + HOUR + DAY):
            sweep_and_charge(moment)

    first, second, last = mail.outbox
    number = "+47 912 34 567"
    renew_url = settings.SITE_URL + reverse("renew_checkout", args=[line.pk, plan.code])
    for email, next_try in ((first, now + HOUR), (second, now + HOUR + DAY)):
        assert email.to == ["kari@example.test"]
        assert email.subject == translated("We could not charge your card for %(number)s", language, number=number)
        assert translated("Next try: %(when)s", language, when=shown_as(next_try, language)) in email.body
        assert renew_url in email.body
    assert last.subject == translated("Automatic renewal of %(number)s failed", language, number=number)
    assert line.expires_at is not None
    assert (
        translated(
            "We will not try again. Your line stays active until %(end)s and then expires. "
            "To keep it, renew it yourself:",
            language,
            end=shown_as(line.expires_at, language),
        )
        in last.body
    )
    assert renew_url in last.body
    assert translated("Next try: %(when)s", language, when="") not in last.body


def test_a_failure_email_for_a_plan_no_longer_sold_links_to_the_list_of_plans(
    line, plan, django_capture_on_commit_callbacks
):
    turn_on(line, plan, declining=True)
    plan.is_active = False
    plan.save(update_fields=["is_active"])

    with django_capture_on_commit_callbacks(execute=True):
        sweep_and_charge(timezone.now())

    body = mail.outbox[-1].body
    assert settings.SITE_URL + reverse("renew", args=[line.pk]) + "\n" in body
    assert f"/renew/{plan.code}/" not in body


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_a_paid_charge_is_emailed_as_the_receipt_in_the_customers_language(
    language, customer, line, plan, django_capture_on_commit_callbacks
):
    customer.language = language
    customer.save(update_fields=["language"])
    turn_on(line, plan)

    with django_capture_on_commit_callbacks(execute=True):
        sweep_and_charge(timezone.now())

    [email] = mail.outbox
    receipt = Receipt.objects.get()
    assert email.subject == translated("Your Nordlys Mobil receipt %(number)s", language, number=receipt.number)


def test_a_customer_without_an_email_address_is_charged_and_told_nothing(plan, django_capture_on_commit_callbacks):
    phone_only = UserFactory(email="", full_name="Ola")
    line = LineFactory(owner=phone_only, with_period=plan, with_period__days_ago=5)
    turn_on(line, plan, declining=True)

    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(timezone.now())

    assert (charge.status, charge.attempts) == (ChargeStatus.SCHEDULED, 1)
    assert mail.outbox == []


# --- turning it off, changing plan or card -------------------------------------------


def test_turning_it_off_before_the_sweep_charges_nothing(line, plan):
    turn_on(line, plan)

    auto_renew_disable(line=line, by=line.owner)

    line.refresh_from_db()
    assert not line.auto_renew
    assert AutoRenewal.objects.get(line=line).enabled is False
    assert sweep_and_charge(timezone.now()) == []
    assert not Order.objects.exists()
    assert AuditEvent.objects.filter(line=line, action="auto_renew_off").count() == 1


def test_turning_it_off_cancels_the_charge_waiting_for_this_period(line, plan):
    turn_on(line, plan)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)

    auto_renew_disable(line=line, by=line.owner)
    charge = auto_renew_charge_run(charge_id=charge_id, now=now)

    assert charge.status == ChargeStatus.CANCELLED
    assert not Order.objects.exists()


def test_turning_it_off_between_retries_stops_them(line, plan):
    turn_on(line, plan, declining=True)
    now = timezone.now()
    sweep_and_charge(now)

    auto_renew_disable(line=line, by=line.owner)

    assert sweep_and_charge(now + HOUR) == []
    assert sweep_and_charge(now + HOUR + DAY) == []
    assert AutoRenewCharge.objects.get().status == ChargeStatus.CANCELLED
    assert Order.objects.count() == 1


def test_turning_it_back_on_in_the_same_period_charges_that_period(line, plan):
    card = turn_on(line, plan)
    now = timezone.now()
    auto_renew_sweep(now=now)
    auto_renew_disable(line=line, by=line.owner)

    auto_renew_enable(line=line, plan=plan, card=card, by=line.owner)
    [charge] = sweep_and_charge(now)

    assert charge.status == ChargeStatus.PAID
    assert Order.objects.get().status == OrderStatus.PAID


def test_a_changed_plan_and_card_are_what_the_charge_uses(line, plan, month_plan):
    turn_on(line, plan)
    new_card = turn_on(line, month_plan)

    [charge] = sweep_and_charge(timezone.now())

    order = Order.objects.get()
    assert (charge.plan, charge.card, order.plan, order.amount_ore) == (month_plan, new_card, month_plan, 199_00)
    payment = SandboxPayment.objects.get(mode="payment")
    assert payment.card is not None
    assert payment.card.method_id == new_card.method_id


def test_a_new_card_after_a_decline_pays_the_next_try(line, plan):
    turn_on(line, plan, declining=True)
    now = timezone.now()
    sweep_and_charge(now)

    good_card = turn_on(line, plan)
    [charge] = sweep_and_charge(now + HOUR)

    assert (charge.status, charge.attempts, charge.card) == (ChargeStatus.PAID, 2, good_card)
    assert [order.status for order in Order.objects.order_by("created_at")] == [
        OrderStatus.DECLINED,
        OrderStatus.PAID,
    ]
    assert Receipt.objects.count() == 1


# --- what the line page is told ----------------------------------------------------------


def test_the_next_charge_is_the_days_before_the_end_for_the_plans_price(customer, plan, month_plan):
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=1)  # ends in six days
    turn_on(line, month_plan)
    assert line.expires_at is not None
    now = timezone.now()

    state = line_auto_renew(line=Line.objects.get(pk=line.pk), now=now)

    assert state.on
    assert state.next_charge is not None
    assert (state.next_charge.when, state.next_charge.amount_ore) == (line.expires_at - timedelta(days=3), 199_00)
    assert state.failed_charge is None


def test_after_a_decline_the_next_charge_is_the_retry(line, plan):
    turn_on(line, plan, declining=True)
    now = timezone.now()
    [charge] = sweep_and_charge(now)

    state = line_auto_renew(line=Line.objects.get(pk=line.pk), now=now)

    assert state.next_charge is not None
    assert state.next_charge.when == now + HOUR
    assert state.failed_charge == charge


def test_after_the_last_failure_no_charge_is_promised(line, plan):
    turn_on(line, plan, declining=True)
    now = timezone.now()
    for moment in (now, now + HOUR, now + HOUR + DAY):
        sweep_and_charge(moment)

    state = line_auto_renew(line=Line.objects.get(pk=line.pk), now=now + HOUR + DAY)

    assert state.next_charge is None
    assert state.failed_charge is not None
    assert state.failed_charge.status == ChargeStatus.FAILED


def test_a_suspended_line_is_promised_no_charge(line, plan):
    turn_on(line, plan)
    line_suspend(line=line, by=None, reason="test")

    state = line_auto_renew(line=Line.objects.get(pk=line.pk))

    assert state.on
    assert state.next_charge is None
