"""Attacks on the HTTP OAuth front: forged, foreign and replayed tokens, CSRF, unsafe
registrations, unbounded input, secrets in logs."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs

import jwt
import pytest

from codemode.server.oauth.issuer import TokenIssuer

from ._support import (
    CLIENT_REDIRECT,
    SERVER,
    McpClient,
    Rig,
    browse,
    pkce,
)


async def test_token_for_another_audience_is_rejected(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        subject = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
        # Same signing key, same issuer, same live grant: only the audience differs.
        other = TokenIssuer(
            key=rig.bundle.provider.issuer._key,
            issuer=SERVER,
            audience="http://127.0.0.1:8000/other",
            ttl=600,
            clock=rig.clock,
        )
        forged, _ = other.issue(
            subject=subject, client_id=client.client_id, scopes=["accounts:read"]
        )
        response = await client.call(forged)
        assert response.status_code == 401
        assert (await client.call(tokens["access_token"])).status_code == 200


async def test_token_signed_with_another_key_is_rejected(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        forged = jwt.encode(claims, "x" * 32, algorithm="HS256")
        assert (await client.call(forged)).status_code == 401
        unsigned = jwt.encode(claims, None, algorithm="none")
        assert (await client.call(unsigned)).status_code == 401


async def test_another_client_cannot_revoke_or_refresh_a_users_tokens(rig: Rig) -> None:
    async with rig.client() as http:
        victim = McpClient(http)
        attacker = McpClient(http, redirect_uri="http://127.0.0.1:6666/cb")
        await victim.register()
        await attacker.register()
        tokens = await victim.login(http)
        await http.post(
            f"{SERVER}/revoke",
            data={
                "token": tokens["refresh_token"],
                "client_id": attacker.client_id,
                "client_secret": "",
            },
        )
        assert (await victim.call(tokens["access_token"])).status_code == 200
        stolen = await attacker.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert stolen.status_code == 400


async def test_code_is_single_use_and_needs_the_right_verifier(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        verifier, challenge = pkce()
        final = await browse(http, client.authorize_url(challenge, "s1"), stop_at=CLIENT_REDIRECT)
        code = parse_qs(final.query.decode())["code"][0]
        wrong = await client.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=CLIENT_REDIRECT,
            code_verifier="x" * 50,
        )
        assert wrong.status_code == 400
        good = await client.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=CLIENT_REDIRECT,
            code_verifier=verifier,
        )
        assert good.status_code == 200
        replay = await client.token(
            grant_type="authorization_code",
            code=code,
            redirect_uri=CLIENT_REDIRECT,
            code_verifier=verifier,
        )
        assert replay.status_code == 400


async def test_authorize_for_another_resource_is_refused(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        url = client.authorize_url(challenge, "s2").replace("%2Fmcp", "%2Felsewhere")
        response = await http.get(url)
    assert response.status_code == 302
    query = parse_qs(response.headers["location"].split("?", 1)[1])
    assert query["error"] == ["invalid_target"]
    assert query["state"] == ["s2"]


async def test_consent_posted_without_the_browser_cookie_is_refused(rig: Rig) -> None:
    async with rig.client() as attacker_browser, rig.client() as victim_browser:
        client = McpClient(attacker_browser)
        await client.register()
        _, challenge = pkce()
        first = await attacker_browser.get(client.authorize_url(challenge, "s3"))
        page = await attacker_browser.get(first.headers["location"])
        fields = dict(
            __import__("re").findall(r'<input type=hidden name=(\w+) value="([^"]*)">', page.text)
        )
        # The attacker makes the victim's browser submit the approval (CSRF).
        forced = await victim_browser.post(
            f"{SERVER}/oauth/consent", data={**fields, "action": "approve"}
        )
    assert forced.status_code == 400
    assert "expired" in forced.text


async def test_consent_page_escapes_the_client_name(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register(name="<script>alert(1)</script>")
        _, challenge = pkce()
        first = await http.get(client.authorize_url(challenge, "s5"))
        page = await http.get(first.headers["location"])
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert page.headers["x-frame-options"] == "DENY"


async def test_registration_refuses_plain_http_redirects_off_loopback(rig: Rig) -> None:
    async with rig.client() as http:
        response = await http.post(
            f"{SERVER}/register",
            json={
                "redirect_uris": ["http://evil.example/cb"],
                "token_endpoint_auth_method": "none",
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


async def test_callback_with_unknown_state_is_refused(rig: Rig) -> None:
    async with rig.client() as http:
        response = await http.get(f"{SERVER}/oauth/callback?code=abc&state=forged")
    assert response.status_code == 400


async def test_no_token_appears_in_logs_or_reprs(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        await client.call(tokens["access_token"])
    upstream = rig.seen_upstream_tokens[-1]
    subject = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    grant = await rig.bundle.grants.get(subject)
    assert grant is not None
    texts = [caplog.text, repr(grant), repr(grant.tokens), str(grant.tokens), repr(rig.bundle)]
    for text in texts:
        assert upstream not in text
        assert grant.tokens.refresh_token is not None
        assert grant.tokens.refresh_token.reveal() not in text
        assert tokens["refresh_token"] not in text


async def test_replaying_a_spent_refresh_token_revokes_the_whole_login(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        rotated = (
            await client.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        ).json()
        assert (await client.call(rotated["access_token"])).status_code == 200
        # Someone copied the first refresh token and uses it after the client rotated it.
        replay = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert replay.status_code == 400
        assert (await client.call(rotated["access_token"])).status_code == 401
        after = await client.token(
            grant_type="refresh_token", refresh_token=rotated["refresh_token"]
        )
        assert after.status_code == 400
        assert len(rig.sim_state.refresh) == 0  # Klaviyo's refresh token was revoked too


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "http://10.0.0.5/cb",
        "https://ok.example/cb#frag",
    ],
)
async def test_registration_refuses_unsafe_redirect_uris(rig: Rig, uri: str) -> None:
    async with rig.client() as http:
        response = await http.post(
            f"{SERVER}/register",
            json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"},
        )
    assert response.status_code == 400, response.text


async def test_registration_accepts_native_app_schemes(rig: Rig) -> None:
    async with rig.client() as http:
        response = await http.post(
            f"{SERVER}/register",
            json={
                "redirect_uris": ["cursor://anysphere.cursor/oauth/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
    assert response.status_code == 201, response.text


async def test_open_endpoints_are_bounded(rig: Rig) -> None:
    rig.bundle.provider.max_clients = 2
    rig.bundle.provider.max_pending = 2
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        await McpClient(http).register()
        third = await http.post(
            f"{SERVER}/register",
            json={"redirect_uris": [CLIENT_REDIRECT], "token_endpoint_auth_method": "none"},
        )
        assert third.status_code == 400
        _, challenge = pkce()
        answers = [await http.get(client.authorize_url(challenge, s)) for s in ("a", "b", "c")]
        assert [a.status_code for a in answers] == [302, 302, 302]
        assert "/oauth/consent?txn=" in answers[1].headers["location"]
        # The third sign-in is refused (told to retry), not started by evicting another user's.
        assert "error=temporarily_unavailable" in answers[2].headers["location"]
    assert await rig.bundle.provider.pending_count() == 2


async def test_a_token_cannot_reach_a_grant_of_another_client(rig: Rig) -> None:
    from mcp.server.auth.provider import AccessToken

    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
    subject = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    other = AccessToken(token="t", client_id="someone-else", scopes=[], subject=subject)
    assert await rig.bundle.klaviyo_credentials(other) is None


async def test_free_text_errors_from_the_callback_are_not_relayed(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        first = await http.get(client.authorize_url(challenge, "s8"))
        page = await http.get(first.headers["location"])
        fields = dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)">', page.text))
        approved = await http.post(f"{SERVER}/oauth/consent", data={**fields, "action": "approve"})
        assert approved.status_code == 303
        txn = fields["txn"]
        back = await http.get(
            f"{SERVER}/oauth/callback", params={"state": txn, "error": "<b>call 555</b>"}
        )
    assert back.status_code == 302
    query = parse_qs(back.headers["location"].split("?", 1)[1])
    assert query["error"] == ["access_denied"]
