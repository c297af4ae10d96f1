"""Vouchers under fire, on PostgreSQL: one code sent from the voucher page
many times at once, by one customer tapping again and again on one line and
by many customers each on a line of their own. The voucher's row lock and
the conditional update let exactly one request credit it: one ledger entry
or one period, one CREDITED attempt; every other request is told on the page
that the code is already used. Two plan codes redeemed on one line at once
give two periods back to back, and a batch voided while its codes are being
redeemed leaves each code either credited or voided.

No worker runs here: anything queued on commit stays in Redis and is purged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest
from django.test import Client

from portal.celery import app
from subscriptions.models import (
    AuditEvent,
    LedgerEntry,
    LedgerKind,
    RedemptionResult,
    ServicePeriod,
    Voucher,
    VoucherAttempt,
    VoucherBatch,
    VoucherStatus,
    VoucherValue,
)
from subscriptions.services.ledger import ledger_balance
from subscriptions.services.vouchers import voucher_batch_void
from tests.clients import signed_in_client
from tests.concurrency import at_once
from tests.factories import LineFactory, UserFactory
from tests.services.vouchers import codes, outcome

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

TAPS = 12
CUSTOMERS = 12
USED = "This voucher has already been used."
VOIDED = "This voucher has been cancelled and cannot be used. The shop that sold it can help."
USED_BY_YOU = re.compile(r"You already used this voucher on \+47 912 34 567 \(.+\)\.")


@pytest.fixture(autouse=True)
def _no_queued_tasks_outlive_the_test() -> Iterator[None]:
    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture(autouse=True)
def _no_throttle(settings: Any) -> None:
    """Every "already used" counts as a failure, so past the hourly limit a
    late loser would be told to wait instead; the throttle is tested on its
    own, here it would only blur the answers."""
    settings.VOUCHER_FAILURES_PER_HOUR = {"user": 1000, "ip": 1000, "line": 1000}


def redeem(client: Client, line: Any, code: str) -> Callable[[], Any]:
    return lambda: client.post(f"/lines/{line.pk}/voucher/", {"code": code})


def assert_credited_once(line: Any, value_kind: str, plan: Any, *, expiry_before: Any, losers: int) -> None:
    """The code went to ``line`` once: one entry or one period, one audit
    row, one CREDITED attempt, the rest of the attempts USED."""
    voucher = Voucher.objects.get()
    line.refresh_from_db()
    assert (voucher.status, voucher.line, voucher.redeemed_by) == (VoucherStatus.REDEEMED, line, line.owner)
    if value_kind == VoucherValue.AMOUNT:
        assert list(LedgerEntry.objects.values_list("line", "kind", "amount_ore")) == [
            (line.pk, LedgerKind.VOUCHER, 200_00)
        ]
        assert ledger_balance(line=line) == 200_00
        assert line.expires_at == expiry_before
    else:
        period = ServicePeriod.objects.get(source="voucher")
        assert (period.line, period.plan, period.starts_at) == (line, plan, expiry_before)
        assert line.expires_at == period.ends_at
        assert not LedgerEntry.objects.exists()
    assert AuditEvent.objects.filter(action="voucher_redeemed").count() == 1
    results = Counter(VoucherAttempt.objects.values_list("result", flat=True))
    assert results == {RedemptionResult.CREDITED: 1, RedemptionResult.USED: losers}
    assert VoucherAttempt.objects.get(result=RedemptionResult.CREDITED).line == line


@pytest.mark.parametrize("value_kind", [VoucherValue.AMOUNT, VoucherValue.PLAN])
def test_one_customer_tapping_redeem_again_and_again_is_credited_once(plan, value_kind):
    line = LineFactory(number="+4791234567", with_period=plan)
    expiry_before = line.expires_at
    code = codes(value_kind, plan)[0]
    client = signed_in_client(line.owner)

    responses = at_once([redeem(client, line, code) for _ in range(TAPS)])

    answers = [outcome(response) for response in responses]
    assert answers.count("credited") == 1, Counter(answers)
    assert all(USED_BY_YOU.fullmatch(answer) for answer in answers if answer != "credited"), Counter(answers)
    assert_credited_once(line, value_kind, plan, expiry_before=expiry_before, losers=TAPS - 1)


@pytest.mark.parametrize("value_kind", [VoucherValue.AMOUNT, VoucherValue.PLAN])
def test_many_customers_racing_for_one_code_on_their_own_lines_leave_one_credited(plan, value_kind):
    lines = [LineFactory(with_period=plan) for _ in range(CUSTOMERS)]
    expiries = {line.pk: line.expires_at for line in lines}
    code = codes(value_kind, plan)[0]

    responses = at_once([redeem(signed_in_client(line.owner), line, code) for line in lines])

    assert Counter(outcome(response) for response in responses) == {"credited": 1, USED: CUSTOMERS - 1}
    winner = next(line for line, response in zip(lines, responses, strict=True) if response.status_code == 302)
    assert_credited_once(winner, value_kind, plan, expiry_before=expiries[winner.pk], losers=CUSTOMERS - 1)
    for line in lines:
        if line != winner:
            line.refresh_from_db()
            assert line.expires_at == expiries[line.pk]
            assert ledger_balance(line=line) == 0


def test_plan_codes_redeemed_on_one_line_at_once_add_periods_back_to_back(plan):
    line = LineFactory(number="+4791234567", with_period=plan)
    expiry_before = line.expires_at
    made = codes(VoucherValue.PLAN, plan, count=6)
    client = signed_in_client(line.owner)

    responses = at_once([redeem(client, line, code) for code in made])

    assert [outcome(response) for response in responses] == ["credited"] * 6
    periods = list(ServicePeriod.objects.filter(line=line, source="voucher").order_by("starts_at"))
    assert len(periods) == 6
    assert periods[0].starts_at == expiry_before
    assert all(earlier.ends_at == later.starts_at for earlier, later in pairwise(periods))
    line.refresh_from_db()
    assert line.expires_at == periods[-1].ends_at
    assert set(Voucher.objects.values_list("status", flat=True)) == {VoucherStatus.REDEEMED}


def test_a_batch_voided_while_its_codes_are_redeemed_leaves_each_code_credited_or_voided_never_both(plan):
    lines = [LineFactory(with_period=plan) for _ in range(CUSTOMERS)]
    made = codes(VoucherValue.AMOUNT, plan, count=CUSTOMERS)
    batch = VoucherBatch.objects.get()
    supervisor = UserFactory(is_staff=True)

    def void() -> int:
        return voucher_batch_void(batch=batch, by=supervisor, reason="The shop lost the cards")

    results = at_once(
        [void, *(redeem(signed_in_client(line.owner), line, code) for line, code in zip(lines, made, strict=True))]
    )

    voided, responses = results[0], results[1:]
    answers = Counter(outcome(response) for response in responses)
    assert set(answers) <= {"credited", VOIDED}, answers
    redeemed = Voucher.objects.filter(status=VoucherStatus.REDEEMED)
    assert redeemed.count() == answers["credited"]
    assert Voucher.objects.filter(status=VoucherStatus.VOIDED).count() == voided == CUSTOMERS - answers["credited"]
    credited_lines = set(LedgerEntry.objects.values_list("line", flat=True))
    assert credited_lines == set(redeemed.values_list("line", flat=True))
    assert LedgerEntry.objects.count() == answers["credited"]
