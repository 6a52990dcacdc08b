"""Which action a request is actually served as: the policy is decided on that route.

A path id is sent percent-encoded as one segment, but the route a server picks depends on how it
decodes and matches the path. :class:`RouteTable` matches the way a router does (static segments
before parameters) on the path decoded once and twice, so the bridge can refuse a call whose ids
would make it land on another action than the one the policy judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

from codemode.catalog import Action

__all__ = ["RouteTable"]


class RouteTable:
    """Path templates of the catalog, by method and segment count."""

    def __init__(self, actions: Iterable[Action]) -> None:
        self._routes: dict[tuple[str, int], list[tuple[tuple[str, ...], str]]] = {}
        for action in actions:
            segments = tuple(action.path.strip("/").split("/"))
            key = (action.method.upper(), len(segments))
            self._routes.setdefault(key, []).append((segments, action.id))

    def match(self, method: str, path: str) -> str | None:
        """The action a router serves for ``path``: static segments win over parameters."""
        segments = tuple(path.strip("/").split("/"))
        best: tuple[tuple[bool, ...], str] | None = None
        for template, action_id in self._routes.get((method.upper(), len(segments)), ()):
            if all(t.startswith("{") or t == s for t, s in zip(template, segments, strict=True)):
                rank = tuple(not t.startswith("{") for t in template)
                if best is None or rank > best[0]:
                    best = (rank, action_id)
        return best[1] if best else None

    def served_as(self, action: Action, values: Mapping[str, object]) -> str | None:
        """The other action ``action`` would reach with these path values (None when its own)."""
        if not action.path_params:
            return None
        if any(values.get(p.name) is None for p in action.path_params):
            return None  # nothing is sent: the SDK refuses the call and names what is missing
        path = action.path
        for param in action.path_params:
            path = path.replace(
                "{" + param.wire + "}", quote(str(values.get(param.name, "")), safe="")
            )
        for decoded in (path, unquote(path), unquote(unquote(path))):
            served = self.match(action.method, decoded)
            if served != action.id:
                return served or "(no action)"
        return None
