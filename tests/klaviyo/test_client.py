"""The client surface: groups, generated methods, extensions, hooks and the lazy import."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import codemode
import codemode.klaviyo as sdk
from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo, CallInfo, Klaviyo, NotFoundError

from .conftest import KEY, error, jsonapi

PROFILE = {
    "data": {
        "type": "profile",
        "id": "P1",
        "attributes": {"email": "ada@example.com"},
        "relationships": {"lists": {"data": [{"type": "list", "id": "L1"}]}},
    },
    "included": [{"type": "list", "id": "L1", "attributes": {"name": "VIP"}}],
}


def test_top_level_package_exports_the_clients() -> None:
    assert codemode.Klaviyo is Klaviyo and codemode.AsyncKlaviyo is AsyncKlaviyo


def test_sdk_all_is_complete_and_every_name_resolves() -> None:
    from codemode.klaviyo import _errors

    errors = set(_errors.__all__) - {"error_for_status"}
    assert errors <= set(sdk.__all__), f"missing from __all__: {errors - set(sdk.__all__)}"
    assert {"Klaviyo", "AsyncKlaviyo", "Result", "F", "Filter", "CallInfo", "RetryPolicy"} <= set(
        sdk.__all__
    )
    assert len(set(sdk.__all__)) == len(sdk.__all__)
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None
    with pytest.raises(AttributeError):
        sdk.NotAThing  # noqa: B018


def test_importing_the_error_tree_and_results_does_not_import_httpx() -> None:
    code = (
        "import sys; import codemode.klaviyo._errors, codemode.klaviyo._jsonapi, codemode.klaviyo._filters; "
        "import codemode.klaviyo; import codemode; "
        "sys.exit(1 if 'httpx' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_group_and_action_has_a_sync_and_async_method() -> None:
    k = Klaviyo(api_key=KEY)
    ak = AsyncKlaviyo(api_key=KEY)
    for action in load_catalog().values():
        sync = getattr(type(getattr(k, action.group)), action.id)
        asyn = getattr(type(getattr(ak, action.group)), action.id)
        assert callable(sync) and callable(asyn)
        assert action.summary in (sync.__doc__ or "")


def test_generated_method_equals_generic_call(make_client: Callable[..., Any]) -> None:
    client, script = make_client(jsonapi(200, PROFILE))
    a = client.profiles.get_profile("P1", include=["lists"])
    b = client.call("klaviyo.profiles.get_profile", id="P1", include=["lists"])
    assert str(script.requests[0].url) == str(script.requests[1].url)
    assert (
        a.data
        == b.data
        == {"id": "P1", "type": "profile", "email": "ada@example.com", "lists": ["L1"]}
    )
    record = a.data
    assert isinstance(record, dict)
    assert a.related(record, "lists") == [{"id": "L1", "type": "list", "name": "VIP"}]
    assert a.raw == PROFILE


async def test_async_generated_method(make_async_client: Callable[..., Any]) -> None:
    client, script = make_async_client(jsonapi(200, PROFILE))
    result = await client.profiles.get_profile("P1")
    assert result.data is not None and script.last.url.path == "/api/profiles/P1"
    assert (await client.call("get_profile", id="P1")).status == 200


def test_204_gives_an_empty_result(make_client: Callable[..., Any]) -> None:
    client, _ = make_client(httpx.Response(204))
    result = client.lists.delete_list("L1")
    assert (result.status, result.data, result.records, bool(result)) == (204, None, [], False)


def test_unknown_group_attribute_lists_the_actions() -> None:
    k = Klaviyo(api_key=KEY)
    with pytest.raises(AttributeError, match="did you mean get_profiles"):
        k.profiles.get_profile_list  # noqa: B018
    with pytest.raises(AttributeError, match="groups: accounts"):
        k.nope  # noqa: B018


def _extension(**changes: Any) -> Any:
    base = load_catalog()["get_profiles"]
    return dataclasses.replace(base, **changes)


def test_extensions_are_reachable_by_call_and_by_group_attribute(
    make_client: Callable[..., Any],
) -> None:
    vip = _extension(
        id="get_vip_profiles", path="/api/vip-profiles", source="extra", revision="2026-10-15.pre"
    )
    other = _extension(
        id="get_partner_things",
        group="partner",
        category="Partner",
        path="/api/partner",
        source="extra",
    )
    catalog = load_catalog().with_actions([vip, other])
    client, script = make_client(jsonapi(200, {"data": []}), catalog=catalog)
    client.call("get_vip_profiles", page_size=5)
    assert script.last.url.path == "/api/vip-profiles"
    assert script.last.headers["revision"] == "2026-10-15.pre"
    client.profiles.get_vip_profiles(page_size=5)
    client.partner.get_partner_things()
    assert [r.url.path for r in script.requests] == [
        "/api/vip-profiles",
        "/api/vip-profiles",
        "/api/partner",
    ]
    assert "get_vip_profiles" in dir(client.profiles)


async def test_async_extensions_via_group_attribute(make_async_client: Callable[..., Any]) -> None:
    vip = _extension(id="get_vip_profiles", path="/api/vip-profiles", source="extra")
    client, script = make_async_client(
        jsonapi(200, {"data": []}), catalog=load_catalog().with_actions([vip])
    )
    await client.profiles.get_vip_profiles()
    assert script.last.url.path == "/api/vip-profiles"


def test_on_call_hook_sees_failures_too(make_client: Callable[..., Any]) -> None:
    seen: list[CallInfo] = []
    client, _ = make_client(error(404, "not_found", "gone"), on_call=seen.append)
    with pytest.raises(NotFoundError):
        client.lists.get_list("L1")
    assert len(seen) == 1
    info = seen[0]
    assert (info.operation_id, info.status, info.error, info.path) == (
        "get_list",
        404,
        "NotFoundError",
        "/api/lists/L1",
    )
    assert info.to_dict()["attempts"] == 1


def test_client_owns_and_closes_its_default_http_client() -> None:
    with Klaviyo(api_key=KEY) as k:
        http = k._http
    assert http.is_closed
    mine = httpx.Client()
    Klaviyo(api_key=KEY, http_client=mine).close()
    assert not mine.is_closed
    mine.close()


async def test_async_client_context_manager() -> None:
    async with AsyncKlaviyo(api_key=KEY) as k:
        http = k._http
    assert http.is_closed


def test_generated_signatures_match_the_parameters_the_sdk_validates() -> None:
    import inspect

    from codemode.klaviyo._generated import ASYNC_GROUPS, GROUPS
    from codemode.klaviyo._params import accepted_params

    for action in load_catalog().values():
        for groups in (GROUPS, ASYNC_GROUPS):
            method = getattr(groups[action.group], action.id)
            names = [n for n in inspect.signature(method).parameters if n != "self"]
            assert names == accepted_params(action), action.id
