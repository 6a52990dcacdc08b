"""Drive every operation of Klaviyo's OpenAPI document through Klaviyo's official Python SDK.

Nothing here is tuned to one operation: arguments come from the OpenAPI document alone. Request
bodies are built from each schema's required members, preferring the document's own examples;
resource identifiers and path ids are filled with ids the driver saw in earlier answers (lists
are read first, then creates run, then reads of one record, updates, and deletes last). An
operation *completes* when the SDK returns without raising: the simulator answered a 2XX and the
SDK could parse the answer into its own response models.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.simulator._recipes import PNG

METHODS = ("get", "post", "patch", "put", "delete")
SKIP_ARGS = {"self", "options", "args", "kwargs"}
QUOTED = re.compile(r"'([a-z_]+)'")
# "Restricted to CODE, USER_DRAGGABLE, or SYSTEM_DRAGGABLE": values the document lists in prose.
RESTRICTED = re.compile(r"Restricted to ([A-Z][A-Z_]+)\b")
DESTRUCTIVE = re.compile(r"delet|merge|remove|unsuppress|suppress")
OWNED_ID = re.compile(r"-(job|estimation)$")
AUDIENCE = ("included", "excluded")


@dataclass
class Outcome:
    """One operation's result: ``ok`` or the reason it failed."""

    op_id: str
    ok: bool
    reason: str = ""


@dataclass
class Op:
    """One OpenAPI operation with what the driver needs to call it."""

    op_id: str
    method: str
    path: str
    raw: dict[str, Any]
    tag: str

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/")

    @property
    def phase(self) -> int:
        """Order of calls: lists, creates, one-record reads, other writes, deletes."""
        has_param = "{" in self.path
        if self.method == "get" and not has_param:
            return 0
        if self.method == "post" and DESTRUCTIVE.search(self.op_id):
            return 5  # deletes, merges and deletion requests remove records others need
        if self.method == "post" and not has_param:
            return 1
        if self.method == "get":
            return 2
        if self.method == "delete":
            return 4 if len(self.segments) > 3 else 5
        return 3


@dataclass
class Oracle:
    """Runs the operations in phase order and remembers every id it sees, by resource type."""

    spec: dict[str, Any]
    sdk: Any
    company_id: str
    ids: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)
    types_at: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    linked: dict[str, list[str]] = field(default_factory=dict)
    fresh: bool = False

    def __post_init__(self) -> None:
        self.schemas: dict[str, Any] = self.spec["components"]["schemas"]
        self.ops = sorted(self._operations(), key=lambda o: o.phase)
        for op in self.ops:
            parts = op.segments
            if op.method == "get" and len(parts) == 3 and parts[2].startswith("{"):
                kind = self._response_type(op)
                if kind:
                    self.types_at[f"{parts[0]}/{parts[1]}"] = kind

    def _operations(self) -> Iterator[Op]:
        for path, item in self.spec["paths"].items():
            for method, raw in item.items():
                if method in METHODS and isinstance(raw, dict) and "operationId" in raw:
                    yield Op(raw["operationId"], method, path, raw, raw["tags"][0])

    # -- schemas -------------------------------------------------------------------------

    def deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 30:
            node = self.schemas[node["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        if isinstance(node, dict) and "allOf" in node:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in node["allOf"]:
                part = self.deref(part)
                merged["properties"].update(part.get("properties") or {})
                merged["required"] += part.get("required") or []
            return merged
        return node

    def _response_type(self, op: Op) -> str | None:
        for code, answer in op.raw.get("responses", {}).items():
            if not code.startswith("2"):
                continue
            media = next(iter((answer.get("content") or {}).values()), None)
            if media is None:
                return None
            data = self.deref(self.deref(media["schema"]).get("properties", {}).get("data", {}))
            if data.get("type") == "array":
                data = self.deref(data.get("items", {}))
            for key in ("oneOf", "anyOf"):
                if key in data:
                    data = self.deref(data[key][0])
            enum = self.deref((data.get("properties") or {}).get("type", {})).get("enum")
            return str(enum[0]) if enum else None
        return None

    def candidates(self, kind: str, *, fresh: bool = False) -> list[str]:
        """Ids of ``kind`` seen so far, best first: created ones first when ``fresh``."""
        made = list(reversed(self.created.get(kind, [])))
        seen = [i for i in self.ids.get(kind, []) if i not in made]
        seen += [i for i in self.linked.get(kind, []) if i not in made and i not in seen]
        out = [*made, *reversed(seen)] if fresh else [*seen, *made]
        out = [i for i in out if i not in self.gone]
        if not out and OWNED_ID.search(kind):
            # A job or estimation named after its owner (campaign-send-job -> campaign).
            for known in sorted({**self.ids, **self.linked}, key=len, reverse=True):
                if kind.startswith(known + "-"):
                    return self.candidates(known, fresh=fresh)
        return out

    def an_id(self, kind: str, *, fresh: bool = False) -> str | None:
        """The best id of ``kind`` seen so far, or None (created ones first in a write's body)."""
        found = self.candidates(kind, fresh=fresh or self.fresh)
        return found[0] if found else None

    def example(self, node: Any, name: str = "", depth: int = 0) -> Any:
        """A value for ``node``: the document's example where it has one, else the smallest valid."""
        node = self.deref(node)
        if depth > 30 or not isinstance(node, dict):
            return None
        for key in ("oneOf", "anyOf"):
            if key in node:
                return self.example(node[key][0], name, depth + 1)
        kind = node.get("type")
        props = node.get("properties") or {}
        if kind == "object" or props:
            out: dict[str, Any] = {}
            wanted = list(node.get("required") or [])
            for always in ("attributes", "relationships"):
                if always in props and always not in wanted:
                    wanted.append(always)
            if name == "relationships":
                wanted = list(props)
            if name == "relationship" and "data" in props:
                wanted.append("data")
            for key, sub in props.items():
                # Optional members the document gives an example for are sent too, as a
                # person copying the documented example would.
                if key not in wanted and "example" in self.deref(sub):
                    wanted.append(key)
            for key in wanted:
                if key in props:
                    inner = "relationship" if name == "relationships" else key
                    out[key] = self.example(props[key], inner, depth + 1)
            type_enum = self.deref(props.get("type", {})).get("enum")
            if type_enum and "id" in props:
                found = self.an_id(str(type_enum[0]))
                if found is not None:
                    out["id"] = found
                    out["type"] = type_enum[0]
            if not out and "example" in node and isinstance(node["example"], dict):
                return node["example"]
            return out
        if "enum" in node:
            example = node.get("example")
            return example if example in node["enum"] else node["enum"][0]
        if kind == "array" and name in AUDIENCE:
            found = self.an_id("list")
            return [found] if found else []
        if name.endswith("_id") and kind == "string":
            # A reference by id (metric_id, template_id): an id of that type seen so far.
            found = self.an_id(name[: -len("_id")].replace("_", "-").removeprefix("conversion-"))
            if found is not None:
                return found
        if "example" in node:
            return node["example"]
        restricted = RESTRICTED.search(str(node.get("description") or ""))
        if kind == "string" and restricted:
            return restricted.group(1)
        options = QUOTED.findall(str(node.get("description") or ""))
        if kind == "string" and len(options) > 1:
            return options[0]
        if kind == "array":
            item = self.example(node.get("items", {}), name, depth + 1)
            return [item] * max(1, int(node.get("minItems", 1)))
        if kind == "integer":
            return max(1, int(node.get("minimum", 1)))
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return True
        if node.get("format") == "date-time":
            return "2026-06-01T00:00:00+00:00"
        return f"oracle-{name or 'value'}"

    # -- calls ---------------------------------------------------------------------------

    def path_ids(self, op: Op) -> list[str]:
        """Ids to try in the path, best first (writes prefer records the driver created)."""
        parts = op.segments
        kind = self.types_at.get(f"{parts[0]}/{parts[1]}")
        if kind is None:
            return []
        found = self.candidates(kind, fresh=op.method != "get")[:3]
        if not found:
            # Nothing seen yet: the document's example id for the path parameter, if any.
            for prm in op.raw.get("parameters", []):
                example = self.deref(prm.get("schema", {})).get("example", prm.get("example"))
                if prm["in"] == "path" and example:
                    return [str(example)]
        return found

    def body(self, op: Op, ident: str | None) -> Any:
        content = (op.raw.get("requestBody") or {}).get("content") or {}
        media = next(iter(content.values()), None)
        if media is None:
            return None
        self.fresh = op.method != "get"
        try:
            body = self.example(media["schema"])
        finally:
            self.fresh = False
        data = body.get("data") if isinstance(body, dict) else None
        if ident and isinstance(data, dict) and "id" in data and "relationships" not in op.path:
            data["id"] = ident
        return body

    def arguments(self, op: Op, method: Callable[..., Any], ident: str | None) -> dict[str, Any]:
        """Keyword arguments for the SDK method of ``op`` with ``ident`` in the path."""
        params = inspect.signature(method).parameters
        out: dict[str, Any] = {}
        for prm in op.raw.get("parameters", []):
            if prm["in"] == "header" and prm.get("required"):
                out[_py(prm["name"])] = self.deref(prm.get("schema", {})).get("default")
            elif prm["in"] == "path":
                out[prm["name"]] = ident or "missing"
            elif prm["in"] == "query" and prm.get("required"):
                if prm["name"] == "company_id":
                    out["company_id"] = self.company_id
                else:
                    schema = self.deref(prm.get("schema", {}))
                    value = schema.get("example", (schema.get("enum") or [None])[0])
                    out[_py(prm["name"])] = value
        media = next(iter((op.raw.get("requestBody") or {}).get("content") or {}), None)
        if media == "multipart/form-data":
            out["file"] = PNG
            out["name"] = "oracle.png"
        elif media is not None:
            body_args = [
                n
                for n in params
                if n not in SKIP_ARGS
                and not n.startswith("_")
                and n not in out
                and not _is_query(n)
            ]
            if body_args:
                out[body_args[0]] = self.body(op, ident)
        return {k: v for k, v in out.items() if k in params}

    def remember(
        self, kind: Any, ident: Any, *, created: bool = False, linked: bool = False
    ) -> None:
        kind = str(getattr(kind, "value", kind))
        # Ids only seen as links rank after ids of records that were read themselves.
        pool = (self.linked if linked else self.ids).setdefault(kind, [])
        if str(ident) not in pool:
            pool.append(str(ident))
        if created:
            self.created.setdefault(kind, []).append(str(ident))

    def harvest(self, answer: Any, op: Op) -> None:
        """Remember the ids in an SDK answer (models or dicts), related ids included."""
        doc = answer.to_dict() if hasattr(answer, "to_dict") else answer
        if not isinstance(doc, dict):
            return
        items = doc.get("data")
        items = items if isinstance(items, list) else [items]
        for n, item in enumerate([*items, *(doc.get("included") or [])]):
            if not (isinstance(item, dict) and item.get("id") and item.get("type")):
                continue
            self.remember(item["type"], item["id"], created=op.method == "post" and n < len(items))
            for rel in (item.get("relationships") or {}).values():
                linked = (rel or {}).get("data") if isinstance(rel, dict) else None
                for ref in linked if isinstance(linked, list) else [linked]:
                    if isinstance(ref, dict) and ref.get("id") and ref.get("type"):
                        self.remember(ref["type"], ref["id"], linked=True)

    def call(self, op: Op, group: Any) -> Outcome:
        """Call one operation, trying up to three known ids on a 404."""
        method = getattr(group, op.op_id)
        target = getattr(type(group), op.op_id)
        idents: list[str | None] = self.path_ids(op) if "{" in op.path else [None]
        reason = "no id of the addressed type was seen"
        for ident in idents or []:
            try:
                answer = method(**self.arguments(op, target, ident))
            except Exception as exc:  # the SDK raises ApiException or a pydantic error
                reason = _reason(exc)
                if getattr(exc, "status", None) == 404:
                    continue
                return Outcome(op.op_id, False, reason)
            self.harvest(answer, op)
            if op.method == "delete" and len(op.segments) == 3 and ident:
                self.gone.add(ident)
            return Outcome(op.op_id, True)
        return Outcome(op.op_id, False, reason)

    def run(self, group_of: Callable[[str], Any]) -> list[Outcome]:
        """Call every operation once; ``group_of(tag)`` gives the SDK's API group for a tag.

        An operation whose path needs an id nobody has shown yet waits until the end of its
        phase (ids appear in the answers of other operations of the same phase).
        """
        outcomes: list[Outcome] = []
        for phase in sorted({o.phase for o in self.ops}):
            waiting: list[Op] = []
            for op in [o for o in self.ops if o.phase == phase]:
                group = group_of(op.tag)
                if group is None or getattr(group, op.op_id, None) is None:
                    outcomes.append(Outcome(op.op_id, False, "not in the official SDK"))
                elif "{" in op.path and not self.path_ids(op):
                    waiting.append(op)
                else:
                    outcomes.append(self.call(op, group))
            outcomes += [self.call(op, group_of(op.tag)) for op in waiting]
        # One more try for what failed, with the ids every other operation has shown since.
        ops = {o.op_id: o for o in self.ops}
        for n, outcome in enumerate(outcomes):
            if not outcome.ok and "not in the official SDK" not in outcome.reason:
                op = ops[outcome.op_id]
                outcomes[n] = self.call(op, group_of(op.tag))
        return outcomes


def _py(wire: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", wire).strip("_").lower()


def _is_query(name: str) -> bool:
    return name in {"filter", "sort", "include", "page_cursor", "page_size"} or name.startswith(
        ("fields_", "additional_fields_")
    )


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    text = f"{type(exc).__name__} {status or ''} {body or exc}"
    return " ".join(text.split())[:400]
