"""Klaviyo's OAuth client on scripted answers, the token issuer, and wiring from Settings."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import jwt
import pytest

from codemode.config import Settings
from codemode.errors import ConfigError
from codemode.server.oauth import OAuthConfig, Secret, UpstreamOAuthError, build_oauth
from codemode.server.oauth.configure import local_oauth_client, login_folder, oauth_config
from codemode.server.oauth.issuer import TokenIssuer
from codemode.server.oauth.upstream import (
    KLAVIYO_AUTHORIZE_URL,
    KlaviyoOAuthClient,
    Pkce,
    UpstreamTokens,
    default_authorize_url,
    klaviyo_scopes,
)

from ._support import FakeClock


def _client(handler: httpx.MockTransport, clock: FakeClock | None = None) -> KlaviyoOAuthClient:
    return KlaviyoOAuthClient(
        client_id="app",
        client_secret=Secret("s3cret"),
        base_url="https://a.klaviyo.test",
        authorize_url="https://www.klaviyo.test/oauth/authorize",
        http=httpx.AsyncClient(transport=handler),
        clock=clock or FakeClock(),
    )


async def test_token_request_uses_basic_auth_and_turns_expires_in_into_expires_at() -> None:
    seen: list[httpx.Request] = []
    clock = FakeClock()

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"access_token": "at", "refresh_token": "rt", "expires_in": 120, "scope": "a b"},
        )

    tokens = await _client(httpx.MockTransport(answer), clock).exchange_code(
        code="c", redirect_uri="http://127.0.0.1/cb", pkce=Pkce.new()
    )
    assert tokens.expires_at == clock() + 120
    assert tokens.scopes == ("a", "b")
    assert seen[0].url == "https://a.klaviyo.test/oauth/token"
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"app:s3cret").decode()
    assert b"client_secret" not in seen[0].content  # the secret travels only in the header


async def test_refresh_keeps_the_old_refresh_token_when_klaviyo_does_not_rotate() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"access_token": "new", "expires_in": 60})
    )
    previous = UpstreamTokens(Secret("old"), Secret("rt"), 0.0, ("a",))
    fresh = await _client(transport).refresh(Secret("rt"), previous)
    assert fresh.access_token == Secret("new")
    assert fresh.refresh_token == Secret("rt")
    assert fresh.scopes == ("a",)


async def test_klaviyo_error_is_typed_and_carries_no_token() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "expired"}
        )
    )
    with pytest.raises(UpstreamOAuthError) as caught:
        await _client(transport).refresh(Secret("rt-value"), UpstreamTokens(Secret("x"), None, 0.0))
    assert caught.value.error == "invalid_grant"
    assert caught.value.status == 400
    assert "rt-value" not in str(caught.value)
    assert "log in again" in str(caught.value)


async def test_unreachable_klaviyo_is_reported_without_the_form() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamOAuthError, match="could not reach") as caught:
        await _client(httpx.MockTransport(fail)).exchange_code(
            code="the-code", redirect_uri="http://127.0.0.1/cb", pkce=Pkce.new()
        )
    assert caught.value.error == "unreachable"
    assert "the-code" not in str(caught.value)


async def test_answer_without_access_token_is_an_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(UpstreamOAuthError, match="without an access_token"):
        await _client(transport).exchange_code(
            code="c", redirect_uri="http://x/cb", pkce=Pkce.new()
        )


def test_authorize_url_carries_pkce_s256_and_state() -> None:
    pkce = Pkce.new()
    url = httpx.URL(
        _client(httpx.MockTransport(lambda r: httpx.Response(500))).authorization_url(
            redirect_uri="http://127.0.0.1:1/callback", scopes=["a", "b"], state="st", pkce=pkce
        )
    )
    assert url.params["code_challenge"] == pkce.challenge
    assert url.params["code_challenge_method"] == "S256"
    assert url.params["scope"] == "a b"
    assert url.params["state"] == "st"
    assert pkce.verifier.reveal() not in str(url)


def test_authorize_url_defaults_to_klaviyo_for_the_real_api_and_to_the_host_otherwise() -> None:
    assert default_authorize_url("https://a.klaviyo.com") == KLAVIYO_AUTHORIZE_URL
    assert (
        default_authorize_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/oauth/authorize"
    )


def test_scopes_come_from_the_catalog() -> None:
    every = klaviyo_scopes()
    read = klaviyo_scopes(read_only=True)
    assert "profiles:read" in every and "profiles:write" in every
    assert read and all(scope.endswith(":read") for scope in read)


def test_issuer_refuses_expired_and_foreign_tokens() -> None:
    clock = FakeClock()
    issuer = TokenIssuer(
        key=b"k" * 32,
        issuer="https://mcp.test",
        audience="https://mcp.test/mcp",
        ttl=60,
        clock=clock,
    )
    token, claims = issuer.issue(subject="g1", client_id="c1", scopes=["a"])
    assert issuer.verify(token) == claims
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    other_issuer = TokenIssuer(
        key=b"k" * 32,
        issuer="https://evil.test",
        audience="https://mcp.test/mcp",
        ttl=60,
        clock=clock,
    )
    assert other_issuer.verify(token) is None
    clock.advance(61)
    assert issuer.verify(token) is None
    with pytest.raises(ValueError):
        TokenIssuer(key=b"short", issuer="x", audience="y", ttl=1, clock=clock)


def test_oauth_config_from_settings_needs_an_app_and_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KLAVIYO_OAUTH_CLIENT_ID"):
        oauth_config(Settings(base_url="https://a.klaviyo.com"), server_url="https://mcp.test")
    app = Settings(
        oauth_client_id="id", oauth_client_secret="secret", base_url="https://a.klaviyo.com"
    )
    with pytest.raises(ConfigError, match="CODEMODE_PUBLIC_URL"):
        oauth_config(app)
    with pytest.raises(ConfigError, match="https"):
        oauth_config(app, server_url="http://0.0.0.0:8000")
    assert (
        oauth_config(app, server_url="http://127.0.0.1:8000").server_url == "http://127.0.0.1:8000"
    )
    config = oauth_config(app, server_url="https://mcp.test")
    assert config.resource_url == "https://mcp.test/mcp"
    assert config.state_file is None  # no key: nothing is persisted
    assert "secret" not in repr(config)
    keyed = oauth_config(
        Settings(
            oauth_client_id="id",
            oauth_client_secret="secret",
            public_url="https://public.test",
            oauth_key="x" * 40,
            state_dir=tmp_path,
            read_only=True,
        )
    )
    assert keyed.server_url == "https://public.test"
    assert keyed.state_file == tmp_path / "oauth-state.db"
    assert all(scope.endswith(":read") for scope in keyed.scopes)


async def test_a_local_simulator_gets_the_demo_app_by_default(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        client = local_oauth_client(Settings(base_url="http://127.0.0.1:8765"), http)
    assert client.authorize_url == "http://127.0.0.1:8765/oauth/authorize"
    assert client.client_id == "codemode-demo-client"
    assert login_folder(Settings(config_dir=tmp_path)) == tmp_path


def test_build_oauth_refuses_a_state_file_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CODEMODE_OAUTH_KEY"):
        build_oauth(
            OAuthConfig(
                client_id="a",
                client_secret="b",
                server_url="https://m.test",
                state_file=tmp_path / "s",
            )
        )
