"""Nested shapes: drawn to the spec's depth within a budget, marked where cut, and kept current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codemode.catalog import Catalog
from codemode.search import get_signatures
from codemode.search._shapes import elided_values, render_shape

ROOT = Path(__file__).resolve().parents[2]


def test_required_keys_are_bare_optional_ones_marked_and_enums_python() -> None:
    schema = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "on": {"enum": [True, False]},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    assert render_shape(schema) == "{name: str, on?: True|False, when?: datetime}"


def test_a_deep_schema_is_cut_with_a_depth_marker() -> None:
    node: dict[str, object] = {"type": "string"}
    for i in range(12):
        node = {"type": "object", "properties": {f"level{i}_" + "x" * 60: node}}
    text = render_shape(node)
    assert text.endswith("; {…} deeper)") and "{…}" in text and len(text) < 900


def test_signatures_show_nested_request_and_record_shapes(catalog: Catalog) -> None:
    sigs, _ = get_signatures(["create_segment", "query_metric_aggregates"], catalog)
    segment, aggregates = sigs
    assert (
        "attributes (required): {name: str, definition: {condition_groups: [{conditions:"
        in segment.doc
    )
    assert 'measurements: ["count"|"sum_value"|"unique"]' in aggregates.doc
    assert "record shape: {dates: [str], data: [{dimensions: [str]" in aggregates.doc


def test_the_shipped_shapes_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_shapes.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_values_a_shape_cuts_are_listed_apart() -> None:
    stats = [f"stat_{n}" for n in range(10)]
    typed = [
        {"type": "object", "properties": {"type": {"enum": [f"kind-{n}"]}, "x": {"enum": stats}}}
        for n in range(6)
    ]
    schema = {
        "type": "object",
        "properties": {
            "statistics": {"type": "array", "items": {"enum": stats}},
            "conditions": {"type": "array", "items": {"oneOf": typed}},
            "few": {"enum": ["a", "b"]},
            "zones": {"enum": [f"zone-{n}" for n in range(41)]},
        },
    }
    assert "|…+4" in render_shape(schema)
    listed = elided_values(schema).splitlines()
    # Every value of the cut enum and every type of the cut union; below a typed union, nothing
    # (each option has its own keys); short or very long enums are not listed.
    assert listed == [
        "statistics[]: " + "|".join(f'"{s}"' for s in stats),
        "conditions[].type: " + "|".join(f'"kind-{n}"' for n in range(6)),
    ]


def test_signatures_list_the_values_their_shapes_cut(catalog: Catalog) -> None:
    sigs, _ = get_signatures(["query_flow_values", "create_segment"], catalog)
    flow_values, segment = sigs
    assert "…+" in flow_values.doc and '"conversion_value"' in flow_values.doc
    assert '"unsubscribe_rate"' in flow_values.doc and '"flow_name"' in flow_values.doc
    assert 'conditions[].type: "profile-group-membership"' in segment.doc
    assert '"profile-property"' in segment.doc


def test_signatures_state_the_rules_klaviyo_documents_for_the_attributes(catalog: Catalog) -> None:
    # A flow report grouped by flow_name alone is refused: the docs require both ids.
    sigs, _ = get_signatures(["query_flow_values", "query_metric_aggregates"], catalog)
    flow_values, aggregates = sigs
    assert "Klaviyo's rules: group_by: include flow_id and flow_message_id" in flow_values.doc
    assert "filter: bound datetime on both sides" in aggregates.doc


def test_the_body_rules_are_the_projects_words_on_attributes_the_bodies_have(
    catalog: Catalog,
) -> None:
    import json
    from pathlib import Path

    table = json.loads(
        (Path(__file__).parents[2] / "tools" / "catalog" / "body_rules.json").read_text()
    )
    spec = (Path(__file__).parents[2] / "tools" / "vendor" / "klaviyo").glob("openapi*.json")
    prose = "".join(p.read_text(encoding="utf-8") for p in spec)
    for op_id, rules in table.items():
        if op_id.startswith("_"):
            continue
        assert op_id in catalog, op_id
        for field, rule in rules.items():
            assert f"{field}: {rule}" in get_signatures([op_id], catalog)[0][0].doc
            assert rule not in prose, (op_id, field)  # restated, not copied
