"""Cursor pagination: where a cursor comes from and how the next page's call is made.

Klaviyo pages with ``page[cursor]``; ``links.next`` is a full URL carrying it. Callers may pass
either the bare cursor or that URL as ``page_cursor=``; a URL is only trusted when it points at the
client's own origin (a hostile ``links.next`` must not redirect traffic or smuggle a host). The
lazy walk over pages lives on :class:`Result` (``_jsonapi``), which the sandbox shares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["CURSOR_KEYS", "CursorError", "cursor_from", "next_page_params"]

CURSOR_KEYS = ("page[cursor]", "page_cursor")


class CursorError(ValueError):
    """``page_cursor`` is neither a bare cursor nor a same-origin ``links.next`` URL."""


def cursor_from(value: object, *, origin: str, same_origin: Callable[[str], bool]) -> str:
    """The bare cursor from ``value`` (a cursor, or a ``links.next`` URL on ``origin``).

    Raises:
        CursorError: not a string, a URL on another origin, or a URL without a cursor.
    """
    if not isinstance(value, str) or not value:
        raise CursorError("page_cursor must be the cursor string or the links.next URL")
    if "://" not in value and not value.startswith("//"):
        # A bare cursor only ever travels as an encoded query value, so any text is harmless.
        return value
    if not same_origin(value):
        raise CursorError(
            f"page_cursor URL is not on {origin}; pass the bare cursor or a links.next URL from this API"
        )
    query = parse_qs(urlsplit(value).query)
    for key in CURSOR_KEYS:
        if query.get(key):
            return query[key][0]
    raise CursorError("page_cursor URL has no page[cursor] parameter; pass links.next as given")


def next_page_params(params: Mapping[str, Any], cursor: str) -> dict[str, Any]:
    """The parameters of the call that fetches the page at ``cursor`` (everything else kept)."""
    return {**params, "page_cursor": cursor}
