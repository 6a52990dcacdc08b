"""State on a Redis server, shared by every replica that points ``--state`` at it.

Atomic steps that read and then write (a slot taken only while the pool and the principal's
share have room, a token bucket debited only when it can pay) run as Lua scripts inside Redis,
so two replicas can never both take the last slot. Time comes from the Redis server's clock
(``TIME``), not each replica's, so leases and buckets mean the same on every replica.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anyio
import redis
import redis.asyncio

from codemode.state._base import NAMESPACE, Admitted, SlotAsk, StateError

__all__ = ["RedisKeyValue", "RedisLimitStore", "RedisStoreBackend"]


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


class _AsyncScripts:
    """Runs Lua scripts (``EVALSHA``, loading a script Redis does not know) on one connection
    this store keeps, written and read directly (``redis.asyncio``: the event loop serves other
    requests while Redis answers).

    A replica runs a few scripts per ``execute_code`` run on its event loop; through the
    client's generic path (``Script.__call__``: the command wrappers, a pool checkout and
    release, its instrumentation) each cost about twice the CPU of the exchange itself. The
    connection stays checked out of the client's pool, so closing the client closes it. One
    exchange at a time on the one connection; an exchange that did not finish (cancelled
    mid-way) drops the connection, whose late answer would otherwise be read as the next
    call's."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._conn: Any = None
        self._lock = anyio.Lock(fast_acquire=True)

    async def __call__(self, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        async with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    pool: Any = self._client.connection_pool  # its signature is untyped
                    self._conn = await pool.get_connection()
                try:
                    return await self._eval(self._conn, script, keys, args)
                except (redis.ConnectionError, redis.TimeoutError):
                    await self._conn.disconnect()  # reconnects on the next command
                    if attempt == 2:
                        raise
                except redis.ResponseError:
                    raise  # a whole answer was read: the connection is still in step
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self._conn.disconnect()
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _eval(conn: Any, script: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            await conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return await conn.read_response()
        except redis.exceptions.NoScriptError:  # a restarted or flushed Redis: load it again
            await conn.send_command("SCRIPT", "LOAD", script.script)
            await conn.read_response()
            await conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return await conn.read_response()


class RedisKeyValue:
    """:class:`~codemode.state.KeyValue` on Redis (``redis.asyncio``)."""

    _INCR = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n"

    _INDEX_ADD = (
        "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) "
        "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then "
        "redis.call('PEXPIRE', KEYS[1], ARGV[3]) end return 1"
    )

    def __init__(self, client: redis.asyncio.Redis) -> None:
        """Use ``client`` (its connection pool is shared by every call)."""
        self._r = client
        self._incr = client.register_script(self._INCR)
        self._index_add = client.register_script(self._INDEX_ADD)

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

    async def index_add(self, key: str, member: str, score: float, *, ttl_s: float) -> None:
        """See :meth:`KeyValue.index_add` (a sorted set; its expiry only ever moves later)."""
        with _errors():
            await self._index_add(keys=[self._k(key)], args=[member, repr(score), _ms(ttl_s)])

    async def index_remove(self, key: str, member: str) -> None:
        """See :meth:`KeyValue.index_remove`."""
        with _errors():
            await self._r.zrem(self._k(key), member)

    async def index_pop_due(self, key: str, max_score: float) -> list[str]:
        """See :meth:`KeyValue.index_pop_due` (``ZRANGEBYSCORE`` + ``ZREMRANGEBYSCORE`` in one
        ``MULTI``)."""
        with _errors():
            pipe = self._r.pipeline(transaction=True)
            pipe.zrangebyscore(self._k(key), "-inf", repr(max_score))
            pipe.zremrangebyscore(self._k(key), "-inf", repr(max_score))
            due, _ = await pipe.execute()
        return [str(_bytes(m) or b"", "utf-8") for m in due]

    async def index_size(self, key: str) -> int:
        """See :meth:`KeyValue.index_size`."""
        with _errors():
            return int(await self._r.zcard(self._k(key)))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._r.aclose()


# Time from the Redis server's clock, once per script: ``now`` in ms (leases), ``secs`` in seconds.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local secs = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
# Slot leases: one sorted set for the pool and one per principal, member = holder, score = the
# lease's end in ms of Redis time. Expired members are dropped before every decision.
# acquire(pool, mine, holder, total, per_principal, lease ms, principal) -> 1 when taken.
_ACQUIRE_FN = """
local function acquire(pool, mine, holder, total, share, lease, principal)
  redis.call('ZREMRANGEBYSCORE', pool, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', mine, '-inf', now)
  if redis.call('ZCARD', pool) >= tonumber(total) then return 0 end
  if redis.call('ZCARD', mine) >= tonumber(share) then return 0 end
  local until_ = now + tonumber(lease)
  redis.call('ZADD', pool, until_, principal .. '|' .. holder)
  redis.call('ZADD', mine, until_, holder)
  for _, k in ipairs({pool, mine}) do
    if redis.call('PTTL', k) < lease * 2 then redis.call('PEXPIRE', k, lease * 2) end
  end
  return 1
end
"""
# Token bucket as a hash {level, at}: debit(key, cost, capacity, per-second refill, take) returns
# the seconds to wait (0 when paid, -1 never); take = false charges unconditionally (work already
# done: the level may go down to -capacity).
_DEBIT_FN = """
local function debit(key, cost, cap, rate, take)
  cost, cap, rate = tonumber(cost), tonumber(cap), tonumber(rate)
  local state = redis.call('HMGET', key, 'level', 'at')
  local level = tonumber(state[1]) or cap
  local at = tonumber(state[2]) or secs
  level = math.min(cap, level + (secs - at) * rate)
  local wait = 0
  if take then
    if level >= cost then level = level - cost
    elseif rate > 0 then wait = (cost - level) / rate
    else wait = -1 end
  else
    level = math.max(-cap, level - cost)
  end
  redis.call('HSET', key, 'level', tostring(level), 'at', tostring(secs))
  local idle = 60
  if rate > 0 then idle = math.ceil((cap - level) / rate) + 60 end
  redis.call('EXPIRE', key, idle)
  return wait
end
"""
_ACQUIRE = (
    _NOW
    + _ACQUIRE_FN
    + "return acquire(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])"
)
# Admission in one round trip: KEYS = pool, mine, then one bucket per debit; ARGV = holder ('' =
# no slot wanted), total, share, lease ms, principal, then cost, capacity, refill per debit.
# Returns {index of the refusing debit (0 = none, 1-based), its wait as a string, slot 0/1}.
_ADMIT = (
    _NOW
    + _ACQUIRE_FN
    + _DEBIT_FN
    + """
for i = 3, #KEYS do
  local at = 6 + (i - 3) * 3
  local wait = debit(KEYS[i], ARGV[at], ARGV[at + 1], ARGV[at + 2], true)
  if wait ~= 0 then return {i - 2, tostring(wait), 0} end
end
if ARGV[1] == '' then return {0, '0', 0} end
return {0, '0', acquire(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])}
"""
)
# Release, with the run's charge in the same step: KEYS = pool, mine[, bucket]; ARGV = holder,
# principal[, cost, capacity, refill].
_RELEASE = (
    _NOW
    + _DEBIT_FN
    + """
redis.call('ZREM', KEYS[1], ARGV[2] .. '|' .. ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if KEYS[3] then debit(KEYS[3], ARGV[3], ARGV[4], ARGV[5], false) end
return 1
"""
)
# Renew only a lease still live: one that ran out may already be counted as free (and taken), so
# it is dropped, not revived. ARGV: holder, principal, lease ms. Returns 1 when renewed.
_RENEW = (
    _NOW
    + """
local member = ARGV[2] .. '|' .. ARGV[1]
local ends = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))
if not ends or ends <= now then
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
local until_ = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', until_, member)
redis.call('ZADD', KEYS[2], 'XX', until_, ARGV[1])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ARGV[3] * 2 then redis.call('PEXPIRE', k, ARGV[3] * 2) end
end
return 1
"""
)
_HELD = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)
# One debit: ARGV = cost, capacity, refill, mode (1 = take, 0 = charge). Returns the wait as a
# string.
_BUCKET = (
    _NOW + _DEBIT_FN + "return tostring(debit(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'))"
)


class RedisLimitStore:
    """Per-principal worker-slot leases and token buckets on Redis, shared by replicas.

    The methods are coroutines (``redis.asyncio``): while Redis answers, which on a loaded host
    may take a scheduler slice or more, the replica's event loop serves other requests.
    """

    def __init__(self, client: redis.asyncio.Redis, *, pool: str = "pool") -> None:
        """Use ``client``; scripts are registered once.

        Args:
            client: The Redis connection.
            pool: Name of this replica's worker pool. Each replica has its own workers, so the
                pool total is counted per replica, while a principal's share is counted across
                every replica.
        """
        self._r = client
        self._pool_name = pool
        self._acquire = client.register_script(_ACQUIRE)
        self._admit = client.register_script(_ADMIT)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        self._held = client.register_script(_HELD)
        self._bucket = client.register_script(_BUCKET)
        self._run = _AsyncScripts(client)

    @classmethod
    def from_url(cls, url: str, *, pool: str = "pool") -> RedisLimitStore:
        """Connect lazily to ``url``."""
        client = redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, pool=pool)

    def _pool(self) -> str:
        return f"{NAMESPACE}slots-{self._pool_name}"

    @staticmethod
    def _mine(principal: str) -> str:
        return f"{NAMESPACE}slots:{principal}"

    @staticmethod
    def _bucket_key(name: str, principal: str) -> str:
        return f"{NAMESPACE}bucket:{name}:{principal}"

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        with _errors():
            return await self._run(script, keys, args)

    async def try_acquire(
        self, principal: str, holder: str, *, total: int, per_principal: int, lease_s: float
    ) -> bool:
        """Take a slot for ``holder`` unless the pool or the principal's share is full."""
        keys = [self._pool(), self._mine(principal)]
        args = [holder, total, per_principal, _ms(lease_s), principal]
        return bool(await self._call(self._acquire, keys, args))

    async def renew(self, principal: str, holder: str, lease_s: float) -> bool:
        """Push a live lease ``lease_s`` seconds into the future; False when it already ran out
        or was released (it is not revived)."""
        keys = [self._pool(), self._mine(principal)]
        return bool(await self._call(self._renew, keys, [holder, principal, _ms(lease_s)]))

    async def release(
        self, principal: str, holder: str, *, charge: tuple[str, float, Any] | None = None
    ) -> None:
        """Give the slot back (no-op when its lease already expired); with ``charge`` (name,
        cost, bucket), debit that bucket unconditionally in the same script."""
        keys = [self._pool(), self._mine(principal)]
        args: list[Any] = [holder, principal]
        if charge is not None:
            name, cost, bucket = charge
            keys.append(self._bucket_key(name, principal))
            args += [repr(float(cost)), repr(float(bucket.capacity)), repr(float(bucket.per_s))]
        await self._call(self._release, keys, args)

    async def admit(
        self, principal: str, takes: Sequence[tuple[str, float, Any]], slot: SlotAsk | None
    ) -> Admitted:
        """Debit ``takes`` in order and, when all are paid and ``slot`` is given, take it: one
        script, one round trip. See ``codemode.server.limits.LimitStore.admit``."""
        keys = [self._pool(), self._mine(principal)]
        args: list[Any] = ["", 0, 0, 0, principal]
        if slot is not None:
            args[:4] = [slot.holder, slot.total, slot.per_principal, _ms(slot.lease_s)]
        for name, cost, bucket in takes:
            keys.append(self._bucket_key(name, principal))
            args += [repr(float(cost)), repr(float(bucket.capacity)), repr(float(bucket.per_s))]
        refused, wait, taken = await self._call(self._admit, keys, args)
        if int(refused):
            seconds = float(_bytes(wait) or b"0")
            return Admitted(refused=int(refused) - 1, wait_s=math.inf if seconds < 0 else seconds)
        return Admitted(slot=bool(int(taken)))

    async def held(self, principal: str | None = None) -> int:
        """Slots held now, in all or by ``principal``."""
        key = self._pool() if principal is None else self._mine(principal)
        return int(await self._call(self._held, [key], []))

    async def _debit(
        self, name: str, principal: str, cost: float, capacity: float, per_s: float, take: bool
    ) -> float:
        key = self._bucket_key(name, principal)
        wait = float(
            await self._call(self._bucket, [key], [cost, capacity, per_s, 1 if take else 0])
        )
        return math.inf if wait < 0 else wait

    async def take(self, name: str, principal: str, cost: float, bucket: Any) -> float:
        """Debit ``cost`` when the bucket holds it and return 0; else the seconds until it will."""
        return await self._debit(name, principal, cost, bucket.capacity, bucket.per_s, True)

    async def charge(self, name: str, principal: str, cost: float, bucket: Any) -> None:
        """Debit ``cost`` unconditionally (work already done); the level may go negative."""
        await self._debit(name, principal, cost, bucket.capacity, bucket.per_s, False)

    async def aclose(self) -> None:
        """Close the connection (the one scripts run on included)."""
        with _errors():
            await self._r.aclose()


# Session stores. Per principal: a sorted set of its sessions by last use (microseconds of Redis
# time, made strictly increasing so two uses in one tick keep their order) and
# a counter of their bytes; one key per store blob; a global sorted set counts every store. The
# clock key lives as long as a store: once every store expired, no order is left to keep. A
# store's provenance sketch (fixed size, host-side only) has a key of its own beside the blob,
# with the blob's expiry: written only when a run changed it, dropped whenever the store is.
# ARGV: session, blob ('' = forget only), ttl ms, max_bytes, per_principal, per_principal_bytes,
# max_stores, principal, sketch ('' = keep the one there). Returns 'ok', 'big' or 'full'.
_STORE_CLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[5]) or '0')
if now <= last then now = last + 1 end
redis.call('SET', KEYS[5], now, 'PX', ARGV[{ttl}])
"""
_STORE_SAVE = (
    _STORE_CLOCK.format(ttl=3)
    + """
local ttl = tonumber(ARGV[3])
local age = ttl * 1000
local mine, bytes, all, prefix, sketches = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local function forget(session, keep_sketch)
  local blob = redis.call('GET', prefix .. session)
  if blob then redis.call('DECRBY', bytes, string.len(blob)) end
  redis.call('DEL', prefix .. session)
  if not keep_sketch then redis.call('DEL', sketches .. session) end
  redis.call('ZREM', mine, session)
  redis.call('ZREM', all, ARGV[8] .. '|' .. session)
end
for _, s in ipairs(redis.call('ZRANGEBYSCORE', mine, '-inf', now - age)) do forget(s) end
redis.call('ZREMRANGEBYSCORE', all, '-inf', now - age)
forget(ARGV[1], true)
local blob = ARGV[2]
local answer = nil
if blob == '' then answer = 'ok' end
local size = string.len(blob)
if not answer and (size > tonumber(ARGV[4]) or size > tonumber(ARGV[6])) then answer = 'big' end
if not answer and redis.call('ZCARD', all) >= tonumber(ARGV[7]) then answer = 'full' end
if answer then
  redis.call('DEL', sketches .. ARGV[1])
  return answer
end
redis.call('SET', prefix .. ARGV[1], blob, 'PX', ttl)
if ARGV[9] ~= '' then
  redis.call('SET', sketches .. ARGV[1], ARGV[9], 'PX', ttl)
else
  redis.call('PEXPIRE', sketches .. ARGV[1], ttl)
end
redis.call('ZADD', mine, now, ARGV[1])
redis.call('ZADD', all, now, ARGV[8] .. '|' .. ARGV[1])
redis.call('INCRBY', bytes, size)
while redis.call('ZCARD', mine) > tonumber(ARGV[5])
      or tonumber(redis.call('GET', bytes) or '0') > tonumber(ARGV[6]) do
  local oldest = redis.call('ZRANGE', mine, 0, 0)[1]
  if not oldest then break end
  forget(oldest)
end
for _, k in ipairs({mine, bytes}) do redis.call('PEXPIRE', k, ttl) end
if redis.call('PTTL', all) < ttl then redis.call('PEXPIRE', all, ttl) end
return 'ok'
"""
)
# Read a store (and its sketch, '' when none) and mark it used. ARGV: session, ttl ms, principal.
_STORE_OPEN = (
    _STORE_CLOCK.format(ttl=2)
    + """
local blob = redis.call('GET', KEYS[4] .. ARGV[1])
if not blob then return false end
redis.call('PEXPIRE', KEYS[4] .. ARGV[1], ARGV[2])
local sketch = redis.call('GET', KEYS[6] .. ARGV[1])
if sketch then redis.call('PEXPIRE', KEYS[6] .. ARGV[1], ARGV[2]) end
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('ZADD', KEYS[3], 'XX', now, ARGV[3] .. '|' .. ARGV[1])
return {blob, sketch or ''}
"""
)


class RedisStoreBackend:
    """The raw operations behind shared session stores (used by the server's store keeper).

    Blobs are compact JSON, bounded per store, per principal (count and bytes, the principal's
    own least recently used dropped first) and in all; each expires after ``ttl_s`` unused. The
    methods are coroutines (``redis.asyncio``), so the event loop serves other requests while
    Redis answers.
    """

    def __init__(self, client: redis.asyncio.Redis) -> None:
        """Use ``client``; scripts are registered once."""
        self._r = client
        self._save = client.register_script(_STORE_SAVE)
        self._open = client.register_script(_STORE_OPEN)
        self._run = _AsyncScripts(client)

    @classmethod
    def from_url(cls, url: str) -> RedisStoreBackend:
        """Connect lazily to ``url``."""
        return cls(redis.asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5))

    @staticmethod
    def _keys(principal: str) -> list[str]:
        tag = hashlib.sha256(principal.encode()).hexdigest()[:32]
        return [
            f"{NAMESPACE}stores:{tag}",
            f"{NAMESPACE}store-bytes:{tag}",
            f"{NAMESPACE}stores-all",
            f"{NAMESPACE}store:{tag}:",
            f"{NAMESPACE}stores-clock",
            f"{NAMESPACE}store-sketch:{tag}:",
        ]

    async def load(
        self, principal: str, session: str, ttl_s: float
    ) -> tuple[bytes, bytes | None] | None:
        """The store's blob and its sketch (None when it has none), its use recorded; or None."""
        args = [session, _ms(ttl_s), principal]
        with _errors():
            found = await self._run(self._open, self._keys(principal), args)
        if not found:
            return None
        blob, sketch = found
        return _bytes(blob) or b"", _bytes(sketch) or None

    async def save(
        self,
        principal: str,
        session: str,
        blob: bytes,
        limits: Sequence[float],
        sketch: bytes | None = None,
    ) -> str:
        """Keep ``blob`` (empty: forget, its sketch too) and ``sketch`` (None: keep the one
        there); ``limits`` = ttl_s, max_bytes, per_principal, per_principal_bytes, max_stores.
        Returns ``ok``, ``big`` or ``full``."""
        ttl_s, max_bytes, per_principal, per_principal_bytes, max_stores = limits
        args: list[bytes | str | int] = [session, blob, _ms(ttl_s), int(max_bytes)]
        args += [int(per_principal), int(per_principal_bytes), int(max_stores), principal]
        args.append(sketch or b"")
        with _errors():
            answer = await self._run(self._save, self._keys(principal), args)
        return str(_bytes(answer) or b"ok", "ascii")

    async def usage(self, principal: str) -> tuple[int, int]:
        """How many stores ``principal`` keeps, and their bytes."""
        mine, size, *_ = self._keys(principal)
        with _errors():
            count = int(await self._r.zcard(mine))
            raw = await self._r.get(size)
        return count, int(raw or 0)

    async def count(self) -> int:
        """Stores kept in all (expired ones not yet swept may still count)."""
        with _errors():
            return int(await self._r.zcard(f"{NAMESPACE}stores-all"))

    async def aclose(self) -> None:
        """Close the connection (the one scripts run on included)."""
        with _errors():
            await self._r.aclose()
