"""A bridge built on first need, for one-shot runs that should not pay for what they never use.

``codemode exec`` of ``print(1)`` makes no SDK call: it needs the operation names (what
``klaviyo.<group>.<id>`` offers the worker) and nothing of the SDK client, the catalog, the policy,
the HTTP stack or the scanner. :class:`DeferredBridge` takes the names up front and builds the
real bridge with its factory the first time a call needs it or outside text must be scanned,
or earlier when the caller asks (:meth:`~DeferredBridge.prefetch`: while the zygote starts, for a
script that names ``klaviyo``). Once built, the real bridge answers everything: every check, the
policy, the scan and the scrub are its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from codemode.klaviyo._errors import KlaviyoError
from codemode.sandbox.bridge import Bridge, BridgeReply, _scrub
from codemode.sandbox.result import OutputScan

__all__ = ["DeferredBridge"]

log = logging.getLogger("codemode.sandbox")


class DeferredBridge:
    """A :class:`~codemode.sandbox.bridge.Bridge` whose real bridge is built on first need."""

    def __init__(
        self,
        *,
        names: Mapping[str, Sequence[str]],
        build: Callable[[], Awaitable[Bridge]],
        secrets: Sequence[str] = (),
        dry_run: bool = False,
    ) -> None:
        """Hold the names now and the factory for later.

        Args:
            names: operation ids by group: exactly what the built bridge's ``operations()``
                returns (the worker is told these before anything is built).
            build: makes the real bridge (called at most once at a time; again only after it
                failed).
            secrets: what the built bridge scrubs, for text scrubbed before it exists.
            dry_run: the run's dry-run flag, as the built bridge has it.
        """
        self._names = names
        self._build = build
        self._secrets = tuple(s for s in secrets if s)
        self.dry_run = dry_run
        self._bridge: Bridge | None = None
        self._lock = anyio.Lock()

    @property
    def built(self) -> Bridge | None:
        """The real bridge, once built."""
        return self._bridge

    async def ensure(self) -> Bridge:
        """The real bridge, built now if it is not yet; raises what the factory raises."""
        async with self._lock:
            if self._bridge is None:
                self._bridge = await self._build()
            return self._bridge

    async def prefetch(self) -> None:
        """Build now, in the background of something else; a failure waits for the first call."""
        try:
            await self.ensure()
        except Exception:  # the first call builds again and fails there, where it is reported
            log.debug("building the bridge ahead of the first call failed", exc_info=True)

    def operations(self) -> Mapping[str, Sequence[str]]:
        """Operation ids by group."""
        return self._names

    async def call(self, op_id: str, args: Sequence[Any], params: Mapping[str, Any]) -> BridgeReply:
        """Serve one call with the real bridge; never raises, like the real bridge's ``call``.

        A bridge that cannot be built refuses the call (logged for the operator): the run goes
        on and reports what it printed, instead of ending in a host traceback.
        """
        try:
            bridge = await self.ensure()
        except Exception:
            log.exception("building the bridge for %s failed", op_id)
            failure = KlaviyoError(f"{op_id} failed on the host; retry later", operation_id=op_id)
            return BridgeReply(error=failure.to_dict())
        return await bridge.call(op_id, args, params)

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        """Scan with the real bridge; nothing to scan needs no bridge."""
        if not pieces and self._bridge is None:
            return OutputScan("clean")
        return await (await self.ensure()).scan_output(pieces)

    def scrub(self, text: str) -> str:
        """``text`` with the host's secrets replaced."""
        if self._bridge is not None:
            return self._bridge.scrub(text)
        scrubbed: str = _scrub(text, self._secrets)
        return scrubbed
