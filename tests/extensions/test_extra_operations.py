"""Extra operations from an operator's file join the catalog like built-in actions, or are refused clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codemode.catalog import load_catalog
from codemode.cli import app
from codemode.extensions import ExtensionError, load_extra_operations

FIXTURES = Path(__file__).parent / "fixtures"


def _write(tmp_path: Path, text: str) -> Path:
    shutil.copy(FIXTURES / "beta-openapi.json", tmp_path / "beta-openapi.json")
    path = tmp_path / "ext.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_extra_operations_become_actions_with_the_spec_revision_and_own_summary() -> None:
    actions = load_extra_operations(FIXTURES / "loyalty.toml", load_catalog())
    by_id = {a.id: a for a in actions}
    tiers = by_id["get_loyalty_tiers"]
    assert (tiers.source, tiers.kind, tiers.group, tiers.method, tiers.path) == (
        "extra",
        "read",
        "loyalty",
        "GET",
        "/api/loyalty-tiers",
    )
    assert tiers.revision == "2026-10-15.pre"
    assert tiers.filters["name"].operators == ("equals",)
    assert tiers.fields["loyalty-tier"] == ("min_points", "name")
    assert tiers.response.resource_type == "loyalty-tier" and tiers.response.collection
    create = by_id["create_loyalty_tier"]
    assert (
        create.kind == "write"
        and create.body is not None
        and create.body.resource_type == "loyalty-tier"
    )
    merged = load_catalog().with_actions(actions)
    assert merged.resolve("klaviyo.loyalty.get_loyalty_tiers") is tiers
    assert len(merged) == len(load_catalog()) + 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "get_loyalty_tier"\nsummary = "x"\n',
            r"ext.toml:5: operationId 'get_loyalty_tier' is not in the supplied spec; closest: get_loyalty_tiers",
        ),
        (
            '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "get_loyalty_tiers"\n',
            r"ext.toml:5: get_loyalty_tiers needs summary",
        ),
        (
            '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "create_loyalty_tier"\nsummary = "Make a tier."\n',
            r"ext.toml:5: create_loyalty_tier is a POST; say what it does with kind",
        ),
        (
            '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "get_loyalty_tiers"\nsummary = "List."\nkind = "sometimes"\n',
            r"kind 'sometimes' is not one of read, write, destructive, client",
        ),
        (
            '[spec]\npath = "missing.json"\n\n[[operation]]\nid = "x"\nsummary = "x"\n',
            r"ext.toml:2: cannot load the OpenAPI document 'missing.json'",
        ),
        ('[[operation]]\nid = "x"\n', r"add a \[spec\] table"),
        ('[spec]\npath = "beta-openapi.json"\n', r"no \[\[operation\]\] entries"),
        ("[spec\npath = 1\n", r"not valid TOML .*line 1"),
        (
            '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "get_profiles"\nsummary = "Shadow a built-in."\n',
            r"is not in the supplied spec",
        ),
    ],
)
def test_bad_extension_files_name_the_line_and_the_fix(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ExtensionError, match=message):
        load_extra_operations(_write(tmp_path, body), load_catalog())


def test_an_operation_that_duplicates_a_built_in_action_is_refused(tmp_path: Path) -> None:
    spec = json.loads((FIXTURES / "beta-openapi.json").read_text(encoding="utf-8"))
    spec["paths"]["/api/loyalty-tiers"]["get"]["operationId"] = "get_profiles"
    (tmp_path / "beta-openapi.json").write_text(json.dumps(spec), encoding="utf-8")
    path = tmp_path / "ext.toml"
    path.write_text(
        '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "get_profiles"\nsummary = "Shadow."\n'
    )
    with pytest.raises(ExtensionError, match="already an action; remove the duplicate"):
        load_extra_operations(path, load_catalog())


def _unwrapped(text: str) -> str:
    """The CLI's words with Rich's line wrapping undone (it wraps at the terminal's width)."""
    return " ".join(text.split())


def test_actions_check_command_validates_a_file_without_starting_anything() -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["actions", "--check", str(FIXTURES / "loyalty.toml")])
    assert ok.exit_code == 0, ok.output
    assert "adds 2 operation(s)" in _unwrapped(ok.output)


def test_actions_check_command_fails_with_the_reason(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        '[spec]\npath = "beta-openapi.json"\n\n[[operation]]\nid = "nope"\nsummary = "x"\n',
    )
    result = CliRunner().invoke(app, ["actions", "--check", str(bad)])
    assert result.exit_code == 1
    assert "operationId 'nope' is not in the supplied spec" in _unwrapped(result.output)


def test_actions_lists_builtin_companion_extra_and_composite_sources() -> None:
    result = CliRunner().invoke(
        app, ["actions", "--json", "--extensions", str(FIXTURES / "loyalty.toml")]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["actions"]
    sources = {row["source"] for row in rows}
    assert {"builtin", "companion", "extra"} <= sources
    assert sum(row["core"] is True for row in rows) == 162
    assert sum(row["source"] in ("builtin", "companion") for row in rows) == len(load_catalog())


def test_the_sdk_sends_an_extra_operation_with_its_own_revision_header() -> None:
    from codemode import Klaviyo

    catalog = load_catalog().with_actions(
        load_extra_operations(FIXTURES / "loyalty.toml", load_catalog())
    )
    with Klaviyo(api_key="pk_test", catalog=catalog) as k:
        request = k.prepare("get_loyalty_tiers", fields={"loyalty-tier": ["name"]})
        builtin = k.prepare("get_lists")
    assert request.headers["revision"] == "2026-10-15.pre"
    assert builtin.headers["revision"] == catalog.revision
    assert (
        request.path == "/api/loyalty-tiers" and ("fields[loyalty-tier]", "name") in request.query
    )
    assert "pk_test" not in json.dumps(request.to_dict())
