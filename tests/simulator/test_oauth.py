"""OAuth shaped like Klaviyo's: PKCE authorize, token and refresh grants, revoke, scopes, and one
user's token never reaching another account's data."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from codemode.simulator import (
    DEMO_OAUTH_CLIENT,
    DEMO_OAUTH_SECRET,
    DEMO_USERS,
    SimConfig,
    create_app,
)
from codemode.simulator.transport import SimTransport
from tests.simulator.conftest import NOW

REDIRECT = "http://localhost:9999/callback"
VERIFIER = "a-long-random-verifier-string-for-pkce-0123456789abcdef"
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
)
BASIC = {
    "Authorization": "Basic "
    + base64.b64encode(f"{DEMO_OAUTH_CLIENT}:{DEMO_OAUTH_SECRET}".encode()).decode()
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def oauth_app(clock: Clock) -> Starlette:
    return create_app(SimConfig(now=NOW, profiles=80, events=800, clock=clock, token_ttl=600))


@pytest.fixture(scope="module")
def raw(oauth_app: Starlette) -> Iterator[httpx.Client]:
    with httpx.Client(transport=SimTransport(oauth_app), base_url="http://sim.test") as c:
        yield c


def _authorize(raw: httpx.Client, user: str, scope: str = "profiles:read lists:read") -> str:
    response = raw.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_OAUTH_CLIENT,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "xyz",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
            "user": user,
        },
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(REDIRECT) and query["state"] == ["xyz"]
    return query["code"][0]


def _token(raw: httpx.Client, **form: str) -> httpx.Response:
    return raw.post("/oauth/token", data=form, headers=BASIC)


def _login(raw: httpx.Client, user: str, scope: str = "profiles:read lists:read") -> dict[str, str]:
    code = _authorize(raw, user, scope)
    response = _token(
        raw,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def _api(raw: httpx.Client, token: str, path: str) -> httpx.Response:
    return raw.get(path, headers={"Authorization": f"Bearer {token}", "revision": "2026-07-15"})


def test_authorization_code_with_pkce_issues_scoped_expiring_tokens(raw: httpx.Client) -> None:
    tokens = _login(raw, DEMO_USERS[0])
    assert tokens["token_type"] == "Bearer" and int(tokens["expires_in"]) == 600
    assert set(tokens["scope"].split()) == {"profiles:read", "lists:read"}
    assert _api(raw, tokens["access_token"], "/api/profiles").status_code == 200
    forbidden = _api(
        raw, tokens["access_token"], "/api/campaigns?filter=equals(messages.channel,%22email%22)"
    )
    assert (
        forbidden.status_code == 403 and "campaigns:read" in forbidden.json()["errors"][0]["detail"]
    )


def test_a_wrong_verifier_or_a_reused_code_is_invalid_grant(raw: httpx.Client) -> None:
    code = _authorize(raw, DEMO_USERS[0])
    bad = _token(
        raw,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier="wrong",
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    again = _token(
        raw,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
    )
    assert again.status_code == 400
    assert (
        raw.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}
        ).status_code
        == 401
    )


def test_authorize_without_s256_pkce_redirects_with_invalid_request(raw: httpx.Client) -> None:
    response = raw.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_OAUTH_CLIENT,
            "redirect_uri": REDIRECT,
            "state": "s",
            "code_challenge": "x",
            "code_challenge_method": "plain",
        },
    )
    assert response.status_code == 302 and "error=invalid_request" in response.headers["location"]


def test_tokens_expire_and_refresh_rotates_them(raw: httpx.Client, clock: Clock) -> None:
    tokens = _login(raw, DEMO_USERS[0])
    clock.now += 601
    expired = _api(raw, tokens["access_token"], "/api/lists")
    assert expired.status_code == 401 and "refresh" in expired.json()["errors"][0]["detail"]
    fresh = _token(raw, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert _api(raw, fresh["access_token"], "/api/lists").status_code == 200
    reused = _token(raw, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400


def test_revoked_tokens_stop_working(raw: httpx.Client) -> None:
    tokens = _login(raw, DEMO_USERS[0])
    assert (
        raw.post("/oauth/revoke", data={"token": tokens["access_token"]}, headers=BASIC).status_code
        == 200
    )
    assert _api(raw, tokens["access_token"], "/api/lists").status_code == 401


def test_each_users_token_sees_only_its_own_account(
    raw: httpx.Client, oauth_app: Starlette
) -> None:
    ada = _login(raw, DEMO_USERS[0])["access_token"]
    grace = _login(raw, DEMO_USERS[1])["access_token"]
    ada_ids = {p["id"] for p in _api(raw, ada, "/api/profiles?page[size]=100").json()["data"]}
    grace_ids = {p["id"] for p in _api(raw, grace, "/api/profiles?page[size]=100").json()["data"]}
    assert ada_ids and grace_ids and not ada_ids & grace_ids
    for profile_id in list(ada_ids)[:5]:
        assert _api(raw, grace, f"/api/profiles/{profile_id}").status_code == 404
    domains = {
        p["attributes"]["email"]
        for p in _api(raw, grace, "/api/profiles?page[size]=5").json()["data"]
    }
    assert domains
    sim = oauth_app.state.sim
    grace_account = sim.account(sim.users[DEMO_USERS[1]])
    assert grace_account.name == "Summit Supply Co."
