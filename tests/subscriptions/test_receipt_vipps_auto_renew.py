"""How an auto-renew charge was paid, as the receipt (PDF, its email and its
download page) and support's admin say it: a charge through a Vipps
MobilePay agreement says "Vipps MobilePay (auto-renew)", a saved card's
still "Saved card (auto-renew)", in each of the three languages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone, translation

from sandbox.models import SandboxVippsOutcome
from sandbox.vipps import agreement_decide
from subscriptions.models import Order, PaymentMethod, PlanPeriod, Receipt, payment_method_label
from subscriptions.receipt_mail import receipt_email
from subscriptions.receipt_pdf import receipt_pdf
from subscriptions.services.autorenew import (
    auto_renew_charge_run,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.subscriptions.receipts import make_receipt, pdf_text
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

VIPPS = {
    "en": "Vipps MobilePay (auto-renew)",
    "nb": "Vipps MobilePay (automatisk fornyelse)",
    "zh-hans": "Vipps MobilePay（自动续费）",
}
CARD = {
    "en": "Saved card (auto-renew)",
    "nb": "Lagret kort (automatisk fornyelse)",
    "zh-hans": "已保存的银行卡（自动续费）",
}
LANGUAGES = ["en", "nb", "zh-hans"]


def rendered(receipt: Receipt, language: str) -> str:
    with translation.override(language):
        return pdf_text(receipt_pdf(receipt))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", ["vipps_recurring", "sandbox_recurring"])
def test_a_receipt_for_a_vipps_agreements_charge_says_vipps_mobilepay_auto_renew(language: str, provider: str) -> None:
    receipt = make_receipt(method=PaymentMethod.SAVED_CARD, provider=provider)

    text = rendered(receipt, language)

    assert VIPPS[language] in text
    assert CARD[language] not in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("provider", ["stripe", "sandbox"])
def test_a_receipt_for_a_saved_cards_charge_still_says_saved_card(language: str, provider: str) -> None:
    receipt = make_receipt(method=PaymentMethod.SAVED_CARD, provider=provider)

    text = rendered(receipt, language)

    assert CARD[language] in text
    assert VIPPS[language] not in text


def test_other_methods_keep_their_own_labels_whatever_the_provider() -> None:
    assert payment_method_label(PaymentMethod.VIPPS, "vipps") == "Vipps MobilePay"
    assert payment_method_label(PaymentMethod.CARD, "stripe") == "Card"
    assert payment_method_label(PaymentMethod.BALANCE, "") == "Prepaid balance"
    assert payment_method_label(PaymentMethod.BALANCE, "vipps_recurring") == "Prepaid balance"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_receipt_of_a_charge_auto_renew_made_with_vipps_says_so_in_the_email_and_the_download(
    language: str,
) -> None:
    """The whole path: an agreement approved on the sandbox's pretend Vipps,
    the sweep's charge on it, the receipt it paid for."""
    owner = UserFactory(email="kari@example.test", language=language)
    plan = PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00)
    line = LineFactory(owner=owner, with_period=plan, with_period__days_ago=5)
    setup = auto_renew_start(
        owner=owner, line=line, plan=plan, site_url="http://testserver", method=PaymentMethod.VIPPS
    )
    agreement_decide(agreement_id=setup.setup_id, outcome=SandboxVippsOutcome.APPROVE)
    auto_renew_setup_finish(setup=setup)
    now = timezone.now()
    for charge_id in auto_renew_sweep(now=now):
        auto_renew_charge_run(charge_id=charge_id, now=now)
    receipt = Receipt.objects.get()
    assert (receipt.method, receipt.order.provider) == (PaymentMethod.SAVED_CARD, "sandbox_recurring")

    with translation.override(language):
        email = receipt_email(receipt, receipts_url="http://testserver/receipts/")
    client = Client()
    client.force_login(owner)
    download = client.get(f"/receipts/{receipt.pk}/pdf/", HTTP_ACCEPT_LANGUAGE=language)

    assert email is not None
    [(_name, attached, _type)] = email.attachments
    assert VIPPS[language] in pdf_text(attached)
    assert download.status_code == 200
    assert VIPPS[language] in pdf_text(b"".join(download))


def test_support_sees_which_auto_renew_method_paid_in_the_admin(client: Client) -> None:
    receipt = make_receipt(method=PaymentMethod.SAVED_CARD, provider="vipps_recurring")
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, staff)
    pages = (
        "/admin/subscriptions/order/",
        "/admin/subscriptions/receipt/",
        f"/admin/subscriptions/order/{receipt.order.pk}/change/",
        f"/admin/subscriptions/receipt/{receipt.pk}/change/",
    )

    def shown(page: str) -> str:
        """The page's list of results or its form (not the filters, whose
        "Saved card (auto-renew)" is the method's value, either kind)."""
        html = client.get(page).content.decode()
        if "/change/" in page:
            return html.split('id="content-main"')[1].split("</form>")[0]
        return html.split('id="result_list"')[1].split("</table>")[0]

    by_vipps = [shown(page) for page in pages]
    Order.objects.update(provider="stripe")
    by_card = [shown(page) for page in pages]

    for page in by_vipps:
        assert "Vipps MobilePay (auto-renew)" in page
        assert "Saved card (auto-renew)" not in page
    for page in by_card:
        assert "Saved card (auto-renew)" in page
        assert "Vipps MobilePay (auto-renew)" not in page
