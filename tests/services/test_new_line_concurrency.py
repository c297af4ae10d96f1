"""New lines on PostgreSQL: customers asking for numbers at once are offered
different ones, and one number asked for by many at once is taken once."""

from __future__ import annotations

import pytest

from subscriptions.errors import CustomerError
from subscriptions.models import NewLineRequest, PoolNumber
from subscriptions.services.new_lines import new_line_request_create, number_pool_import, numbers_offer
from tests.concurrency import at_once
from tests.factories import PlanFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pool():
    content = ("number\n" + "\n".join(f"4{n:07d}" for n in range(100, 112)) + "\n").encode()
    number_pool_import(filename="pool.csv", content=content, by=None)


def test_customers_asking_at_once_are_offered_different_numbers(pool):
    customers = [UserFactory() for _ in range(4)]

    offers = at_once([lambda user=user: numbers_offer(user=user) for user in customers])

    offered = [number.pk for offer in offers for number in offer]
    assert len(offered) == 12 == len(set(offered))


def test_one_number_asked_for_at_once_is_taken_once(pool):
    plan = PlanFactory()
    number = PoolNumber.objects.order_by("number").first()
    customers = [UserFactory() for _ in range(6)]

    def take(user):
        try:
            return new_line_request_create(owner=user, plan_id=plan.pk, number_id=number.pk)
        except CustomerError:
            return None

    results = at_once([lambda user=user: take(user) for user in customers])

    assert len([result for result in results if result is not None]) == 1
    assert NewLineRequest.objects.filter(number=number).count() == 1
