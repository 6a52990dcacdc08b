"""Where the server keeps state that replicas must share: the embedded default or Redis.

One server process keeps everything in its own memory (and the audit log in SQLite): that is the
zero-setup default for ``make demo`` and stdio. Several replicas behind one address must share
what one caller does on one replica and continues on another — session stores, MCP session
records, OAuth codes and tokens, per-principal run caps and rate limits — so they point
``--state`` (or ``CODEMODE_STATE``) at one Redis server.

Public API::

    from codemode.state import open_state
    state = open_state("memory://")            # or "redis://host:6379/0", "unix:///run/redis.sock"
    await state.kv.set("oauth:code:abc", b"...", ttl_s=300, only_if_new=True)
    blob = await state.kv.take("oauth:code:abc")   # atomic: one caller gets it, never two

Everything is namespaced under ``codemode:`` and expires: nothing written by a replica outlives
its time to live, so a crashed replica leaves no permanent debris. Secrets are never stored in
clear: callers hash tokens before they become keys and encrypt what must be read back.
"""

from __future__ import annotations

from codemode.state._base import (
    Admitted,
    KeyValue,
    SlotAsk,
    StateBackend,
    StateError,
    open_state,
)
from codemode.state.memory import MemoryKeyValue
from codemode.state.sqlite import SqliteKeyValue

__all__ = [
    "Admitted",
    "KeyValue",
    "MemoryKeyValue",
    "SlotAsk",
    "SqliteKeyValue",
    "StateBackend",
    "StateError",
    "open_state",
]
