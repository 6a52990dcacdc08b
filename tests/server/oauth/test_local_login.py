"""``codemode login`` internals: the loopback flow, the vaults and the stdio credential source."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from codemode.server.credentials import MissingCredentials, known_scopes
from codemode.server.oauth import (
    FileVault,
    InsecureFileError,
    KeyringVault,
    LocalLoginSource,
    LoginTimeoutError,
    NotLoggedInError,
    OAuthError,
    Secret,
    login,
    logout,
    open_vault,
)
from codemode.server.oauth.local import LoopbackListener
from codemode.server.oauth.upstream import KlaviyoOAuthClient
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS, SimConfig

from ._support import SIM, FakeClock, Router

SCOPES = ("accounts:read", "profiles:read")


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        self.sim = create_app(SimConfig(profiles=4, events=4, clock=self.clock))
        self.router = Router({})
        self.router.add(SIM, self.sim)
        self.http = httpx.AsyncClient(transport=self.router, timeout=10.0)
        self.upstream = KlaviyoOAuthClient(
            client_id=DEMO_OAUTH_CLIENT,
            client_secret=Secret(DEMO_OAUTH_SECRET),
            base_url=SIM,
            authorize_url=f"{SIM}/oauth/authorize",
            http=self.http,
            clock=self.clock,
        )
        self.vault = FileVault(tmp_path / "config")

    @property
    def state(self) -> Any:
        return self.sim.state.sim


@pytest.fixture
async def env(tmp_path: Path) -> Any:
    environment = Env(tmp_path)
    yield environment
    await environment.http.aclose()


async def _follow_as_browser(env: Env, url: str, *, user: str | None = None) -> httpx.Response:
    """The simulator answers in-process; the redirect then really hits the loopback listener."""
    if user:
        url += f"&user={user}"
    at_klaviyo = await env.http.get(url)
    assert at_klaviyo.status_code == 302
    async with httpx.AsyncClient(timeout=5.0) as browser:
        return await browser.get(at_klaviyo.headers["location"])


async def _login(env: Env, *, user: str | None = None) -> Any:
    urls: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        login(
            env.upstream,
            env.vault,
            scopes=SCOPES,
            announce=urls.put_nowait,
            open_browser=None,
            timeout=10,
        )
    )
    url = await asyncio.wait_for(urls.get(), 5)
    page = await _follow_as_browser(env, url, user=user)
    assert page.status_code == 200
    assert "Signed in" in page.text
    return await asyncio.wait_for(task, 10)


async def test_login_stores_encrypted_tokens_in_a_0600_file(env: Env) -> None:
    stored = await _login(env)
    assert stored.base_url == SIM
    path = env.vault.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.vault.key_path.stat().st_mode) == 0o600
    upstream_access = stored.tokens.access_token.reveal()
    assert upstream_access in env.state.tokens  # a real token the simulator issued
    raw = path.read_bytes()
    assert upstream_access.encode() not in raw
    assert stored.tokens.refresh_token.reveal().encode() not in raw
    assert env.vault.load() == stored


async def test_login_picks_the_account_the_user_signs_in_with(env: Env) -> None:
    stored = await _login(env, user=DEMO_USERS[1])
    grant = env.state.tokens[stored.tokens.access_token.reveal()]
    assert grant.account_id == env.state.users[DEMO_USERS[1]]


async def test_world_readable_token_file_is_refused(env: Env) -> None:
    await _login(env)
    env.vault.path.chmod(0o644)
    with pytest.raises(InsecureFileError, match="chmod 600"):
        env.vault.load()


async def test_login_times_out_when_the_browser_never_returns(env: Env) -> None:
    with pytest.raises(LoginTimeoutError, match="codemode login"):
        await login(
            env.upstream,
            env.vault,
            scopes=SCOPES,
            announce=lambda url: None,
            open_browser=None,
            timeout=0.05,
        )
    assert env.vault.load() is None


async def test_listener_ignores_a_redirect_with_another_state() -> None:
    async with LoopbackListener(state="expected") as listener:
        async with httpx.AsyncClient(timeout=5.0) as browser:
            forged = await browser.get(listener.redirect_uri + "?code=stolen&state=forged")
            other = await browser.get(listener.redirect_uri.replace("/callback", "/favicon.ico"))
            good = await browser.get(listener.redirect_uri + "?code=real&state=expected")
        answer = await listener.wait(1.0)
    assert forged.status_code == 400
    assert other.status_code == 404
    assert good.status_code == 200
    assert answer.code == "real"


async def test_denied_consent_fails_the_login_without_storing_anything(env: Env) -> None:
    urls: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        login(
            env.upstream,
            env.vault,
            scopes=SCOPES,
            announce=urls.put_nowait,
            open_browser=None,
            timeout=10,
        )
    )
    url = await asyncio.wait_for(urls.get(), 5)
    await _follow_as_browser(env, url, user="nobody@example.com")  # unknown user: access_denied
    with pytest.raises(OAuthError, match="access_denied"):
        await asyncio.wait_for(task, 10)
    assert env.vault.load() is None


async def test_stdio_source_refreshes_on_expiry_and_writes_the_rotated_token_back(env: Env) -> None:
    stored = await _login(env)
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    first = await source.resolve(None)
    assert first.access_token == stored.tokens.access_token.reveal()
    assert first.principal == "local"
    env.clock.advance(3600)
    second = await source.resolve(None)
    assert second.access_token != first.access_token
    assert second.access_token in env.state.tokens
    reloaded = env.vault.load()
    assert reloaded is not None
    assert reloaded.tokens.access_token.reveal() == second.access_token
    assert reloaded.tokens.refresh_token != stored.tokens.refresh_token  # the simulator rotates


async def test_stdio_source_tells_the_policy_its_granted_scopes(env: Env) -> None:
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    assert known_scopes(None, source) == ("local", None)  # not logged in: unknown
    await _login(env)
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    assert known_scopes(None, source) == ("local", frozenset(SCOPES))


async def test_stdio_source_refreshes_after_a_401(env: Env) -> None:
    await _login(env)
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    creds = await source.resolve(None)
    assert creds.on_unauthorized is not None
    fresh = await creds.on_unauthorized()
    assert fresh != creds.access_token
    assert fresh in env.state.tokens
    # A second 401 for the already-replaced token does not refresh twice.
    again = await creds.on_unauthorized()
    assert again in env.state.tokens


async def test_stdio_source_without_login_says_to_run_codemode_login(env: Env) -> None:
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    with pytest.raises(MissingCredentials, match="codemode login"):
        await source.resolve(None)


async def test_stdio_source_after_revocation_says_to_log_in_again(env: Env) -> None:
    stored = await _login(env)
    env.state.refresh.clear()  # Klaviyo revoked the app's access
    env.clock.advance(3600)
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    with pytest.raises(MissingCredentials, match="codemode login"):
        await source.resolve(None)
    assert stored.base_url == SIM


async def test_login_for_another_host_is_not_used(env: Env, tmp_path: Path) -> None:
    await _login(env)
    elsewhere = KlaviyoOAuthClient(
        client_id="x",
        client_secret=Secret("y"),
        base_url="https://a.klaviyo.com",
        authorize_url="https://www.klaviyo.com/oauth/authorize",
        http=env.http,
        clock=env.clock,
    )
    with pytest.raises(NotLoggedInError, match="stored login is for"):
        await LocalLoginSource(elsewhere, env.vault, clock=env.clock).token()


async def test_logout_revokes_at_klaviyo_and_deletes_the_file(env: Env) -> None:
    await _login(env)
    assert len(env.state.refresh) == 1
    assert await logout(env.upstream, env.vault) is True
    assert len(env.state.refresh) == 0
    assert not env.vault.path.exists()
    assert await logout(env.upstream, env.vault) is False


class MemoryKeyring:
    """Stands in for the ``keyring`` module (same three functions)."""

    priority = 5

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service_name: str, username: str) -> str | None:
        return self.entries.get((service_name, username))

    def set_password(self, service_name: str, username: str, password: str) -> None:
        self.entries[(service_name, username)] = password

    def delete_password(self, service_name: str, username: str) -> None:
        self.entries.pop((service_name, username), None)


async def test_keyring_vault_round_trips_a_login(env: Env) -> None:
    ring = MemoryKeyring()
    env.vault = KeyringVault(ring, base_url=SIM)  # type: ignore[assignment]
    stored = await _login(env)
    assert env.vault.load().tokens.access_token == stored.tokens.access_token
    assert "keyring" in env.vault.location
    assert stored.tokens.access_token.reveal() not in env.vault.location
    env.vault.clear()
    assert env.vault.load() is None


def test_open_vault_uses_a_usable_keyring_and_falls_back_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    fake = types.ModuleType("keyring")
    ring = MemoryKeyring()
    fake.get_keyring = lambda: ring  # type: ignore[attr-defined]
    fake.get_password = ring.get_password  # type: ignore[attr-defined]
    fake.set_password = ring.set_password  # type: ignore[attr-defined]
    fake.delete_password = ring.delete_password  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert isinstance(open_vault("auto", folder=tmp_path, base_url=SIM), KeyringVault)
    assert isinstance(open_vault("file", folder=tmp_path, base_url=SIM), FileVault)
    ring.priority = 0  # e.g. the "fail" backend on a headless machine
    assert isinstance(open_vault("auto", folder=tmp_path, base_url=SIM), FileVault)
    with pytest.raises(OAuthError, match="CODEMODE_TOKEN_STORE=file"):
        open_vault("keyring", folder=tmp_path, base_url=SIM)


async def test_two_local_servers_sharing_a_login_both_survive_a_rotation(env: Env) -> None:
    await _login(env)
    first = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    second = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    await first.token()
    await second.token()  # both hold the same tokens in memory now
    env.clock.advance(3600)
    a = await first.token()  # refreshes: Klaviyo rotates the refresh token, the vault is updated
    b = await second.token()  # its in-memory refresh token is spent; it must adopt the vault's
    assert a == b
    assert a.reveal() in env.state.tokens
    assert len(env.state.refresh) == 1


async def test_concurrent_calls_after_expiry_refresh_once(env: Env) -> None:
    await _login(env)
    source = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    env.clock.advance(3600)
    tokens = await asyncio.gather(*(source.token() for _ in range(5)))
    assert len(set(tokens)) == 1
    assert len(env.state.refresh) == 1  # one refresh; a second would have hit a spent token


async def test_a_process_that_loses_a_refresh_race_adopts_the_winners_tokens(env: Env) -> None:
    await _login(env)
    loser = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    await loser.token()
    stale = env.vault.load()
    assert stale is not None
    env.clock.advance(3600)
    winner = LocalLoginSource(env.upstream, env.vault, clock=env.clock)
    won = await winner.token()  # refreshed and saved
    # The loser read the vault before the winner saved: make its pre-refresh check see old data.
    real_load = env.vault.load
    calls = iter([stale])
    env.vault.load = lambda: next(calls, None) or real_load()  # type: ignore[method-assign]
    assert await loser.token() == won  # its refresh got invalid_grant; it re-read the vault
