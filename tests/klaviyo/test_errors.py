"""Klaviyo's error answers become typed errors; the credential never leaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from codemode.errors import ConfigError
from codemode.klaviyo import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Klaviyo,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

from .conftest import KEY, error, jsonapi

MakeClient = Callable[..., Any]


def test_400_maps_to_bad_request_with_klaviyo_error_object(make_client: MakeClient) -> None:
    answer = error(400, "invalid", "Invalid cursor provided.", source={"parameter": "page[cursor]"})
    client, _ = make_client(answer)
    with pytest.raises(BadRequestError) as caught:
        client.profiles.get_profiles(page_cursor="bogus")
    exc = caught.value
    assert (exc.status, exc.code, exc.detail) == (400, "invalid", "Invalid cursor provided.")
    assert exc.source == {"parameter": "page[cursor]"}
    assert exc.operation_id == "get_profiles"
    assert exc.errors[0]["id"] == "e1"
    assert "Fix 'page[cursor]'" in str(exc)


def test_404_maps_to_not_found_and_names_the_fix(make_client: MakeClient) -> None:
    client, _ = make_client(error(404, "not_found", "A profile with id X does not exist."))
    with pytest.raises(NotFoundError, match=r"get_profile: 404.*check the id"):
        client.profiles.get_profile("X")


def test_a_404_names_the_listing_that_holds_the_ids(make_client: MakeClient) -> None:
    # "the matching get_* action" left the agent to guess which one.
    client, _ = make_client(error(404, "not_found", "A template with id 'X' does not exist."))
    with pytest.raises(NotFoundError, match=r"list ids with klaviyo\.templates\.get_templates\)"):
        client.templates.get_template("X")
    client, _ = make_client(error(404, "not_found", "A list with id 'X' does not exist."))
    with pytest.raises(NotFoundError, match=r"list ids with klaviyo\.lists\.get_lists\)"):
        client.lists.get_profiles_for_list("X")


def test_a_coupon_code_404_says_the_id_is_not_the_code_a_customer_types(
    make_client: MakeClient,
) -> None:
    client, _ = make_client(error(404, "not_found", "A coupon-code with id 'X' does not exist."))
    with pytest.raises(NotFoundError) as caught:
        client.coupons.get_coupon_code("AB12CD")
    assert "a coupon code's id is the coupon's id, a dash, then the code" in str(caught.value)
    assert "list them with klaviyo.coupons.get_coupon_codes." in str(caught.value)


def test_a_catalog_404_says_catalog_ids_are_compound(make_client: MakeClient) -> None:
    # An external id alone ("SKU-1") is the usual first try at a catalog item or variant.
    client, _ = make_client(
        error(404, "not_found", "A catalog-item with id 'SKU-1' does not exist.")
    )
    with pytest.raises(
        NotFoundError, match=r"compound, '\$custom:::\$default:::' \+ the external_id"
    ) as caught:
        client.catalogs.get_catalog_item("SKU-1")
    assert "list them with klaviyo.catalogs.get_catalog_items." in str(caught.value)


def test_409_maps_to_conflict_and_carries_the_duplicate_id(make_client: MakeClient) -> None:
    answer = error(
        409, "duplicate_profile", "A profile already exists.", meta={"duplicate_profile_id": "P9"}
    )
    client, _ = make_client(answer)
    with pytest.raises(ConflictError) as caught:
        client.profiles.create_profile(attributes={"email": "a@b.co"})
    assert caught.value.meta["duplicate_profile_id"] == "P9"
    assert "id P9" in str(caught.value)


def test_403_names_the_scopes_the_action_needs(make_client: MakeClient) -> None:
    client, _ = make_client(error(403, "permission_denied", "You lack a scope."))
    with pytest.raises(PermissionDeniedError, match="profiles:read"):
        client.profiles.get_profiles()


def test_error_without_a_json_body_still_has_a_typed_class(make_client: MakeClient) -> None:
    client, _ = make_client(httpx.Response(418, content=b"teapot"))
    with pytest.raises(APIError) as caught:
        client.accounts.get_accounts()
    assert caught.value.status == 418


def test_errors_round_trip_through_to_dict(make_client: MakeClient) -> None:
    client, _ = make_client(error(404, "not_found", "gone"))
    with pytest.raises(NotFoundError) as caught:
        client.lists.get_list("L1")
    again = KlaviyoError.from_dict(caught.value.to_dict())
    assert type(again) is NotFoundError and again.detail == "gone"


def test_redirects_are_never_followed(make_client: MakeClient) -> None:
    client, script = make_client(
        httpx.Response(302, headers={"location": "https://evil.example/steal"})
    )
    with pytest.raises(APIError, match="redirects are not followed"):
        client.accounts.get_accounts()
    assert len(script.requests) == 1


def test_success_with_a_non_json_body_is_an_error(make_client: MakeClient) -> None:
    client, _ = make_client(httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(KlaviyoError, match="not a JSON object"):
        client.accounts.get_accounts()


def test_key_is_absent_from_repr_errors_and_prepared_requests(make_client: MakeClient) -> None:
    client, script = make_client(error(401, "not_authenticated", "Bad key."))
    assert KEY not in repr(client)
    with pytest.raises(AuthenticationError) as caught:
        client.profiles.get_profiles()
    assert script.last.headers["authorization"] == f"Klaviyo-API-Key {KEY}"
    texts = [str(caught.value), repr(caught.value), repr(caught.value.to_dict())]
    assert all(KEY not in t for t in texts)
    prepared = client.prepare("get_profiles")
    assert "authorization" not in {h.lower() for h in prepared.headers}
    assert KEY not in repr(prepared.to_dict())
    with pytest.raises(ValidationError) as invalid:
        client.profiles.get_profiles(page_size=10_000)
    assert KEY not in str(invalid.value)


def test_transport_error_hides_the_request_and_key(make_client: MakeClient) -> None:
    client, _ = make_client(httpx.ConnectError(f"refused {KEY}"), max_retries=0)
    with pytest.raises(KlaviyoError) as caught:
        client.accounts.get_accounts()
    assert KEY not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bearer_token_is_refreshed_once_on_401_and_the_call_retried(
    make_client: MakeClient,
) -> None:
    tokens = iter(["fresh-token"])
    client, script = make_client(
        error(401, "not_authenticated", "expired"),
        jsonapi(200, {"data": []}),
        api_key=None,
        access_token="old-token",
        on_unauthorized=lambda: next(tokens),
    )
    assert client.profiles.get_profiles().status == 200
    assert [r.headers["authorization"] for r in script.requests] == [
        "Bearer old-token",
        "Bearer fresh-token",
    ]


def test_refresh_happens_only_once(make_client: MakeClient) -> None:
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        return f"token-{len(calls)}"

    client, script = make_client(
        error(401, "not_authenticated", "expired"),
        api_key=None,
        access_token="t0",
        on_unauthorized=refresh,
    )
    with pytest.raises(AuthenticationError):
        client.profiles.get_profiles()
    assert calls == [1] and len(script.requests) == 2


def test_api_key_401_is_not_refreshed(make_client: MakeClient) -> None:
    client, script = make_client(
        error(401, "not_authenticated", "bad key"), on_unauthorized=lambda: "x"
    )
    with pytest.raises(AuthenticationError):
        client.profiles.get_profiles()
    assert len(script.requests) == 1


async def test_async_refresh_hook_may_be_a_coroutine(make_async_client: Callable[..., Any]) -> None:
    async def refresh() -> str:
        return "fresh"

    client, script = make_async_client(
        error(401, "not_authenticated", "expired"),
        jsonapi(200, {"data": []}),
        api_key=None,
        access_token="old",
        on_unauthorized=refresh,
    )
    assert (await client.profiles.get_profiles()).status == 200
    assert script.last.headers["authorization"] == "Bearer fresh"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"api_key": "pk_a", "access_token": "t"},
        {"api_key": ""},
        {"api_key": "pk_a\r\nX-Evil: 1"},
    ],
)
def test_bad_credentials_are_refused_with_a_config_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        Klaviyo(**kwargs)
    assert "X-Evil" not in str(caught.value)


def test_bearer_header_and_revision_pin(make_client: MakeClient) -> None:
    client, script = make_client(
        jsonapi(200, {"data": []}), api_key=None, access_token="tok", revision="2026-10-15"
    )
    client.profiles.get_profiles()
    assert script.last.headers["authorization"] == "Bearer tok"
    assert script.last.headers["revision"] == "2026-10-15"
    assert script.last.headers["accept"] == "application/vnd.api+json"


def test_client_endpoints_never_receive_the_private_key(make_client: MakeClient) -> None:
    client, script = make_client(httpx.Response(202))
    client.client.create_client_profile(company_id="ABC123", attributes={"email": "a@b.co"})
    assert "authorization" not in script.last.headers
    assert script.last.url.path == "/client/profiles"
    assert dict(script.last.url.params) == {"company_id": "ABC123"}


async def test_concurrent_401s_refresh_the_token_once(
    make_async_client: Callable[..., Any],
) -> None:
    import asyncio

    calls: list[int] = []

    async def refresh() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        return "fresh"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer fresh":
            return jsonapi(200, {"data": []})
        return error(401, "not_authenticated", "expired")

    client, script = make_async_client(
        answer, api_key=None, access_token="old", on_unauthorized=refresh
    )
    results = await asyncio.gather(*(client.profiles.get_profiles() for _ in range(5)))
    assert [r.status for r in results] == [200] * 5
    assert calls == [1]
    assert script.last.headers["authorization"] == "Bearer fresh"


def test_a_failing_refresh_hook_becomes_an_authentication_error(make_client: MakeClient) -> None:
    def refresh() -> str:
        raise RuntimeError("refresh_token=rt_secret rejected")

    client, _ = make_client(
        error(401, "not_authenticated", "expired"),
        api_key=None,
        access_token="t0",
        on_unauthorized=refresh,
    )
    with pytest.raises(AuthenticationError) as caught:
        client.profiles.get_profiles()
    assert "refreshing the access token failed (RuntimeError)" in str(caught.value)
    assert "rt_secret" not in str(caught.value)
