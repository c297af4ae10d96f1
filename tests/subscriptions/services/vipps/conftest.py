"""What the tests of auto-renew with Vipps MobilePay share: the Recurring
API switched on against the fake server, and a week's line due to renew."""

from __future__ import annotations

from typing import Any

import pytest

from subscriptions.models import Line, Plan, PlanPeriod
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.vipps import FakeVipps


@pytest.fixture
def vipps(vipps_api: FakeVipps, settings: Any) -> FakeVipps:
    """The fake Vipps MobilePay server, with auto-renew through its Recurring API."""
    settings.VIPPS_RECURRING_PROVIDER = "vipps_recurring"
    return vipps_api


@pytest.fixture
def plan() -> Plan:
    plan: Plan = PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00, name_en="Fjord week")
    return plan


@pytest.fixture
def line(plan: Plan) -> Line:
    """A week's period that ends in two days: due for auto-renew."""
    owner = UserFactory(email="kari@example.test", full_name="Kari Nordmann")
    line: Line = LineFactory(owner=owner, number="+4791234567", with_period=plan, with_period__days_ago=5)
    return line
