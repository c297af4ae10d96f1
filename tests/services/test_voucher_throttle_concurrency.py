"""Guessing voucher codes in parallel, on PostgreSQL: twenty wrong codes sent
from the voucher page at the same moment, by one customer over their lines,
on one line, or by many customers from one IP address. Whichever limit they
share lets exactly as many codes be checked as it allows; every other request
is told on the page, in the customer's language, to try again later, and the
attempts say the same. A good code sent among wrong ones under the limit is
credited.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from itertools import cycle, islice
from typing import Any

import pytest
from django.utils import translation
from django.utils.translation import gettext, ngettext

from portal.celery import app
from subscriptions.iccid import luhn_check_digit
from subscriptions.models import LedgerEntry, RedemptionResult, VoucherAttempt, VoucherValue
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import LineFactory, UserFactory
from tests.services.vouchers import codes, outcome

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


def only_limit(settings: Any, scope: str) -> None:
    """``scope`` allows LIMIT failures an hour; the other scopes are out of reach."""
    settings.VOUCHER_FAILURES_PER_HOUR = {"user": 1000, "ip": 1000, "line": 1000, scope: LIMIT}


def wrong_codes(count: int) -> list[str]:
    """Distinct codes with a valid check digit, none issued: each one is looked up."""
    payloads = [f"{4_000_000_000_000 + n:015d}" for n in range(count)]
    return [payload + luhn_check_digit(payload) for payload in payloads]


def address(n: int) -> str:
    return f"198.51.100.{n + 1}"


def guess(line: Any, code: str, *, ip: str) -> Callable[[], Any]:
    client = signed_in_client(line.owner)
    return lambda: client.post(f"/lines/{line.pk}/voucher/", {"code": code}, REMOTE_ADDR=ip)


def unknown() -> str:
    with translation.override(LANGUAGE):
        return gettext("We do not know this voucher code. Check the 16 digits and try again.")


def try_later(minutes: int) -> str:
    with translation.override(LANGUAGE):
        return ngettext(
            "Too many wrong voucher codes. Try again in %(minutes)d minute.",
            "Too many wrong voucher codes. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}


def assert_only_the_limit_checked(responses: list[Any]) -> None:
    """LIMIT codes looked up and refused as unknown, the rest refused
    unlooked at; an hour from the first failure (the whole burst took less
    than a minute) the customer may try again."""
    assert try_later(60) != "Too many wrong voucher codes. Try again in 60 minutes."
    answers = Counter(outcome(response) for response in responses)
    assert answers == {unknown(): LIMIT, try_later(60): GUESSES - LIMIT}, answers
    attempts = Counter(VoucherAttempt.objects.values_list("result", flat=True))
    assert attempts == {RedemptionResult.UNKNOWN: LIMIT, RedemptionResult.THROTTLED: GUESSES - LIMIT}
    assert not VoucherAttempt.objects.filter(result=RedemptionResult.THROTTLED, voucher__isnull=False).exists()


def test_twenty_guesses_at_once_by_one_customer_over_their_lines_check_only_five(settings):
    only_limit(settings, "user")
    customer = UserFactory(language=LANGUAGE)
    lines = [LineFactory(owner=customer, with_period=True) for _ in range(4)]

    responses = at_once(
        [
            guess(line, code, ip=address(n))
            for n, (line, code) in enumerate(zip(islice(cycle(lines), GUESSES), wrong_codes(GUESSES), strict=True))
        ]
    )

    assert_only_the_limit_checked(responses)


def test_twenty_guesses_at_once_on_one_line_check_only_five(settings):
    only_limit(settings, "line")
    line = LineFactory(owner=UserFactory(language=LANGUAGE), with_period=True)

    responses = at_once([guess(line, code, ip=address(n)) for n, code in enumerate(wrong_codes(GUESSES))])

    assert_only_the_limit_checked(responses)
    assert set(VoucherAttempt.objects.values_list("line", flat=True)) == {line.pk}


def test_twenty_customers_guessing_at_once_from_one_address_check_only_five(settings):
    only_limit(settings, "ip")
    lines = [LineFactory(owner=UserFactory(language=LANGUAGE), with_period=True) for _ in range(GUESSES)]

    responses = at_once([guess(line, code, ip=IP) for line, code in zip(lines, wrong_codes(GUESSES), strict=True)])

    assert_only_the_limit_checked(responses)
    assert set(VoucherAttempt.objects.values_list("ip_address", flat=True)) == {IP}


def test_a_good_code_sent_with_wrong_ones_under_the_limit_is_credited(settings):
    only_limit(settings, "user")
    line = LineFactory(owner=UserFactory(language=LANGUAGE), with_period=True)
    good = codes(VoucherValue.AMOUNT, None)[0]
    sent = [*wrong_codes(LIMIT - 1), good]

    responses = at_once([guess(line, code, ip=address(n)) for n, code in enumerate(sent)])

    answers = Counter(outcome(response) for response in responses)
    assert answers == {unknown(): LIMIT - 1, "credited": 1}, answers
    assert list(LedgerEntry.objects.values_list("line", "amount_ore")) == [(line.pk, 200_00)]
    attempts = Counter(VoucherAttempt.objects.values_list("result", flat=True))
    assert attempts == {RedemptionResult.UNKNOWN: LIMIT - 1, RedemptionResult.CREDITED: 1}
