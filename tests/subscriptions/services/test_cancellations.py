"""Cancelling a line: the request, the identity document, support's
decision, the worker's deactivation (each step once), the credit note,
coming back within the grace period, quarantine and the number pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.identity import identity_document_approve, identity_document_reject, identity_document_upload
from accounts.identity_files import CheckedFile
from accounts.models import IdentityDocument
from sandbox.network import network_subscriber
from subscriptions.errors import CustomerError
from subscriptions.models import (
    AuditEvent,
    CancellationStatus,
    CreditNote,
    EsimState,
    LedgerKind,
    Line,
    LineStatus,
    PoolNumber,
)
from subscriptions.network import NetworkRefused
from subscriptions.services.cancellations import (
    cancellation_approve,
    cancellation_deactivate,
    cancellation_port_out,
    cancellation_reject,
    cancellation_request,
    cancellation_retry,
    cancellation_withdraw,
    lines_quarantine,
    numbers_release_quarantined,
)
from subscriptions.services.ledger import ledger_add, ledger_balance
from subscriptions.services.lines import line_add_period
from tests.factories import EsimProfileFactory, UserFactory
from tests.identity_files import jpeg_bytes

pytestmark = pytest.mark.django_db
S = CancellationStatus
ACCOUNT = "86011117947"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, email="agent@nordlys.test")


@pytest.fixture
def profile(line):
    return EsimProfileFactory(line=line, state=EsimState.INSTALLED, imsi="242010000000001")


def request_for(line, customer, **changes):
    fields = {
        "reason": "moving_abroad",
        "balance_choice": "refund",
        "refund_account": ACCOUNT,
        "idempotency_key": "form-1",
    }
    return cancellation_request(line=line, by=customer, **{**fields, **changes})


def upload(customer):
    return identity_document_upload(
        owner=customer,
        kind=IdentityDocument.Kind.PASSPORT,
        purpose=IdentityDocument.Purpose.CANCELLATION,
        file=CheckedFile(content=jpeg_bytes(), content_type="image/jpeg"),
    )


def approved(line, customer, staff, django_capture_on_commit_callbacks):
    """A request whose document support approved, and which support approved."""
    cancellation = request_for(line, customer)
    document = upload(customer)
    identity_document_approve(document=document, by=staff)
    with django_capture_on_commit_callbacks(execute=False):
        cancellation_approve(cancellation=cancellation, by=staff)
    cancellation.refresh_from_db()
    return cancellation


def test_a_request_makes_the_line_pending_with_the_day_support_decides_by(line, customer):
    cancellation = request_for(line, customer, balance_choice="", refund_account="")

    line.refresh_from_db()
    assert line.status == LineStatus.CANCELLATION_PENDING
    assert cancellation.status == S.REQUESTED
    assert cancellation.decide_by > timezone.localdate()
    assert cancellation.balance_choice == "none"


def test_the_customer_is_emailed_the_request_in_their_language_with_the_decision_day(
    line, customer, django_capture_on_commit_callbacks
):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = request_for(line, customer, balance_choice="", refund_account="")

    [message] = mail.outbox
    assert message.to == [customer.email]
    assert "我们已收到您注销" in message.subject
    assert f"/cancellations/{cancellation.public_id}/" in message.body


def test_the_same_form_twice_makes_one_request_and_a_second_form_is_refused(line, customer):
    first = request_for(line, customer)
    again = request_for(line, customer)

    assert again.pk == first.pk
    with pytest.raises(CustomerError):
        request_for(line, customer, idempotency_key="form-2")


def test_a_positive_balance_needs_a_valid_account_or_giving_it_up(line, customer):
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=50_00, reference="t1")

    with pytest.raises(CustomerError, match="not a valid Norwegian bank account"):
        request_for(line, customer, refund_account="86011117948")
    with pytest.raises(CustomerError, match="prepaid balance"):
        request_for(line, customer, balance_choice="")
    assert request_for(line, customer, balance_choice="give_up").balance_choice == "give_up"


def test_the_uploaded_document_sends_the_request_to_support_and_its_approval_checks_identity(line, customer, staff):
    cancellation = request_for(line, customer)

    document = upload(customer)
    cancellation.refresh_from_db()
    assert cancellation.status == S.REVIEW
    assert cancellation.identity_document == document
    identity_document_approve(document=document, by=staff)
    cancellation.refresh_from_db()
    assert cancellation.identity_checked_at is not None


def test_a_rejected_document_asks_for_another(line, customer, staff):
    cancellation = request_for(line, customer)
    identity_document_reject(document=upload(customer), by=staff, reason="expired")

    cancellation.refresh_from_db()
    assert cancellation.status == S.REQUESTED


def test_support_cannot_approve_before_the_document_is_approved(line, customer, staff):
    cancellation = request_for(line, customer)
    upload(customer)

    with pytest.raises(CustomerError, match="identity document first"):
        cancellation_approve(cancellation=cancellation, by=staff)


def test_withdrawing_puts_the_line_back_and_forgets_the_account(line, customer):
    cancellation = cancellation_withdraw(cancellation=request_for(line, customer), by=customer)

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert cancellation.status == S.WITHDRAWN
    assert cancellation.refund_account == ""


def test_a_rejection_puts_the_line_back_and_emails_the_reason_in_the_customers_language(
    line, customer, staff, django_capture_on_commit_callbacks
):
    customer.language = "nb"
    customer.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_reject(cancellation=request_for(line, customer), by=staff, reason="port_out", note="NetCom ref 1")

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    message = mail.outbox[-1]
    assert message.to == [customer.email]
    assert "ikke godkjent" in message.subject
    assert "NetCom" not in message.body


def test_auto_renew_does_not_renew_a_line_pending_cancellation(line, customer, plan):
    request_for(line, customer)

    with pytest.raises(CustomerError):
        line_add_period(line=line, plan=plan, by=customer)


def test_the_worker_deactivates_each_step_once_and_refunds_the_balance_with_a_credit_note(
    line, customer, staff, profile, django_capture_on_commit_callbacks
):
    ledger_add(line=line, kind=LedgerKind.TOPUP, amount_ore=120_00, reference="t1")
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)
        cancellation_deactivate(cancellation_id=cancellation.pk)

    cancellation.refresh_from_db()
    line.refresh_from_db()
    profile.refresh_from_db()
    assert cancellation.status == S.DONE
    assert line.status == LineStatus.CANCELLED
    assert profile.state == EsimState.DISABLED
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and subscriber.blocked and subscriber.imsi == ""
    [note] = CreditNote.objects.all()
    assert (note.amount_ore, note.bank_account, note.number) == (120_00, ACCOUNT, f"K{note.year}-000001")
    assert ledger_balance(line=line) == 0
    assert cancellation.refund_account == ""
    done = [m for m in mail.outbox if "is cancelled" in m.subject]
    assert len(done) == 1
    assert "Until" in done[0].body and "K" in done[0].body
    assert AuditEvent.objects.filter(line=line, action="cancellation_done").count() == 1


def test_a_refused_step_fails_the_request_and_a_retry_finishes_it(
    line, customer, staff, profile, monkeypatch, django_capture_on_commit_callbacks
):
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    from subscriptions.network.sandbox import SandboxNetwork

    def refuse(self, **kwargs):
        raise NetworkRefused(code="unknown_msisdn")

    monkeypatch.setattr(SandboxNetwork, "release_imsi", refuse)
    cancellation_deactivate(cancellation_id=cancellation.pk)
    cancellation.refresh_from_db()
    assert cancellation.status == S.FAILED
    assert cancellation.network_blocked_at is not None

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_retry(cancellation=cancellation, by=staff)
    cancellation.refresh_from_db()
    assert cancellation.status == S.DONE
    assert cancellation.attempts == 2


def test_a_port_out_cancels_the_line_by_the_same_path(line, customer, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = cancellation_port_out(line=line, by=staff, note="moved to Telia")

    cancellation.refresh_from_db()
    line.refresh_from_db()
    assert cancellation.source == "port_out"
    assert cancellation.status == S.DONE
    assert line.status == LineStatus.CANCELLED


def test_paying_a_period_within_the_grace_period_brings_the_line_back_with_a_new_esim(
    line, customer, staff, plan, profile, django_capture_on_commit_callbacks
):
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)
    EsimProfileFactory(state=EsimState.AVAILABLE)

    with django_capture_on_commit_callbacks(execute=True):
        line_add_period(line=line, plan=plan, by=customer)

    line.refresh_from_db()
    cancellation.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert line.number == "+4791234567"
    assert cancellation.reactivated_at is not None and cancellation.unblocked_at is not None
    assert not network_subscriber(msisdn=line.number).blocked
    assert line.esim_profiles.filter(state=EsimState.RELEASED).exists()


def test_after_the_grace_period_the_line_is_quarantined_once_and_cannot_come_back(
    line, customer, staff, plan, settings, django_capture_on_commit_callbacks
):
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)
    later = timezone.now() + timedelta(days=settings.CANCELLATION_GRACE_DAYS, minutes=1)

    assert lines_quarantine(now=later) == 1
    assert lines_quarantine(now=later) == 0
    line.refresh_from_db()
    assert line.status == LineStatus.QUARANTINED
    with pytest.raises(CustomerError):
        line_add_period(line=line, plan=plan, by=customer)


def test_a_quarantined_number_goes_back_to_the_pool_after_six_months_once(line, settings):
    Line.objects.filter(pk=line.pk).update(
        status=LineStatus.QUARANTINED,
        status_changed_at=timezone.now() - timedelta(days=settings.QUARANTINE_RELEASE_DAYS + 1),
    )

    assert numbers_release_quarantined() == 1
    assert numbers_release_quarantined() == 0
    line.refresh_from_db()
    assert line.number.startswith("+470")
    pooled = PoolNumber.objects.get(number="+4791234567")
    assert pooled.taken_at is None
    assert AuditEvent.objects.filter(line=line, action="number_returned_to_pool").count() == 1


def test_a_number_quarantined_less_than_six_months_stays(line):
    Line.objects.filter(pk=line.pk).update(status=LineStatus.QUARANTINED, status_changed_at=timezone.now())

    assert numbers_release_quarantined() == 0
    assert not PoolNumber.objects.exists()


def test_an_order_waiting_for_payment_is_closed_at_the_provider_and_here(
    line, customer, staff, plan, django_capture_on_commit_callbacks
):
    from subscriptions.models import Order, OrderStatus, PaymentMethod
    from subscriptions.services.checkout import Billing, order_place, renewal_request

    order = order_place(
        owner=customer,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="left-open",
        site_url="http://testserver",
    )
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.ABANDONED
    assert not Order.objects.filter(line=line, status=OrderStatus.PENDING).exists()


def auto_renew_charge_pending(customer, line, plan):
    """An auto-renew charge's order still open at the provider (a Vipps
    MobilePay charge is taken on its due date, days later)."""
    from subscriptions.models import Order, OrderKind, PaymentMethod

    return Order.objects.create(
        owner=customer,
        line=line,
        kind=OrderKind.RENEWAL,
        plan=plan,
        amount_ore=plan.price_ore,
        method=PaymentMethod.SAVED_CARD,
        idempotency_key="auto-renew-charge",
        provider="sandbox",
        provider_payment_id="charge-due-in-two-days",
        billing_name="Kari Nordmann",
    )


def test_a_saved_card_charge_still_at_the_provider_stays_open_and_auto_renew_ends(
    line, customer, staff, plan, django_capture_on_commit_callbacks
):
    from subscriptions.models import AuditEvent, OrderStatus

    charge = auto_renew_charge_pending(customer, line, plan)
    Line.objects.filter(pk=line.pk).update(auto_renew=True)
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)

    # Left for its outcome (money taken for a cancelled line is flagged for a refund), not closed blind.
    charge.refresh_from_db()
    assert charge.status == OrderStatus.PENDING
    line.refresh_from_db()
    assert line.status == LineStatus.CANCELLED and not line.auto_renew
    assert AuditEvent.objects.filter(line=line, action="auto_renew_off", reason="line cancelled").exists()


def test_coming_back_five_days_after_cancelling_with_twenty_days_left_pays_a_new_period_from_the_comeback(
    line, customer, staff, plan, profile, django_capture_on_commit_callbacks
):
    twenty_days_left = timezone.now() + timedelta(days=20)
    line.periods.update(ends_at=twenty_days_left)
    Line.objects.filter(pk=line.pk).update(expires_at=twenty_days_left)
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)
    line.refresh_from_db()
    cancelled_at = line.status_changed_at
    assert line.status == LineStatus.CANCELLED
    assert line.expires_at == cancelled_at
    assert [period.ends_at for period in line.periods.all()] == [cancelled_at]
    [done] = [message for message in mail.outbox if "is cancelled" in message.subject]
    assert "Your paid time ended with the cancellation" in done.body
    assert "The new period starts the moment your payment is confirmed." in done.body

    comeback = timezone.now() + timedelta(days=5)
    with django_capture_on_commit_callbacks(execute=False):
        period = line_add_period(line=line, plan=plan, by=customer, now=comeback)

    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE
    assert period.starts_at == comeback
    assert period.ends_at == plan.end_of_period_starting(comeback)
    assert line.expires_at == period.ends_at
    old, new = line.periods.order_by("starts_at")
    assert old.ends_at == cancelled_at < new.starts_at == comeback


def test_cancelling_ends_a_period_paid_for_ahead_and_its_order_keeps_its_receipt(
    line, customer, staff, plan, django_capture_on_commit_callbacks
):
    from subscriptions.models import Order, OrderKind, OrderStatus, PaymentMethod

    ahead = line_add_period(line=line, plan=plan, by=customer)
    order = Order.objects.create(
        owner=customer,
        line=line,
        kind=OrderKind.RENEWAL,
        plan=plan,
        amount_ore=plan.price_ore,
        method=PaymentMethod.CARD,
        idempotency_key="paid-ahead",
        billing_name="Kari Nordmann",
        status=OrderStatus.PAID,
        period=ahead,
    )
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)
        cancellation_deactivate(cancellation_id=cancellation.pk)

    line.refresh_from_db()
    order.refresh_from_db()
    [left] = line.periods.all()
    assert left.ends_at == line.expires_at == line.status_changed_at
    assert order.period is None and order.status == OrderStatus.PAID
    [ended] = AuditEvent.objects.filter(line=line, action="paid_time_ended")
    assert [removed["order"] for removed in ended.data["removed_periods"]] == [str(order.public_id)]


def test_a_line_cancelled_with_its_paid_time_still_running_comes_back_from_the_payment(line, customer, plan):
    # A line cancelled before its deactivation ended the paid time.
    cancelled_at = timezone.now() - timedelta(days=2)
    old_expiry = line.expires_at
    Line.objects.filter(pk=line.pk).update(status=LineStatus.CANCELLED, status_changed_at=cancelled_at)
    line.refresh_from_db()
    now = timezone.now()

    period = line_add_period(line=line, plan=plan, by=customer, now=now)

    line.refresh_from_db()
    assert period.starts_at == now
    assert line.expires_at == plan.end_of_period_starting(now) < plan.end_of_period_starting(old_expiry)
    old, new = line.periods.order_by("starts_at")
    assert old.ends_at == cancelled_at and new == period


def test_goodwill_cannot_give_a_cancelled_line_paid_time(line, customer, staff, django_capture_on_commit_callbacks):
    from subscriptions.services.lines import line_extend

    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)

    with pytest.raises(CustomerError):
        line_extend(line=line, days=10, by=staff, reason="goodwill")
    line.refresh_from_db()
    assert line.expires_at == line.status_changed_at


def test_an_auto_renew_charge_collected_after_the_cancellation_is_refunded_and_does_not_bring_the_line_back(
    line, customer, staff, plan, django_capture_on_commit_callbacks
):
    from subscriptions.models import EventResult, OrderStatus
    from subscriptions.payments.base import PaymentState, PaymentUpdate
    from subscriptions.services.settlement import payment_update_apply

    charge = auto_renew_charge_pending(customer, line, plan)
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)

    with django_capture_on_commit_callbacks(execute=True):
        event = payment_update_apply(
            provider="sandbox",
            update=PaymentUpdate(
                event_id="collected",
                payment_id="charge-due-in-two-days",
                reference=str(charge.public_id),
                state=PaymentState.PAID,
                amount_ore=plan.price_ore,
            ),
        )

    line.refresh_from_db()
    charge.refresh_from_db()
    cancellation.refresh_from_db()
    assert event.result == EventResult.REFUND_DUE
    assert charge.status == OrderStatus.DECLINED and charge.period is None
    assert line.status == LineStatus.CANCELLED and line.expires_at == line.status_changed_at
    assert cancellation.reactivated_at is None


def test_a_checkout_paid_while_the_deactivation_closes_it_is_refunded_and_the_cancellation_finishes(
    line, customer, staff, plan, monkeypatch, django_capture_on_commit_callbacks
):
    from subscriptions.models import Order, OrderStatus, PaymentMethod
    from subscriptions.payments.base import PaymentState, PaymentUpdate
    from subscriptions.payments.sandbox import SandboxProvider
    from subscriptions.services.checkout import Billing, order_place, renewal_request

    order = order_place(
        owner=customer,
        request=renewal_request(line=line, plan=plan, method=PaymentMethod.CARD),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="paid-at-the-last-moment",
        site_url="http://testserver",
    )
    order.refresh_from_db()

    def paid_already(self, *, payment_id):
        return PaymentUpdate(
            event_id=f"{payment_id}-paid",
            payment_id=payment_id,
            reference=str(order.public_id),
            state=PaymentState.PAID,
            amount_ore=order.amount_ore,
        )

    monkeypatch.setattr(SandboxProvider, "cancel_payment", paid_already)
    cancellation = approved(line, customer, staff, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        cancellation_deactivate(cancellation_id=cancellation.pk)

    order.refresh_from_db()
    line.refresh_from_db()
    cancellation.refresh_from_db()
    assert order.status == OrderStatus.DECLINED and order.period is None
    assert cancellation.status == S.DONE and cancellation.reactivated_at is None
    assert line.status == LineStatus.CANCELLED
    assert not Order.objects.filter(line=line, status=OrderStatus.PENDING).exists()
