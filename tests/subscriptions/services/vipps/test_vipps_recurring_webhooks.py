"""The Recurring API's webhooks (auto-renew with Vipps MobilePay) with the
real adapter against the local fake of Vipps (tests/fakes/vipps.py): a
charge event settles the auto-renew charge's order once, whether the poll
or the webhook comes first; a failed charge is retried and emailed about as
after a declined run; an agreement stopped or expired in the app turns
auto-renew off; a webhook not genuine or not well formed is a 400."""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import formatdate
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from subscriptions.models import (
    AuditEvent,
    AutoRenewal,
    AutoRenewCharge,
    CardSetup,
    ChargeStatus,
    Line,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Plan,
    Receipt,
    SavedCard,
    ServicePeriod,
    SetupStatus,
)
from subscriptions.payments import AgreementUpdate, InvalidCallback, SetupUpdate
from subscriptions.payments.vipps_recurring import VippsRecurringProvider
from subscriptions.services.autorenew import (
    STALE_CHARGE,
    auto_renew_charge_run,
    auto_renew_disable,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)
from subscriptions.services.reconcile import orders_reconcile
from tests.fakes.vipps import RECURRING_WEBHOOK_SECRET, WEBHOOK_SECRET, FakeVipps, recurring_webhook

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
CALLBACK = "/payments/callback/vipps_recurring/"


def agreement_approved(vipps: FakeVipps, line: Line, plan: Plan) -> str:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE, method=PaymentMethod.VIPPS)
    vipps.agreements[setup.setup_id]["status"] = "ACTIVE"
    assert auto_renew_setup_finish(setup=setup).status == SetupStatus.SAVED
    return setup.setup_id


def charge_pending(vipps: FakeVipps, line: Line, plan: Plan) -> tuple[str, str, AutoRenewCharge]:
    """Auto-renew on with an approved agreement, and this period's charge
    made at Vipps and waiting for its due date: (agreement, charge id, our
    charge)."""
    agreement = agreement_approved(vipps, line, plan)
    now = timezone.now()
    [charge] = [auto_renew_charge_run(charge_id=pk, now=now) for pk in auto_renew_sweep(now=now)]
    assert charge.status == ChargeStatus.CHARGING
    assert Order.objects.get().status == OrderStatus.PENDING
    [charge_id] = vipps.agreements[agreement]["charges"]
    return agreement, charge_id, charge


def post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
    return client.post(CALLBACK, body, content_type="application/json", **extra)


def send(client: Client, **arguments: Any) -> Any:
    body, headers = recurring_webhook(host="testserver", path=CALLBACK, **arguments)
    return post(client, body, headers)


# --- the adapter reads every event --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "state", "reason"),
    [
        ("charge-captured", PaymentState.PAID, ""),
        ("charge-failed", PaymentState.DECLINED, "vipps_charge_failed"),
        ("charge-creation-failed", PaymentState.DECLINED, "vipps_charge_failed"),
        ("charge-canceled", PaymentState.CANCELLED, "vipps_cancelled"),
        ("charge-reserved", PaymentState.PENDING, ""),
        ("charge-refunded", PaymentState.REFUNDED, ""),
    ],
)
def test_a_signed_charge_event_is_an_update_of_the_charges_payment(
    vipps_api: FakeVipps, event: str, state: str, reason: str
) -> None:
    body, headers = recurring_webhook(event=event, agreement="agr_1", charge="chr_1", amount=79_00)

    update = VippsRecurringProvider().verify_callback(body=body, headers=headers)

    assert update is not None and not isinstance(update, SetupUpdate | AgreementUpdate)
    assert (update.payment_id, update.state, update.reason, update.amount_ore) == ("agr_1/chr_1", state, reason, 79_00)


@pytest.mark.parametrize(("event", "status"), [("agreement-stopped", "STOPPED"), ("agreement-expired", "EXPIRED")])
def test_an_agreement_that_ended_is_a_saved_method_that_ended(vipps_api: FakeVipps, event: str, status: str) -> None:
    body, headers = recurring_webhook(event=event, agreement="agr_1")

    update = VippsRecurringProvider().verify_callback(body=body, headers=headers)

    assert update == AgreementUpdate(event_id=f"webhook:agr_1:{event}", method_id="agr_1", status=status)


@pytest.mark.parametrize("event", ["agreement-activated", "agreement-rejected"])
def test_an_agreement_approved_or_refused_finishes_its_card_setup(vipps_api: FakeVipps, event: str) -> None:
    body, headers = recurring_webhook(event=event, agreement="agr_1")

    update = VippsRecurringProvider().verify_callback(body=body, headers=headers)

    assert isinstance(update, SetupUpdate) and update.setup_id == "agr_1"


def test_a_failed_charge_may_come_without_its_amount(vipps_api: FakeVipps) -> None:
    body, headers = recurring_webhook(event="charge-failed", agreement="agr_1", charge="chr_1", amount=None)

    update = VippsRecurringProvider().verify_callback(body=body, headers=headers)

    assert update is not None and not isinstance(update, SetupUpdate | AgreementUpdate)
    assert (update.state, update.amount_ore) == (PaymentState.DECLINED, None)


def test_an_event_about_another_merchant_or_one_we_do_not_know_is_ignored(vipps_api: FakeVipps) -> None:
    provider = VippsRecurringProvider()
    for arguments in (
        {"event": "charge-captured", "charge": "chr_1", "amount": 1, "msn": "999999"},
        {"event": "agreement-paused"},
    ):
        body, headers = recurring_webhook(agreement="agr_1", **arguments)
        assert provider.verify_callback(body=body, headers=headers) is None


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"chargeId": None}, "chargeId is missing"),
        ({"agreementId": 7}, "agreementId is not a string"),
        ({"agreementId": "a" * 65}, "agreementId is longer"),
        ({"amount": "7900"}, "amount is not a whole number"),
        ({"amount": -1}, "amount is out of range"),
        ({"amount": None}, "amount is missing"),
        ({"currency": "EUR"}, "currency is not NOK"),
        ({"occurred": "yesterday"}, "occurred is not a date"),
        ({"eventType": None}, "eventType is missing"),
        ({"chargeId": "chr/1"}, "slash"),
        ({"failureReason": "\x00"}, "NUL"),
    ],
)
def test_a_signed_webhook_with_a_bad_field_is_a_400_and_the_log_says_which(
    vipps: FakeVipps, client: Client, changes: dict[str, Any], says: str, caplog: pytest.LogCaptureFixture
) -> None:
    arguments: dict[str, Any] = {"event": "charge-captured", "agreement": "agr_1", "charge": "chr_1", "amount": 79_00}
    response = send(client, **(arguments | changes))

    assert response.status_code == 400
    assert response.content.decode() == "invalid callback"  # nothing for a prober
    assert says in caplog.text
    assert not PaymentEvent.objects.exists()


def test_a_webhook_with_a_wrong_signature_or_the_epayment_secret_is_a_400(vipps: FakeVipps, client: Client) -> None:
    for secret in ("not-ours", WEBHOOK_SECRET):
        response = send(client, event="charge-captured", agreement="agr_1", charge="chr_1", amount=1, secret=secret)
        assert response.status_code == 400
        assert response.content.decode() == "invalid callback"


def test_a_site_without_the_recurring_webhook_secret_refuses_every_webhook(
    vipps: FakeVipps, client: Client, settings: Any
) -> None:
    settings.VIPPS_RECURRING_WEBHOOK_SECRET = ""
    body, headers = recurring_webhook(event="agreement-stopped", agreement="agr_1", secret="")

    with pytest.raises(InvalidCallback, match="no Vipps webhook secret"):
        VippsRecurringProvider().verify_callback(body=body, headers=headers)
    assert send(client, event="agreement-stopped", agreement="agr_1", secret="").status_code == 400


def test_an_old_recurring_webhook_is_refused(vipps_api: FakeVipps) -> None:
    old = formatdate(time.time() - 3600, usegmt=True)
    body, headers = recurring_webhook(event="agreement-stopped", agreement="agr_1", date=old)

    with pytest.raises(InvalidCallback, match="stale"):
        VippsRecurringProvider().verify_callback(body=body, headers=headers)


# --- charges: the webhook settles the order, once ------------------------------------------------


def test_a_captured_charge_renews_the_line_once_even_when_the_webhook_is_replayed(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    before = line.expires_at
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    vipps.agreements[agreement]["charges"][charge_id]["status"] = "CHARGED"

    with django_capture_on_commit_callbacks(execute=True):
        first = send(client, event="charge-captured", agreement=agreement, charge=charge_id, amount=79_00)
    with django_capture_on_commit_callbacks(execute=True):
        again = send(client, event="charge-captured", agreement=agreement, charge=charge_id, amount=79_00)

    assert first.status_code == again.status_code == 200
    charge.refresh_from_db()
    line.refresh_from_db()
    order = Order.objects.get()
    assert (charge.status, charge.attempts, charge.order) == (ChargeStatus.PAID, 1, order)
    assert order.status == OrderStatus.PAID
    assert line.expires_at == plan.end_of_period_starting(before)
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert Receipt.objects.filter(order=order).count() == 1
    assert PaymentEvent.objects.filter(event_id__startswith="webhook:").count() == 1
    assert AuditEvent.objects.filter(line=line, action="auto_renew_charge").count() == 1
    # The charge's run and the order sweep, coming later, find nothing to do.
    later = timezone.now() + STALE_CHARGE + timedelta(minutes=1)
    assert auto_renew_sweep(now=later) == []
    assert orders_reconcile(now=later)["checked"] == 0
    assert len(vipps.agreements[agreement]["charges"]) == 1


def test_a_charge_the_poll_settled_first_is_not_applied_again_by_its_webhook(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan
) -> None:
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    vipps.agreements[agreement]["charges"][charge_id]["status"] = "CHARGED"
    later = timezone.now() + STALE_CHARGE + timedelta(minutes=1)
    assert auto_renew_charge_run(charge_id=charge.pk, now=later).status == ChargeStatus.PAID

    response = send(client, event="charge-captured", agreement=agreement, charge=charge_id, amount=79_00)

    assert response.status_code == 200
    event = PaymentEvent.objects.get(event_id__startswith="webhook:")
    assert event.note == "already paid"
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert Receipt.objects.count() == 1
    assert AuditEvent.objects.filter(line=line, action="auto_renew_charge").count() == 1


def test_a_failed_charge_is_retried_and_the_customer_told_once(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    before = line.expires_at
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    vipps.agreements[agreement]["charges"][charge_id]["status"] = "FAILED"
    mail.outbox.clear()

    for _replay in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = send(
                client,
                event="charge-failed",
                agreement=agreement,
                charge=charge_id,
                amount=79_00,
                failureReason="insufficient_funds",
            )
        assert response.status_code == 200

    charge.refresh_from_db()
    line.refresh_from_db()
    assert (charge.status, charge.attempts, charge.last_error) == (ChargeStatus.SCHEDULED, 1, "vipps_charge_failed")
    assert charge.next_attempt_at is not None
    assert Order.objects.get().status == OrderStatus.DECLINED
    assert line.expires_at == before
    assert [message.to for message in mail.outbox] == [["kari@example.test"]]
    # The retry is a new charge at Vipps, with a new key, when its time comes.
    assert charge.next_attempt_at is not None
    retried = auto_renew_charge_run(charge_id=charge.pk, now=charge.next_attempt_at)
    assert retried.status == ChargeStatus.CHARGING
    assert len(vipps.agreements[agreement]["charges"]) == 2


def test_a_late_copy_of_an_earlier_attempts_event_does_not_finish_the_next_attempt(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    vipps.agreements[agreement]["charges"][charge_id]["status"] = "FAILED"
    event = {"event": "charge-failed", "agreement": agreement, "charge": charge_id, "amount": 79_00}
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, **event).status_code == 200
    # The retry's run has taken the charge and not yet placed its own order
    # (Vipps slow to answer): the charge still points at the first order.
    AutoRenewCharge.objects.filter(pk=charge.pk).update(status=ChargeStatus.CHARGING, updated_at=timezone.now())
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert send(client, **event).status_code == 200  # Vipps sends the first attempt's event again

    charge.refresh_from_db()
    assert (charge.status, charge.attempts) == (ChargeStatus.CHARGING, 1)
    assert mail.outbox == []


# --- agreements ------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["agreement-stopped", "agreement-expired"])
def test_an_agreement_that_ended_turns_auto_renew_off_once_and_the_customer_sees_it(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any, event: str
) -> None:
    agreement = agreement_approved(vipps, line, plan)
    vipps.agreements[agreement]["status"] = "STOPPED"

    for _replay in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert send(client, event=event, agreement=agreement).status_code == 200

    line.refresh_from_db()
    assert not line.auto_renew
    assert not AutoRenewal.objects.get(line=line).enabled
    assert SavedCard.objects.get(method_id=agreement).removed_at is not None
    [off] = AuditEvent.objects.filter(line=line, action="auto_renew_off")
    assert off.actor is None and "agreement was" in off.reason
    # Vipps ended it: nothing is sent to stop it again.
    assert ("PATCH", f"/recurring/v3/agreements/{agreement}") not in vipps.calls()
    owner = Client()
    owner.force_login(line.owner)
    page = owner.get(f"/lines/{line.pk}/auto-renew/").content.decode()
    assert 'data-state="off"' in page


def test_an_agreement_stopped_also_stops_its_charge_waiting_without_a_retry_email(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        send(client, event="agreement-stopped", agreement=agreement)
        send(client, event="charge-canceled", agreement=agreement, charge=charge_id, amount=79_00)

    charge.refresh_from_db()
    assert charge.status == ChargeStatus.CANCELLED
    assert Order.objects.get().status == OrderStatus.ABANDONED
    assert mail.outbox == []


@pytest.mark.parametrize("taken_first", [False, True])
def test_auto_renew_turned_off_before_the_due_date_withdraws_the_charge_at_vipps(
    vipps: FakeVipps, line: Line, plan: Plan, django_capture_on_commit_callbacks: Any, taken_first: bool
) -> None:
    agreement, charge_id, charge = charge_pending(vipps, line, plan)
    if taken_first:
        vipps.agreements[agreement]["charges"][charge_id]["status"] = "CHARGED"
    before = line.expires_at
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        auto_renew_disable(line=line, by=line.owner, reason="the customer turned it off")

    charge.refresh_from_db()
    line.refresh_from_db()
    order = Order.objects.get()
    if taken_first:
        # Too late to withdraw: paid is paid, and the line renewed, as with a card charged already.
        assert vipps.agreements[agreement]["charges"][charge_id]["status"] == "CHARGED"
        assert (charge.status, order.status) == (ChargeStatus.PAID, OrderStatus.PAID)
        assert line.expires_at == before + timedelta(days=7)
    else:
        assert vipps.agreements[agreement]["charges"][charge_id]["status"] == "CANCELLED"
        assert ("DELETE", f"/recurring/v3/agreements/{agreement}/charges/{charge_id}") in vipps.calls()
        assert charge.status == ChargeStatus.CANCELLED
        assert order.status != OrderStatus.PAID and line.expires_at == before
        assert mail.outbox == []  # no "payment failed" for a charge the customer stopped


def test_an_agreement_approved_in_the_app_turns_auto_renew_on_without_the_browsers_return(
    vipps: FakeVipps, client: Client, line: Line, plan: Plan
) -> None:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE, method=PaymentMethod.VIPPS)
    vipps.agreements[setup.setup_id]["status"] = "ACTIVE"

    assert send(client, event="agreement-activated", agreement=setup.setup_id).status_code == 200

    setup.refresh_from_db()
    line.refresh_from_db()
    assert setup.status == SetupStatus.SAVED
    assert line.auto_renew


def test_an_agreement_for_nobody_of_ours_is_taken_and_changes_nothing(vipps: FakeVipps, client: Client) -> None:
    assert send(client, event="agreement-stopped", agreement="agr_unknown").status_code == 200
    assert send(client, event="agreement-activated", agreement="agr_unknown").status_code == 200
    assert not CardSetup.objects.exists()


# --- registering ----------------------------------------------------------------------------------


def test_the_recurring_events_are_registered_with_their_own_url_and_secret(vipps_api: FakeVipps) -> None:
    out = StringIO()

    call_command("vipps_register_webhook", "--site", "https://minside.nordlys.test", stdout=out)

    epayment, recurring = vipps_api.webhooks
    assert epayment["url"] == "https://minside.nordlys.test/payments/callback/vipps/"
    assert len(epayment["events"]) == 8
    assert recurring["url"] == "https://minside.nordlys.test/payments/callback/vipps_recurring/"
    assert set(recurring["events"]) == {
        f"recurring.{name}.v1"
        for name in (
            "agreement-activated",
            "agreement-rejected",
            "agreement-stopped",
            "agreement-expired",
            "charge-reserved",
            "charge-captured",
            "charge-canceled",
            "charge-failed",
            "charge-creation-failed",
            "charge-refunded",
        )
    }
    assert f"VIPPS_WEBHOOK_SECRET={WEBHOOK_SECRET}" in out.getvalue()
    assert f"VIPPS_RECURRING_WEBHOOK_SECRET={RECURRING_WEBHOOK_SECRET}" in out.getvalue()
