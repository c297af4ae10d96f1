"""The hourly text caps and the failed-sign-in limit under fire, on the real
Redis cache production uses and PostgreSQL: twenty requests released at
once, each asking for a sign-in code (or guessing a password). The caps are
counters taken with Redis's atomic add and incr, so exactly the cap's worth
of texts leave, however the requests interleave; allauth's failed-sign-in
limit takes a lock in the cache around its count, so no more guesses than
it allows get through."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import SentText
from portal import sms
from tests.concurrency import at_once
from tests.factories import UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PARALLEL = 20


@pytest.fixture(autouse=True)
def _redis_cache(settings: Any) -> None:
    """The cache production runs (Django's RedisCache) on this run's
    Redis database, under a prefix of its own."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            "KEY_PREFIX": f"text-caps-{uuid.uuid4().hex}",
        },
    }
    # allauth's own per-address limit on code requests (20 a minute) is set
    # aside, so that ours is the one that decides.
    settings.ACCOUNT_RATE_LIMITS = {"request_login_code": ""}


def ask_for_code(phone: str, address: str) -> Callable[[], Any]:
    return lambda: Client().post("/accounts/login/code/", {"phone": phone}, REMOTE_ADDR=address)


@pytest.mark.parametrize(
    ("caps", "same_address"),
    [
        ({"address": 5, "country": 1000, "total": 1000}, True),
        ({"address": 1000, "country": 5, "total": 1000}, False),
        ({"address": 1000, "country": 1000, "total": 5}, False),
    ],
    ids=["per-address", "per-country", "total"],
)
def test_parallel_code_requests_send_exactly_the_caps_worth_of_texts(
    settings: Any, caps: dict[str, int], same_address: bool, celery_worker: Any, wait_until: Any
) -> None:
    settings.TEXTS_PER_HOUR = caps
    numbers = [f"+86138000000{n:02d}" for n in range(PARALLEL)]
    for number in numbers:
        UserFactory(phone=number, phone_verified=True)
    addresses = ["203.0.113.7" if same_address else f"203.0.113.{n + 1}" for n in range(PARALLEL)]

    sms.outbox.clear()
    answers = at_once(
        [ask_for_code(number, address) for number, address in zip(numbers, addresses, strict=True)], timeout=60
    )

    assert [answer.status_code for answer in answers] == [302] * PARALLEL  # sent or not, the same answer
    assert SentText.objects.filter(country="CN").count() == 5
    # Every text was queued before the requests answered; the worker delivers them.
    wait_until(lambda: len(sms.outbox) >= 5, what="the texts the caps allow")
    time.sleep(1)
    assert len(sms.outbox) == 5
    assert len({text.to for text in sms.outbox}) == 5


def test_parallel_wrong_passwords_for_one_number_get_no_more_guesses_than_the_limit() -> None:
    UserFactory(phone="+4741234567", phone_verified=True)
    guesses = [
        (
            lambda n=n: Client().post(
                "/accounts/login/",
                {"login": "+47 412 34 567", "password": f"guess-{n}"},
                REMOTE_ADDR=f"203.0.113.{n + 1}",
            )
        )
        for n in range(PARALLEL)
    ]

    answers = at_once(guesses, timeout=60)

    refused = [answer for answer in answers if "Too many failed login attempts" in answer.content.decode()]
    assert PARALLEL - len(refused) <= 5
    assert len(refused) >= PARALLEL - 5
