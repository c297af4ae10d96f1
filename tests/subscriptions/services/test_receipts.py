"""Receipt numbers run per Oslo calendar year without gaps: the year turns at
midnight in Oslo (23:00 UTC in winter), not at midnight UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from subscriptions.models import Receipt
from subscriptions.services.checkout import Billing, order_place, renewal_request
from subscriptions.services.receipts import receipt_issue
from tests.factories import LineFactory, PlanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue():
    """Issue the receipt of a new renewal order as if it were paid at ``now``."""
    plan = PlanFactory()
    line = LineFactory(with_period=plan)
    placed = 0

    def issue_at(now: datetime) -> Receipt:
        nonlocal placed
        placed += 1
        order = order_place(
            owner=line.owner,
            request=renewal_request(line=line, plan=plan, method="card"),
            billing=Billing(name="Kari Nordmann"),
            idempotency_key=f"k{placed}",
            site_url="http://testserver",
        )
        with transaction.atomic():
            return receipt_issue(order=order, now=now)

    return issue_at


def test_a_payment_late_on_new_years_eve_utc_is_the_first_receipt_of_the_new_oslo_year(issue):
    issue(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))

    before = issue(datetime(2026, 12, 31, 22, 30, tzinfo=UTC))  # 23:30 in Oslo
    after = issue(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 January in Oslo
    next_one = issue(datetime(2027, 1, 1, 0, 10, tzinfo=UTC))

    assert before.number == "2026-000002"
    assert after.number == "2027-000001"
    assert next_one.number == "2027-000002"
    assert after.issued_at == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
