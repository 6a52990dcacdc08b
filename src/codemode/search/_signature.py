"""``get_signature``: how to call an action, in as few tokens as the agent can work from.

The ``def`` line comes from the generated stubs (``sdk_stubs/<group>.pyi``, shipped in the wheel as
``codemode/_stubs``) when they are present, so it is exactly what the SDK accepts; the rest
(parameter docs, returned shape, example) is derived from the catalog and abbreviated on purpose:
long enums shrink to their top-level names, nested filter fields fold under their root, and only the
most useful returned fields are listed with types.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from codemode.catalog import Action, Catalog, quote_name
from codemode.errors import CatalogError
from codemode.search._examples import example_call
from codemode.search._shapes import shapes_of

__all__ = ["Signature", "get_signatures", "stub_function"]

_MAX_LIST = 12
_MAX_RETURN_FIELDS = 12
# Fields worth seeing first in a returned record, whatever the resource.
_USEFUL_FIRST = (
    "id",
    "name",
    "email",
    "phone_number",
    "first_name",
    "last_name",
    "external_id",
    "title",
    "status",
    "channel",
    "sku",
    "price",
    "inventory_quantity",
    "unique_code",
    "expires_at",
    "subject",
    "profile_count",
    "results",
    "created",
    "created_at",
    "updated",
    "updated_at",
    "datetime",
)
# The type, not a key that happens to be named datetime ({datetime: datetime, is_local: bool}).
_DATETIME = re.compile(r"\bdatetime\b(?!\??:)")
_GENERIC_PARAMS = frozenset(
    {"filter", "sort", "page_size", "page_cursor", "fields", "include", "additional_fields"}
)


@dataclass(frozen=True, slots=True)
class Signature:
    """How to call one action: signature line, parameter docs, returned shape and kind."""

    id: str
    function: str
    signature: str
    doc: str
    returns: str
    kind: str

    def inline(self) -> str:
        """The signature as a search hit carries it: the search line already gave the summary."""
        rest = self.doc.split("\n", 1)[1] if "\n" in self.doc else ""
        return "\n".join(x for x in (self.signature, rest, f"Returns: {self.returns}") if x)

    def to_dict(self) -> dict[str, Any]:
        """The MCP ``get_signature`` record."""
        return {
            "id": self.id,
            "function": self.function,
            "signature": self.signature,
            "doc": self.doc,
            "returns": self.returns,
        }


def _stub_dirs() -> list[Path]:
    """Where the stubs live: inside the installed package, then the source checkout."""
    out: list[Path] = []
    try:
        packaged = resources.files("codemode") / "_stubs"
        if packaged.is_dir():
            out.append(Path(str(packaged)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - namespace or zip installs
        pass
    out.append(Path(__file__).resolve().parents[3] / "sdk_stubs")
    return out


@cache
def _stub_module(group: str) -> dict[str, ast.FunctionDef]:
    for folder in _stub_dirs():
        path = folder / f"{group}.pyi"
        if path.is_file():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return {}


class _Shorten(ast.NodeTransformer):
    """Abbreviate annotations that cost many tokens and tell the agent little."""

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        name = ast.unparse(node.value)
        if name == "Literal" and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) > 4:
            return ast.Name(id="str")
        if name == "Mapping" and "Sequence[str]" in ast.unparse(node.slice):
            return ast.Name(id="dict[str, list[str]]")
        if name == "Mapping":
            return ast.Name(id="dict")
        if name == "Sequence":
            return ast.Name(id="list[str]")
        self.generic_visit(node)
        return node


def stub_function(action: Action) -> str | None:
    """The stub's ``def`` line for ``action`` as ``klaviyo.<group>.<id>(...) -> ...``, or None."""
    node = _stub_module(action.group).get(action.id)
    if node is None:
        return None
    args = _Shorten().visit(copy.deepcopy(node.args))  # the parsed stub is cached: never edit it
    text = ast.unparse(args)
    text = re.sub(r"^self,?\s*", "", text)
    returns = ast.unparse(node.returns) if node.returns else "Result"
    return f"{action.function}({text}) -> {returns}"


def compact_def(line: str) -> str:
    """``line`` with each optional parameter as ``name=None`` and no return annotation.

    The parameter lines under it say what each optional parameter takes, and the Returns line
    what comes back, so their annotations would only repeat them. Still valid Python.
    """
    head, _, rest = line.partition("(")
    args = rest.rsplit(") -> ", 1)[0].rstrip(")")
    tree = ast.parse(f"def f({args}): ...").body[0]
    assert isinstance(tree, ast.FunctionDef)
    a = tree.args
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        if isinstance(default, ast.Constant) and default.value is None:
            arg.annotation = None
    return f"{head}({ast.unparse(a)})"


def _catalog_function(action: Action) -> str:
    """A signature line built from the catalog alone (used when no stub is installed)."""
    parts: list[str] = []
    path = [p for p in action.params if p.location == "path"]
    parts += [f"{p.name}: str" for p in path]
    rest = [p for p in action.params if p.location != "path"]
    if rest or action.body or action.fields:
        parts.append("*")
    for p in sorted(rest, key=lambda p: not p.required):
        parts.append(f"{p.name}: {p.type}" if p.required else f"{p.name}: {p.type} | None = None")
    if action.fields:
        parts.append("fields: dict[str, list[str]] | None = None")
    if action.body:
        parts.append("body: dict | None = None")
    return f"{action.function}({', '.join(parts)}) -> Result"


def _clip(items: list[str], limit: int = _MAX_LIST) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... (+{len(items) - limit})"


def _filters(action: Action) -> str:
    """Filterable fields grouped by operator set; nested ones written once under their shared
    path (``subscriptions.email.marketing.{suppression.reason, list_suppressions.reason}``)."""
    groups: dict[str, list[str]] = {}
    for name, spec in action.filters.items():
        if not spec.operators or name.startswith("_"):
            continue
        groups.setdefault("|".join(spec.operators), []).append(name)
    return "; ".join(f"{', '.join(_fold(names))} ({ops})" for ops, names in groups.items())


def _fold(names: list[str]) -> list[str]:
    """Deep names (two dots or more) under one root joined as ``shared.path.{rest, ...}``."""
    out: list[str] = []
    deep: dict[str, list[list[str]]] = {}
    for name in names:
        if name.count(".") < 2:
            out.append(name)
        else:
            deep.setdefault(name.split(".")[0], []).append(name.split("."))
    for parts in deep.values():
        shared = 0
        while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
            shared += 1
        if len(parts) == 1:
            out.append(".".join(parts[0]))
            continue
        rest = ", ".join(".".join(p[shared:]) for p in parts)
        out.append(".".join(parts[0][:shared]) + ".{" + rest + "}")
    return out


def _sort(action: Action) -> str:
    keys: list[str] = []
    for key in action.sort:
        if key.startswith("-"):
            continue
        short = key if key.count(".") < 2 else key.split(".")[0] + ".*"
        if short not in keys:
            keys.append(short)
    return _clip(keys) + " ('-key' descends)"


def _stub_arg_docs(action: Action) -> dict[str, str]:
    """Per-parameter lines of the stub docstring (for body parameters the catalog does not describe)."""
    node = _stub_module(action.group).get(action.id)
    doc = ast.get_docstring(node) if node else None
    if not doc or "Args:" not in doc:
        return {}
    section = doc.split("Args:", 1)[1].split("Returns:", 1)[0]
    out: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\s+([a-z_]+): (.*)", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _param_docs(action: Action, shown: frozenset[str] = frozenset()) -> list[str]:
    """One line per parameter the def line leaves open; ``shown``: those a shape line draws."""
    lines: list[str] = []
    for p in sorted(action.params, key=lambda p: not p.required):
        if p.name in _GENERIC_PARAMS:
            continue
        if p.enum:
            lines.append(f"{p.name}: one of " + _clip([str(e) for e in p.enum], 8))
        elif not p.required:  # the def line shows a required one's type, not an optional one's
            lines.append(f"{p.name}: {p.type}")
    stub_docs = _stub_arg_docs(action)
    for name, text in stub_docs.items():
        if name in _GENERIC_PARAMS or name in ("body", *shown):
            continue
        if any(p.name == name for p in action.params):
            continue
        lines.append(f"{name}: {text}")
    if action.filters and _filters(action):
        lines.append(f"filter: {_filters(action)}")
    if action.sort:
        lines.append(f"sort: {_sort(action)}")
    if action.page_size:
        ps = action.page_size
        lines.append(f"page_size: {ps.min}..{ps.max} (default {ps.default})")
    elif action.paginated:
        lines.append("paginated: .all() follows every page")
    main = action.response.resource_type
    if action.fields and main in action.fields:
        lines.append(f"fields: {{'{main}': [field names]}}")
    if action.additional_fields:
        extra = [f"{t}: {', '.join(v)}" for t, v in action.additional_fields.items()]
        lines.append(f"additional_fields: {'; '.join(extra)}")
    if action.include:
        lines.append(f"include: {_clip(list(action.include))}")
    return lines


def _returns(action: Action, shaped: bool = False) -> str:
    """The flattened record shape: ``{id: str, name: str, ...}`` with the most useful fields first.

    With ``shaped`` (a record shape line above draws the fields), only the kind of result, the id
    and the related ids.
    """
    r = action.response
    if r.status == 204 or (not r.fields and not r.resource_type):
        return f"{r.status}: no data (Result.data is None)"
    kind = r.resource_type or "record"
    if shaped:
        related = f"; related ids: {_clip(list(r.relationships), 6)}" if r.relationships else ""
        many = f"list of {kind} records" if r.collection else f"one {kind} record"
        return f"{many} (record shape above, plus id){related}"
    fields = {k: v for k, v in r.fields.items() if "." not in k}
    ordered = [k for k in _USEFUL_FIRST if k in fields] + sorted(
        k for k in fields if k not in _USEFUL_FIRST
    )
    shown = ["id: str", *(f"{k}: {fields[k]}" for k in ordered[:_MAX_RETURN_FIELDS] if k != "id")]
    more = len(ordered) - _MAX_RETURN_FIELDS
    if more > 0:
        shown.append(f"... +{more} more")
    rels = list(r.relationships)
    if rels:
        shown.append(f"related ids: {_clip(rels, 6)}")
    record = "{" + ", ".join(shown) + "}"
    if r.collection:
        return f"list of {kind} records {record}"
    return f"one {kind} record {record}"


def _shape_lines(action: Action) -> list[str]:
    """The nested shapes the spec defines: request attributes, and records that nest."""
    shapes = shapes_of(action.id)
    lines: list[str] = []
    if "attributes" in shapes and action.body is not None:
        lines.append(f"- attributes (required): {shapes['attributes']}")
        if shapes.get("values"):
            listed = shapes["values"].replace("\n", "; ")
            lines.append(f"- all values behind …+N: {listed}")
        if shapes.get("rules"):
            # What Klaviyo's docs say must hold of the attributes (group_by prerequisites...).
            lines.append(f"- Klaviyo's rules: {shapes['rules'].replace(chr(10), ' ')}")
    record = shapes.get("record", "")
    if "{" in record[1:] or '"' in record:
        # A record that nests, or whose fields take fixed values (a job's status, a coupon code's
        # status): the flat Returns line would drop them. Dates come back as ISO 8601 strings
        # (the one rule for dates); a request takes either.
        lines.append("- record shape: " + _DATETIME.sub("str", record))
        # The values a filter on a field must take, where the shape cuts them ("Sent" among a
        # campaign's statuses); fields no filter takes are left cut.
        cut = [
            line
            for line in shapes.get("record_values", "").splitlines()
            if line.split(":", 1)[0] in action.filters
        ]
        if cut:
            lines.append("- filter values behind …+N: " + "; ".join(cut))
    return lines


_KIND_NOTE = {
    "write": " [write]",
    "destructive": " [DESTRUCTIVE: cannot be undone; confirm with the user first]",
    "client": " [client-side, public key]",
}


def signature_of(action: Action) -> Signature:
    """Build the :class:`Signature` of one action.

    ``doc`` opens with the summary and the kind of a write; :meth:`Signature.inline` leaves that
    line out where the search line above already says it.
    """
    shapes = _shape_lines(action)
    shown = frozenset({"attributes"} if any("attributes" in x for x in shapes) else ())
    doc_lines = [
        action.summary + _KIND_NOTE.get(action.kind, ""),
        *(f"- {line}" for line in _param_docs(action, shown)),
        *shapes,
        f"Example: {example_call(action)}",
    ]
    return Signature(
        id=action.id,
        function=action.function,
        signature=compact_def(stub_function(action) or _catalog_function(action)),
        doc="\n".join(doc_lines),
        returns=_returns(action, shaped=any("record shape" in x for x in shapes)),
        kind=action.kind,
    )


def get_signatures(
    names: list[str], catalog: Catalog, flagged: Callable[[str], bool] | None = None
) -> tuple[list[Signature], list[str]]:
    """Signatures for ``names`` (operation ids, dotted functions or routes), in order, without
    duplicates; a route without a method gives every operation on its path. An unknown name is
    repeated only when it has a name's shape (:func:`quote_name`; ``flagged``: the scanner).

    Returns:
        (found signatures, one message per unknown name naming the closest matches).
    """
    found: list[Signature] = []
    errors: list[str] = []
    seen: set[str] = set()
    for name in names:
        try:
            actions = [catalog.resolve(name)]
        except CatalogError:
            actions = catalog.by_route(name)  # "GET /api/lists/{id}/profiles": what it serves
        if not actions:
            group = name.strip().removeprefix("klaviyo.")
            if group in catalog.groups:
                ids = [a.id for a in catalog.groups[group]]
                shown = ", ".join(ids[:12]) + (", ..." if len(ids) > 12 else "")
                errors.append(
                    f"{quote_name(name, flagged=flagged)} is a group of {len(ids)} operations ({shown}): name "
                    "one, or search_api finds the one for a task."
                )
                continue
            key = name.strip().rsplit(".", 1)[-1]
            close = catalog.closest(key, n=3) or _near_by_words(key, catalog)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "search_api finds actions by what they do."
            )
            errors.append(f"unknown action {quote_name(name, flagged=flagged)}: {hint}")
            continue
        for action in actions:
            if action.id not in seen:
                seen.add(action.id)
                found.append(signature_of(action))
    return found, errors


def _near_by_words(name: str, catalog: Catalog) -> list[str]:
    """Ids whose meaning is closest to ``name`` read as words (``contacts_list`` -> profile reads)."""
    from codemode.search._index import SearchIndex  # late: the index imports nothing from here

    index = _INDEXES.get(id(catalog))
    if index is None or index.catalog is not catalog:
        index = SearchIndex(catalog)
        _INDEXES.clear()
        _INDEXES[id(catalog)] = index
    return [hit.id for hit in index.search(name.replace("_", " "), limit=3)]


# One index per catalog seen; the catalog is kept alive by the index, so the id stays valid.
_INDEXES: dict[int, Any] = {}
