"""Production's cache backend (portal.cache.RedisCache) against the real
Redis: Django's behaviour, with one Redis client per connection pool."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from portal.cache import RedisCache

pytestmark = pytest.mark.services


@pytest.fixture
def redis_cache() -> RedisCache:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return RedisCache(url, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})


def test_it_stores_reads_and_deletes_values_in_redis(redis_cache: RedisCache) -> None:
    redis_cache.set("fragment", "<p>Plans</p>" * 500, 30)
    redis_cache.set_many({"a": 1, "b": {"nested": [1, 2]}}, 30)

    assert redis_cache.get("fragment") == "<p>Plans</p>" * 500
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": {"nested": [1, 2]}}
    assert redis_cache.incr("a") == 2
    redis_cache.delete("fragment")
    assert redis_cache.get("fragment", "gone") == "gone"


def test_it_builds_one_client_and_shares_it_between_threads(redis_cache: RedisCache) -> None:
    redis_cache.set("shared", "yes", 30)
    clients = set()
    values = []

    def read() -> None:
        clients.add(id(redis_cache._cache.get_client()))
        values.append(redis_cache.get("shared"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert values == ["yes"] * 8
    assert len(clients) == 1
    assert redis_cache._cache.get_client(write=True) is redis_cache._cache.get_client()
