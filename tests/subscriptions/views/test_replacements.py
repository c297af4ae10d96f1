"""The replacement pages and the SIM Swap API: another customer's ids give
404, bad input a translated error, and the API answers as CAMARA's does."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import ReplacementRequest, ReplacementStatus
from subscriptions.services.replacements import replacement_request, replacement_stop_token
from subscriptions.services.simswap import sim_swap_client_create

pytestmark = pytest.mark.django_db


def reauthenticated(client, user):
    """The session of a customer who just entered their password again
    (allauth's reauthentication record), as the code steps require."""
    from allauth.account.internal.flows import login

    session = client.session
    session[login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "reauthenticated": True}
    ]
    session[login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def replacement(line, customer):
    return replacement_request(line=line, by=customer, reason="new_phone", idempotency_key="k")


def test_the_line_page_links_to_a_new_esim_and_says_no_sim_change_yet(signed_in, line):
    page = signed_in.get(f"/lines/{line.pk}/").content.decode()

    assert f"/lines/{line.pk}/replacement/" in page
    assert "No SIM change for this number through us." in page


def test_choosing_a_reason_makes_the_request_and_shows_its_status_page(signed_in, line):
    response = signed_in.post(f"/lines/{line.pk}/replacement/", {"reason": "new_phone", "idempotency_key": "abc"})

    replacement = ReplacementRequest.objects.get()
    assert response["Location"] == f"/replacements/{replacement.public_id}/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Email me a code" in page
    assert signed_in.get("/dashboard/").content.decode().count(str(replacement.public_id)) == 1


def test_no_reason_chosen_is_a_translated_error_in_chinese(signed_in, customer, line):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    signed_in.cookies["portal_language"] = "zh-hans"
    response = signed_in.post(f"/lines/{line.pk}/replacement/", {"idempotency_key": "abc"})

    assert response.status_code == 200
    assert "请选择您需要新 eSIM 的原因。" in response.content.decode()
    assert not ReplacementRequest.objects.exists()


def test_asking_for_a_code_needs_a_fresh_sign_in_first(signed_in, replacement):
    response = signed_in.post(f"/replacements/{replacement.public_id}/code/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")


def test_after_a_fresh_sign_in_the_code_goes_to_the_accounts_email(signed_in, customer, replacement, mailoutbox):
    reauthenticated(signed_in, customer)
    response = signed_in.post(f"/replacements/{replacement.public_id}/code/")

    assert response.status_code == 302
    replacement.refresh_from_db()
    assert replacement.code_hash


@pytest.mark.parametrize("suffix", ["", "code/", "code/check/", "pay/", "stop/"])
def test_another_customers_request_is_not_found(replacement, suffix):
    from django.test import Client

    from tests.factories import UserFactory

    stranger = UserFactory()
    client = Client()
    client.force_login(stranger)
    reauthenticated(client, stranger)
    url = f"/replacements/{replacement.public_id}/{suffix}"
    response = client.post(url) if suffix else client.get(url)

    assert response.status_code == 404


def test_another_customers_line_cannot_start_a_replacement(stranger_client, line):
    assert stranger_client.get(f"/lines/{line.pk}/replacement/").status_code == 404
    assert stranger_client.post(f"/lines/{line.pk}/replacement/", {"reason": "new_phone"}).status_code == 404


def test_the_stop_link_asks_first_and_stops_on_the_button_without_a_sign_in(client, replacement):
    url = f"/replacements/stop/{replacement_stop_token(replacement)}/"

    assert "Stop the replacement" in client.get(url).content.decode()
    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.REQUESTED
    assert client.post(url).status_code == 200
    replacement.refresh_from_db()
    assert replacement.status == ReplacementStatus.STOPPED
    assert client.post(url).status_code == 400


@pytest.mark.parametrize(
    ("language", "button", "stopped", "used"),
    [
        ("zh-hans", "停止补办", "补办已停止。当前的 eSIM 保持不变。", "此链接已被使用过。"),
        (
            "nb",
            "Stopp erstatningen",
            "Erstatningen er stoppet. Den nåværende eSIM-en forblir som den er.",
            "Denne lenken er allerede brukt.",
        ),
    ],
)
def test_the_stop_link_speaks_the_account_owners_language_not_the_browsers(
    client, customer, replacement, language, button, stopped, used
):
    customer.language = language
    customer.save(update_fields=["language"])
    url = f"/replacements/stop/{replacement_stop_token(replacement)}/"
    english_browser = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}

    asked = client.get(url, **english_browser)
    done = client.post(url, **english_browser)
    again = client.post(url, **english_browser)

    assert button in asked.content.decode()
    assert f'<html lang="{language}"' in asked.content.decode()
    assert asked["Content-Language"] == language
    assert stopped in done.content.decode()
    assert again.status_code == 400
    assert used in again.content.decode()


def test_a_forged_stop_link_answers_in_the_browsers_language(client, customer, replacement):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])

    page = client.get("/replacements/stop/forged/", HTTP_ACCEPT_LANGUAGE="nb").content.decode()

    assert "Denne lenken er ugyldig eller har utløpt." in page


def test_a_lost_phone_waiting_for_document_review_shows_the_identity_check_waiting_for_support(
    signed_in, line, customer
):
    from subscriptions.services.replacements import replacement_review_approve

    lost = replacement_request(line=line, by=customer, reason="lost_or_stolen", idempotency_key="lost")
    url = f"/replacements/{lost.public_id}/"

    waiting = signed_in.get(url).content.decode()
    replacement_review_approve(replacement=lost, by=customer)
    approved = signed_in.get(url).content.decode()

    assert re.search(
        r'data-step="identity" data-state="current"[^>]*>.*?Identity check: waiting for support review', waiting, re.S
    )
    assert "Identity checked" not in waiting
    assert re.search(r'data-step="identity" data-state="done"[^>]*>.*?Identity checked', approved, re.S)
    assert "waiting for support review" not in approved


# --- the SIM Swap API ------------------------------------------------------------------


@pytest.fixture
def bank():
    _client, token = sim_swap_client_create(name="Bank")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def api(client, path, body, headers):
    response = client.post(f"/sim-swap/v0/{path}", json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def test_the_api_refuses_a_missing_or_wrong_token(client, line):
    assert api(client, "check", {"phoneNumber": line.number}, {})[0] == 401
    status, body = api(client, "check", {"phoneNumber": line.number}, {"HTTP_AUTHORIZATION": "Bearer nope"})
    assert (status, body["code"]) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "body",
    [{}, {"phoneNumber": "91234567"}, {"phoneNumber": "+47abc"}, {"phoneNumber": "+4791234567", "maxAge": 0}],
)
def test_the_api_refuses_a_bad_body(client, bank, line, body):
    status, answer = api(client, "check", body, bank)
    assert status == 400
    assert answer["status"] == 400


def test_the_api_refuses_max_age_beyond_2400_hours(client, bank, line):
    assert api(client, "check", {"phoneNumber": line.number, "maxAge": 2401}, bank)[0] == 400
    assert api(client, "check", {"phoneNumber": line.number, "maxAge": 2400}, bank)[0] == 200


def test_the_api_does_not_know_a_number_that_is_not_ours(client, bank, line):
    status, body = api(client, "retrieve-date", {"phoneNumber": "+4799999999"}, bank)
    assert (status, body["code"]) == (404, "IDENTIFIER_NOT_FOUND")


def test_the_api_answers_no_swap_with_the_monitored_period(client, bank, line):
    assert api(client, "check", {"phoneNumber": line.number, "maxAge": 240}, bank) == (200, {"swapped": False})
    status, body = api(client, "retrieve-date", {"phoneNumber": line.number}, bank)
    assert status == 200
    assert body["latestSimChange"] is None
    assert isinstance(body["monitoredPeriod"], int)


def test_the_api_answers_a_recent_swap(client, bank, line, customer):
    swapped_at = timezone.now() - timedelta(hours=5)
    ReplacementRequest.objects.create(
        line=line,
        requested_by=customer,
        reason="new_phone",
        idempotency_key="done",
        status=ReplacementStatus.FULFILLED,
        fulfilled_at=swapped_at,
    )

    assert api(client, "check", {"phoneNumber": line.number, "maxAge": 6}, bank)[1] == {"swapped": True}
    assert api(client, "check", {"phoneNumber": line.number, "maxAge": 4}, bank)[1] == {"swapped": False}
    body = api(client, "retrieve-date", {"phoneNumber": line.number}, bank)[1]
    assert body["latestSimChange"].startswith(swapped_at.strftime("%Y-%m-%dT%H:%M"))


def test_a_paid_replacement_fee_reads_as_a_replacement_on_the_order_and_receipts_pages(signed_in, line, customer):
    from subscriptions.services.checkout import Billing, order_place, replacement_fee_request
    from tests.subscriptions.services.orders.steps import settle

    replacement = replacement_request(line=line, by=customer, reason="new_phone", idempotency_key="fee")
    ReplacementRequest.objects.filter(pk=replacement.pk).update(status=ReplacementStatus.PAYMENT_DUE, fee_ore=99_00)
    replacement.refresh_from_db()
    order = order_place(
        owner=customer,
        request=replacement_fee_request(replacement=replacement),
        billing=Billing(name="Kari Nordmann"),
        idempotency_key="fee-order",
        site_url="http://testserver",
    )
    settle(order)

    order_page = signed_in.get(f"/orders/{order.public_id}/").content.decode()
    assert "eSIM replacement" in order_page and "Top-up" not in order_page
    assert f"/replacements/{replacement.public_id}/" in order_page
    assert "eSIM replacement" in signed_in.get("/receipts/").content.decode()
