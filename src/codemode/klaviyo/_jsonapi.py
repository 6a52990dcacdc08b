"""JSON:API documents as plain records (stdlib only: the sandbox worker uses this module too).

Klaviyo answers with ``{"data": ..., "included": [...], "links": {...}}``. Scripts and agents want
records: ``{"id", "type", <attributes merged in>, <relationship>: id | [ids]}``. ``Result`` keeps
the raw document and offers those records, the ``included`` resources resolved, and the next page
cursor; pagination itself is driven by whoever holds a ``fetch_next`` callable (the SDK client, or
the sandbox proxy that forwards to the host).
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["CallInfo", "MissingKey", "Record", "Result", "flatten", "next_cursor"]

_KEYS_SHOWN = 24  # keys a missing-key message lists before "..."


class MissingKey(KeyError):
    """A key that a record does not hold; the message says what it holds instead.

    A ``KeyError`` (``except KeyError`` catches it): reading the JSON:API shape
    (``record["attributes"]["email"]``) or a misspelt field tells what to write instead.
    """

    def __init__(self, key: Any, keys: tuple[str, ...]) -> None:
        super().__init__(key)
        self.key = key
        self.keys = keys

    def __str__(self) -> str:
        key = self.key
        shown = _shown(self.keys)
        if key == "attributes":
            hint = (
                "records are flat: the attributes are the record's own keys "
                "(record['email'], not record['attributes']['email'])"
            )
        elif key == "relationships":
            hint = "a relationship's ids are under its own name (record['lists'])"
        elif key in ("data", "included", "links", "meta"):
            hint = (
                "this is one record, not the answer: the Result has .data, .included, .next_cursor"
            )
        else:
            close = (
                difflib.get_close_matches(key, self.keys, n=1, cutoff=0.75)
                if isinstance(key, str) and len(key) <= 64
                else []
            )
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "not in this record (a field Klaviyo left out or a sparse `fields=` "
                "dropped); use record.get(key) for optional fields"
            )
        return f"{key!r:.80}: {hint} (keys: {shown})"


class Record(dict[str, Any]):
    """A flat record: a dict whose missing keys raise :class:`MissingKey` (a ``KeyError``)."""

    __slots__ = ()

    def __missing__(self, key: Any) -> Any:
        raise MissingKey(key, tuple(str(k) for k in self))

    if not TYPE_CHECKING:  # type checkers keep reporting unknown attributes themselves

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            where = f"record[{name[:64]!r}]" if name in self else "record.get(key)"
            raise AttributeError(
                f"a record has no attribute {name[:64]!r}: records are dicts, read {where} "
                f"(keys: {_shown(tuple(str(k) for k in self))})"
            )


def _shown(keys: tuple[str, ...]) -> str:
    return ", ".join(keys[:_KEYS_SHOWN]) + (", ..." if len(keys) > _KEYS_SHOWN else "")


def flatten(resource: dict[str, Any]) -> Record:
    """One JSON:API resource object as a flat record.

    Attributes are merged in; each relationship that carries ``data`` becomes its ids under the
    relationship's name (``"lists": ["Y6nRLr"]``), or ``<name>_ids`` if an attribute already has
    that name.
    """
    record = Record(id=resource.get("id"), type=resource.get("type"))
    record.update(resource.get("attributes") or {})
    for name, rel in (resource.get("relationships") or {}).items():
        if not isinstance(rel, dict) or "data" not in rel:
            continue
        data = rel["data"]
        ids: Any = (
            [item.get("id") for item in data] if isinstance(data, list) else (data or {}).get("id")
        )
        key = name if name not in record else f"{name}_ids"
        record[key] = ids
    return record


def next_cursor(document: dict[str, Any] | None) -> str | None:
    """The ``page[cursor]`` of ``links.next``, or None on the last page."""
    link = ((document or {}).get("links") or {}).get("next")
    if not link:
        return None
    query = parse_qs(urlsplit(str(link)).query)
    for key in ("page[cursor]", "page_cursor"):
        if query.get(key):
            return query[key][0]
    return None


# What an HTTP client's response offers, and where a Result keeps it.
_RESULT_HINTS = {
    "json": "its records are .data (or iterate it); Klaviyo's whole document is .raw",
    "text": "its records are .data (or iterate it); Klaviyo's whole document is .raw",
    "content": "its records are .data (or iterate it); Klaviyo's whole document is .raw",
    "body": "its records are .data (or iterate it); Klaviyo's whole document is .raw",
    "status_code": "the HTTP status is .status",
    "ok": "a failed call raises (NotFoundError, BadRequestError, ...); .status is the HTTP status",
    "cursor": "the next page's cursor is .next_cursor; .all() follows every page",
    "next": "the next page's cursor is .next_cursor; .all() follows every page",
    "next_page": "the next page's cursor is .next_cursor; .all() follows every page",
    "items": "the records are .data (or iterate the result)",
    "results": "the records are .data (or iterate the result)",
}


@dataclass(frozen=True, slots=True)
class CallInfo:
    """How one SDK call went: timing, attempts and Klaviyo's rate-limit headers.

    Attributes:
        operation_id: the action called.
        method, path: the HTTP method and path (no query string, no credential).
        status: the final HTTP status (0 when no answer came back).
        ms: wall time of the whole call including retries and backoff sleeps, in milliseconds.
        attempts: requests sent (1 + retries; a token refresh counts as an attempt).
        rate_limit: ``RateLimit-Limit/-Remaining/-Reset`` of the last answer as
            ``{"limit", "remaining", "reset"}`` (only the keys Klaviyo sent).
        retry_after: ``Retry-After`` seconds of the last answer, when sent.
        error: the error class name when the call failed, else None.
    """

    operation_id: str
    method: str
    path: str
    status: int
    ms: float
    attempts: int
    rate_limit: dict[str, int] = field(default_factory=dict)
    retry_after: float | None = None
    error: str | None = None

    @property
    def retries(self) -> int:
        """Attempts beyond the first."""
        return max(0, self.attempts - 1)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe copy (for the sandbox's ``calls`` list and audit logs)."""
        return asdict(self)


class Result:
    """A Klaviyo answer: the raw document plus flattened records and lazy paging.

    ``result.data`` is a record (single resource), a list of records (collection) or None (204 or
    no body). Iterating a Result walks the records of this page; :meth:`all` walks every page.
    """

    __slots__ = ("_afetch_next", "_fetch_next", "info", "raw", "status")

    def __init__(
        self,
        raw: dict[str, Any] | None,
        *,
        status: int = 200,
        fetch_next: Callable[[str], Result] | None = None,
        afetch_next: Callable[[str], Awaitable[Result]] | None = None,
        info: CallInfo | None = None,
    ) -> None:
        self.raw = raw
        self.status = status
        self.info = info
        self._fetch_next = fetch_next
        self._afetch_next = afetch_next

    @property
    def data(self) -> Record | list[Record] | None:
        """Flattened primary data: a record, a list of records, or None."""
        if not self.raw or self.raw.get("data") is None:
            return None
        data = self.raw["data"]
        if isinstance(data, list):
            return [flatten(item) for item in data]
        return flatten(data)

    @property
    def records(self) -> list[Record]:
        """The primary data as a list (empty when there is none)."""
        data = self.data
        if data is None:
            return []
        return data if isinstance(data, list) else [data]

    @property
    def included(self) -> list[Record]:
        """Flattened ``included`` resources (requested with ``include=[...]``)."""
        return [flatten(item) for item in (self.raw or {}).get("included") or []]

    def related(self, record: Record, relationship: str) -> list[Record]:
        """The included records a record points to through ``relationship``."""
        wanted = (
            record.get(relationship)
            if relationship in record
            else record.get(f"{relationship}_ids")
        )
        ids = set(wanted if isinstance(wanted, list) else [wanted] if wanted else [])
        return [item for item in self.included if item["id"] in ids]

    @property
    def links(self) -> dict[str, Any]:
        """The document's ``links`` (self, next, prev)."""
        return dict((self.raw or {}).get("links") or {})

    @property
    def meta(self) -> dict[str, Any]:
        """The document's ``meta``."""
        return dict((self.raw or {}).get("meta") or {})

    @property
    def next_cursor(self) -> str | None:
        """Cursor of the next page, or None on the last page."""
        return next_cursor(self.raw)

    if not TYPE_CHECKING:  # type checkers keep reporting unknown attributes themselves

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_") or name in Result.__slots__:  # a slot not set yet: no hint
                raise AttributeError(name)
            # What this result offers: the async walkers only on AsyncKlaviyo's, info where kept.
            skip = {"info"} if self.info is None else set()
            if self._afetch_next is None:
                skip |= {"aall", "apages"}
            public = [n for n in dir(type(self)) if not n.startswith("_") and n not in skip]
            hint = _RESULT_HINTS.get(name.lower())
            close = difflib.get_close_matches(name, public, n=1, cutoff=0.75)
            if hint is None and close:
                hint = f"did you mean .{close[0]}?"
            raise AttributeError(
                f"a Result has no attribute {name[:64]!r}; "
                + (hint or "its records are .data (iterate it, or .all() for every page)")
            )

    def __getitem__(self, key: Any) -> Any:
        """``result[0]``, ``result[:5]``: this page's records; ``result["id"]``: the one record's key.

        Raises:
            TypeError: a key of a result that holds a list, or of Klaviyo's document rather than
                a record; the message says what to write.
        """
        if self.meta.get("dry_run") and isinstance(key, (int, str)):
            raise TypeError(
                "a dry run plans this write without sending it, so no record came back: "
                "skip what reads it when result.meta.get('dry_run') is true"
            )
        if isinstance(key, (int, slice)):
            return self.records[key]
        data = self.data
        if isinstance(key, str) and key in ("data", "included", "links", "meta"):
            raise TypeError(
                f"a Result is not Klaviyo's document: read result.{'data' if key == 'data' else key}"
                " (records flattened), or result.raw[...] for the document as sent"
            )
        if isinstance(data, dict):
            return data[key]  # a Record: a missing key names what it holds
        held = "no record" if data is None else f"a list of {len(data)} records"
        raise TypeError(
            f"this result holds {held}, not one record: read result[0][{str(key)[:64]!r}], or "
            f"loop: for record in result: record[{str(key)[:64]!r}]"
        )

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:
        return self.raw is not None

    def pages(self, max_pages: int | None = None) -> Iterator[Result]:
        """This page and every following one, fetched lazily.

        Raises:
            TypeError: the result came from ``AsyncKlaviyo``; use :meth:`apages` instead.
        """
        if self._fetch_next is None and self._afetch_next is not None and self.next_cursor:
            raise TypeError(
                "this result came from AsyncKlaviyo: use `async for page in result.apages()`"
            )
        page: Result | None = self
        count = 0
        while page is not None:
            yield page
            count += 1
            cursor = page.next_cursor
            if (
                cursor is None
                or page._fetch_next is None
                or (max_pages is not None and count >= max_pages)
            ):
                return
            page = page._fetch_next(cursor)

    def all(self, max_items: int | None = None) -> Iterator[Record]:
        """Every record across pages, lazily; stops after ``max_items`` when given."""
        if max_items is not None and max_items <= 0:
            return
        seen = 0
        for page in self.pages():
            for record in page.records:
                yield record
                seen += 1
                # Stop before asking for another page once the cap is reached.
                if max_items is not None and seen >= max_items:
                    return

    async def apages(self, max_pages: int | None = None) -> AsyncIterator[Result]:
        """Async twin of :meth:`pages` for results of ``AsyncKlaviyo``."""
        page: Result | None = self
        count = 0
        while page is not None:
            yield page
            count += 1
            cursor = page.next_cursor
            if (
                cursor is None
                or page._afetch_next is None
                or (max_pages is not None and count >= max_pages)
            ):
                return
            page = await page._afetch_next(cursor)

    async def aall(self, max_items: int | None = None) -> AsyncIterator[Record]:
        """Async twin of :meth:`all`: ``async for record in result.aall(max_items=500)``."""
        if max_items is not None and max_items <= 0:
            return
        seen = 0
        async for page in self.apages():
            for record in page.records:
                yield record
                seen += 1
                # Stop before asking for another page once the cap is reached.
                if max_items is not None and seen >= max_items:
                    return

    def __repr__(self) -> str:
        kind = "empty" if self.raw is None else f"{len(self.records)} record(s)"
        more = ", more pages" if self.next_cursor else ""
        return f"<Result {self.status}: {kind}{more}>"
