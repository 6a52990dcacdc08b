"""An ASGI app that builds the simulator on its first request.

Seeding the demo account takes most of a second of CPU. A server or a one-shot ``codemode exec``
that may never call Klaviyo (``print(1)``, a search, a signature) should not pay for it before it
answers, so the demo wiring hands out this wrapper: the first request builds the real app (off the
event loop, once, however many requests arrive together) and every request after goes straight
to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from codemode.simulator.config import SimConfig

__all__ = ["LazyApp"]


class LazyApp:
    """A simulator app built on first use; ``await app.ready()`` builds it now."""

    def __init__(
        self, config: SimConfig | None = None, *, factory: Callable[..., Any] | None = None
    ) -> None:
        self._config = config or SimConfig()
        self._factory = factory
        self._app: Any = None
        self._lock: anyio.Lock | None = None

    @property
    def built(self) -> bool:
        """Whether the real app exists yet."""
        return self._app is not None

    async def ready(self) -> Any:
        """The real app, building it in a worker thread the first time."""
        if self._app is None:
            if self._lock is None:
                self._lock = anyio.Lock()
            async with self._lock:
                if self._app is None:
                    self._app = await anyio.to_thread.run_sync(self._build)
        return self._app

    def _build(self) -> Any:
        if self._factory is not None:
            return self._factory(self._config)
        from codemode.simulator.app import create_app

        return create_app(self._config)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        app = self._app if self._app is not None else await self.ready()
        await app(scope, receive, send)
