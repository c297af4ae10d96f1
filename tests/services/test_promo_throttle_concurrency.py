"""Guessing promotion codes in parallel, on PostgreSQL: twenty wrong codes
applied on the checkout page at the same moment, by one customer from many
addresses, or by many customers from one address. Whichever limit they share
lets exactly as many codes be looked up as it allows; every other request is
told on the page, in the customer's language, to try again later, and the
attempts say the same. A right code sent among wrong ones under the limit is
quoted.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from portal.celery import app
from subscriptions.models import DiscountKind, Order, PromoAttempt, PromoAttemptResult, PromoCode
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

GUESSES = 20
LIMIT = 5
LANGUAGE = "nb"
IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def month() -> Any:
    return PlanFactory(code="fjord-month", name_en="Fjord 10 GB", price_ore=199_00)


def only_limit(settings: Any, scope: str) -> None:
    """``scope`` allows LIMIT unknown codes an hour; the other is out of reach."""
    settings.PROMO_FAILURES_PER_HOUR = {"user": 1000, "ip": 1000, scope: LIMIT}


def address(n: int) -> str:
    return f"198.51.100.{n + 1}"


def apply(line: Any, plan: Any, code: str, *, ip: str) -> Callable[[], Any]:
    client = signed_in_client(line.owner)
    form = {
        "full_name": "Kari Nordmann",
        "street_address": "Storgata 5",
        "postal_code": "0155",
        "city": "Oslo",
        "method": "card",
        "idempotency_key": f"form-{code}",
        "promo_code": code,
        "apply": "1",
    }
    return lambda: client.post(f"/lines/{line.pk}/renew/{plan.code}/", form, REMOTE_ADDR=ip)


def outcome(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    found = re.search(r'id="promo-errors"><div>([^<]*)</div>', html)
    if found:
        return found.group(1)
    return "quoted" if "checkout-discount" in html else "neither quoted nor refused"


def unknown() -> str:
    with translation.override(LANGUAGE):
        return gettext("We do not know this promotion code. Check it and try again.")


def try_later(minutes: int) -> str:
    with translation.override(LANGUAGE):
        return ngettext(
            "Too many wrong promotion codes. Try again in %(minutes)d minute.",
            "Too many wrong promotion codes. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}


def assert_only_the_limit_looked_up(responses: list[Any]) -> None:
    """LIMIT codes looked up and refused as unknown, the rest refused
    unlooked at; an hour from the first failure the customer may try again."""
    assert try_later(60) != "Too many wrong promotion codes. Try again in 60 minutes."
    answers = Counter(outcome(response) for response in responses)
    assert answers == {unknown(): LIMIT, try_later(60): GUESSES - LIMIT}, answers
    attempts = Counter(PromoAttempt.objects.values_list("result", flat=True))
    assert attempts == {PromoAttemptResult.UNKNOWN: LIMIT, PromoAttemptResult.THROTTLED: GUESSES - LIMIT}
    assert not Order.objects.exists()


def wrong_codes(count: int) -> list[str]:
    return [f"GUESS{n:03d}" for n in range(count)]


def test_twenty_guesses_at_once_by_one_customer_look_up_only_five(settings, month):
    only_limit(settings, "user")
    line = LineFactory(owner=UserFactory(language=LANGUAGE), with_period=month)

    responses = at_once([apply(line, month, code, ip=address(n)) for n, code in enumerate(wrong_codes(GUESSES))])

    assert_only_the_limit_looked_up(responses)
    assert set(PromoAttempt.objects.values_list("user", flat=True)) == {line.owner.pk}


def test_twenty_customers_guessing_at_once_from_one_address_look_up_only_five(settings, month):
    only_limit(settings, "ip")
    lines = [LineFactory(owner=UserFactory(language=LANGUAGE), with_period=month) for _ in range(GUESSES)]

    responses = at_once(
        [apply(line, month, code, ip=IP) for line, code in zip(lines, wrong_codes(GUESSES), strict=True)]
    )

    assert_only_the_limit_looked_up(responses)
    assert set(PromoAttempt.objects.values_list("ip_address", flat=True)) == {IP}


def test_a_right_code_sent_with_wrong_ones_under_the_limit_is_quoted(settings, month):
    only_limit(settings, "user")
    now = timezone.now()
    PromoCode.objects.create(
        code="SUMMER20",
        kind=DiscountKind.PERCENT,
        percent=20,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
    )
    line = LineFactory(owner=UserFactory(language=LANGUAGE), with_period=month)
    sent = [*wrong_codes(LIMIT - 1), "SUMMER20"]

    responses = at_once([apply(line, month, code, ip=address(n)) for n, code in enumerate(sent)])

    answers = Counter(outcome(response) for response in responses)
    assert answers == {unknown(): LIMIT - 1, "quoted": 1}, answers
    assert Counter(PromoAttempt.objects.values_list("result", flat=True)) == {PromoAttemptResult.UNKNOWN: LIMIT - 1}
