"""Replacement eSIM requests up to fulfilment: the transition table, the
emailed identity code, the cooling-off hour and its stop link, the fee, and
support review."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.identity import identity_document_approve, identity_document_reject
from accounts.models import IdentityDocument
from sandbox.models import SandboxOutcome
from sandbox.network import network_history, network_subscriber
from subscriptions.errors import CustomerError, TransitionNotAllowed
from subscriptions.models import (
    AuditEvent,
    EsimState,
    Order,
    OrderKind,
    OrderStatus,
    Receipt,
    ReplacementReason,
    ReplacementRequest,
    ReplacementStatus,
    ReviewCause,
)
from subscriptions.models.replacements import OPEN_STATUSES, TRANSITIONS
from subscriptions.services.checkout import Billing, order_place, replacement_fee_request
from subscriptions.services.replacements import (
    WrongCode,
    replacement_code_check,
    replacement_code_send,
    replacement_line_block,
    replacement_line_unblock,
    replacement_request,
    replacement_review_approve,
    replacement_stop_by_link,
    replacement_stop_token,
    replacements_cooling_off_end,
)
from tests.factories import EsimProfileFactory, LineFactory, UserFactory
from tests.subscriptions.services.orders.steps import settle

pytestmark = pytest.mark.django_db

S = ReplacementStatus
NEW_PHONE = ReplacementReason.NEW_PHONE


def emailed_code() -> str:
    found = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


@pytest.fixture
def send_code(django_capture_on_commit_callbacks):
    """Ask for a code and let its email leave as the transaction commits."""

    def send(replacement):
        with django_capture_on_commit_callbacks(execute=True):
            replacement_code_send(replacement=replacement)

    return send


@pytest.fixture
def verified(send_code):
    """A request whose identity code was entered right."""

    def make(line, customer, key="k1", reason=NEW_PHONE):
        replacement = replacement_request(line=line, by=customer, reason=reason, idempotency_key=key)
        send_code(replacement)
        return replacement_code_check(replacement=replacement, code=emailed_code())

    return make


def fulfilled_earlier(line, customer, *, days_ago: int):
    return ReplacementRequest.objects.create(
        line=line,
        requested_by=customer,
        reason=NEW_PHONE,
        idempotency_key=f"old-{days_ago}",
        status=S.FULFILLED,
        identity_checked_at=timezone.now() - timedelta(days=days_ago),
        fulfilled_at=timezone.now() - timedelta(days=days_ago),
    )


def test_the_transition_table_ends_in_closed_states_and_only_open_states_lead_anywhere():
    assert set(TRANSITIONS) == set(S.values)
    for status in (S.FULFILLED, S.STOPPED, S.REJECTED):
        assert TRANSITIONS[status] == frozenset()
    # Only support's retry of the fulfilment takes a failed request back to ready.
    assert TRANSITIONS[S.FAILED] == frozenset({S.READY})
    assert {s for s, targets in TRANSITIONS.items() if targets} == set(OPEN_STATUSES) | {S.FAILED}
    # Nothing becomes ready without passing the identity check's outcome first.
    assert S.READY not in TRANSITIONS[S.REQUESTED]


def test_a_request_that_waits_for_its_code_cannot_be_approved_by_support(line, customer):
    replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
    with pytest.raises(CustomerError):
        replacement_review_approve(replacement=replacement, by=customer)


def test_a_correct_code_starts_the_free_cooling_off_hour_and_notifies_line_and_account(
    line, customer, sms_outbox, django_capture_on_commit_callbacks, settings, send_code
):
    settings.REPLACEMENT_COOLING_OFF_SECONDS = 3600
    with django_capture_on_commit_callbacks(execute=True):
        replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
        send_code(replacement)
    assert mail.outbox[-1].to == [customer.email]
    assert not sms_outbox, "the code never goes to the line"
    with django_capture_on_commit_callbacks(execute=True):
        checked = replacement_code_check(replacement=replacement, code=emailed_code())

    assert checked.status == S.COOLING_OFF
    assert checked.fee_ore == 0
    assert checked.cooling_off_until - checked.identity_checked_at == timedelta(hours=1)
    assert [text.to for text in sms_outbox] == [line.number]
    assert "/replacements/stop/" in sms_outbox[0].body
    assert mail.outbox[-1].to == [customer.email]
    assert "/replacements/stop/" in mail.outbox[-1].body
    actions = set(AuditEvent.objects.filter(line=line).values_list("action", flat=True))
    assert {"replacement_requested", "replacement_identity_checked", "replacement_cooling_off"} <= actions


def test_the_cooling_off_sweep_makes_only_requests_past_their_hour_ready(line, customer, verified):
    replacement = verified(line, customer)

    assert replacements_cooling_off_end(now=timezone.now()) == 0
    assert replacements_cooling_off_end(now=replacement.cooling_off_until) == 1
    replacement.refresh_from_db()
    assert replacement.status == S.READY
    assert replacements_cooling_off_end(now=replacement.cooling_off_until) == 0


def test_a_wrong_code_says_how_many_tries_are_left_and_the_third_ends_the_code(line, customer, send_code):
    replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
    send_code(replacement)
    right = emailed_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    with pytest.raises(WrongCode, match="2"):
        replacement_code_check(replacement=replacement, code=wrong)
    with pytest.raises(WrongCode, match="1"):
        replacement_code_check(replacement=replacement, code=wrong)
    with pytest.raises(CustomerError):
        replacement_code_check(replacement=replacement, code=wrong)
    with pytest.raises(CustomerError, match="new code"):
        replacement_code_check(replacement=replacement, code=right)
    replacement.refresh_from_db()
    assert replacement.status == S.REQUESTED


def test_an_expired_code_is_refused(line, customer, send_code):
    replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
    send_code(replacement)
    ReplacementRequest.objects.filter(pk=replacement.pk).update(code_expires_at=timezone.now())

    with pytest.raises(CustomerError, match="expired"):
        replacement_code_check(replacement=replacement, code=emailed_code())


def test_codes_asked_for_too_often_are_refused(line, customer, settings, send_code):
    settings.REPLACEMENT_CODES_PER_HOUR = 2
    replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
    send_code(replacement)
    send_code(replacement)

    with pytest.raises(CustomerError, match="Too many codes"):
        send_code(replacement)
    assert len(mail.outbox) == 2


def test_the_code_is_stored_only_as_a_hash(line, customer, send_code):
    replacement = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="k")
    send_code(replacement)
    replacement.refresh_from_db()

    assert emailed_code() not in replacement.code_hash
    assert len(replacement.code_hash) == 64


def test_the_same_form_sent_twice_makes_one_request(line, customer):
    first = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="same")
    second = replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="same")

    assert first.pk == second.pk
    assert ReplacementRequest.objects.count() == 1


def test_a_second_open_request_for_the_line_is_refused(line, customer):
    replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="one")

    with pytest.raises(CustomerError, match="already in progress"):
        replacement_request(line=line, by=customer, reason=NEW_PHONE, idempotency_key="two")


def test_the_stop_link_stops_its_request_once_and_no_other(line, customer, verified):
    replacement = verified(line, customer)
    other_line = LineFactory(owner=customer, number="+4791234568")
    other = verified(other_line, customer, key="k2")
    token = replacement_stop_token(replacement)

    stopped = replacement_stop_by_link(token=token)

    assert stopped.status == S.STOPPED
    with pytest.raises(CustomerError, match="already used"):
        replacement_stop_by_link(token=token)
    other.refresh_from_db()
    assert other.status == S.COOLING_OFF
    assert AuditEvent.objects.filter(line=line, action="replacement_stopped").count() == 1


def test_a_forged_or_tampered_stop_link_is_refused(line, customer, verified):
    replacement = verified(line, customer)
    token = replacement_stop_token(replacement)

    for bad in ("nonsense", token[:-2] + ("aa" if not token.endswith("aa") else "bb")):
        with pytest.raises(CustomerError, match="not valid"):
            replacement_stop_by_link(token=bad)
    replacement.refresh_from_db()
    assert replacement.status == S.COOLING_OFF


def test_the_stop_link_is_too_late_once_the_request_is_ready(line, customer, verified):
    replacement = verified(line, customer)
    token = replacement_stop_token(replacement)
    replacements_cooling_off_end(now=replacement.cooling_off_until)

    with pytest.raises(CustomerError, match="no longer be stopped"):
        replacement_stop_by_link(token=token)


def test_lost_or_stolen_asks_to_block_the_line_waits_for_document_review_and_texts_nobody(
    line, customer, sms_outbox, django_capture_on_commit_callbacks, send_code
):
    with django_capture_on_commit_callbacks(execute=True):
        replacement = replacement_request(
            line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
        )

    assert replacement.status == S.REVIEW
    assert replacement.block_requested and replacement.needs_document_review
    assert replacement.review_cause == ReviewCause.LOST_OR_STOLEN
    assert not sms_outbox
    assert mail.outbox[-1].to == [customer.email]
    assert AuditEvent.objects.filter(line=line, action="line_block_requested").exists()
    with pytest.raises(CustomerError):
        send_code(replacement)


def test_a_third_replacement_within_30_days_goes_to_support_review(line, customer, verified):
    fulfilled_earlier(line, customer, days_ago=20)
    fulfilled_earlier(line, customer, days_ago=5)

    replacement = verified(line, customer)

    assert replacement.status == S.REVIEW
    assert replacement.review_cause == ReviewCause.TOO_MANY


def test_a_second_replacement_within_30_days_does_not_need_review(line, customer, verified):
    fulfilled_earlier(line, customer, days_ago=40)
    fulfilled_earlier(line, customer, days_ago=5)

    assert verified(line, customer).status == S.PAYMENT_DUE


def test_the_first_replacement_in_12_months_is_free_and_a_later_one_charges_the_fee(line, customer, settings, verified):
    settings.REPLACEMENT_FEE_ORE = 99_00
    fulfilled_earlier(line, customer, days_ago=400)
    assert verified(line, customer, key="a").fee_ore == 0

    ReplacementRequest.objects.filter(idempotency_key="a").update(status=S.FULFILLED, fulfilled_at=timezone.now())
    second = verified(line, customer, key="b")

    assert second.status == S.PAYMENT_DUE
    assert second.fee_ore == 99_00


def test_the_fee_is_an_order_of_its_own_kind_fulfilled_once_with_a_receipt(line, customer, verified):
    fulfilled_earlier(line, customer, days_ago=30)
    replacement = verified(line, customer)
    order = order_place(
        owner=customer,
        request=replacement_fee_request(replacement=replacement),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="fee-1",
        site_url="http://testserver",
    )
    assert order.kind == OrderKind.REPLACEMENT

    settle(order)
    order.refresh_from_db()
    settle(order)  # the same callback again

    assert order.status == OrderStatus.PAID
    replacement.refresh_from_db()
    assert replacement.status == S.COOLING_OFF
    assert replacement.paid_at is not None
    receipt = Receipt.objects.get(order=order)
    assert receipt.total_ore == 99_00
    assert receipt.vat_rate_percent == 25
    assert Order.objects.filter(replacement=replacement, status=OrderStatus.PAID).count() == 1


def test_a_fee_paid_after_the_request_was_stopped_is_declined_for_a_refund(line, customer, verified):
    fulfilled_earlier(line, customer, days_ago=30)
    replacement = verified(line, customer)
    order = order_place(
        owner=customer,
        request=replacement_fee_request(replacement=replacement),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="fee-1",
        site_url="http://testserver",
    )
    replacement_stop_by_link(token=replacement_stop_token(replacement))

    event = settle(order, SandboxOutcome.APPROVE)

    order.refresh_from_db()
    assert order.status == OrderStatus.DECLINED
    assert order.decline_reason == "replacement_closed"
    assert event.result == "refund_due"


def test_no_fee_order_for_a_request_that_owes_none(line, customer, verified):
    replacement = verified(line, customer)

    with pytest.raises(CustomerError):
        replacement_fee_request(replacement=replacement)


def test_support_approval_of_a_lost_phone_makes_it_ready_without_cooling_off(line, customer):
    replacement = replacement_request(
        line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
    )

    approved = replacement_review_approve(replacement=replacement, by=customer)

    assert approved.status == S.READY
    assert approved.identity_checked_at is not None
    assert approved.cooling_off_until is None


def test_a_finished_request_cannot_move_again(line, customer, verified):
    replacement = verified(line, customer)
    replacement_stop_by_link(token=replacement_stop_token(replacement))

    with pytest.raises(TransitionNotAllowed):
        from subscriptions.services.replacements import _locked, _move

        _move(_locked(replacement), S.READY, by=None, action="x")


# --- a lost or stolen phone: the block and the identity document ------------------------


def lost_phone_request(line, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return replacement_request(line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k")


def test_a_lost_phone_blocks_the_line_on_the_network_once(line, customer, django_capture_on_commit_callbacks):
    replacement = lost_phone_request(line, customer, django_capture_on_commit_callbacks)

    replacement.refresh_from_db()
    assert replacement.blocked_at is not None
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and subscriber.blocked
    # A retried task changes nothing and calls nothing again.
    assert replacement_line_block(replacement_id=replacement.pk) is False
    assert [request.action for request in network_history(msisdn=line.number)] == ["block"]
    assert AuditEvent.objects.filter(line=line, action="line_blocked").count() == 1


def test_a_lost_phones_line_is_unblocked_once_its_new_esim_is_ready_on_the_number(
    line, customer, django_capture_on_commit_callbacks
):
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    new = EsimProfileFactory()  # the stock
    replacement = lost_phone_request(line, customer, django_capture_on_commit_callbacks)
    agent = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        identity_document_approve(document=document_for(customer), by=agent)

    replacement.refresh_from_db()
    assert replacement.status == S.FULFILLED
    assert replacement.unblocked_at is not None
    subscriber = network_subscriber(msisdn=line.number)
    assert subscriber is not None and not subscriber.blocked and subscriber.imsi == new.imsi
    actions = [request.action for request in network_history(msisdn=line.number)]
    assert actions[0] == "block" and actions[-1] == "unblock" and actions.count("unblock") == 1
    old.refresh_from_db()
    assert old.state == EsimState.DISABLED
    assert replacement_line_unblock(replacement_id=replacement.pk) is False  # a retried task does nothing
    assert AuditEvent.objects.filter(line=line, action="line_unblocked").count() == 1


def test_a_block_still_retrying_when_the_new_esim_is_ready_blocks_nothing(line, customer):
    replacement = replacement_request(
        line=line, by=customer, reason=ReplacementReason.LOST_OR_STOLEN, idempotency_key="k"
    )
    ReplacementRequest.objects.filter(pk=replacement.pk).update(status=S.FULFILLED, fulfilled_at=timezone.now())

    assert replacement_line_block(replacement_id=replacement.pk) is False
    assert network_history(msisdn=line.number) == []


def test_a_line_that_was_never_blocked_is_not_unblocked(line, customer, verified):
    replacement = verified(line, customer)
    ReplacementRequest.objects.filter(pk=replacement.pk).update(status=S.FULFILLED, fulfilled_at=timezone.now())

    assert replacement_line_unblock(replacement_id=replacement.pk) is False
    assert network_history(msisdn=line.number) == []


def test_a_new_phone_blocks_nothing(line, customer, verified):
    replacement = verified(line, customer)

    assert replacement.blocked_at is None
    assert network_history(msisdn=line.number) == []


def document_for(customer, **changes):
    defaults = {
        "owner": customer,
        "kind": IdentityDocument.Kind.PASSPORT,
        "purpose": IdentityDocument.Purpose.REPLACEMENT,
        "content_type": "image/jpeg",
        "size": 1000,
    }
    return IdentityDocument.objects.create(**{**defaults, **changes})


def test_support_approving_the_document_lets_the_lost_phone_request_go_on(
    line, customer, django_capture_on_commit_callbacks
):
    replacement = lost_phone_request(line, customer, django_capture_on_commit_callbacks)
    document = document_for(customer)
    agent = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        identity_document_approve(document=document, by=agent)

    replacement.refresh_from_db()
    assert replacement.status == S.READY  # the first replacement is free, and reviewed: no cooling-off
    assert replacement.identity_document == document
    assert replacement.reviewed_by == agent


def test_support_rejecting_the_document_rejects_the_request_with_its_reason(
    line, customer, django_capture_on_commit_callbacks
):
    replacement = lost_phone_request(line, customer, django_capture_on_commit_callbacks)
    document = document_for(customer)

    with django_capture_on_commit_callbacks(execute=True):
        identity_document_reject(
            document=document, by=UserFactory(is_staff=True), reason=IdentityDocument.Reason.EXPIRED
        )

    replacement.refresh_from_db()
    assert replacement.status == S.REJECTED
    assert replacement.why == str(IdentityDocument.Reason.EXPIRED.label)


def test_a_document_for_another_purpose_leaves_the_request_waiting(line, customer, django_capture_on_commit_callbacks):
    replacement = lost_phone_request(line, customer, django_capture_on_commit_callbacks)

    identity_document_approve(
        document=document_for(customer, purpose=IdentityDocument.Purpose.NEW_LINE), by=UserFactory(is_staff=True)
    )

    replacement.refresh_from_db()
    assert replacement.status == S.REVIEW


# --- fulfilment by the provisioning worker ----------------------------------------------


def test_a_ready_request_gets_a_new_profile_and_the_old_one_is_disabled(
    line, customer, verified, django_capture_on_commit_callbacks
):
    old = EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    new = EsimProfileFactory()  # the stock
    replacement = verified(line, customer)

    with django_capture_on_commit_callbacks(execute=True):
        replacements_cooling_off_end(now=replacement.cooling_off_until)

    replacement.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert replacement.status == S.FULFILLED
    assert (new.line_id, new.state) == (line.pk, EsimState.RELEASED)
    assert old.state == EsimState.DISABLED
    assert [request.action for request in network_history(msisdn=line.number)] == ["imsi_swap"]


def test_a_ready_request_with_no_stock_waits_being_prepared(
    line, customer, verified, django_capture_on_commit_callbacks
):
    EsimProfileFactory(line=line, state=EsimState.INSTALLED)
    replacement = verified(line, customer)

    with django_capture_on_commit_callbacks(execute=True):
        replacements_cooling_off_end(now=replacement.cooling_off_until)

    replacement.refresh_from_db()
    assert replacement.status == S.READY
