"""config/redis_cache.py: Django's Redis cache with one client per pool, against the real Redis."""

import uuid

import pytest
import redis

from config.redis_cache import RedisCache

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def backend():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    yield cache
    cache.clear()


def test_every_call_uses_the_same_client(backend):
    first = backend._cache.get_client(write=True)

    assert backend._cache.get_client(write=True) is first
    assert backend._cache.get_client() is first  # one server: reads and writes share the pool


def test_it_behaves_as_djangos_backend(backend):
    assert backend.add("flag", "1", 60) is True
    assert backend.add("flag", "2", 60) is False
    assert backend.get("flag") == "1"
    backend.set_many({"a": 1, "b": {"c": [1, 2]}})
    assert backend.get_many(["a", "b", "missing"]) == {"a": 1, "b": {"c": [1, 2]}}
    assert backend.incr("a") == 2
    backend.delete("flag")
    assert backend.get("flag") is None
