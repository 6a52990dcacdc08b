"""Generate the shipped action catalog from the vendored inputs and the project's own annotations.

Inputs (all in the repository; see tools/vendor/README.md):
  tools/vendor/spec/actions.json            the 162 core actions (id, method, path, category, kind)
  tools/vendor/klaviyo/openapi-stable.json  Klaviyo's OpenAPI document: parameters, filters, schemas
  tools/catalog/annotations.json         the project's own summaries and search keywords

Output:
  src/codemode/catalog/actions.json      one record per action, plus companion reads
  src/codemode/catalog/names.json        the operation ids by group, in catalog order: what a
                                         sandbox run hands its worker without loading the catalog

Usage:
  python tools/gen_catalog.py            write the catalog
  python tools/gen_catalog.py --check    exit 1 when a committed output differs from a fresh run
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from codemode.catalog._openapi import Resolver, build_record, index_operations

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "tools" / "vendor"
ACTIONS = VENDOR / "spec" / "actions.json"
OPENAPI = VENDOR / "klaviyo" / "openapi-stable.json"
ANNOTATIONS = ROOT / "tools" / "catalog" / "annotations.json"
OUTPUT = ROOT / "src" / "codemode" / "catalog" / "actions.json"
NAMES = ROOT / "src" / "codemode" / "catalog" / "names.json"


# The kind of an operation outside the core spec, from its method and path (the spec's own kinds
# follow the same rule; generate() fails if they ever disagree):
#   client       the path starts with /client/ (public key, no secret; called from browsers and apps)
#   read         GET, or a POST that computes and returns without changing anything (reports,
#                aggregates, template rendering)
#   destructive  deletes a record (DELETE outside /relationships/, bulk delete jobs, profile deletion),
#                merges profiles, or sends or cancels a message to people (send jobs, conversation
#                messages)
#   write        everything else: creates, updates, links and unlinks (DELETE on /relationships/),
#                consent changes (subscribe, unsubscribe, suppress, unsuppress: each undone by another)
QUERY_POST = re.compile(r"(-reports|/metric-aggregates|/template-render)$")
CONSENT_JOB = re.compile(r"/profile-(subscription|suppression)-bulk-")
DESTRUCTIVE_PATH = re.compile(
    r"(-bulk-delete-jobs|-deletion-jobs|/profile-merge|-send-jobs|/conversation-messages)(/|$)"
)


def derive_kind(method: str, path: str) -> str:
    """The kind of an operation by the rule above."""
    if path.startswith("/client/"):
        return "client"
    if method == "GET" or (method == "POST" and QUERY_POST.search(path)):
        return "read"
    if method == "DELETE":
        return "write" if "/relationships/" in path else "destructive"
    if DESTRUCTIVE_PATH.search(path) and not CONSENT_JOB.search(path):
        return "destructive"
    return "write"


def find_companions(
    ops: dict[str, tuple[str, str, dict[str, Any]]], core: set[str]
) -> dict[str, str]:
    """Companion reads: the GET at ``<jobs path>/{id}`` that polls a job a POST starts (202)."""
    by_route = {(m, p): oid for oid, (m, p, _) in ops.items() if oid not in core}
    companions: dict[str, str] = {}
    for op_id, (method, path, op) in sorted(ops.items()):
        if method != "POST" or "202" not in op["responses"] or not path.endswith("-jobs"):
            continue
        target = next(
            (
                oid
                for (m, p), oid in sorted(by_route.items())
                if m == "GET" and re.fullmatch(re.escape(path) + r"/\{[a-z_]+\}", p)
            ),
            None,
        )
        if target:
            companions.setdefault(target, op_id)
    return companions


def _fail(message: str) -> None:
    sys.exit(f"gen_catalog: {message}")


def generate() -> str:
    """Build the catalog document and return it as the exact text to write."""
    for path in (ACTIONS, OPENAPI):
        if not path.is_file():
            _fail(
                f"{path.relative_to(ROOT)} is missing; restore it with "
                f"`git checkout -- {path.relative_to(ROOT)}` (see tools/vendor/README.md)"
            )
    core = {a["id"]: a for a in json.loads(ACTIONS.read_text(encoding="utf-8"))["actions"]}
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    annotations = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    resolver = Resolver(spec)
    ops = index_operations(spec)
    companions = find_companions(ops, set(core))

    absent = sorted(set(core) - set(ops))
    if absent:
        _fail(f"core actions missing from the OpenAPI document: {', '.join(absent)}")
    missing = [oid for oid in ops if oid not in annotations]
    if missing:
        _fail(f"tools/catalog/annotations.json lacks a summary for: {', '.join(missing)}")
    unknown = sorted(set(annotations) - set(ops))
    if unknown:
        _fail(f"tools/catalog/annotations.json names unknown ids: {', '.join(unknown)}")

    # Core actions first in spec order (their n), then the rest in document order.
    order = list(core) + [oid for oid in ops if oid not in core]
    out_actions = []
    for op_id in order:
        method, path, op = ops[op_id]
        row = core.get(op_id)
        kind = derive_kind(method, path)
        tags = op.get("tags") or ["Other"]
        if row is not None:
            if (method, path) != (row["method"], row["path"]):
                _fail(
                    f"{op_id} is {method} {path} in the OpenAPI document, not {row['method']} {row['path']}"
                )
            if (row["kind"], row["category"]) != (kind, tags[0]):
                _fail(
                    f"{op_id}: the spec says {row['kind']}/{row['category']}, the rule gives "
                    f"{kind}/{tags[0]}; fix derive_kind() or the spec"
                )
        note = annotations[op_id]
        parent = companions.get(op_id)
        record = build_record(
            op_id,
            method,
            path,
            op,
            resolver,
            category=tags[0],
            kind=kind,
            summary=note["summary"],
            keywords=note["keywords"],
            n=row.get("n") if row else None,
            companion_of=parent,
        )
        record["core"] = row is not None
        out_actions.append(record)

    document = {
        "_generated": (
            "GENERATED by tools/gen_catalog.py from tools/vendor/spec/actions.json, "
            "tools/vendor/klaviyo/openapi-stable.json and tools/catalog/annotations.json. Do not edit: "
            "change an input and run `make catalog`."
        ),
        "revision": spec["info"]["version"],
        "base_url": spec["servers"][0]["url"],
        "actions": out_actions,
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def generate_names(catalog_text: str) -> str:
    """``names.json``: the operation ids of ``catalog_text`` by group, both in catalog order."""
    groups: dict[str, list[str]] = {}
    for record in json.loads(catalog_text)["actions"]:
        groups.setdefault(record["group"], []).append(record["id"])
    document = {
        "_generated": (
            "GENERATED by tools/gen_catalog.py from src/codemode/catalog/actions.json. Do not "
            "edit: run `make catalog`."
        ),
        "groups": groups,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail when the committed catalog is stale"
    )
    args = parser.parse_args()
    text = generate()
    outputs = {OUTPUT: text, NAMES: generate_names(text)}
    if args.check:
        stale = [
            str(path.relative_to(ROOT))
            for path, content in outputs.items()
            if (path.read_text(encoding="utf-8") if path.is_file() else "") != content
        ]
        if stale:
            print(
                f"gen_catalog: {', '.join(stale)} stale; run `make catalog`",
                file=sys.stderr,
            )
            return 1
        print("gen_catalog: catalog is current")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    for path, content in outputs.items():
        path.write_text(content, encoding="utf-8")
        print(f"gen_catalog: wrote {path.relative_to(ROOT)} ({len(content) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
