"""Fixtures: one real Redis server per test session, flushed before each test."""

from tests._redis import clean_redis, redis_url

__all__ = ["clean_redis", "redis_url"]
