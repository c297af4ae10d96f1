"""Auto-renew with Vipps MobilePay (the Recurring API) on the sandbox's
pretend Vipps: an agreement approved in the app stands in for a saved card,
each renewal is a charge on it with its due date, and a failing charge is
retried and emailed about as a card's is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from sandbox.models import SandboxVippsAgreement, SandboxVippsOutcome
from sandbox.vipps import agreement_decide
from subscriptions.models import (
    AutoRenewal,
    AutoRenewCharge,
    ChargeStatus,
    Line,
    Order,
    OrderStatus,
    PaymentMethod,
    Plan,
    ServicePeriod,
    SetupStatus,
)
from subscriptions.services.autorenew import (
    auto_renew_charge_run,
    auto_renew_disable,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)

pytestmark = pytest.mark.django_db

SITE = "http://testserver"


def turn_on_with_vipps(line: Line, plan: Plan, *, outcome: str = SandboxVippsOutcome.APPROVE) -> object:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE, method=PaymentMethod.VIPPS)
    assert setup.provider_url == f"{SITE}/sandbox-pay/vipps-agreement/{setup.setup_id}/"
    agreement_decide(agreement_id=setup.setup_id, outcome=outcome)
    return auto_renew_setup_finish(setup=setup)


def sweep_and_charge(now: datetime) -> list[AutoRenewCharge]:
    return [auto_renew_charge_run(charge_id=charge_id, now=now) for charge_id in auto_renew_sweep(now=now)]


def test_an_agreement_approved_in_vipps_turns_auto_renew_on(line: Line, plan: Plan) -> None:
    setup = turn_on_with_vipps(line, plan)

    assert setup.status == SetupStatus.SAVED
    setting = AutoRenewal.objects.get(line=line)
    assert setting.enabled and setting.plan == plan
    assert str(setting.card) == "Vipps MobilePay"
    agreement = SandboxVippsAgreement.objects.get()
    assert (agreement.max_amount_ore, agreement.interval) == (79_00, {"unit": "WEEK", "count": 1})
    assert agreement.phone == line.owner.phone.lstrip("+")


def test_an_agreement_rejected_in_vipps_leaves_auto_renew_off(line: Line, plan: Plan) -> None:
    setup = turn_on_with_vipps(line, plan, outcome=SandboxVippsOutcome.REJECT)

    line.refresh_from_db()
    assert setup.status == SetupStatus.FAILED
    assert not line.auto_renew


def test_the_renewal_is_a_charge_on_the_agreement_with_its_due_date(line: Line, plan: Plan) -> None:
    turn_on_with_vipps(line, plan)
    before = line.expires_at

    [charge] = sweep_and_charge(timezone.now())

    line.refresh_from_db()
    order = Order.objects.get()
    assert (charge.status, order.status, order.provider) == (ChargeStatus.PAID, OrderStatus.PAID, "sandbox_recurring")
    assert ServicePeriod.objects.filter(line=line).count() == 2
    assert line.expires_at == plan.end_of_period_starting(before)
    [vipps_charge] = SandboxVippsAgreement.objects.get().charges
    assert (vipps_charge["amount"], vipps_charge["orderId"]) == (79_00, str(order.public_id))
    assert vipps_charge["due"] > timezone.localdate().isoformat()


def test_a_failing_vipps_charge_is_retried_and_the_customer_told(
    line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    turn_on_with_vipps(line, plan, outcome=SandboxVippsOutcome.APPROVE_CHARGES_FAIL)
    before = line.expires_at

    with django_capture_on_commit_callbacks(execute=True):
        [charge] = sweep_and_charge(timezone.now())

    line.refresh_from_db()
    assert (charge.status, charge.attempts) == (ChargeStatus.SCHEDULED, 1)
    assert charge.next_attempt_at is not None
    assert Order.objects.get().decline_reason == "vipps_charge_failed"
    assert line.expires_at == before
    assert [message.to for message in mail.outbox] == [["kari@example.test"]]


def test_the_auto_renew_page_offers_vipps_and_sends_the_customer_to_approve(line: Line, plan: Plan) -> None:
    client = Client()
    client.force_login(line.owner)
    page = client.get(f"/lines/{line.pk}/auto-renew/").content.decode()

    response = client.post(f"/lines/{line.pk}/auto-renew/", {"plan": plan.pk, "card": "", "with": "vipps"})

    assert 'id="auto-renew-vipps"' in page
    agreement = SandboxVippsAgreement.objects.get()
    assert response["Location"] == f"{SITE}/sandbox-pay/vipps-agreement/{agreement.agreement_id}/"
    back = client.post(response["Location"], {"outcome": "approve"})
    client.get(back["Location"])
    line.refresh_from_db()
    assert line.auto_renew


def test_another_customer_gets_a_404_for_the_auto_renew_page(line: Line, stranger_client: Client) -> None:
    assert stranger_client.post(f"/lines/{line.pk}/auto-renew/", {"with": "vipps"}).status_code == 404


def test_turning_auto_renew_off_stops_the_agreement_in_vipps(
    line: Line, plan: Plan, django_capture_on_commit_callbacks: Any
) -> None:
    turn_on_with_vipps(line, plan)
    card = AutoRenewal.objects.get(line=line).card

    with django_capture_on_commit_callbacks(execute=True):
        auto_renew_disable(line=line, by=line.owner)

    card.refresh_from_db()
    assert SandboxVippsAgreement.objects.get().status == "STOPPED"
    assert card.removed_at is not None
