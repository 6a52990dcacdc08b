"""Outsider red team, round 12: the OAuth front, attacked as docs/oauth.md describes it.

Written from docs/oauth.md and docs/security.md before reading the front's code. Each attack
plays a hostile client, a hostile browser or a thief holding one of the tokens:

1. access tokens forged without the key: ``alg: none``, HS256 under guessable secrets (empty,
   the client id, the client secret, the public URL), a token with its signature cut off;
2. tokens used in the wrong place: the refresh token as a bearer, the access token as a refresh
   token, a token of one client refreshed by another;
3. redirect URIs that are not exactly the registered one (a suffix, a path walk, a query, another
   host hidden in userinfo, another scheme) at ``/authorize`` and at ``/token``;
4. PKCE downgraded (``plain``, none) and ``resource`` for another server;
5. the browser: Klaviyo's redirect to our callback replayed, or followed in another browser (login
   CSRF: the attacker's Klaviyo account planted in the victim's client);
6. scopes widened at refresh time;
7. a code redeemed by another client with the right verifier.
"""

from __future__ import annotations

import base64
import json
import warnings
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from codemode.server.oauth._secrets import Secret
from codemode.server.oauth.grants import Grant
from codemode.server.oauth.upstream import UpstreamTokens

from ._support import CLIENT_REDIRECT, SERVER, SIM, McpClient, Rig, browse, pkce

_HIDDEN = r'<input type=hidden name=(\w+) value="([^"]*)">'


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _login(rig: Rig, http: httpx.AsyncClient) -> tuple[McpClient, dict[str, Any]]:
    client = McpClient(http)
    await client.register(auth_method="client_secret_post")
    return client, await client.login(http)


async def _code(http: httpx.AsyncClient, **register: str) -> tuple[McpClient, str, str]:
    """A registered client, its PKCE verifier and a fresh code from a whole sign-in."""
    client = McpClient(http)
    await client.register(**register)
    verifier, challenge = pkce()
    final = await browse(http, client.authorize_url(challenge, "s"), stop_at=CLIENT_REDIRECT)
    return client, verifier, parse_qs(final.query.decode())["code"][0]


async def _redeem(client: McpClient, code: str, verifier: str, **form: str) -> httpx.Response:
    return await client.token(
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        **{"redirect_uri": CLIENT_REDIRECT, **form},
    )


async def _to_callback(http: httpx.AsyncClient, url: str) -> str:
    """Play the browser up to Klaviyo's redirect to our callback; return that URL unfollowed."""
    import re

    response = await http.get(url)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith(f"{SERVER}/oauth/callback"):
                return location
            response = await http.get(location)
            continue
        if response.status_code == 200 and "<form" in response.text:
            fields = dict(re.findall(_HIDDEN, response.text))
            response = await http.post(
                f"{SERVER}/oauth/consent", data={**fields, "action": "approve"}
            )
            continue
        raise AssertionError(f"stuck: {response.status_code} {response.text[:200]}")
    raise AssertionError("too many redirects")


# 1. forged access tokens.


def _forgeries(good: str, client: McpClient) -> list[str]:
    claims = jwt.decode(good, options={"verify_signature": False})
    claims["exp"] = int(claims["exp"]) + 3600
    head, body, _ = good.split(".")
    out = [
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{_b64(claims)}.",
        f"{head}.{body}.",
        f"{head}.{_b64(claims)}.{good.split('.')[2]}",  # claims changed, signature kept
    ]
    with warnings.catch_warnings():  # the guesses are short keys: that is the point
        warnings.simplefilter("ignore")
        for secret in ("", client.client_id, client.client_secret or "x", SERVER, "secret"):
            out.append(jwt.encode(claims, secret.encode() or b"\0", algorithm="HS256"))
    return out


async def test_forged_access_tokens_reach_no_grant(rig: Rig) -> None:
    async with rig.client() as http:
        client, tokens = await _login(rig, http)
        assert (await client.call(tokens["access_token"])).status_code == 200
        for forged in _forgeries(tokens["access_token"], client):
            answer = await client.call(forged)
            assert answer.status_code == 401, forged


# 2. tokens in the wrong place.


async def test_a_refresh_token_is_not_a_bearer_token(rig: Rig) -> None:
    async with rig.client() as http:
        client, tokens = await _login(rig, http)
        assert (await client.call(tokens["refresh_token"])).status_code == 401


async def test_an_access_token_is_not_a_refresh_token(rig: Rig) -> None:
    async with rig.client() as http:
        client, tokens = await _login(rig, http)
        answer = await client.token(
            grant_type="refresh_token", refresh_token=tokens["access_token"]
        )
        assert answer.status_code in (400, 401)
        assert "access_token" not in answer.text


async def test_another_clients_secret_cannot_refresh_a_users_tokens(rig: Rig) -> None:
    async with rig.client() as http:
        _, tokens = await _login(rig, http)
        thief = McpClient(http)
        await thief.register(auth_method="client_secret_post")
        answer = await thief.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert answer.status_code in (400, 401)


# 3. redirect URIs.

BAD_REDIRECTS = [
    CLIENT_REDIRECT + "x",
    CLIENT_REDIRECT + "/../evil",
    CLIENT_REDIRECT + "?next=https://evil.test",
    CLIENT_REDIRECT + "#frag",
    CLIENT_REDIRECT.replace("127.0.0.1", "127.0.0.1@evil.test"),
    CLIENT_REDIRECT.replace("127.0.0.1", "evil.test"),
    CLIENT_REDIRECT.replace("http://", "https://"),
    CLIENT_REDIRECT.replace("/callback", "/CALLBACK"),
    CLIENT_REDIRECT.replace("/callback", "/callback%2f..%2fevil"),
    "javascript:alert(1)",
]


@pytest.mark.parametrize("redirect", BAD_REDIRECTS)
async def test_authorize_never_sends_the_browser_to_an_unregistered_redirect(
    rig: Rig, redirect: str
) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        client.redirect_uri = redirect
        answer = await http.get(client.authorize_url(challenge, "s"))
    location = answer.headers.get("location", "")
    assert not location.startswith(redirect.split("?")[0]) or answer.status_code == 400
    assert answer.status_code in (302, 303, 400)
    if answer.status_code in (302, 303):  # only ever our own consent page, never the URI
        assert location.startswith(SERVER) or location.startswith("/"), location
        assert not location.startswith(f"{SERVER}/oauth/consent"), location


async def test_a_code_needs_the_redirect_uri_it_was_issued_for(rig: Rig) -> None:
    async with rig.client() as http:
        client, verifier, code = await _code(http)
        answer = await _redeem(client, code, verifier, redirect_uri=CLIENT_REDIRECT + "x")
    assert answer.status_code == 400


# 4. PKCE downgrade, another resource.


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge_method": "S512"},
        {"code_challenge": ""},
        {"resource": "https://evil.test/mcp"},
        {"resource": f"{SERVER}/mcp/../other"},
        {"response_type": "token"},
    ],
    ids=["plain", "s512", "no-challenge", "foreign-resource", "resource-walk", "implicit"],
)
async def test_authorize_refuses_weakened_requests(rig: Rig, extra: dict[str, str]) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        answer = await http.get(client.authorize_url(challenge, "s", **extra))
    location = answer.headers.get("location", "")
    assert not location.startswith(f"{SERVER}/oauth/consent"), (extra, location)
    if location.startswith(CLIENT_REDIRECT):
        assert "code=" not in location and "error=" in location


# 5. the browser.


async def test_klaviyos_redirect_to_our_callback_cannot_be_replayed(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        callback = await _to_callback(http, client.authorize_url(challenge, "s"))
        first = await http.get(callback)
        assert first.status_code in (302, 303)
        assert "code=" in first.headers["location"]
        second = await http.get(callback)
    assert second.status_code == 400 or "code=" not in second.headers.get("location", "")


async def test_the_callback_followed_in_another_browser_plants_no_login(rig: Rig) -> None:
    """Login CSRF: the attacker signs in to their own Klaviyo account, stops before our callback,
    and makes the victim's browser (which never consented) follow it."""
    async with rig.client() as attacker, rig.client() as victim:
        client = McpClient(attacker)
        await client.register()
        _, challenge = pkce()
        callback = await _to_callback(attacker, client.authorize_url(challenge, "s"))
        planted = await victim.get(callback)
    assert planted.status_code == 400 or "code=" not in planted.headers.get("location", "")


async def test_consent_by_another_browser_holding_its_own_cookie_is_refused(rig: Rig) -> None:
    import re

    async with rig.client() as attacker, rig.client() as victim:
        client = McpClient(attacker)
        await client.register()
        _, challenge = pkce()
        first = await attacker.get(client.authorize_url(challenge, "a"))
        page = await attacker.get(first.headers["location"])
        fields = dict(re.findall(_HIDDEN, page.text))
        # The victim has a sign-in of its own under way, so its browser holds a cookie too.
        own = await victim.get(client.authorize_url(challenge, "v"))
        await victim.get(own.headers["location"])
        forced = await victim.post(f"{SERVER}/oauth/consent", data={**fields, "action": "approve"})
    assert forced.status_code == 400
    assert SIM not in forced.headers.get("location", "")


# 6. scopes at refresh.


async def test_a_refresh_cannot_widen_the_scopes_granted(rig: Rig) -> None:
    async with rig.client() as http:
        client, tokens = await _login(rig, http)
        granted = set(tokens.get("scope", "").split())
        wider = await client.token(
            grant_type="refresh_token",
            refresh_token=tokens["refresh_token"],
            scope="accounts:read profiles:read lists:write campaigns:write",
        )
    if wider.status_code == 200:
        body = wider.json()
        assert set(body.get("scope", "").split()) <= granted
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert set(str(claims.get("scope", "")).split()) <= granted
    else:
        assert wider.status_code in (400, 401)


# 7. a code redeemed by another client.


async def test_a_code_cannot_be_redeemed_by_another_client(rig: Rig) -> None:
    async with rig.client() as http:
        client, verifier, code = await _code(http)
        thief = McpClient(http)
        await thief.register()
        stolen = await _redeem(thief, code, verifier)
        assert stolen.status_code in (400, 401)
        # and the theft burnt nothing the rightful client needs, or burnt the code for both
        mine = await _redeem(client, code, verifier)
    assert "access_token" not in stolen.text
    assert mine.status_code in (200, 400)


@pytest.mark.parametrize("verifier", ["", "x" * 43, None])
async def test_a_sign_in_started_without_a_challenge_yields_no_token(
    rig: Rig, verifier: str | None
) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        url = client.authorize_url("", "s")
        answer = await http.get(url)
        location = answer.headers.get("location", "")
        if not location.startswith(f"{SERVER}/oauth/consent"):
            return  # refused at /authorize
        final = await browse(http, url, stop_at=CLIENT_REDIRECT)
        code = parse_qs(final.query.decode()).get("code", [""])[0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CLIENT_REDIRECT}
        if verifier is not None:
            form["code_verifier"] = verifier
        redeemed = await client.token(**form)
    assert redeemed.status_code == 400
    assert "access_token" not in redeemed.text


# 8. the token and revocation endpoints without the client's own credentials.


async def test_a_confidential_client_cannot_redeem_without_its_secret(rig: Rig) -> None:
    async with rig.client() as http:
        client, verifier, code = await _code(http, auth_method="client_secret_post")
        secret, client.client_secret = client.client_secret, None
        for wrong in (None, "", (secret or "x")[:-1] + "A"):
            client.client_secret = wrong
            answer = await _redeem(client, code, verifier)
            assert answer.status_code in (400, 401), wrong
            assert "access_token" not in answer.text


async def test_a_stranger_cannot_revoke_a_users_login(rig: Rig) -> None:
    async with rig.client() as http:
        client, tokens = await _login(rig, http)
        for form in (
            {"token": tokens["refresh_token"]},
            {"token": tokens["access_token"]},
            {"token": tokens["refresh_token"], "client_id": client.client_id},
        ):
            await http.post(f"{SERVER}/revoke", data=form)
        assert (await client.call(tokens["access_token"])).status_code == 200
        again = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert again.status_code == 200


async def test_a_token_asked_for_another_resource_is_not_issued_for_it(rig: Rig) -> None:
    async with rig.client() as http:
        client, verifier, code = await _code(http)
        answer = await _redeem(client, code, verifier, resource="https://evil.test/mcp")
    if answer.status_code == 200:
        claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
        assert claims["aud"] == f"{SERVER}/mcp"
    else:
        assert answer.status_code in (400, 401)


# 9. one party filling the table of sign-ins in progress.


async def test_one_client_flooding_authorize_does_not_refuse_everyone_elses_sign_in(
    rig: Rig,
) -> None:
    """``/authorize`` is open to any registered client and each call holds a sign-in record for
    ten minutes, up to a global cap: one client must not be able to fill it alone."""
    provider = rig.bundle.provider
    provider.max_pending = 40  # the cap of 10,000 at the size of a test
    async with rig.client() as attacker_http, rig.client() as victim_http:
        attacker = McpClient(attacker_http)
        await attacker.register()
        _, challenge = pkce()
        for i in range(60):
            await attacker_http.get(attacker.authorize_url(challenge, f"flood{i}"))
        victim = McpClient(victim_http)
        await victim.register()
        answer = await victim_http.get(victim.authorize_url(challenge, "mine"))
        assert answer.headers.get("location", "").startswith(f"{SERVER}/oauth/consent"), (
            answer.status_code,
            answer.headers.get("location"),
        )
        # and the legitimate client's own finished sign-ins never count against it
        for _ in range(3):
            await victim.login(victim_http)


def test_one_address_registering_at_its_allowed_rate_cannot_fill_the_client_table() -> None:
    """``/register`` is open: an address may register ``CODEMODE_REGISTER_PER_MIN`` clients a
    minute, and a client that never signs in is kept ``CODEMODE_CLIENT_TTL_S``. At the old
    defaults (10 a minute for a day) one address held 14,400 clients against a table of 10,000:
    it kept the table full and every other user's new client was refused. At the defaults one
    address holds at most a tenth of the table."""
    import inspect

    from codemode.config import Settings
    from codemode.server.oauth.provider import KlaviyoOAuthProvider

    settings = Settings()
    table = inspect.signature(KlaviyoOAuthProvider).parameters["max_clients"].default
    held = settings.register_per_min * settings.client_ttl_s / 60
    assert held <= table / 10, (held, table)


# 10. the local login's files (``codemode login``).


@pytest.mark.parametrize("which", ["path", "key_path"])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o606])
async def test_a_login_file_readable_by_group_or_others_is_refused(
    tmp_path: Any, which: str, mode: int
) -> None:
    from codemode.server.oauth._errors import InsecureFileError

    from .test_local_login import Env, _login

    env = Env(tmp_path)
    try:
        await _login(env)
        getattr(env.vault, which).chmod(mode)
        with pytest.raises(InsecureFileError):
            env.vault.load()
    finally:
        await env.http.aclose()


async def test_a_login_key_swapped_for_a_link_to_a_readable_file_is_refused(
    tmp_path: Any,
) -> None:
    from codemode.server.oauth._errors import InsecureFileError

    from .test_local_login import Env, _login

    env = Env(tmp_path)
    try:
        await _login(env)
        planted = tmp_path / "planted.key"
        planted.write_bytes(env.vault.key_path.read_bytes())
        planted.chmod(0o644)
        env.vault.key_path.unlink()
        env.vault.key_path.symlink_to(planted)
        with pytest.raises(InsecureFileError):
            env.vault.load()
    finally:
        await env.http.aclose()


# 11. one Klaviyo user, many sign-ins.


async def test_signing_in_again_does_not_give_the_same_user_a_second_principal(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        first = await client.login(http)
        second = await client.login(http)
        a = (await client.call(first["access_token"])).json()
        b = (await client.call(second["access_token"])).json()
    assert a["account"] == b["account"]
    assert a["principal"] == b["principal"]


async def test_a_login_whose_account_cannot_be_read_is_counted_by_its_grant(rig: Rig) -> None:
    """Without ``accounts:read`` (or with Klaviyo failing) the grant alone is the principal."""
    upstream = rig.bundle.provider.grants.upstream
    assert await upstream.account_id(Secret("not-a-token")) == ""
    grant = Grant("g1", "client-1", UpstreamTokens(Secret("t"), None, 0.0), 0.0, 1.0)
    assert grant.principal == "oauth:g1"
    assert replace(grant, account_id="AbC123").principal == "oauth:client-1:AbC123"


@pytest.mark.parametrize("client_id", ["", "unknown-client", "../register", "x" * 5000])
async def test_authorize_for_an_unknown_client_is_no_open_redirect(
    rig: Rig, client_id: str
) -> None:
    async with rig.client() as http:
        client = McpClient(http, client_id=client_id, redirect_uri="https://evil.test/cb")
        _, challenge = pkce()
        answer = await http.get(client.authorize_url(challenge, "s"))
    assert "evil.test" not in answer.headers.get("location", "")
    assert answer.status_code in (400, 401, 414)
