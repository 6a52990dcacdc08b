"""State on a Redis server, shared by every replica that points ``--state`` at it.

Atomic steps that read and then write (a slot taken only while the pool and the principal's
share have room, a token bucket debited only when it can pay) run as Lua scripts inside Redis,
so two replicas can never both take the last slot. Time comes from the Redis server's clock
(``TIME``), not each replica's, so leases and buckets mean the same on every replica.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
import redis.asyncio

from codemode.state._base import NAMESPACE, StateError

__all__ = ["RedisKeyValue", "RedisLimitStore"]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the client's errors into :class:`StateError` (callers know one error type)."""
    try:
        yield
    except redis.RedisError as exc:
        raise StateError(f"redis: {exc}") from exc


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisKeyValue:
    """:class:`~codemode.state.KeyValue` on Redis (``redis.asyncio``)."""

    _INCR = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n"

    def __init__(self, client: redis.asyncio.Redis) -> None:
        """Use ``client`` (its connection pool is shared by every call)."""
        self._r = client
        self._incr = client.register_script(self._INCR)

    @classmethod
    def from_url(cls, url: str) -> RedisKeyValue:
        """Connect lazily to ``url`` (``redis://``, ``rediss://`` or ``unix://``)."""
        return cls(redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))

    @staticmethod
    def _k(key: str) -> str:
        return NAMESPACE + key

    async def get(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.get`."""
        with _errors():
            value = await self._r.get(self._k(key))
        return _bytes(value)

    async def set(self, key: str, value: bytes, *, ttl_s: float, only_if_new: bool = False) -> bool:
        """See :meth:`KeyValue.set`."""
        with _errors():
            done = await self._r.set(self._k(key), value, px=_ms(ttl_s), nx=only_if_new)
        return bool(done)

    async def take(self, key: str) -> bytes | None:
        """See :meth:`KeyValue.take` (``GETDEL``)."""
        with _errors():
            value = await self._r.getdel(self._k(key))
        return _bytes(value)

    async def delete(self, key: str) -> None:
        """See :meth:`KeyValue.delete`."""
        with _errors():
            await self._r.delete(self._k(key))

    async def touch(self, key: str, *, ttl_s: float) -> bool:
        """See :meth:`KeyValue.touch`."""
        with _errors():
            return bool(await self._r.pexpire(self._k(key), _ms(ttl_s)))

    async def incr(self, key: str, *, ttl_s: float) -> int:
        """See :meth:`KeyValue.incr`."""
        with _errors():
            return int(await self._incr(keys=[self._k(key)], args=[_ms(ttl_s)]))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._r.aclose()


# Slot leases: one sorted set for the pool and one per principal, member = holder, score = the
# lease's end in ms of Redis time. Expired members are dropped before every decision.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
local until_ = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], until_, ARGV[5] .. '|' .. ARGV[1])
redis.call('ZADD', KEYS[2], until_, ARGV[1])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ARGV[4] * 2 then redis.call('PEXPIRE', k, ARGV[4] * 2) end
end
return 1
"""
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[2] .. '|' .. ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', until_, ARGV[1])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ARGV[3] * 2 then redis.call('PEXPIRE', k, ARGV[3] * 2) end
end
return 1
"""
_HELD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
# Token bucket as a hash {level, at}; ARGV: cost, capacity, per-second refill, mode (1 = take,
# 0 = charge). Returns the seconds to wait as a string (0 when paid).
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost, cap, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or cap
local at = tonumber(state[2]) or now
level = math.min(cap, level + (now - at) * rate)
local wait = 0
if ARGV[4] == '1' then
  if level >= cost then level = level - cost
  elseif rate > 0 then wait = (cost - level) / rate
  else wait = -1 end
else
  level = math.max(-cap, level - cost)
end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
local idle = 60
if rate > 0 then idle = math.ceil((cap - level) / rate) + 60 end
redis.call('EXPIRE', KEYS[1], idle)
return tostring(wait)
"""


class RedisLimitStore:
    """Per-principal worker-slot leases and token buckets on Redis, shared by replicas.

    The methods are synchronous (a loopback Redis round trip is a fraction of a millisecond),
    matching the in-memory store they replace.
    """

    def __init__(self, client: redis.Redis) -> None:
        """Use ``client``; scripts are registered once."""
        self._r = client
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._held = client.register_script(_HELD)
        self._bucket = client.register_script(_BUCKET)

    @classmethod
    def from_url(cls, url: str) -> RedisLimitStore:
        """Connect lazily to ``url``."""
        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))

    @staticmethod
    def _pool() -> str:
        return NAMESPACE + "slots"

    @staticmethod
    def _mine(principal: str) -> str:
        return f"{NAMESPACE}slots:{principal}"

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        with _errors():
            return script(keys=keys, args=args)

    def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        """Take a slot for ``holder`` unless the pool or the principal's share is full."""
        keys = [self._pool(), self._mine(principal)]
        args = [holder, total, per_principal, _ms(lease_s), principal]
        return bool(self._call(self._acquire, keys, args))

    def renew(self, principal: str, holder: str, lease_s: float) -> None:
        """Push the lease of a slot still in use ``lease_s`` seconds into the future."""
        keys = [self._pool(), self._mine(principal)]
        self._call(self._renew, keys, [holder, principal, _ms(lease_s)])

    def release(self, principal: str, holder: str) -> None:
        """Give the slot back (no-op when its lease already expired)."""
        with _errors():
            pipe = self._r.pipeline()
            pipe.zrem(self._pool(), f"{principal}|{holder}")
            pipe.zrem(self._mine(principal), holder)
            pipe.execute()

    def held(self, principal: str | None = None) -> int:
        """Slots held now, in all or by ``principal``."""
        key = self._pool() if principal is None else self._mine(principal)
        return int(self._call(self._held, [key], []))

    def _debit(
        self, name: str, principal: str, cost: float, capacity: float, per_s: float, take: bool
    ) -> float:
        key = f"{NAMESPACE}bucket:{name}:{principal}"
        wait = float(self._call(self._bucket, [key], [cost, capacity, per_s, 1 if take else 0]))
        return math.inf if wait < 0 else wait

    def take(self, name: str, principal: str, cost: float, bucket: Any) -> float:
        """Debit ``cost`` when the bucket holds it and return 0; else the seconds until it will."""
        return self._debit(name, principal, cost, bucket.capacity, bucket.per_s, True)

    def charge(self, name: str, principal: str, cost: float, bucket: Any) -> None:
        """Debit ``cost`` unconditionally (work already done); the level may go negative."""
        self._debit(name, principal, cost, bucket.capacity, bucket.per_s, False)
