"""Typed, immutable views over the catalog records in ``actions.json``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codemode.catalog._routes import RouteTable, normalize_path
from codemode.errors import CatalogError

Kind = Literal["read", "write", "destructive", "client"]
Source = Literal["builtin", "companion", "extra", "composite"]
KINDS: tuple[Kind, ...] = ("read", "write", "destructive", "client")
# Longest name a message repeats whole, and that "did you mean" is looked up for.
_SHOWN = 64
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# The shape of a name a message may repeat: an id, a dotted function, a route or URL (with an HTTP
# method), a resource URI. No whitespace inside, no quotes, no ``@``: text of another shape was
# not typed as a name, and may be outside text the model copied (an instruction) that a message
# written by the server would hand back to it unscreened.
_NAME_SHAPE = re.compile(r"(?:[A-Za-z]{2,8} )?[A-Za-z0-9_.:/{}()\[\]=?&%$~+,*#-]+")


def quote_name(name: str, limit: int = _SHOWN, flagged: Callable[[str], bool] | None = None) -> str:
    """``name`` (a name a client or script sent) as a message may repeat it: quoted when it has
    the shape of a name and at most ``limit`` characters (and ``flagged``, the scanner where the
    caller has one, does not find an instruction in it); otherwise only its length.

    The messages that repeat names (unknown action, tool, prompt, group, resource) are the
    server's own words, which no screen reads: a name is repeated only when it cannot carry a
    sentence.
    """
    if len(name) <= limit and _NAME_SHAPE.fullmatch(name) and not (flagged and flagged(name)):
        return repr(name)
    return f"a name of {len(name)} characters (not repeated: it is not an action's name)"


def operation_key(name: str) -> str:
    """The operation id a name spells: ``klaviyo.profiles.get_profiles``, ``get_profiles()`` and
    other SDKs' ``Profiles.getProfiles`` all give ``get_profiles`` (ids are lowercase snake)."""
    key = name.strip().removesuffix("()").rsplit(".", 1)[-1]
    return _CAMEL.sub("_", key).lower() if key != key.lower() else key


@dataclass(frozen=True, slots=True)
class Param:
    """One path or query parameter, under its Python name and its wire name."""

    name: str
    wire: str
    location: Literal["path", "query"]
    required: bool
    type: str
    enum: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Param:
        """Build from a catalog record."""
        return cls(
            name=raw["name"],
            wire=raw["wire"],
            location=raw["in"],
            required=bool(raw["required"]),
            type=raw["type"],
            enum=tuple(raw.get("enum") or ()),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            default=raw.get("default"),
        )


@dataclass(frozen=True, slots=True)
class FilterField:
    """A filterable field and the operators Klaviyo allows on it for one action."""

    operators: tuple[str, ...]
    list_operators: tuple[str, ...]
    type: str


@dataclass(frozen=True, slots=True)
class PageSize:
    """Page-size bounds of a paginated listing."""

    default: int
    min: int
    max: int


@dataclass(frozen=True, slots=True)
class Body:
    """The request body of a write: its JSON schema (resolved, no prose), resource type and media type.

    ``media_type`` is JSON:API for all but the file upload (``multipart/form-data``), whose schema
    lists the form fields.
    """

    required: bool
    resource_type: str | None
    array: bool
    schema: Mapping[str, Any]
    media_type: str = "application/vnd.api+json"

    @property
    def multipart(self) -> bool:
        """True when the body is sent as form fields (a file upload), not a JSON document."""
        return self.media_type == "multipart/form-data"


@dataclass(frozen=True, slots=True)
class Response:
    """What a successful call returns: status, resource type and the flattened record fields."""

    status: int
    resource_type: str | None
    collection: bool
    fields: Mapping[str, str]
    relationships: tuple[str, ...]
    schema: str | None


@dataclass(frozen=True, slots=True)
class Action:
    """One Klaviyo operation as the SDK, the sandbox, search and the simulator see it."""

    id: str
    n: int | None
    category: str
    group: str
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    path: str
    kind: Kind
    summary: str
    keywords: tuple[str, ...]
    scopes: tuple[str, ...]
    rate_limit: Mapping[str, int]
    params: tuple[Param, ...]
    filters: Mapping[str, FilterField]
    sort: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]
    additional_fields: Mapping[str, tuple[str, ...]]
    include: tuple[str, ...]
    page_size: PageSize | None
    paginated: bool
    body: Body | None
    response: Response
    companion_of: str | None = None
    core: bool = False
    source: Source = "builtin"
    revision: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def function(self) -> str:
        """The dotted name agents call inside the sandbox, e.g. ``klaviyo.profiles.get_profiles``."""
        return f"klaviyo.{self.group}.{self.id}"

    @property
    def path_params(self) -> tuple[Param, ...]:
        """Parameters that fill the path template, in template order."""
        return tuple(p for p in self.params if p.location == "path")

    @property
    def query_params(self) -> tuple[Param, ...]:
        """Scalar query parameters (``filter``, ``sort``, ``page_size``, ...)."""
        return tuple(p for p in self.params if p.location == "query")

    @property
    def writes(self) -> bool:
        """True when the action changes state in Klaviyo (anything but a plain read)."""
        return self.kind != "read"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, source: Source | None = None) -> Action:
        """Build from a catalog record (``src/codemode/catalog/actions.json``)."""
        body = raw.get("body")
        response = raw["response"]
        page_size = raw.get("page_size")
        return cls(
            id=raw["id"],
            n=raw.get("n"),
            category=raw["category"],
            group=raw["group"],
            method=raw["method"],
            path=raw["path"],
            kind=raw["kind"],
            summary=raw["summary"],
            keywords=tuple(raw.get("keywords", ())),
            scopes=tuple(raw.get("scopes", ())),
            rate_limit=dict(raw.get("rate_limit", {})),
            params=tuple(Param.from_json(p) for p in raw.get("params", ())),
            filters={
                name: FilterField(
                    operators=tuple(f["operators"]),
                    list_operators=tuple(f["list_operators"]),
                    type=f["type"],
                )
                for name, f in raw.get("filters", {}).items()
            },
            sort=tuple(raw.get("sort", ())),
            fields={k: tuple(v) for k, v in raw.get("fields", {}).items()},
            additional_fields={k: tuple(v) for k, v in raw.get("additional_fields", {}).items()},
            include=tuple(raw.get("include", ())),
            page_size=PageSize(**page_size) if page_size else None,
            paginated=bool(raw.get("paginated", False)),
            body=(
                Body(
                    required=bool(body["required"]),
                    resource_type=body.get("resource_type"),
                    array=bool(body.get("array", False)),
                    schema=body["schema"],
                    media_type=body.get("media_type", "application/vnd.api+json"),
                )
                if body
                else None
            ),
            response=Response(
                status=int(response["status"]),
                resource_type=response.get("resource_type"),
                collection=bool(response.get("collection", False)),
                fields=dict(response.get("fields", {})),
                relationships=tuple(response.get("relationships", ())),
                schema=response.get("schema"),
            ),
            companion_of=raw.get("companion_of"),
            core=bool(raw.get("core", False)),
            source=source or ("companion" if raw.get("companion_of") else "builtin"),
            revision=raw.get("revision"),
        )


class Catalog(Mapping[str, Action]):
    """Every action available, by operation id, with lookups by group and dotted function name."""

    def __init__(self, actions: Iterable[Action], *, revision: str, base_url: str) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            if action.id in self._actions:
                raise CatalogError(
                    f"duplicate action id {action.id!r}; every operation id must be unique"
                )
            self._actions[action.id] = action
        self.revision = revision
        self.base_url = base_url
        self._groups: dict[str, tuple[Action, ...]] | None = None
        self._routes: RouteTable[Action] | None = None

    def __getitem__(self, key: str) -> Action:
        return self._actions[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)

    def __len__(self) -> int:
        return len(self._actions)

    @property
    def groups(self) -> Mapping[str, tuple[Action, ...]]:
        """Actions by group (the category in snake_case), in catalog order (computed once)."""
        if self._groups is None:
            out: dict[str, list[Action]] = {}
            for action in self._actions.values():
                out.setdefault(action.group, []).append(action)
            self._groups = {group: tuple(actions) for group, actions in out.items()}
        return self._groups

    def builtin(self) -> list[Action]:
        """The shipped operations of Klaviyo's OpenAPI document, less companions and extensions."""
        return [a for a in self._actions.values() if a.source == "builtin"]

    def core(self) -> list[Action]:
        """The 162 core actions of the product's spec, in spec order (``n``)."""
        return [a for a in self._actions.values() if a.core]

    def resolve(self, name: str) -> Action:
        """Find an action by id or dotted name (``klaviyo.profiles.get_profiles``, ``profiles.get_profiles``,
        also ``Profiles.getProfiles`` and ``get_profiles()``).

        Raises:
            CatalogError: the name is unknown; the message lists the closest ids.
        """
        key = operation_key(name)
        action = self._actions.get(key)
        if action is None:
            raise CatalogError(
                f"unknown action {quote_name(name)}; did you mean {', '.join(self.closest(key)) or 'nothing close'}?"
            )
        return action

    def by_route(self, text: str) -> list[Action]:
        """The actions a route names: ``GET /api/lists/{id}/profiles``, ``/api/lists/L1/profiles/``,
        a full URL or ``lists/L1/profiles?page[size]=5``; every method of the path when none is
        given. Empty when ``text`` is not a route of the catalog."""
        if "/" not in text:  # "profiles" is a group's name, not a route
            return []
        method, _, rest = text.strip().partition(" ")
        if not rest:
            method, rest = "", method
        method = method.upper()
        if method and method not in _METHODS:
            return []
        path = normalize_path(re.sub(r"^[a-z]+://[^/]+", "", rest.strip(), flags=re.I))
        if not path or " " in path or len(path) > 2 * _SHOWN:
            return []
        path = path if path.startswith("/") else "/" + path
        if not path.startswith(("/api/", "/client/")):  # "lists/L1" and "/lists/L1" are the API's
            path = "/api" + path
        if self._routes is None:
            self._routes = RouteTable((a.path, a) for a in self._actions.values() if a.path)
        return [a for a in self._routes.match(path) if method in ("", a.method)]

    def closest(self, name: str, n: int = 3) -> list[str]:
        """The ``n`` ids that look most like ``name`` (none for a name longer than any id could
        be: difflib is quadratic in its length)."""
        if len(name) > _SHOWN:
            return []
        return difflib.get_close_matches(name, list(self._actions), n=n, cutoff=0.5)

    @staticmethod
    def shown(name: str, limit: int = 0) -> str:
        """``name`` as a message repeats it: cut after ``limit`` characters (default: as long as
        a name can usefully be), so that a megabyte argument is not a megabyte answer."""
        limit = limit or _SHOWN
        return name if len(name) <= limit else name[:limit] + "..."

    def with_actions(self, extra: list[Action]) -> Catalog:
        """A new catalog with ``extra`` appended (used for operator extensions)."""
        return Catalog(
            [*self._actions.values(), *extra], revision=self.revision, base_url=self.base_url
        )
