"""Every operation is accounted for: catalog, SDK methods (sync and async) and stubs.

The catalog must hold every operation of the vendored OpenAPI document, the 162 ids of the spec
(``tools/vendor/spec/actions.json``) marked core with the same routes; every catalog id must have a
generated SDK method on both clients and a ``def`` in ``sdk_stubs/<group>.pyi`` with its docstring
right under it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemode.catalog import load_catalog
from codemode.klaviyo._generated import ASYNC_GROUPS, GROUPS
from tests._shared import REPO_ROOT, openapi_operations, spec_actions

CATALOG = load_catalog()
STUBS = REPO_ROOT / "sdk_stubs"


def test_catalog_holds_exactly_the_spec_actions_with_the_same_routes() -> None:
    spec = spec_actions()
    assert len(spec) == 162
    core = {a.id: a for a in CATALOG.values() if a.core}
    assert set(core) == {s["id"] for s in spec}
    for s in spec:
        action = core[s["id"]]
        assert (action.method, action.path, action.kind) == (s["method"], s["path"], s["kind"]), s[
            "id"
        ]


def test_the_catalog_is_the_openapi_document_no_more_no_less() -> None:
    ops = openapi_operations()
    assert set(CATALOG) == set(ops)
    for action in CATALOG.values():
        assert action.source in ("builtin", "companion"), action.id
        if action.source == "companion":
            assert action.companion_of in CATALOG and action.method == "GET", action.id


def _stub_defs() -> dict[str, dict[str, ast.FunctionDef]]:
    out: dict[str, dict[str, ast.FunctionDef]] = {}
    for path in sorted(STUBS.glob("*.pyi")):
        if path.stem.startswith("_"):
            continue  # shared types (Result, Filter), not a group
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                defs = [n for n in node.body if isinstance(n, ast.FunctionDef)]
                if defs:
                    assert path.stem not in out, f"{path.name}: one class with methods per group"
                    out[path.stem] = {d.name: d for d in defs}
    return out


STUB_DEFS = _stub_defs()


@pytest.mark.parametrize("action_id", list(CATALOG))
def test_every_action_has_sync_and_async_methods_and_a_stub(action_id: str) -> None:
    action = CATALOG[action_id]
    assert callable(getattr(GROUPS[action.group], action_id, None)), "no sync SDK method"
    assert callable(getattr(ASYNC_GROUPS[action.group], action_id, None)), "no async SDK method"
    stub = STUB_DEFS.get(action.group, {}).get(action_id)
    assert stub is not None, f"no def {action_id} in sdk_stubs/{action.group}.pyi"
    doc = ast.get_docstring(stub)
    assert doc is not None and doc.splitlines()[0] == action.summary
    assert all(a.arg != "kwargs" for a in stub.args.kwonlyargs)
    assert stub.returns is not None and ast.unparse(stub.returns).startswith("Result[")


def test_stubs_hold_one_def_per_action_and_nothing_else() -> None:
    stubbed = {(group, name) for group, defs in STUB_DEFS.items() for name in defs}
    assert stubbed == {(a.group, a.id) for a in CATALOG.values()}
    assert Path(STUBS / "_base.pyi").is_file()


def test_every_action_has_a_simulator_route_that_serves_it_or_answers_a_clear_501() -> None:
    from codemode.simulator import SimConfig, create_app
    from codemode.simulator.handlers import handler_for, serves

    app = create_app(SimConfig(profiles=5, events=10))
    routed = {getattr(r, "name", None) for r in app.routes}
    assert set(CATALOG) <= routed
    unserved = [a.id for a in CATALOG.values() if not serves(a)]
    for op_id in unserved:
        assert handler_for(CATALOG[op_id]).__name__ == "not_served", op_id
    assert all(CATALOG[i].core is False for i in unserved), "every core action is served"
