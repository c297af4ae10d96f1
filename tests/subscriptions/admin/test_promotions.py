"""Promotion codes in the admin: a supervisor makes and changes them (the
form says what is wrong), an agent only looks, a code's text and discount
are fixed once it has been used, and the list counts the uses that hold."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from subscriptions.models import (
    DiscountKind,
    Order,
    OrderStatus,
    PaymentMethod,
    PromoAttempt,
    PromoAttemptResult,
    PromoCode,
)
from subscriptions.services.checkout import Billing, order_place, renewal_request
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

CODES = "/admin/subscriptions/promocode/"


def staff_in(client, group_name):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    staff_sign_in(client, user)
    return user


def promo(**fields: Any) -> PromoCode:
    now = timezone.now()
    values: dict[str, Any] = {
        "code": "SUMMER20",
        "kind": DiscountKind.PERCENT,
        "percent": 20,
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
    }
    values.update(fields)
    return PromoCode.objects.create(**values)


def used_by_an_order(code: PromoCode, *, status: str = OrderStatus.PENDING) -> Order:
    """A customer checks out with ``code``; the order then ends as ``status``."""
    line = LineFactory(with_period=True)
    plan = line.periods.get().plan
    request = renewal_request(line=line, plan=plan, method=PaymentMethod.CARD, promo_code=code.code)
    order = order_place(
        owner=line.owner,
        request=request,
        billing=Billing(name="Kari"),
        idempotency_key=f"key-{Order.objects.count()}",
        site_url="http://x",
    )
    Order.objects.filter(pk=order.pk).update(status=status)
    return order


def code_form(**changes: Any) -> dict[str, Any]:
    """The add form as a supervisor fills it in: 20 % off in June 2026."""
    form: dict[str, Any] = {
        "code": "summer 20",
        "kind": "percent",
        "percent": "20",
        "amount_ore": "",
        "valid_from_0": "2026-06-01",
        "valid_from_1": "00:00:00",
        "valid_until_0": "2026-07-01",
        "valid_until_1": "00:00:00",
        "max_uses": "",
        "max_uses_per_customer": "1",
        "is_active": "on",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def field_errors(html: str) -> dict[str, list[str]]:
    """The admin's errors, by the field they stand under."""
    errors: dict[str, list[str]] = {}
    for field, items in re.findall(r'<ul class="errorlist"[^>]*id="id_(\w+)_error">(.*?)</ul>', html, re.S):
        errors[field] = re.findall(r"<li>(.*?)</li>", items)
    for items in re.findall(r'<ul class="errorlist nonfield"[^>]*>(.*?)</ul>', html, re.S):
        errors.setdefault("__all__", []).extend(re.findall(r"<li>(.*?)</li>", items))
    return errors


# --- making codes ---------------------------------------------------------------------------------


def test_a_supervisor_makes_a_percent_code_stored_in_capitals(client):
    staff_in(client, "Supervisor")
    plan = PlanFactory(code="fjord-month")

    response = client.post(f"{CODES}add/", code_form(plans=[plan.pk], first_purchase_only="on", max_uses="100"))

    assert response.status_code == 302, field_errors(response.content.decode())
    code = PromoCode.objects.get()
    assert (code.code, code.kind, code.percent, code.amount_ore) == ("SUMMER20", "percent", 20, None)
    assert (code.valid_from.isoformat(), code.valid_until.isoformat()) == (
        "2026-05-31T22:00:00+00:00",  # Oslo's midnight, summer time
        "2026-06-30T22:00:00+00:00",
    )
    assert list(code.plans.all()) == [plan]
    assert (code.first_purchase_only, code.max_uses, code.max_uses_per_customer) == (True, 100, 1)


def test_a_supervisor_makes_a_fixed_code(client):
    staff_in(client, "Supervisor")

    response = client.post(f"{CODES}add/", code_form(code="FIFTY", kind="fixed", percent="", amount_ore="5000"))

    assert response.status_code == 302, field_errors(response.content.decode())
    code = PromoCode.objects.get()
    assert (code.code, code.kind, code.percent, code.amount_ore) == ("FIFTY", "fixed", None, 50_00)
    assert list(code.plans.all()) == []


def test_a_percent_left_over_from_switching_to_a_fixed_amount_is_dropped(client):
    staff_in(client, "Supervisor")

    response = client.post(f"{CODES}add/", code_form(kind="fixed", percent="20", amount_ore="5000"))

    assert response.status_code == 302, field_errors(response.content.decode())
    code = PromoCode.objects.get()
    assert (code.kind, code.percent, code.amount_ore) == ("fixed", None, 50_00)


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"percent": ""}, "percent", "Give a percentage from 1 to 100."),
        ({"percent": "0"}, "percent", "Give a percentage from 1 to 100."),
        ({"percent": "101"}, "percent", "Give a percentage from 1 to 100."),
        ({"kind": "fixed", "percent": "", "amount_ore": ""}, "amount_ore", "Give the amount in øre (50 kr is 5000)."),
        ({"kind": "fixed", "percent": "", "amount_ore": "0"}, "amount_ore", "Give the amount in øre (50 kr is 5000)."),
        ({"valid_until_0": "2026-05-01"}, "valid_until", "The end must come after the start."),
        ({"valid_until_0": "2026-06-01"}, "valid_until", "The end must come after the start."),
        ({"code": "SUMMER-20"}, "code", "Use letters and digits only."),
    ],
)
def test_a_code_that_does_not_add_up_is_refused_with_the_reason(client, changes, field, error):
    staff_in(client, "Supervisor")

    response = client.post(f"{CODES}add/", code_form(**changes))

    assert response.status_code == 200
    errors = field_errors(response.content.decode())
    assert errors.get(field) == [error], errors
    assert not PromoCode.objects.exists()


def test_a_code_typed_again_differently_is_the_same_code_and_refused(client):
    staff_in(client, "Supervisor")
    promo(code="SUMMER20")

    response = client.post(f"{CODES}add/", code_form(code="Summer 20"))

    assert response.status_code == 200
    assert "code" in field_errors(response.content.decode())
    assert PromoCode.objects.count() == 1


def test_a_supervisor_changes_an_unused_code_discount_and_all(client):
    staff_in(client, "Supervisor")
    code = promo()

    response = client.post(f"{CODES}{code.pk}/change/", code_form(code="SUMMER25", percent="25"))

    assert response.status_code == 302, field_errors(response.content.decode())
    code.refresh_from_db()
    assert (code.code, code.percent) == ("SUMMER25", 25)


# --- agents look, never touch ---------------------------------------------------------------------


def test_an_agent_cannot_add_or_change_a_code(client):
    staff_in(client, "Support agent")
    code = promo()

    assert client.get(f"{CODES}add/").status_code == 403
    assert client.post(f"{CODES}add/", code_form(code="AGENT10")).status_code == 403
    page = client.get(f"{CODES}{code.pk}/change/")
    changed = client.post(f"{CODES}{code.pk}/change/", code_form(percent="90"))

    assert page.status_code == 200  # they may look
    assert 'name="percent"' not in page.content.decode()
    assert 'name="valid_until_0"' not in page.content.decode()
    assert changed.status_code == 403
    code.refresh_from_db()
    assert code.percent == 20
    assert list(PromoCode.objects.values_list("code", flat=True)) == ["SUMMER20"]


def test_an_agent_sees_the_list_without_an_add_button(client):
    staff_in(client, "Support agent")
    promo()

    html = client.get(CODES).content.decode()

    assert "SUMMER20" in html
    assert f'href="{CODES}add/"' not in html


def test_no_one_deletes_a_code(client):
    staff_in(client, "Supervisor")
    code = promo()

    assert client.get(f"{CODES}{code.pk}/delete/").status_code == 403
    assert client.post(f"{CODES}{code.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PromoCode.objects.filter(pk=code.pk).exists()


# --- a used code ----------------------------------------------------------------------------------


def test_a_used_codes_text_and_discount_are_read_only(client):
    staff_in(client, "Supervisor")
    code = promo()
    used_by_an_order(code)

    page = client.get(f"{CODES}{code.pk}/change/").content.decode()

    for field in ("code", "kind", "percent", "amount_ore"):
        assert f'name="{field}"' not in page, field
    assert 'name="valid_until_0"' in page
    assert 'name="is_active"' in page
    assert "SUMMER20" in page


def test_a_used_code_can_still_be_extended_or_switched_off_but_not_discounted_more(client):
    staff_in(client, "Supervisor")
    code = promo()
    used_by_an_order(code)

    response = client.post(
        f"{CODES}{code.pk}/change/",
        code_form(
            code="FREE", kind="fixed", percent="100", amount_ore="19900", valid_until_0="2026-12-31", is_active=None
        ),
    )

    assert response.status_code == 302, field_errors(response.content.decode())
    code.refresh_from_db()
    assert (code.code, code.kind, code.percent, code.amount_ore) == ("SUMMER20", "percent", 20, None)
    assert code.valid_until.date().isoformat() == "2026-12-30"  # Oslo's midnight, in UTC
    assert code.is_active is False


def test_a_code_used_only_by_a_declined_order_is_still_read_only(client):
    # The declined order names the code and its discount all the same.
    staff_in(client, "Supervisor")
    code = promo()
    used_by_an_order(code, status=OrderStatus.DECLINED)

    page = client.get(f"{CODES}{code.pk}/change/").content.decode()

    assert 'name="percent"' not in page


def test_the_list_counts_the_uses_that_hold(client):
    staff_in(client, "Support agent")
    summer = promo(max_uses=10)
    fifty = promo(code="FIFTY", kind=DiscountKind.FIXED, percent=None, amount_ore=50_00)
    for status in (
        OrderStatus.PENDING,
        OrderStatus.PAID,
        OrderStatus.PAID,
        OrderStatus.DECLINED,
        OrderStatus.ABANDONED,
    ):
        used_by_an_order(summer, status=status)

    html = client.get(CODES).content.decode()

    rows = {
        code: re.search(rf"<tr>.*?>{code}</a>.*?</tr>", html, re.S).group(0)  # type: ignore[union-attr]
        for code in (summer.code, fifty.code)
    }
    assert '<td class="field-uses">3</td>' in rows["SUMMER20"]
    assert '<td class="field-max_uses">10</td>' in rows["SUMMER20"]
    assert '<td class="field-discount">20 %</td>' in rows["SUMMER20"]
    assert '<td class="field-uses">0</td>' in rows["FIFTY"]
    assert "50.00" in rows["FIFTY"]


def test_the_list_sorts_by_uses(client):
    staff_in(client, "Supervisor")
    busy = promo(code="BUSY")
    promo(code="QUIET")  # newer: first by default
    used_by_an_order(busy)
    used_by_an_order(busy)

    html = client.get(CODES, {"o": "-4"}).content.decode()  # the uses column, most first

    assert html.index(">BUSY<") < html.index(">QUIET<")


def test_an_agent_sees_refused_codes_and_cannot_change_them(client):
    customer = UserFactory(email="kari@example.com")
    PromoAttempt.objects.create(user=customer, ip_address="198.51.100.7", result=PromoAttemptResult.UNKNOWN)
    staff_in(client, "Support agent")

    listing = client.get("/admin/subscriptions/promoattempt/")

    assert listing.status_code == 200
    html = listing.content.decode()
    assert "198.51.100.7" in html
    assert "kari@example.com" in html or str(customer) in html
    assert "/admin/subscriptions/promoattempt/add/" not in html
    assert client.get("/admin/subscriptions/promoattempt/add/").status_code == 403
