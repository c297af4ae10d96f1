"""The Vipps MobilePay Recurring adapter (auto-renew), tested at the HTTP
boundary against the local fake of Vipps's APIs (tests/fakes/vipps.py)."""

from __future__ import annotations

import pytest

from subscriptions.models import PaymentState
from subscriptions.payments import PaymentProviderError, SavedMethod
from subscriptions.payments.vipps_recurring import VippsRecurringProvider
from tests.fakes.vipps import FakeVipps

SETUP = "5c1f0a9e-7d4b-4a3e-8f21-6b9c0d2e4a17"
ORDER = "7b0c5a7e-3f2d-4c1e-9a51-2f8d6e4b1c90"


def agreement(provider: VippsRecurringProvider) -> str:
    created = provider.create_card_setup(
        reference=SETUP,
        customer_reference="user-1",
        customer_email="kari@example.test",
        idempotency_key=f"setup-{SETUP}",
        return_url=f"https://portal.example.no/auto-renew/{SETUP}/return/",
        language="nb",
        product_name="Fjord 10 GB",
        amount_ore=199_00,
        period="quarter",
        customer_phone="+4791234567",
    )
    assert created.redirect_url.startswith("https://pay.vipps.test/agr/")
    return created.payment_id


def test_an_agreement_is_made_for_the_plans_price_and_period(vipps_api: FakeVipps) -> None:
    agreement_id = agreement(VippsRecurringProvider())

    body = vipps_api.agreements[agreement_id]["body"]
    assert body["pricing"] == {"type": "VARIABLE", "suggestedMaxAmount": 199_00, "currency": "NOK"}
    assert body["interval"] == {"unit": "MONTH", "count": 3}
    assert body["phoneNumber"] == "4791234567"
    assert vipps_api.requests[-1].headers["Idempotency-Key"] == f"setup-{SETUP}"


@pytest.mark.parametrize(
    ("status", "state"),
    [("PENDING", PaymentState.PENDING), ("ACTIVE", PaymentState.PAID), ("STOPPED", PaymentState.CANCELLED)],
)
def test_an_agreement_stands_for_a_saved_method_once_active(vipps_api: FakeVipps, status: str, state: str) -> None:
    provider = VippsRecurringProvider()
    agreement_id = agreement(provider)
    vipps_api.agreements[agreement_id]["status"] = status

    result = provider.fetch_card_setup(setup_id=agreement_id)

    assert result.state == state
    assert (result.method is not None) == (status == "ACTIVE")


def test_a_charge_is_due_later_and_pending_until_vipps_takes_it(vipps_api: FakeVipps) -> None:
    provider = VippsRecurringProvider()
    agreement_id = agreement(provider)
    vipps_api.agreements[agreement_id]["status"] = "ACTIVE"
    method = SavedMethod(method_id=agreement_id, brand="vipps")

    first = provider.charge_saved_card(
        method=method, reference=ORDER, amount_ore=199_00, description="Fjord 10 GB", idempotency_key="order-1"
    )
    again = provider.charge_saved_card(
        method=method, reference=ORDER, amount_ore=199_00, description="Fjord 10 GB", idempotency_key="order-1"
    )

    assert first.state == again.state == PaymentState.PENDING
    assert first.payment_id == again.payment_id == f"{agreement_id}/chr_1"
    [charge] = vipps_api.agreements[agreement_id]["charges"].values()
    assert (charge["transactionType"], charge["amount"], charge["orderId"]) == ("DIRECT_CAPTURE", 199_00, ORDER)
    assert charge["due"] > "2026-01-01"

    charge["status"] = "CHARGED"
    assert provider.fetch_status(payment_id=first.payment_id).state == PaymentState.PAID
    charge["status"] = "FAILED"
    failed = provider.fetch_status(payment_id=first.payment_id)
    assert (failed.state, failed.reason) == (PaymentState.DECLINED, "vipps_charge_failed")


def test_a_charge_on_an_agreement_not_active_is_refused(vipps_api: FakeVipps) -> None:
    provider = VippsRecurringProvider()
    agreement_id = agreement(provider)

    with pytest.raises(PaymentProviderError):
        provider.charge_saved_card(
            method=SavedMethod(method_id=agreement_id),
            reference=ORDER,
            amount_ore=199_00,
            description="x",
            idempotency_key="k",
        )


def test_stopping_an_agreement(vipps_api: FakeVipps) -> None:
    provider = VippsRecurringProvider()
    agreement_id = agreement(provider)

    provider.agreement_stop(agreement_id=agreement_id, idempotency_key="stop-1")

    assert vipps_api.agreements[agreement_id]["status"] == "STOPPED"
