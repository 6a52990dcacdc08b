"""The HTTP OAuth front against the simulator's Klaviyo OAuth, in-process."""

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest

from codemode.simulator.config import DEMO_USERS
from codemode.state import MemoryKeyValue

from ._support import (
    CLIENT_REDIRECT,
    SERVER,
    SIM,
    FakeClock,
    McpClient,
    Rig,
    browse,
    pkce,
)


def _account_of(rig: Rig, user: str) -> str:
    """The id Klaviyo's ``get_accounts`` shows for the account ``user`` owns."""
    state = rig.sim_state
    return str(state.accounts[state.users[user]].company_id)


def _trailhead(rig: Rig) -> str:
    return _account_of(rig, DEMO_USERS[0])


def _summit(rig: Rig) -> str:
    return _account_of(rig, DEMO_USERS[1])


async def test_metadata_points_clients_from_the_resource_to_our_authorization_server(
    rig: Rig,
) -> None:
    async with rig.client() as http:
        resource = (await http.get(f"{SERVER}/.well-known/oauth-protected-resource/mcp")).json()
        server = (await http.get(f"{SERVER}/.well-known/oauth-authorization-server")).json()
    assert resource["resource"] == f"{SERVER}/mcp"
    assert [s.rstrip("/") for s in resource["authorization_servers"]] == [SERVER]
    assert server["issuer"] == SERVER
    assert server["registration_endpoint"] == f"{SERVER}/register"
    assert server["revocation_endpoint"] == f"{SERVER}/revoke"
    assert server["code_challenge_methods_supported"] == ["S256"]


async def test_unauthenticated_call_gets_401_naming_the_resource_metadata(rig: Rig) -> None:
    async with rig.client() as http:
        response = await http.get(f"{SERVER}/mcp")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{SERVER}/.well-known/oauth-protected-resource/mcp"' in challenge


async def test_register_authorize_token_and_call_reaches_the_users_own_account(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        response = await client.call(tokens["access_token"])
    assert response.status_code == 200, response.text
    assert response.json()["account"] == _trailhead(rig)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == f"{SERVER}/mcp"
    assert claims["iss"] == SERVER
    assert claims["client_id"] == client.client_id
    # The principal is the client signed in to that account (the same for every sign-in).
    assert response.json()["principal"] == f"oauth:{client.client_id}:{_trailhead(rig)}"
    # No passthrough: the client never holds Klaviyo's token and Klaviyo never sees ours.
    upstream = rig.seen_upstream_tokens[-1]
    assert upstream not in (tokens["access_token"], tokens["refresh_token"])
    assert tokens["access_token"] not in rig.sim_state.tokens
    assert set(tokens["scope"].split()) == {"accounts:read", "profiles:read"}


async def test_two_users_never_see_each_others_account(rig: Rig) -> None:
    async with rig.client() as ada_browser, rig.client() as grace_browser:
        ada = McpClient(ada_browser)
        grace = McpClient(grace_browser)
        await ada.register(name="Ada's agent")
        await grace.register(name="Grace's agent")
        ada_tokens = await ada.login(ada_browser, user=DEMO_USERS[0])
        grace_tokens = await grace.login(grace_browser, user=DEMO_USERS[1])
        ada_seen = (await ada.call(ada_tokens["access_token"])).json()
        grace_seen = (await grace.call(grace_tokens["access_token"])).json()
    assert ada_seen["account"] == _trailhead(rig)
    assert grace_seen["account"] == _summit(rig)
    assert ada_seen["principal"] != grace_seen["principal"]
    assert rig.seen_upstream_tokens[0] != rig.seen_upstream_tokens[1]
    assert (await rig.bundle.grants.count()) == 2


async def test_same_client_two_users_get_separate_grants(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        first = await client.login(http, user=DEMO_USERS[0])
        second = await client.login(http, user=DEMO_USERS[1])
        a = (await client.call(first["access_token"])).json()
        b = (await client.call(second["access_token"])).json()
    assert a["account"] == _trailhead(rig) and b["account"] == _summit(rig)
    assert a["principal"] != b["principal"]  # each account its own limits, stores and caches


async def test_expired_token_is_rejected_and_refresh_token_gets_a_new_one(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        rig.clock.advance(601)
        assert (await client.call(tokens["access_token"])).status_code == 401
        refreshed = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text
        new = refreshed.json()
        assert (await client.call(new["access_token"])).status_code == 200
        # Rotation: the old refresh token is spent.
        again = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"


async def test_upstream_token_is_refreshed_when_it_expires(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        assert (await client.call(tokens["access_token"])).status_code == 200
        first_upstream = rig.seen_upstream_tokens[-1]
        rig.clock.advance(3601)  # Klaviyo's (the simulator's) token has expired; ours too
        fresh = (
            await client.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        ).json()
        response = await client.call(fresh["access_token"])
    assert response.status_code == 200, response.text
    assert response.json()["account"] == _trailhead(rig)
    assert rig.seen_upstream_tokens[-1] != first_upstream
    assert (
        first_upstream not in rig.sim_state.tokens
        or rig.sim_state.tokens[first_upstream].expires_at <= rig.clock()
    )


async def test_upstream_401_triggers_one_refresh_and_the_call_succeeds(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        assert (await client.call(tokens["access_token"])).status_code == 200
        stale = rig.seen_upstream_tokens[-1]
        del rig.sim_state.tokens[stale]  # Klaviyo forgets the token before its expiry
        refreshes_before = len(rig.sim_state.refresh)
        response = await client.call(tokens["access_token"])
        assert response.status_code == 200, response.text
        assert response.json()["account"] == _trailhead(rig)
        grant = await rig.bundle.grants.get(
            jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
        )
        assert grant is not None
        assert grant.tokens.access_token.reveal() != stale
        assert len(rig.sim_state.refresh) == refreshes_before  # rotated, not duplicated


async def test_revoke_ends_the_login_here_and_at_klaviyo(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        assert (await client.call(tokens["access_token"])).status_code == 200
        assert len(rig.sim_state.refresh) == 1
        # The SDK's revocation form model requires a client_secret field, empty for public clients.
        response = await http.post(
            f"{SERVER}/revoke",
            data={
                "token": tokens["refresh_token"],
                "client_id": client.client_id,
                "client_secret": "",
            },
        )
        assert response.status_code == 200
        assert (await client.call(tokens["access_token"])).status_code == 401
        assert len(rig.sim_state.refresh) == 0  # Klaviyo's refresh token was revoked
        again = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert again.status_code == 400


async def test_revoking_with_the_access_token_also_ends_the_login(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        await http.post(
            f"{SERVER}/revoke",
            data={
                "token": tokens["access_token"],
                "client_id": client.client_id,
                "client_secret": "",
            },
        )
        assert (await client.call(tokens["access_token"])).status_code == 401
        assert (await rig.bundle.grants.count()) == 0


async def test_denying_consent_sends_access_denied_to_the_client(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        final = await browse(
            http, client.authorize_url(challenge, "s4"), stop_at=CLIENT_REDIRECT, approve=False
        )
    query = parse_qs(final.query.decode())
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s4"]
    assert (await rig.bundle.grants.count()) == 0


async def test_confidential_client_with_secret_completes_the_flow(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register(auth_method="client_secret_post")
        assert client.client_secret
        tokens = await client.login(http)
        assert (await client.call(tokens["access_token"])).status_code == 200
        client.client_secret = "wrong"
        refused = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refused.status_code == 401


def test_sim_and_server_addresses_differ() -> None:
    # The rig routes by host:port; a collision would silently send Klaviyo calls to ourselves.
    assert SIM != SERVER
    assert FakeClock()() > 1_700_000_000


async def test_login_revoked_at_klaviyo_ends_the_session_with_a_reconnect_hint(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        rig.sim_state.refresh.clear()  # the user removed the app in Klaviyo
        rig.clock.advance(3601)  # Klaviyo's access token expired: a refresh is needed, and refused
        ours = (
            await client.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        ).json()
        response = await client.call(ours["access_token"])
        assert response.status_code == 409  # the rig's answer when no Klaviyo credentials remain
        assert (await client.call(ours["access_token"])).status_code == 401  # the grant is gone
        assert (await rig.bundle.grants.count()) == 0


async def test_klaviyo_unreachable_during_refresh_is_reported_as_retryable(rig: Rig) -> None:
    from mcp.server.auth.provider import AccessToken

    from codemode.server.credentials import MissingCredentials

    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    token = AccessToken(token="t", client_id=claims["client_id"], scopes=[], subject=claims["sub"])
    rig.clock.advance(3601)
    rig.router._apps.pop("127.0.0.1:9000")  # Klaviyo is down
    with pytest.raises(MissingCredentials, match="could not reach"):
        await rig.bundle.klaviyo_credentials(token)
    assert (await rig.bundle.grants.count()) == 1  # a network blip does not end the login


async def test_concurrent_requests_after_upstream_expiry_refresh_once(rig: Rig) -> None:
    import asyncio

    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
    grant_id = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
    rig.clock.advance(3601)
    fresh = await asyncio.gather(*(rig.bundle.grants.access_token(grant_id) for _ in range(5)))
    assert len({token.reveal() for token in fresh}) == 1
    assert len(rig.sim_state.refresh) == 1  # a second refresh would have spent a rotated token
    assert (await rig.bundle.grants.count()) == 1


async def test_refresh_records_do_not_pile_up(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http)
        refresh = tokens["refresh_token"]
        for _ in range(6):
            answer = await client.token(grant_type="refresh_token", refresh_token=refresh)
            assert answer.status_code == 200, answer.text
            refresh = answer.json()["refresh_token"]
    kv = rig.bundle.grants.records.kv
    assert isinstance(kv, MemoryKeyValue)
    assert len(kv.keys("oauth:refresh:")) == 1  # the live one
    assert len(kv.keys("oauth:spent:")) == 1  # and the latest spent one


async def test_a_login_whose_code_is_never_exchanged_is_revoked(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        _, challenge = pkce()
        await browse(http, client.authorize_url(challenge, "s6"), stop_at=CLIENT_REDIRECT)
        assert (await rig.bundle.grants.count()) == 1 and len(rig.sim_state.refresh) == 1
        rig.clock.advance(301)  # the code expired unused
        await http.get(client.authorize_url(challenge, "s7"))  # any /authorize sweeps
    assert (await rig.bundle.grants.count()) == 0
    assert len(rig.sim_state.refresh) == 0  # revoked at Klaviyo too


async def test_a_login_whose_refresh_tokens_all_expired_is_revoked(rig: Rig) -> None:
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        await client.login(http)
        assert await rig.bundle.provider.sweep() == 0  # in use: kept
        rig.clock.advance(30 * 24 * 3600 + 1)
        assert await rig.bundle.provider.sweep() == 1
    assert (await rig.bundle.grants.count()) == 0
