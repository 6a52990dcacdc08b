"""``codemode login --no-browser`` / ``--status`` / ``logout`` as a user runs them, against a
simulator listening on 127.0.0.1 (the test plays the browser by following the printed URL)."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from codemode.simulator.app import create_app
from codemode.simulator.config import SimConfig

_CLI = "from codemode.cli import app; app()"
_WAIT = 60.0  # generous bound for a cold interpreter on a busy machine; never reached when green


@pytest.fixture
async def sim_server() -> AsyncIterator[tuple[str, Any]]:
    app = create_app(SimConfig(profiles=4, events=4))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # listening before the server task runs: no readiness race, no polling
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.sim
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def _env(base_url: str, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KLAVIYO_", "CODEMODE_"))}
    env.update(
        KLAVIYO_BASE_URL=base_url,
        CODEMODE_CONFIG_DIR=str(config_dir),
        CODEMODE_TOKEN_STORE="file",
    )
    return env


async def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CLI,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), _WAIT)
    return process.returncode or 0, out.decode(), err.decode()


async def test_login_no_browser_status_and_logout(
    sim_server: tuple[str, Any], tmp_path: Path
) -> None:
    base_url, sim = sim_server
    env = _env(base_url, tmp_path / "cfg")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CLI,
        "login",
        "--no-browser",
        "--timeout",
        "60",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        url = (await asyncio.wait_for(process.stdout.readline(), _WAIT)).decode().strip()
        assert url.startswith(f"{base_url}/oauth/authorize?"), url
        assert "code_challenge_method=S256" in url
        async with httpx.AsyncClient(follow_redirects=True, timeout=10.0) as browser:
            page = await browser.get(url)  # Klaviyo (the simulator) -> 127.0.0.1 listener
        assert page.status_code == 200
        assert "Signed in" in page.text
        rest, err = await asyncio.wait_for(process.communicate(), _WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    printed = url + rest.decode() + err.decode()

    token_file = tmp_path / "cfg" / "login.enc"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    (access,) = sim.tokens  # the one token the simulator issued
    (refresh,) = sim.refresh
    raw = token_file.read_bytes()
    for token in (access, refresh):
        assert token not in printed
        assert token.encode() not in raw

    code, out, err = await _run(env, "login", "--status")
    assert code == 0, err
    assert f"Logged in to {base_url}" in out
    assert access not in out + err and refresh not in out + err

    token_file.chmod(0o644)
    code, out, err = await _run(env, "login", "--status")
    assert code == 1
    assert "chmod 600" in err
    token_file.chmod(0o600)

    code, out, err = await _run(env, "logout")
    assert code == 0, err
    assert "revoked" in err
    assert not token_file.exists()
    assert refresh not in sim.refresh

    code, out, err = await _run(env, "login", "--status")
    assert code == 1
    assert "Not logged in" in out


def _no_app_env(config_dir: Path) -> dict[str, str]:
    env = _env("https://a.klaviyo.example", config_dir)  # no loopback demo app to fall back on
    env.pop("KLAVIYO_OAUTH_CLIENT_ID", None)
    env.pop("KLAVIYO_OAUTH_CLIENT_SECRET", None)
    return env


async def test_logout_with_nothing_stored_needs_no_oauth_app(tmp_path: Path) -> None:
    code, _out, err = await _run(_no_app_env(tmp_path), "logout")
    assert (code, err.strip()) == (0, "Not logged in; nothing to do.")


async def test_logout_without_an_app_to_revoke_with_still_forgets_the_login(
    tmp_path: Path,
) -> None:
    from codemode.server.oauth._secrets import Secret
    from codemode.server.oauth.upstream import UpstreamTokens
    from codemode.server.oauth.vault import StoredLogin, open_vault

    vault = open_vault("file", folder=tmp_path, base_url="https://a.klaviyo.example")
    tokens = UpstreamTokens(Secret("at-1"), Secret("rt-1"), expires_at=0.0)
    vault.save(StoredLogin(tokens, "https://a.klaviyo.example", "some-app", created_at=0.0))
    assert vault.load() is not None
    code, _out, err = await _run(_no_app_env(tmp_path), "logout")
    assert code == 1
    assert err.startswith("Deleted the local login, but could not revoke it at Klaviyo")
    assert "Settings > Apps" in err and "rt-1" not in err
    assert vault.load() is None
