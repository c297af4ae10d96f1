"""The renewal, top-up, result and receipt pages, the provider's callback
endpoint and the sandbox's hosted page, as a customer (or a provider) meets
them: only their own orders, bad input answered on the page, nothing twice."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone, translation

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import SIGNATURE_HEADER, sandbox_callback, sandbox_decide, sign
from subscriptions.formatting import format_nok
from subscriptions.models import (
    CardSetup,
    LedgerKind,
    LineStatus,
    Order,
    OrderStatus,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Plan,
    Receipt,
    SavedCard,
    SetupStatus,
)
from subscriptions.payments import PaymentUpdate
from subscriptions.payments.sandbox import SandboxProvider
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.reconcile import order_abandon
from subscriptions.services.settlement import payment_update_apply
from tests.factories import LedgerEntryFactory, NumberKeepingPlanFactory, PlanFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nb", "zh-hans"]
CALLBACK = "/payments/callback/sandbox/"


def checkout_url(line, plan):
    return f"/lines/{line.pk}/renew/{plan.code}/"


def checkout_form(**changes):
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": "card",
        "idempotency_key": "form-key-1",
    }
    form.update(changes)
    return form


def pay_by_card(client, line, plan, **changes):
    response = client.post(checkout_url(line, plan), checkout_form(**changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Order.objects.get(idempotency_key=changes.get("idempotency_key", "form-key-1")), response


def deliver_callback(client, order):
    body, headers = sandbox_callback(SandboxPayment.objects.get(payment_id=order.provider_payment_id))
    return client.post(
        CALLBACK,
        data=body,
        content_type="application/json",
        headers={"Sandbox-Signature": headers["Sandbox-Signature"]},
    )


# --- the catalogue and choosing a plan ------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_shows_every_plan_with_its_price_and_vat_to_anyone(client, plan, language):
    NumberKeepingPlanFactory(code="keep-quarter")
    client.cookies["portal_language"] = language

    html = client.get("/plans/").content.decode()

    expected = {"en": plan.name_en, "nb": plan.name_nb, "zh-hans": plan.name_zh_hans}[language]
    assert expected in html
    assert 'data-plan="fjord-month"' in html
    assert 'data-plan="keep-quarter"' in html


def test_the_renew_page_offers_only_plans_for_the_lines_kind(signed_in, line, plan):
    PlanFactory(code="retired", is_active=False)
    NumberKeepingPlanFactory(code="keep-quarter")

    html = signed_in.get(f"/lines/{line.pk}/renew/").content.decode()

    assert re.findall(r'data-plan="([\w-]+)"', html) == ["fjord-month"]
    assert f'href="/lines/{line.pk}/renew/fjord-month/"' in html


def test_the_checkout_is_pre_filled_from_the_profile_with_a_fresh_key(signed_in, line, plan):
    html = signed_in.get(checkout_url(line, plan)).content.decode()

    assert 'value="Kari Nordmann"' in html
    assert 'value="Storgata 5"' in html
    keys = re.findall(r'name="idempotency_key" value="(\w+)"', html)
    assert len(keys) == 1
    assert keys != re.findall(
        r'name="idempotency_key" value="(\w+)"', signed_in.get(checkout_url(line, plan)).content.decode()
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_checkout_page_speaks_the_customers_language(signed_in, customer, line, plan, language):
    customer.language = language
    customer.save()

    html = signed_in.get(checkout_url(line, plan)).content.decode()

    expected = {"en": "Pay with", "nb": "Betal med", "zh-hans": "支付方式"}[language]
    assert expected in html


def test_a_plan_of_another_kind_or_not_on_sale_is_not_found(signed_in, line):
    assert signed_in.get(checkout_url(line, NumberKeepingPlanFactory(code="keep"))).status_code == 404
    assert signed_in.get(checkout_url(line, PlanFactory(code="retired", is_active=False))).status_code == 404


# --- paying by card ---------------------------------------------------------------------------------


def test_paying_by_card_sends_the_browser_to_the_providers_page(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)

    assert response["Location"] == f"http://testserver/sandbox-pay/{order.provider_payment_id}/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Sandpay" in page
    assert "Fjord 10 GB" in page


def test_a_double_submit_reuses_the_order_and_its_payment_page(signed_in, line, plan):
    _, first = pay_by_card(signed_in, line, plan)
    _, second = pay_by_card(signed_in, line, plan)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert SandboxPayment.objects.count() == 1


def test_approved_on_the_sandbox_then_back_shows_paid_with_the_new_expiry(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)

    back = signed_in.post(response["Location"], {"outcome": "approve"})
    assert back["Location"] == f"http://testserver/orders/{order.public_id}/return/"
    result = signed_in.get(back["Location"], follow=True)

    line.refresh_from_db()
    html = result.content.decode()
    assert 'data-status="paid"' in html
    assert f'datetime="{timezone.localtime(line.expires_at).isoformat()}"' in html
    receipt = Receipt.objects.get(order=order)
    assert f'href="/receipts/{receipt.pk}/pdf/"' in html


def test_a_declined_card_shows_the_reason_and_charges_nothing(signed_in, line, plan):
    before = line.expires_at
    order, response = pay_by_card(signed_in, line, plan)

    signed_in.post(response["Location"], {"outcome": "insufficient_funds"})
    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    line.refresh_from_db()
    assert 'data-status="declined"' in html
    assert "There is not enough money on the card" in html
    assert "Nothing was charged." in html
    assert line.expires_at == before
    assert not Receipt.objects.exists()


@pytest.mark.parametrize(
    ("code", "language", "expected"),
    [
        ("do_not_honor", "en", "Your bank declined the payment without giving a reason."),
        ("do_not_honor", "nb", "Banken din avviste betalingen uten å oppgi noen grunn."),
        ("authentication_required", "en", "Your bank wanted you to confirm the payment"),
        ("authentication_required", "zh-hans", "您的银行要求您确认这笔付款"),
        ("incorrect_cvc", "en", "The security code (CVC) was wrong."),
        ("incorrect_cvc", "nb", "Sikkerhetskoden (CVC) var feil."),
        ("expired_card", "zh-hans", "此卡已过期"),
        ("card_declined", "nb", "Banken din avviste kortet"),
        ("generic_decline", "en", "Your bank declined the card."),
        ("insufficient_funds", "zh-hans", "卡内资金不足"),
        ("card_velocity_exceeded", "en", "The card has reached its spending limit."),
    ],
)
def test_a_card_declined_by_the_bank_says_why_in_the_customers_language(
    signed_in, customer, line, plan, code, language, expected
):
    customer.language = language
    customer.save()
    order, _ = pay_by_card(signed_in, line, plan)
    declined = PaymentUpdate(
        event_id="evt_declined",
        payment_id=order.provider_payment_id,
        reference=str(order.public_id),
        state=PaymentState.DECLINED,
        reason=code,
    )
    payment_update_apply(provider="sandbox", update=declined)

    html = signed_in.get(f"/orders/{order.public_id}/").content.decode()

    assert 'data-status="declined"' in html
    assert expected in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The prepaid balance does not cover the price."),
        ("nb", "Den forhåndsbetalte saldoen dekker ikke prisen."),
        ("zh-hans", "预付余额不足以支付此费用"),
    ],
)
def test_a_balance_spent_before_the_renewal_says_so(signed_in, customer, line, plan, language, expected):
    customer.language = language
    customer.save()
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=50_00)
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.BALANCE)
    order = order_place(
        owner=customer, request=request, billing=Billing(name="Kari"), idempotency_key="k", site_url="http://testserver"
    )

    html = signed_in.get(f"/orders/{order.public_id}/").content.decode()

    assert 'data-status="declined"' in html
    assert expected in html
    assert ledger_balance(line=line) == 50_00


# --- the result page: what is paid, and how it went -------------------------------------------------

PLAN_NAMES = {"en": "Fjord 10 GB", "nb": "Fjord 10 GB måned", "zh-hans": "峡湾 10 GB 月套餐"}


def shown(html, css_class):
    """The text of the element with this class (the first one), or None."""
    match = re.search(rf'class="[^"]*\b{css_class}\b[^"]*"[^>]*>([^<]*)<', html)
    return match.group(1).strip() if match else None


def current_step(html):
    """The step the indicator marks as current, as it reads."""
    match = re.search(r'<li [^>]*aria-current="step"[^>]*>(.*?)</li>', html, re.S)
    assert match, "no current step"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def nok_in(language, ore):
    with translation.override(language):
        return format_nok(ore)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("outcome", "status"),
    [("never_answer", "pending"), ("approve", "paid"), ("insufficient_funds", "declined"), ("cancel", "abandoned")],
)
def test_every_result_page_says_which_plan_for_which_line_and_how_much(
    signed_in, customer, line, plan, language, outcome, status
):
    customer.language = language
    customer.save()
    Plan.objects.filter(pk=plan.pk).update(name_nb=PLAN_NAMES["nb"], name_zh_hans=PLAN_NAMES["zh-hans"])
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": outcome})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert f'data-status="{status}"' in html
    assert shown(html, "order-item") == PLAN_NAMES[language]
    assert shown(html, "order-line") == "+47\xa0912\xa034\xa0567"
    assert shown(html, "order-amount") == nok_in(language, 199_00)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_top_up_result_page_says_it_is_a_top_up_of_that_line_and_how_much(signed_in, customer, line, language):
    customer.language = language
    customer.save()
    response = signed_in.post(f"/lines/{line.pk}/top-up/", {**checkout_form(), "amount": "150,50"})
    order = Order.objects.get()
    signed_in.post(response["Location"], {"outcome": "never_answer"})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    with translation.override(language):
        assert shown(html, "order-item") == translation.gettext("Top-up of the prepaid balance")
    assert shown(html, "order-line") == "+47\xa0912\xa034\xa0567"
    assert shown(html, "order-amount") == nok_in(language, 150_50)


def test_a_pending_payment_page_asks_by_its_script_and_offers_a_link_to_check_again(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "never_answer"})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert 'data-status="pending"' in html
    assert 'http-equiv="refresh"' not in html
    assert '<script src="/static/js/order-status.js" defer></script>' in html
    assert f'data-status-url="/orders/{order.public_id}/status/"' in html
    assert re.search(r'<p [^>]*id="order-announcement"[^>]*aria-live="polite"', html)
    assert f'class="btn btn-outline-primary check-again" href="/orders/{order.public_id}/return/"' in html
    assert current_step(html) == "2. Name and payment"


def test_a_settled_payment_page_loads_no_status_script(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "approve"})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert 'data-status="paid"' in html
    assert "order-status.js" not in html
    assert "data-status-url" not in html
    assert current_step(html) == "3. Done"


def test_check_again_shows_a_payment_the_provider_has_since_settled(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "never_answer"})
    SandboxPayment.objects.filter(payment_id=order.provider_payment_id).update(state=PaymentState.PAID)

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert 'data-status="paid"' in html


@pytest.mark.parametrize(
    ("outcome", "reason"), [("insufficient_funds", "There is not enough money"), ("cancel", "cancel link")]
)
def test_a_declined_or_cancelled_payment_ends_in_not_paid_not_in_done(signed_in, line, plan, outcome, reason):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": outcome})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert current_step(html) == "3. Not paid"
    assert "3. Done" not in html
    assert reason in shown(html, "order-reason")
    assert f'class="btn btn-primary try-again" href="/lines/{line.pk}/renew/fjord-month/"' in html


def test_a_payment_abandoned_for_time_says_it_was_not_finished_in_time(signed_in, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    assert order_abandon(order=order)

    html = signed_in.get(f"/orders/{order.public_id}/").content.decode()

    assert 'data-status="abandoned"' in html
    assert (
        shown(html, "order-reason")
        == "The payment was not finished in time, so the order is closed. Nothing was charged."
    )
    assert current_step(html) == "3. Not paid"


def test_try_again_for_a_plan_no_longer_on_sale_goes_to_the_plans(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "insufficient_funds"})
    Plan.objects.filter(pk=plan.pk).update(is_active=False)

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert f'class="btn btn-primary try-again" href="/lines/{line.pk}/renew/"' in html


# --- the status the result page's script asks for ------------------------------------------------------


def test_the_status_endpoint_tells_the_owner_how_the_order_stands_and_is_never_cached(signed_in, client, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "never_answer"})

    pending = signed_in.get(f"/orders/{order.public_id}/status/")
    assert pending.status_code == 200
    assert pending.json() == {"status": "pending"}
    assert "no-store" in pending["Cache-Control"]

    SandboxPayment.objects.filter(payment_id=order.provider_payment_id).update(state=PaymentState.PAID)
    assert deliver_callback(client, order).status_code == 200
    assert signed_in.get(f"/orders/{order.public_id}/status/").json() == {"status": "paid"}


def test_the_status_endpoint_is_not_found_for_another_customer_or_an_unknown_order(
    signed_in, stranger_client, line, plan
):
    order, _ = pay_by_card(signed_in, line, plan)

    assert stranger_client.get(f"/orders/{order.public_id}/status/").status_code == 404
    assert signed_in.get("/orders/00000000-0000-0000-0000-000000000000/status/").status_code == 404


def test_the_status_endpoint_sends_a_signed_out_visitor_to_sign_in(signed_in, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    anonymous = Client()

    response = anonymous.get(f"/orders/{order.public_id}/status/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_abandoned_payment_says_so(signed_in, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "cancel"})

    html = signed_in.get(f"/orders/{order.public_id}/return/", follow=True).content.decode()

    assert 'data-status="abandoned"' in html
    assert "Nothing was charged." in html


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"full_name": "  "}, "This field is required."),
        ({"postal_code": "12"}, "A Norwegian postal code has four digits"),
        ({"method": "cash"}, "Select a valid choice."),
        ({"method": "balance"}, "The prepaid balance does not cover the price."),
        ({"idempotency_key": ""}, "This checkout form has expired."),
        ({"idempotency_key": "k" * 65}, "This checkout form has expired."),
    ],
)
def test_bad_checkout_input_is_answered_on_the_page(signed_in, line, plan, changes, error):
    response = signed_in.post(checkout_url(line, plan), checkout_form(**changes))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("url", ["renew", "top-up"])
def test_a_tampered_checkout_key_is_refused_once_with_a_message_and_a_fresh_key(signed_in, line, plan, url):
    page = checkout_url(line, plan) if url == "renew" else f"/lines/{line.pk}/top-up/"
    form = checkout_form(idempotency_key="x" * 65, amount="100")

    refused = signed_in.post(page, form)

    html = refused.content.decode()
    assert "This checkout form has expired. Please check it and send it again." in html
    [fresh] = re.findall(r'name="idempotency_key" value="(\w+)"', html)
    assert fresh != form["idempotency_key"]
    assert not Order.objects.exists()
    sent_again = signed_in.post(page, form | {"idempotency_key": fresh})
    assert sent_again.status_code == 302
    assert Order.objects.get().idempotency_key == fresh


def test_a_renewal_paid_from_the_balance_is_done_at_once(signed_in, line, plan):
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=200_00)

    response = signed_in.post(checkout_url(line, plan), checkout_form(method="balance"), follow=True)

    assert 'data-status="paid"' in response.content.decode()
    assert ledger_balance(line=line) == 1_00
    assert Order.objects.get().method == PaymentMethod.BALANCE


def test_a_renewal_paid_from_the_balance_and_sent_again_shows_the_same_order(signed_in, line, plan):
    LedgerEntryFactory(line=line, kind=LedgerKind.TOPUP, amount_ore=199_00)

    first = signed_in.post(checkout_url(line, plan), checkout_form(method="balance"))
    again = signed_in.post(checkout_url(line, plan), checkout_form(method="balance"))

    order = Order.objects.get()
    assert first["Location"] == again["Location"] == f"/orders/{order.public_id}/"
    assert ledger_balance(line=line) == 0


def test_a_cancelled_line_cannot_be_renewed(signed_in, line, plan):
    line.status = LineStatus.CANCELLED
    line.status_changed_at = past_the_grace_period()
    line.save()

    response = signed_in.post(checkout_url(line, plan), checkout_form())

    assert "cannot be renewed" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "This line is not ready yet: it can be renewed once its eSIM is ready to install."),
        ("nb", "Denne linjen er ikke klar ennå: den kan fornyes når eSIM-en er klar til å installeres."),
        ("zh-hans", "此号码尚未就绪：待其 eSIM 可以安装后即可续费。"),
    ],
)
def test_a_new_line_waiting_for_its_esim_cannot_be_renewed(signed_in, customer, line, plan, language, expected):
    customer.language = language
    customer.save()
    line.status = LineStatus.PENDING
    line.save()

    response = signed_in.post(checkout_url(line, plan), checkout_form())

    assert expected in response.content.decode()
    assert not Order.objects.exists()
    line.refresh_from_db()
    assert line.status == LineStatus.PENDING


# --- top-ups ----------------------------------------------------------------------------------------


def test_a_top_up_goes_to_the_providers_page_for_the_amount_typed(signed_in, line):
    response = signed_in.post(f"/lines/{line.pk}/top-up/", {**checkout_form(), "amount": "150,50"})

    order = Order.objects.get()
    assert (order.kind, order.amount_ore) == ("topup", 150_50)
    assert response["Location"].endswith(f"/sandbox-pay/{order.provider_payment_id}/")


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("10", "Top up between NOK\xa050.00 and NOK\xa02,000.00."),
        ("abc", "Enter an amount in kroner, for example 50 or 49.90."),
    ],
)
def test_a_top_up_amount_out_of_bounds_is_answered_on_the_page(signed_in, line, amount, error):
    response = signed_in.post(f"/lines/{line.pk}/top-up/", {**checkout_form(), "amount": amount})

    assert error in response.content.decode()
    assert not Order.objects.exists()


# --- one customer's things are not another's ---------------------------------------------------------


def test_another_customer_cannot_renew_or_top_up_the_line(stranger_client, line, plan):
    assert stranger_client.get(f"/lines/{line.pk}/renew/").status_code == 404
    assert stranger_client.get(checkout_url(line, plan)).status_code == 404
    assert stranger_client.post(checkout_url(line, plan), checkout_form()).status_code == 404
    assert stranger_client.post(f"/lines/{line.pk}/top-up/", {**checkout_form(), "amount": "100"}).status_code == 404
    assert not Order.objects.exists()


def test_another_customer_cannot_see_or_return_to_an_order(signed_in, stranger_client, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    assert stranger_client.get(f"/orders/{order.public_id}/").status_code == 404
    assert stranger_client.get(f"/orders/{order.public_id}/return/").status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING  # the stranger's return did not even ask


def test_another_customer_cannot_see_or_download_a_receipt(signed_in, stranger_client, line, plan):
    order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": "approve"})
    signed_in.get(f"/orders/{order.public_id}/return/")
    receipt = Receipt.objects.get()

    assert stranger_client.get(f"/receipts/{receipt.pk}/pdf/").status_code == 404
    assert receipt.number not in stranger_client.get("/receipts/").content.decode()
    own = signed_in.get(f"/receipts/{receipt.pk}/pdf/")
    assert own["Content-Type"] == "application/pdf"
    assert own.content.startswith(b"%PDF")
    assert receipt.number in signed_in.get("/receipts/").content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client, line, plan):
    for url in (f"/lines/{line.pk}/renew/", checkout_url(line, plan), "/receipts/", f"/lines/{line.pk}/top-up/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")


# --- the provider's callback --------------------------------------------------------------------------


def test_a_signed_callback_settles_the_order_once(signed_in, client, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)

    first = deliver_callback(client, order)
    second = deliver_callback(client, order)

    order.refresh_from_db()
    assert (first.status_code, second.status_code) == (200, 200)
    assert order.status == OrderStatus.PAID
    assert PaymentEvent.objects.count() == 1
    assert Receipt.objects.count() == 1


def test_a_callback_with_a_bad_signature_is_refused(signed_in, client, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    body, _headers = sandbox_callback(SandboxPayment.objects.get())

    forged = client.post(
        CALLBACK, data=body, content_type="application/json", headers={"Sandbox-Signature": "t=1,v1=00"}
    )
    unsigned = client.post(CALLBACK, data=body, content_type="application/json")

    order.refresh_from_db()
    assert (forged.status_code, unsigned.status_code) == (400, 400)
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize("body", [b'{"id": "evt_1", "data": "oops"}', b'["evt_1"]', b'{"id": "evt_1", "data": [1]}'])
def test_a_signed_callback_that_is_not_an_event_object_is_refused(client, settings, body):
    signature = sign(body, timestamp=int(time.time()), secret=settings.SANDBOX_PAY_SECRET)

    response = client.post(CALLBACK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signature})

    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


def signed_callback(client, body, *, timestamp=None):
    """Post ``body`` signed with the sandbox's secret, as the sandbox would."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = sign(body, timestamp=stamp, secret=django_settings.SANDBOX_PAY_SECRET)
    return client.post(CALLBACK, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signature})


# Each a change to the genuine callback's JSON text that no sandbox sends.
ABSURD_CALLBACKS = {
    "an amount too large for a float": ('"amount_ore": 19900', '"amount_ore": 1e400'),
    "an amount too large for the database": ('"amount_ore": 19900', '"amount_ore": 99999999999999999999999'),
    "a negative amount": ('"amount_ore": 19900', '"amount_ore": -19900'),
    "an amount with a fraction": ('"amount_ore": 19900', '"amount_ore": 19900.5'),
    "an amount that is a boolean": ('"amount_ore": 19900', '"amount_ore": true'),
    "an amount that is a string": ('"amount_ore": 19900', '"amount_ore": "19900"'),
    "no amount": ('"amount_ore": 19900', '"amount_ore": null'),
    "an amount that is not a number": ('"amount_ore": 19900', '"amount_ore": NaN'),
    "an event id with a NUL": ('"id": "evt_', '"id": "\\u0000evt_'),
    "an event id of 300 characters": ('"id": "evt_', '"id": "' + "x" * 300),
    "an event id that is a number": ('"id": "evt_', '"id": 12, "was": "'),
    "a payment id that is a list": ('"payment_id": "', '"payment_id": ["x"], "was": "'),
    "a reference with a NUL": ('"reference": "', '"reference": "\\u0000'),
    "a reason of 300 characters": ('"reason": ""', '"reason": "' + "x" * 300 + '"'),
    "a reason with a control character": ('"reason": ""', '"reason": "card\\u001bdeclined"'),
    "a NUL in a field we do not read": ('"type": "payment.updated"', '"type": "payment.\\u0000updated"'),
    "a lone surrogate in a field we do not read": ('"type": "payment.updated"', '"type": "\\ud800"'),
    "an infinite number in a field we do not read": ('"created": ', '"extra": -1e400, "created": '),
    "a field nested past what the parser goes": (
        '"type": ',
        '"extra": ' + "[" * 100_000 + "]" * 100_000 + ', "type": ',
    ),
}


@pytest.mark.parametrize("change", ABSURD_CALLBACKS.values(), ids=ABSURD_CALLBACKS.keys())
def test_a_signed_callback_with_an_absurd_field_is_refused_and_credits_nothing(signed_in, client, line, plan, change):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    genuine, _headers = sandbox_callback(SandboxPayment.objects.get())
    old, new = change
    assert old.encode() in genuine

    refused = signed_callback(client, genuine.replace(old.encode(), new.encode(), 1))
    taken = signed_callback(client, genuine)

    order.refresh_from_db()
    assert (refused.status_code, taken.status_code) == (400, 200)
    assert order.status == OrderStatus.PAID
    assert PaymentEvent.objects.get().payload == json.loads(genuine)


def test_a_callback_signed_at_an_absurd_time_is_refused(signed_in, client, line, plan):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    body, _headers = sandbox_callback(SandboxPayment.objects.get())

    response = signed_callback(client, body, timestamp=10**400)

    order.refresh_from_db()
    assert response.status_code == 400
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()


@pytest.mark.parametrize("signature", ["t=1,v1=éé", "t=1,v1=签名", "t=١,v1=00"])
def test_a_callback_whose_signature_is_not_ascii_is_refused(signed_in, client, line, plan, signature):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    body, _headers = sandbox_callback(SandboxPayment.objects.get())

    response = client.post(
        CALLBACK, data=body, content_type="application/json", headers={"Sandbox-Signature": signature}
    )

    order.refresh_from_db()
    assert response.status_code == 400
    assert order.status == OrderStatus.PENDING
    assert not PaymentEvent.objects.exists()


def test_a_stale_callback_is_refused(signed_in, client, line, plan, settings):
    order, _ = pay_by_card(signed_in, line, plan)
    sandbox_decide(payment_id=order.provider_payment_id, outcome=SandboxOutcome.APPROVE)
    settings.PAYMENT_CALLBACK_TOLERANCE_SECONDS = -1

    assert deliver_callback(client, order).status_code == 400


def test_an_unknown_provider_is_not_found(client):
    assert client.post("/payments/callback/nobody/", data=b"{}", content_type="application/json").status_code == 404


def test_the_sandbox_page_of_an_unknown_payment_is_not_found(client):
    assert client.get("/sandbox-pay/sbx_nothing/").status_code == 404


@pytest.mark.parametrize(
    ("language", "outcome", "label"),
    [
        ("zh-hans", "approve", "批准"),
        ("zh-hans", "insufficient_funds", "资金不足"),
        ("nb", "decline", "Avvis"),
        ("nb", "never_answer", "Svar aldri"),
        ("nb", "cancel", "Avbryt"),
    ],
)
def test_the_sandbox_page_names_the_answer_in_the_customers_language(
    signed_in, customer, line, plan, language, outcome, label
):
    customer.language = language
    customer.save()
    _order, response = pay_by_card(signed_in, line, plan)
    signed_in.post(response["Location"], {"outcome": outcome})

    html = signed_in.get(response["Location"]).content.decode()

    assert f"<strong>{label}</strong>" in html


def test_the_sandbox_answers_a_payment_once(signed_in, line, plan):
    _order, response = pay_by_card(signed_in, line, plan)

    signed_in.post(response["Location"], {"outcome": "decline"})
    signed_in.post(response["Location"], {"outcome": "approve"})

    payment = SandboxPayment.objects.get()
    assert (payment.outcome, payment.state) == ("decline", "declined")
    assert "already answered" in signed_in.get(response["Location"]).content.decode()


def test_the_sandbox_replays_no_callback_for_a_saved_card(client, customer):
    setup = SandboxProvider().create_card_setup(
        reference="3e8f1c2a-6b4d-4f0e-8a7c-5d9b2e1f0a63",
        customer_reference=f"user-{customer.pk}",
        customer_email=customer.email,
        idempotency_key="setup-1",
        return_url="http://testserver/lines/auto-renew/3e8f1c2a-6b4d-4f0e-8a7c-5d9b2e1f0a63/return/",
        language="en",
    )
    sandbox_decide(payment_id=setup.payment_id, outcome=SandboxOutcome.SAVE_CARD)

    response = client.post(f"/sandbox-pay/{setup.payment_id}/replay/")

    assert response.status_code == 404
    assert SandboxPayment.objects.get().callbacks_sent == 0
    assert 'id="sandpay-replay"' not in client.get(f"/sandbox-pay/{setup.payment_id}/").content.decode()


def test_a_card_saved_on_the_sandbox_page_turns_auto_renew_on_by_its_callback_alone(
    signed_in, client, line, plan, django_capture_on_commit_callbacks
):
    sent = signed_in.post(f"/lines/{line.pk}/auto-renew/", {"plan": plan.pk, "card": ""})
    setup = CardSetup.objects.get()
    payment = SandboxPayment.objects.get(payment_id=setup.setup_id)
    assert payment.notify_url == f"http://testserver{CALLBACK}"

    with django_capture_on_commit_callbacks() as queued:
        Client().post(sent["Location"], {"outcome": "save_card"})
    assert len(queued) == 1  # the sandbox's callback task
    body, headers = sandbox_callback(SandboxPayment.objects.get(pk=payment.pk))
    first = client.post(CALLBACK, data=body, content_type="application/json", headers=headers)
    again = client.post(CALLBACK, data=body, content_type="application/json", headers=headers)

    setup.refresh_from_db()
    line.refresh_from_db()
    assert (first.status_code, again.status_code) == (200, 200)
    assert setup.status == SetupStatus.SAVED
    assert line.auto_renew
    back = signed_in.get(f"/lines/auto-renew/{setup.public_id}/return/", follow=True).content.decode()
    assert "Your card is saved and auto-renew is on: " in back
    assert SavedCard.objects.count() == 1


def test_a_card_not_saved_on_the_sandbox_page_is_told_by_its_callback(signed_in, client, line, plan):
    sent = signed_in.post(f"/lines/{line.pk}/auto-renew/", {"plan": plan.pk, "card": ""})
    Client().post(sent["Location"], {"outcome": "cancel"})
    setup = CardSetup.objects.get()
    body, headers = sandbox_callback(SandboxPayment.objects.get(payment_id=setup.setup_id))

    response = client.post(CALLBACK, data=body, content_type="application/json", headers=headers)

    setup.refresh_from_db()
    line.refresh_from_db()
    assert response.status_code == 200
    assert setup.status == SetupStatus.FAILED
    assert not line.auto_renew


def past_the_grace_period():
    """A cancelled line comes back by a renewal within its grace period
    (tests/subscriptions/services/test_cancellations.py); these tests are
    about one cancelled longer ago."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    return timezone.now() - timedelta(days=settings.CANCELLATION_GRACE_DAYS + 1)
