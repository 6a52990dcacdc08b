"""Base classes of the generated resource groups (``k.profiles``, ``k.catalogs``, ...).

Generated subclasses (``_generated/<group>.py``) add one typed method per built-in action. Actions
added to the catalog at run time (extensions) have no generated method; ``__getattr__`` reaches them
by id, so ``k.<group>.<id>(...)`` works for every action the client's catalog holds.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from codemode.klaviyo._jsonapi import Result

if TYPE_CHECKING:
    from codemode.catalog import Catalog

__all__ = ["AsyncCaller", "AsyncResource", "SyncCaller", "SyncResource"]


class SyncCaller(Protocol):
    """What a sync resource needs from its client."""

    @property
    def catalog(self) -> Catalog: ...

    def call(self, operation_id: str, /, **params: Any) -> Result: ...


class AsyncCaller(Protocol):
    """What an async resource needs from its client."""

    @property
    def catalog(self) -> Catalog: ...

    async def call(self, operation_id: str, /, **params: Any) -> Result: ...


def _missing(catalog: Catalog, group: str, name: str) -> AttributeError:
    ids = [a.id for a in catalog.groups.get(group, [])]
    close = difflib.get_close_matches(name, ids, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return AttributeError(
        f"klaviyo.{group} has no action {name!r}; {hint}actions: {', '.join(ids)}"
    )


class _Base:
    _group: str = ""

    def __init__(self, client: Any, group: str | None = None) -> None:
        self._client = client
        if group is not None:
            self._group = group

    def __repr__(self) -> str:
        return f"<klaviyo.{self._group}>"

    def _lookup(self, name: str) -> str:
        catalog: Catalog = self._client.catalog
        if name.startswith("_"):
            raise AttributeError(name)
        action = catalog.get(name)
        if action is None or action.group != self._group:
            raise _missing(catalog, self._group, name)
        return action.id

    def __dir__(self) -> list[str]:
        catalog: Catalog = self._client.catalog
        return sorted({*super().__dir__(), *(a.id for a in catalog.groups.get(self._group, []))})


class SyncResource(_Base):
    """One resource group on :class:`Klaviyo`; unknown attribute names resolve to catalog actions."""

    _client: SyncCaller

    def __init__(self, client: SyncCaller, group: str | None = None) -> None:
        super().__init__(client, group)

    def _call(self, operation_id: str, /, **params: Any) -> Result:
        return self._client.call(operation_id, **params)

    def __getattr__(self, name: str) -> Callable[..., Result]:
        op = self._lookup(name)

        def method(**params: Any) -> Result:
            return self._client.call(op, **params)

        method.__name__ = op
        return method


class AsyncResource(_Base):
    """One resource group on :class:`AsyncKlaviyo`; unknown attribute names resolve to catalog actions."""

    _client: AsyncCaller

    def __init__(self, client: AsyncCaller, group: str | None = None) -> None:
        super().__init__(client, group)

    async def _call(self, operation_id: str, /, **params: Any) -> Result:
        return await self._client.call(operation_id, **params)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Result]]:
        op = self._lookup(name)

        async def method(**params: Any) -> Result:
            return await self._client.call(op, **params)

        method.__name__ = op
        return method
