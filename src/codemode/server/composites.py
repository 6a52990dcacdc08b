"""Composite actions in the host: ``klaviyo.custom.<name>(...)`` from an operator's plugin.

A composite (see :mod:`codemode.extensions`) is an async function that takes an SDK client. The
bridge serves the composite itself like any action (policy by its declared kind, confirmation,
scanning of what it returns). The client the composite receives is *not* the caller's raw
``AsyncKlaviyo``: it is a :class:`BridgedKlaviyo`, whose every call goes back through the same
bridge as a script's calls (deny and allow lists, read-only, destructive gate and confirmation,
dry run, per-call scanning) and counts against the run's ``max_calls``; those calls are listed
in the result right after the composite's own entry.

:class:`CompositeBridge` wraps the script's :class:`~codemode.sandbox.SdkBridge` to do that;
:class:`CompositeClient` is the client the inner bridge talks to: composites by name run here,
every other action goes straight to the caller's ``AsyncKlaviyo``.

A composite's return value reaches the script as a record: a dict's keys (or ``value`` for
anything else) under ``result.data``, a list of dicts as ``result.data`` records.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode.catalog import Catalog
from codemode.extensions import Composite
from codemode.klaviyo import KlaviyoError, ValidationError
from codemode.klaviyo._jsonapi import Result
from codemode.klaviyo._resource import AsyncResource
from codemode.sandbox import SdkBridge
from codemode.sandbox.bridge import BridgeReply
from codemode.sandbox.result import OutputScan

__all__ = ["BridgedKlaviyo", "CompositeBridge", "CompositeClient", "CompositeResult"]

Journal = list[tuple[str, BridgeReply, float]]


def _resource(name: str, value: Any) -> dict[str, Any]:
    attributes = value if isinstance(value, dict) else {"value": value}
    return {"type": f"custom.{name}", "id": None, "attributes": attributes}


@dataclass(frozen=True)
class CompositeResult:
    """A composite's return value as a JSON:API document (what the bridge scans and forwards)."""

    name: str
    value: Any

    @property
    def raw(self) -> dict[str, Any]:
        """``{"data": ...}`` with the value as resource attributes."""
        if isinstance(self.value, list) and all(isinstance(v, dict) for v in self.value):
            return {"data": [_resource(self.name, v) for v in self.value]}
        return {"data": _resource(self.name, self.value)}

    @property
    def status(self) -> int:
        """Always 200: a composite that fails raises instead."""
        return 200


class NestedCallFailed(KlaviyoError):
    """A composite's own call was refused or failed; carries the bridge's error unchanged.

    A ``KlaviyoError`` so that the bridge forwards it to the script as the composite's error
    (a policy refusal keeps its ``PolicyError`` class there).
    """

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(str(error.get("message", "")), operation_id=error.get("operation_id"))
        self.error = dict(error)

    def to_dict(self) -> dict[str, Any]:
        """The inner call's error as the bridge wrote it."""
        return dict(self.error)


class BridgedKlaviyo:
    """What a composite receives: ``AsyncKlaviyo``'s call surface, served by the bridge."""

    def __init__(self, bridge: CompositeBridge, journal: Journal) -> None:
        self._bridge = bridge
        self._journal = journal

    @property
    def catalog(self) -> Catalog:
        """The actions the session's bridge serves."""
        return self._bridge.catalog

    async def call(self, operation_id: str, /, **params: Any) -> Result:
        """One call through the bridge; raises the bridge's error when it refused or failed."""
        reply = await self._bridge.nested_call(operation_id, params, self._journal)
        if reply.error is not None:
            raise NestedCallFailed(reply.error)

        async def fetch_next(cursor: str) -> Result:
            return await self.call(operation_id, **{**params, "page_cursor": cursor})

        return Result(reply.raw, status=reply.status, afetch_next=fetch_next)

    def __getattr__(self, name: str) -> AsyncResource:
        if not name.startswith("_") and name in self._bridge.catalog.groups:
            return AsyncResource(self, name)
        raise AttributeError(f"the composite's client has no group {name!r}")


class CompositeClient:
    """The inner bridge's client: composites by name run in the host, the rest go to ``client``."""

    def __init__(self, client: Any, composites: Sequence[Composite]) -> None:
        """Forward to ``client`` (the caller's ``AsyncKlaviyo``); run ``composites`` here."""
        self._client = client
        self._composites: Mapping[str, Composite] = {c.name: c for c in composites}
        self.journal: Journal = []
        self.policed: Callable[[Journal], Any] | None = None

    @property
    def base_url(self) -> str | None:
        """The SDK client's base URL (the scanner knows the API's own links by it)."""
        base_url = getattr(self._client, "base_url", None)
        return base_url if isinstance(base_url, str) else None

    async def call(self, operation_id: str, /, **params: Any) -> Any:
        """Run a composite with a bridged client, or forward the call to the SDK client."""
        found = self._composites.get(operation_id)
        if found is None:
            return await self._client.call(operation_id, **params)
        _check_params(found, params)
        if self.policed is None:  # never wired: refuse rather than hand out the raw client
            raise ValidationError(
                f"klaviyo.custom.{found.name} is not available in this run",
                operation_id=found.name,
            )
        return CompositeResult(found.name, await found.fn(self.policed(self.journal), **params))

    def prepare(self, operation_id: str, /, **params: Any) -> Any:
        """Validate a planned write (dry run) without sending it."""
        found = self._composites.get(operation_id)
        if found is None:
            return self._client.prepare(operation_id, **params)
        _check_params(found, params)
        return {"composite": operation_id, "params": dict(params)}


def _check_params(composite: Composite, params: Mapping[str, Any]) -> None:
    """Refuse arguments the function does not take, in words the script's author can act on."""
    try:
        inspect.signature(composite.fn).bind(None, **params)
    except TypeError as exc:
        raise ValidationError(
            f"klaviyo.custom.{composite.name}: {exc}; see get_signature({composite.name!r})",
            operation_id=composite.name,
        ) from None


class CompositeBridge:
    """The script's bridge, plus a way back in for the calls composites make.

    It counts every call it serves (the script's and the composites'), refuses a composite's
    call past ``max_calls``, and attaches a composite's calls to the reply that started it.
    """

    def __init__(self, inner: SdkBridge, client: CompositeClient, *, max_calls: int) -> None:
        """Wrap ``inner``, whose client is ``client``; ``max_calls`` as the sandbox's limit."""
        self.inner = inner
        self.catalog = inner.catalog
        self.dry_run = inner.dry_run
        self.max_calls = max_calls
        self._client = client
        self._composites = set(client._composites)
        self._served = 0
        client.policed = lambda journal: BridgedKlaviyo(self, journal)

    def operations(self) -> Mapping[str, Sequence[str]]:
        """Operation ids by group."""
        return self.inner.operations()

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        """Scan the outside text of the final result."""
        return await self.inner.scan_output(pieces)

    def scrub(self, text: str) -> str:
        """``text`` with the host's secrets replaced."""
        return self.inner.scrub(text)

    async def call(self, op_id: str, args: Sequence[Any], params: Mapping[str, Any]) -> BridgeReply:
        """Serve one of the script's calls; a composite's own calls come back in ``nested``."""
        self._served += 1
        journal: Journal = []
        self._client.journal = journal
        reply = await self.inner.call(op_id, args, params)
        reply.nested = journal
        return reply

    async def nested_call(
        self, op_id: str, params: Mapping[str, Any], journal: Journal
    ) -> BridgeReply:
        """One call a composite makes: through the same policy, confirmation and scanner."""
        started = time.perf_counter()
        if op_id in self._composites:
            reply = BridgeReply(
                error=ValidationError(
                    "a composite action cannot call another composite action",
                    operation_id=op_id,
                ).to_dict()
            )
        elif self._served >= self.max_calls:
            message = (
                f"SDK call limit of {self.max_calls} per execution reached inside a composite "
                "action; ask it for less (smaller limits) or continue in the next script"
            )
            reply = BridgeReply(error={"class": "LimitError", "message": message})
        else:
            self._served += 1
            reply = await self.inner.call(op_id, (), params)
        journal.append((op_id, reply, round((time.perf_counter() - started) * 1000, 2)))
        return reply
