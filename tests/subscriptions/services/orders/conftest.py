"""The order tests' customer: one with no billing address saved yet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UserFactory


@pytest.fixture
def customer() -> Any:
    return UserFactory(full_name="", street_address="", postal_code="", city="")
