"""Composite actions in the host: ``klaviyo.custom.<name>(...)`` from an operator's plugin.

A composite (see :mod:`codemode.extensions`) is an async function that takes the caller's SDK
client. The bridge serves it like any action (policy by its declared kind, confirmation, dry
run, scanning); :class:`CompositeClient` is the client the bridge talks to: composites run here
with the caller's own ``AsyncKlaviyo``, every other action goes straight to it.

A composite's return value reaches the script as a record: a dict's keys (or ``value`` for
anything else) under ``result.data``, a list of dicts as ``result.data`` records.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode.extensions import Composite
from codemode.klaviyo import ValidationError

__all__ = ["CompositeClient", "CompositeResult"]


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


class CompositeClient:
    """The bridge's client: composites by name run in the host, the rest go to ``client``."""

    def __init__(self, client: Any, composites: Sequence[Composite]) -> None:
        """Serve ``composites`` with ``client`` (the caller's ``AsyncKlaviyo``) passed first."""
        self._client = client
        self._composites: Mapping[str, Composite] = {c.name: c for c in composites}

    async def call(self, operation_id: str, /, **params: Any) -> Any:
        """Run a composite, or forward the call to the SDK client."""
        found = self._composites.get(operation_id)
        if found is None:
            return await self._client.call(operation_id, **params)
        _check_params(found, params)
        return CompositeResult(found.name, await found.fn(self._client, **params))

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
