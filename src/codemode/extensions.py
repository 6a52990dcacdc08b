"""Operator extensions: extra Klaviyo operations from a file, and composite actions from plugins.

Extra operations come from a TOML file naming operationIds of an OpenAPI document the operator
supplies (for example a beta spec)::

    [spec]
    path = "klaviyo-beta.json"        # relative to this file
    revision = "2026-10-15.pre"       # revision header for these operations (default: the spec's)

    [[operation]]
    id = "get_beta_widgets"
    summary = "List the account's beta widgets."
    kind = "read"                     # required for anything but GET
    category = "Beta"                 # optional; default: the operation's first tag
    keywords = ["widgets"]            # optional

They go through the same OpenAPI-to-record code as the built-in catalog, so the SDK, search,
signatures, policy and the sandbox treat them exactly like built-in actions.

Composite actions are Python functions an installed package registers under the entry-point group
``codemode.actions``; each entry point names a callable returning :class:`Composite` objects. A
composite runs in the host with the session's SDK client and is exposed in the sandbox as
``klaviyo.custom.<name>(...)``; its kind decides how the policy gates it.
"""

from __future__ import annotations

import errno
import inspect
import json
import re
import tomllib
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from codemode.catalog import KINDS, Action, Catalog, Kind
from codemode.catalog._openapi import Resolver, build_record, index_operations, snake
from codemode.errors import CatalogError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Composite",
    "ExtensionError",
    "composite",
    "composite_action",
    "load_composites",
    "load_extra_operations",
]

ENTRY_POINT_GROUP = "codemode.actions"
COMPOSITE_GROUP = "custom"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A route an extension may declare: absolute, plain segments or {parameters}, nothing a client
# would rewrite or read as another part of the URL.
_PLAIN_ROUTE = re.compile(
    r"/(?:api|client)(?:/(?:[A-Za-z0-9\-_.~]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+/?"
)
_SUMMARY_MAX = 160
_FILE_BYTES = 1024 * 1024  # an extension file: a few operations
_SPEC_BYTES = 64 * 1024 * 1024  # its OpenAPI document (Klaviyo's whole spec is about 10 MB)


class ExtensionError(CatalogError):
    """An extension file or plugin is invalid; the message names the line and the fix."""


CompositeFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Composite:
    """A composite action: an async function run in the host with the session's SDK client.

    The function's first parameter receives an ``AsyncKlaviyo`` bound to the session's
    credentials; the rest must be keyword parameters with JSON-friendly annotations (they become
    the action's signature).
    """

    name: str
    summary: str
    kind: Kind
    fn: CompositeFn
    keywords: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)


def composite(
    *, name: str, summary: str, kind: Kind = "read", keywords: Iterable[str] = ()
) -> Callable[[CompositeFn], Composite]:
    """Decorator that turns an async function into a :class:`Composite`."""

    def wrap(fn: CompositeFn) -> Composite:
        return Composite(name=name, summary=summary, kind=kind, fn=fn, keywords=tuple(keywords))

    return wrap


def load_extra_operations(path: Path, catalog: Catalog) -> list[Action]:
    """Read an extension file and return its operations as catalog actions (source ``extra``).

    Raises:
        ExtensionError: the file, the spec it names, or one of its operations is invalid.
    """
    try:
        text = _read_bounded(path, _FILE_BYTES)
    except OSError as exc:
        raise ExtensionError(
            f"{path}: cannot read the extension file ({exc.strerror}); check CODEMODE_EXTENSIONS"
        ) from None
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExtensionError(
            f"{path}: not valid TOML ({exc}); fix the syntax at that line"
        ) from None

    spec_table = config.get("spec")
    if not isinstance(spec_table, dict) or not isinstance(spec_table.get("path"), str):
        raise ExtensionError(
            f'{path}:{_line_of(text, "[spec]")}: add a [spec] table with path = "<your OpenAPI file>"'
        )
    spec_path = (path.parent / spec_table["path"]).resolve()
    try:
        spec = json.loads(_read_bounded(spec_path, _SPEC_BYTES))
    except (OSError, ValueError, RecursionError) as exc:
        raise ExtensionError(
            f"{path}:{_line_of(text, 'path')}: cannot load the OpenAPI document {spec_table['path']!r} ({exc})"
        ) from None
    revision = spec_table.get("revision") or (spec.get("info") or {}).get("version")
    if not isinstance(revision, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}(\.[a-z0-9]+)?", revision
    ):
        raise ExtensionError(
            f"{path}:{_line_of(text, 'revision')}: revision must look like 2026-10-15 or 2026-10-15.pre"
        )

    operations = config.get("operation")
    if not isinstance(operations, list) or not operations:
        raise ExtensionError(
            f"{path}: no [[operation]] entries; add one per operationId you want to expose"
        )
    ops = index_operations(spec)
    resolver = Resolver(spec)
    actions: list[Action] = []
    seen: set[str] = set()
    for entry in operations:
        actions.append(_extra_action(entry, ops, resolver, revision, catalog, seen, path, text))
    return actions


def _read_bounded(path: Path, limit: int) -> str:
    """``path``'s UTF-8 text, read no further than ``limit`` bytes (``/dev/zero`` or a FIFO named
    as an extension file or its spec grew without end); past it, ``OSError``."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OSError(errno.EILSEQ, f"not UTF-8 ({exc.reason})") from None


def _extra_action(
    entry: Any,
    ops: dict[str, tuple[str, str, dict[str, Any]]],
    resolver: Resolver,
    revision: str,
    catalog: Catalog,
    seen: set[str],
    path: Path,
    text: str,
) -> Action:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ExtensionError(f'{path}: every [[operation]] needs id = "<operationId>"')
    op_id = entry["id"]
    where = f"{path}:{_line_of(text, op_id)}"
    if op_id not in ops:
        close = ", ".join(sorted(ops, key=lambda o: _distance(o, op_id))[:3])
        raise ExtensionError(
            f"{where}: operationId {op_id!r} is not in the supplied spec; closest: {close}"
        )
    if op_id in catalog or op_id in seen:
        raise ExtensionError(f"{where}: {op_id!r} is already an action; remove the duplicate entry")
    seen.add(op_id)
    summary = entry.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise ExtensionError(f'{where}: {op_id} needs summary = "<one line in your own words>"')
    if len(summary) > _SUMMARY_MAX or "\n" in summary:
        raise ExtensionError(
            f"{where}: {op_id}'s summary must be one line of at most {_SUMMARY_MAX} characters"
        )
    method, route, op = ops[op_id]
    if not _PLAIN_ROUTE.fullmatch(route) or any(s in (".", "..") for s in route.split("/")):
        # The policy judges the route as written (deny lists, the route a call lands on); a
        # client normalises dot segments and reads ``?``/``#``, so "/api/beta/../lists/{id}"
        # was judged as an unknown route and served as DELETE /api/lists/{id}.
        raise ExtensionError(
            f"{where}: {op_id}'s route {route!r} is not a plain path under /api/ or /client/ "
            "(letters, digits, - _ . ~ and {parameters}; no dot segments, query, fragment, "
            "escapes or empty segments)"
        )
    kind = entry.get("kind")
    if kind is None:
        if method != "GET":
            raise ExtensionError(
                f'{where}: {op_id} is a {method}; say what it does with kind = "write" or "destructive"'
            )
        kind = "read"
    if kind not in KINDS:
        raise ExtensionError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if method in ("DELETE", "PATCH", "PUT") and kind in ("read", "client"):
        # A read would pass --read-only and dry run untouched: no Klaviyo DELETE/PATCH/PUT reads.
        raise ExtensionError(
            f'{where}: {op_id} is a {method}, which changes data; kind = "{kind}" is refused; '
            'use "write" or "destructive"'
        )
    tags = op.get("tags") or ["Extensions"]
    category = entry.get("category") or str(tags[0])
    keywords = entry.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise ExtensionError(
            f'{where}: keywords must be a list of strings, e.g. ["widgets", "beta"]'
        )
    record = build_record(
        op_id,
        method,
        route,
        op,
        resolver,
        category=category,
        kind=kind,
        summary=summary.strip(),
        keywords=keywords,
    )
    record["revision"] = revision
    return Action.from_json(record, source="extra")


def load_composites(*, group: str = ENTRY_POINT_GROUP) -> list[Composite]:
    """Every composite registered by installed plugins under the entry-point ``group``.

    Raises:
        ExtensionError: a plugin fails to load or registers an invalid composite.
    """
    found: list[Composite] = []
    names: set[str] = set()
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            provider = ep.load()
            items = (
                provider()
                if callable(provider) and not isinstance(provider, Composite)
                else provider
            )
        except Exception as exc:  # a broken plugin must name itself, not crash the server
            raise ExtensionError(
                f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            ) from None
        for item in items if isinstance(items, Iterable) else [items]:
            _check_composite(item, ep.name)
            if item.name in names:
                raise ExtensionError(
                    f"plugin {ep.name!r}: composite {item.name!r} is registered twice"
                )
            names.add(item.name)
            found.append(
                Composite(
                    item.name, item.summary, item.kind, item.fn, item.keywords, plugin=ep.name
                )
            )
    return found


def _check_composite(item: Any, plugin: str) -> None:
    if not isinstance(item, Composite):
        raise ExtensionError(
            f"plugin {plugin!r} returned {type(item).__name__}, not a codemode.extensions.Composite"
        )
    if not _NAME.match(item.name):
        raise ExtensionError(
            f"plugin {plugin!r}: composite name {item.name!r} must be snake_case (a-z, 0-9, _)"
        )
    if not item.summary.strip() or len(item.summary) > _SUMMARY_MAX:
        raise ExtensionError(
            f"plugin {plugin!r}: {item.name} needs a one-line summary of at most {_SUMMARY_MAX} characters"
        )
    if item.kind not in KINDS:
        raise ExtensionError(
            f"plugin {plugin!r}: {item.name} has kind {item.kind!r}; use one of {', '.join(KINDS)}"
        )
    if not inspect.iscoroutinefunction(item.fn):
        raise ExtensionError(
            f"plugin {plugin!r}: {item.name} must be an async function taking the client first"
        )


_PY_TO_TYPE = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", list: "list"}


def composite_action(item: Composite) -> Action:
    """The catalog view of a composite: searchable, with a signature from its parameters."""
    params: list[dict[str, Any]] = []
    hints = typing.get_type_hints(item.fn)
    for index, (name, parameter) in enumerate(inspect.signature(item.fn).parameters.items()):
        if index == 0:
            continue  # the SDK client the host passes in
        annotation = hints.get(name, Any)
        entry: dict[str, Any] = {
            "name": name,
            "wire": name,
            "in": "query",
            "required": parameter.default is inspect.Parameter.empty,
            "type": _PY_TO_TYPE.get(annotation, getattr(annotation, "__name__", str(annotation))),
        }
        if parameter.default is not inspect.Parameter.empty:
            entry["default"] = parameter.default
        params.append(entry)
    record: dict[str, Any] = {
        "id": item.name,
        "n": None,
        "category": "Custom",
        "group": snake(COMPOSITE_GROUP),
        "method": "POST",
        "path": f"/custom/{item.name}",
        "kind": item.kind,
        "summary": item.summary,
        "keywords": list(item.keywords),
        "params": params,
        "response": {"status": 200, "resource_type": None, "collection": False, "fields": {}},
    }
    return Action.from_json(record, source="composite")


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _distance(a: str, b: str) -> float:
    import difflib

    return -difflib.SequenceMatcher(None, a, b).ratio()
