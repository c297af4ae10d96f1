"""Settling what the provider says: once, with one period and one receipt; money that
fulfils nothing is kept for a refund."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.models import (
    AuditEvent,
    EventResult,
    LedgerEntry,
    LedgerKind,
    LineStatus,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Receipt,
    ReceiptSequence,
    ServicePeriod,
)
from subscriptions.payments import PaymentUpdate, decline_message
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.periods import OSLO
from subscriptions.services.checkout import order_place, renewal_request, topup_request
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.settlement import order_refresh, payment_update_apply
from tests.factories import LedgerEntryFactory, LineFactory, NumberKeepingPlanFactory
from tests.subscriptions.services.orders.steps import BILLING, SITE, past_the_grace_period, place, settle

pytestmark = pytest.mark.django_db


# --- settling a card payment ----------------------------------------------------------


def test_an_approved_renewal_appends_one_period_where_the_current_one_ends(customer, line, plan):
    before = line.expires_at
    order = place(customer, line, plan)

    event = settle(order)

    order.refresh_from_db()
    line.refresh_from_db()
    assert event.result == EventResult.APPLIED
    assert order.status == OrderStatus.PAID
    assert order.period.starts_at == before
    assert line.expires_at == order.period.ends_at > before
    assert line.status == LineStatus.ACTIVE
    receipt = Receipt.objects.get(order=order)
    assert receipt.number == f"{order.settled_at.astimezone(OSLO).year}-000001"  # the Oslo calendar year
    assert (receipt.total_ore, receipt.vat_ore, receipt.net_ore) == (199_00, 39_80, 159_20)
    assert receipt.customer_name == "王小明"
    assert receipt.customer_address == "Storgata 5\n0155 Oslo"
    assert (receipt.period_starts_at, receipt.period_ends_at) == (order.period.starts_at, order.period.ends_at)


def test_an_expired_line_is_reactivated_from_the_moment_of_payment(customer, plan):
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=40)
    assert line.status == LineStatus.EXPIRED
    order = place(customer, line, plan)

    settle(order)

    line.refresh_from_db()
    order.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert timezone.now() - order.period.starts_at < timedelta(seconds=5)


def test_a_number_keeping_line_renews_the_same_way(customer):
    keep = NumberKeepingPlanFactory(code="keep-quarter")
    line = LineFactory(owner=customer, kind="number_keeping", with_period=keep)
    before = line.expires_at
    order = place(customer, line, keep)

    settle(order)

    line.refresh_from_db()
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert line.expires_at > before


def test_a_repeated_callback_changes_nothing(customer, line, plan):
    order = place(customer, line, plan)
    settle(order)

    again = settle(order)

    assert again.result == EventResult.APPLIED  # the first record, returned again
    assert PaymentEvent.objects.count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert Receipt.objects.count() == 1


def test_the_status_answer_after_the_callback_adds_nothing(customer, line, plan):
    order = place(customer, line, plan)
    settle(order)
    order.refresh_from_db()

    order_refresh(order=order)  # already paid: not even asked
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)
    event = payment_update_apply(provider="sandbox", update=update)

    assert event.result == EventResult.NO_CHANGE
    assert Receipt.objects.count() == 1
    assert ServicePeriod.objects.filter(line=line).count() == 2


def test_the_browser_return_settles_from_the_providers_answer_before_the_callback(customer, line, plan):
    order = place(customer, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    order_refresh(order=order)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert settle(order).result == EventResult.NO_CHANGE  # then the callback arrives
    assert Receipt.objects.count() == 1


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [(SandboxOutcome.DECLINE, "card_declined"), (SandboxOutcome.INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_a_declined_payment_closes_the_order_with_the_reason_and_charges_nothing(customer, line, plan, outcome, reason):
    before = line.expires_at
    order = place(customer, line, plan)

    settle(order, outcome)

    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, reason)
    assert line.expires_at == before
    assert not Receipt.objects.exists()


def test_a_cancelled_payment_abandons_the_order(customer, line, plan):
    order = place(customer, line, plan)

    settle(order, SandboxOutcome.CANCEL)

    order.refresh_from_db()
    assert order.status == OrderStatus.ABANDONED


def test_a_payment_for_an_abandoned_order_is_kept_for_a_refund(customer, line, plan):
    order = place(customer, line, plan)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ABANDONED)

    event = settle(order)

    assert event.result == EventResult.REFUND_DUE
    assert event.order == order
    assert not Receipt.objects.exists()
    assert AuditEvent.objects.filter(line=line, action="refund_due").exists()


def test_a_second_payment_for_a_paid_order_is_kept_for_a_refund(customer, line, plan):
    order = place(customer, line, plan)
    settle(order)
    other = PaymentUpdate(
        event_id="evt_other", payment_id="sbx_other", reference=str(order.public_id), state=PaymentState.PAID
    )

    event = payment_update_apply(provider="sandbox", update=other)

    assert event.result == EventResult.REFUND_DUE
    assert Receipt.objects.count() == 1


def test_a_payment_of_the_wrong_amount_is_not_fulfilled(customer, line, plan):
    order = place(customer, line, plan)
    wrong = PaymentUpdate(
        event_id="evt_wrong",
        payment_id=order.provider_payment_id,
        reference=str(order.public_id),
        state=PaymentState.PAID,
        amount_ore=1_00,
    )

    event = payment_update_apply(provider="sandbox", update=wrong)

    order.refresh_from_db()
    assert event.result == EventResult.REFUND_DUE
    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "amount_mismatch")


def test_a_payment_for_a_line_cancelled_meanwhile_is_kept_for_a_refund(customer, line, plan):
    order = place(customer, line, plan)
    line.status = LineStatus.CANCELLED
    line.status_changed_at = past_the_grace_period()
    line.save()

    event = settle(order)

    order.refresh_from_db()
    assert event.result == EventResult.REFUND_DUE
    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "not_renewable")
    assert not Receipt.objects.exists()


def test_a_balance_renewal_for_a_line_cancelled_meanwhile_says_nothing_was_charged(customer, line, plan):
    LedgerEntryFactory(line=line, amount_ore=500_00)
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.BALANCE)
    line.status = LineStatus.CANCELLED
    line.status_changed_at = past_the_grace_period()
    line.save()

    order = order_place(owner=customer, request=request, billing=BILLING, idempotency_key="k", site_url=SITE)

    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "not_renewable_unpaid")
    assert decline_message(order.decline_reason) == "The line can no longer be renewed. Nothing was charged."
    assert ledger_balance(line=line) == 500_00
    assert not Receipt.objects.exists()


@pytest.mark.parametrize("status", [LineStatus.CANCELLATION_PENDING, LineStatus.CANCELLED, LineStatus.QUARANTINED])
def test_a_top_up_paid_for_a_line_closed_meanwhile_is_kept_for_a_refund(customer, line, status):
    request = topup_request(line=line, amount_ore=300_00)
    order = order_place(owner=customer, request=request, billing=BILLING, idempotency_key="t1", site_url=SITE)
    line.status = status
    line.save()

    event = settle(order)

    order.refresh_from_db()
    assert event.result == EventResult.REFUND_DUE
    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "line_closed")
    assert ledger_balance(line=line) == 0
    assert not LedgerEntry.objects.filter(kind=LedgerKind.TOPUP).exists()
    assert not Receipt.objects.exists()
    assert AuditEvent.objects.filter(line=line, action="refund_due").exists()


def test_a_payment_for_no_order_of_ours_is_kept_for_a_refund():
    stray = PaymentUpdate(event_id="evt_stray", payment_id="sbx_x", reference="not-a-uuid", state=PaymentState.PAID)

    assert payment_update_apply(provider="sandbox", update=stray).result == EventResult.REFUND_DUE


def test_the_receipt_is_emailed_in_the_customers_language_once_the_payment_commits(
    customer, line, plan, mailoutbox, django_capture_on_commit_callbacks
):
    customer.language = "nb"
    customer.save()
    order = place(customer, line, plan)
    SandboxPayment.objects.filter(payment_id=order.provider_payment_id).update(state=PaymentState.PAID)
    update = SandboxProvider().fetch_status(payment_id=order.provider_payment_id)

    with django_capture_on_commit_callbacks(execute=True):
        payment_update_apply(provider="sandbox", update=update)
        assert mailoutbox == []

    receipt = Receipt.objects.get()
    [message] = mailoutbox
    assert message.to == [customer.email]
    assert receipt.number in message.subject
    assert "Kvittering" in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"receipt-{receipt.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


# --- paying from the balance -------------------------------------------------------------


def test_a_renewal_paid_from_the_balance_debits_it_once(customer, line, plan):
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=250_00)

    order = place(customer, line, plan, method=PaymentMethod.BALANCE)
    again = place(customer, line, plan, method=PaymentMethod.BALANCE)

    assert order.status == OrderStatus.PAID
    assert again.pk == order.pk
    assert ledger_balance(line=line) == 51_00
    assert LedgerEntry.objects.filter(kind=LedgerKind.RENEWAL).count() == 1
    assert Receipt.objects.get().method == PaymentMethod.BALANCE
    assert not SandboxPayment.objects.exists()


def test_a_balance_that_no_longer_covers_the_price_declines_without_debit(customer, line, plan):
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=100_00)

    order = place(customer, line, plan, method=PaymentMethod.BALANCE)

    assert (order.status, order.decline_reason) == (OrderStatus.DECLINED, "insufficient_balance")
    assert ledger_balance(line=line) == 100_00
    assert not Receipt.objects.exists()


# --- top-ups -------------------------------------------------------------------------------


def test_a_paid_top_up_credits_the_balance_with_a_receipt_without_vat(customer, line):
    request = topup_request(line=line, amount_ore=300_00)
    order = order_place(owner=customer, request=request, billing=BILLING, idempotency_key="t1", site_url=SITE)

    settle(order)

    assert ledger_balance(line=line) == 300_00
    receipt = Receipt.objects.get()
    assert (receipt.total_ore, receipt.vat_ore, receipt.vat_rate_percent) == (300_00, 0, 0)
    assert receipt.plan is None


# --- numbering -----------------------------------------------------------------------------


def test_receipt_numbers_run_on_within_a_year(customer, line, plan):
    for key in ("a", "b", "c"):
        settle(place(customer, line, plan, key=key))

    numbers = sorted(Receipt.objects.values_list("sequence", flat=True))
    assert numbers == [1, 2, 3]
    assert ReceiptSequence.objects.get().last_number == 3
