"""JSON:API links that carry nothing but the API's own words and an id the scan reads anyway.

Every resource in a Klaviyo answer carries ``links.self`` and, per relationship, ``links.self``
and ``links.related``: URLs such as ``https://a.klaviyo.com/api/profiles/01J.../relationships/lists/``.
In a page of profiles they are over half the text and most of tier 1's work (each holds the
anchors ``http`` and ``api``), yet the only part of one that is not the API's own is the
resource id, and the id is a string of the same answer, read there.

:class:`LinkShape` recognises exactly those links: the host's configured base URL, then path
segments that are either words of the catalog's path templates or one id made of URL-safe
characters (no query, no fragment, no percent-escapes, no empty segment). The scanner leaves such
a link unread only when its id is read elsewhere in the answer or is too short to read at all;
anything else (another host, a query string, an escaped id, a word the catalog does not use, an id
that appears nowhere else) is read as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LinkShape"]

# RFC 3986 unreserved characters: an id written into a path without escaping.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~\-]+")


@dataclass(frozen=True, slots=True)
class LinkShape:
    """The links one API writes into its answers: its base URL and the words of its paths.

    Attributes:
        prefix: the base URL every such link starts with, ending in ``/`` (the host's own
            configuration, never the answer's).
        words: the literal segments of the API's path templates (``api``, ``profiles``,
            ``relationships``...).
    """

    prefix: str
    words: frozenset[str]

    @classmethod
    def build(cls, base_url: str, paths: Iterable[str]) -> LinkShape:
        """The shape of links under ``base_url`` for path templates like ``/api/profiles/{id}/``."""
        words = {
            segment
            for path in paths
            for segment in path.split("/")
            if segment and not segment.startswith("{") and _UNRESERVED.fullmatch(segment)
        }
        return cls(base_url.rstrip("/") + "/", frozenset(words))

    def id_of(self, url: str) -> str | None:
        """The id segment of ``url`` ("" when it has none) when it has this shape, else None."""
        if not url.startswith(self.prefix):
            return None
        rest = url[len(self.prefix) :]
        if rest.endswith("/"):
            rest = rest[:-1]
        if not rest:
            return None
        found: str | None = None
        for segment in rest.split("/"):
            if segment in self.words:
                continue
            if found is not None or not _UNRESERVED.fullmatch(segment):
                return None  # a second non-word segment, an escape, a query, an empty segment
            found = segment
        return found if found is not None else ""
