"""The API's routes matched against paths as callers write them, with real ids in place of
parameters (``/api/lists/Y7xZ/profiles``): one matcher for the catalog's route lookups and the
search index's route signal."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["RouteTable", "normalize_path"]


def normalize_path(path: str) -> str:
    """A route with its query string dropped and every path parameter written ``{}``."""
    path = path.split("?", 1)[0].rstrip("/").lower()
    return re.sub(r"\{[^}]*\}", "{}", path)


class RouteTable(Generic[T]):
    """What sits at each route (``normalize_path`` form), found from a path with real ids.

    Attributes:
        static_segments: every literal segment of a route: a path that has one of them where a
            route has a parameter does not fit that route (``/api/lists/tags`` is not a list id).
    """

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._routes: dict[str, list[T]] = {}
        for path, item in entries:
            self._routes.setdefault(normalize_path(path), []).append(item)
        self.static_segments = frozenset(
            seg for route in self._routes for seg in route.split("/") if seg and seg != "{}"
        )

    def match(self, path: str) -> list[T]:
        """What sits at ``path`` (``normalize_path`` form), where a segment may be a real id.

        A segment that no route has at that place stands for a path parameter; among the routes
        that fit, those with the most literal segments win (``/api/lists/{}/profiles`` over
        ``/api/lists/{}/{}``, though the API has no such route).
        """
        exact = self._routes.get(path)
        if exact:
            return list(exact)
        parts = path.split("/")
        best: list[T] = []
        most = -1
        for route, items in self._routes.items():
            rparts = route.split("/")
            if len(rparts) != len(parts):
                continue
            literal = 0
            for q, r in zip(parts, rparts, strict=True):
                if q == r:
                    literal += 1
                elif r != "{}" or q in self.static_segments:
                    break
            else:
                if literal > most:
                    best, most = list(items), literal
                elif literal == most:
                    best += items
        return best
