"""The handler registry: one function per operation id, explicit or derived from the action's shape."""

from __future__ import annotations

from collections.abc import Callable

from codemode.simulator.context import Ctx, Reply

__all__ = ["EXPLICIT", "Handler", "handler"]

Handler = Callable[[Ctx], Reply]
EXPLICIT: dict[str, Handler] = {}


def handler(fn: Handler) -> Handler:
    """Register ``fn`` as the handler of the operation id it is named after (STYLE rule 1)."""
    if fn.__name__ in EXPLICIT:
        raise ValueError(f"two handlers for {fn.__name__}")
    EXPLICIT[fn.__name__] = fn
    return fn
