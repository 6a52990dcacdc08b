"""Composite actions registered by installed plugins (the example win-back plugin)."""

from __future__ import annotations

import importlib.util

import pytest

from codemode.extensions import (
    Composite,
    ExtensionError,
    composite,
    composite_action,
    load_composites,
)

needs_plugin = pytest.mark.skipif(
    importlib.util.find_spec("winback_plugin") is None,
    reason="examples/winback_plugin is not installed (make install does it)",
)


@needs_plugin
def test_the_example_plugin_registers_winback_through_its_entry_point() -> None:
    found = {c.name: c for c in load_composites()}
    assert "winback" in found
    assert found["winback"].kind == "write" and found["winback"].plugin == "winback"


@needs_plugin
def test_a_composite_appears_in_the_catalog_with_a_signature_from_its_parameters() -> None:
    winback = next(c for c in load_composites() if c.name == "winback")
    action = composite_action(winback)
    assert action.function == "klaviyo.custom.winback"
    assert action.source == "composite" and action.kind == "write"
    params = {p.name: p for p in action.params}
    assert params["segment_id"].required and params["segment_id"].type == "str"
    assert not params["days"].required and params["days"].default == 60


def test_an_empty_entry_point_group_yields_no_composites() -> None:
    assert load_composites(group="codemode.no-such-group") == []


def test_a_sync_function_is_refused_as_a_composite() -> None:
    from codemode.extensions import _check_composite

    def not_async(klaviyo: object) -> None:
        return None

    bad = Composite(name="sync_one", summary="Does a thing.", kind="read", fn=not_async)  # type: ignore[arg-type]
    with pytest.raises(ExtensionError, match="must be an async function"):
        _check_composite(bad, "demo")


@pytest.mark.parametrize(
    ("name", "summary", "kind", "message"),
    [
        ("Bad-Name", "Fine.", "read", "must be snake_case"),
        ("ok_name", "", "read", "needs a one-line summary"),
        ("ok_name", "Fine.", "maybe", "has kind 'maybe'"),
    ],
)
def test_invalid_composites_are_refused_with_the_plugin_named(
    name: str, summary: str, kind: str, message: str
) -> None:
    from codemode.extensions import _check_composite

    @composite(name=name, summary=summary, kind=kind)  # type: ignore[arg-type]
    async def fn(klaviyo: object) -> None:
        return None

    with pytest.raises(ExtensionError, match=message):
        _check_composite(fn, "demo")


def test_the_composite_client_names_its_sdk_clients_base_url_and_none_without_one() -> None:
    from codemode.server.composites import CompositeClient

    class Sdk:
        base_url = "https://a.klaviyo.com"

    assert CompositeClient(Sdk(), []).base_url == "https://a.klaviyo.com"
    assert CompositeClient(object(), []).base_url is None
