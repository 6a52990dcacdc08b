"""Fixtures: one real Redis server per test session, flushed before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests._redis import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``unix://`` URL of a private Redis server for this test session."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The Redis URL, with every key removed first."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    return redis_url
