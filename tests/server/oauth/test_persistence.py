"""Encrypted persistence of server-side grants, and the secret-handling rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from codemode.server.oauth import InsecureFileError, OAuthError, Secret
from codemode.server.oauth._secrets import SecretBox, check_private, write_private
from codemode.simulator.config import DEMO_USERS

from ._support import FakeClock, McpClient, build_rig

KEY = b"k" * 40


async def test_state_file_is_0600_encrypted_and_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "oauth-state.enc"
    clock = FakeClock()
    rig = build_rig(clock=clock, config={"state_file": state, "key": KEY})
    async with rig.client() as http:
        client = McpClient(http)
        await client.register()
        tokens = await client.login(http, user=DEMO_USERS[1])
        assert (await client.call(tokens["access_token"])).status_code == 200
    upstream = rig.seen_upstream_tokens[-1]

    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    raw = state.read_bytes()
    assert upstream.encode() not in raw
    assert tokens["refresh_token"].encode() not in raw
    assert b"refresh_token" not in raw  # not even the field names are readable

    # A new process with the same key and the same simulator: the client's tokens still work.
    restarted = build_rig(clock=clock, config={"state_file": state, "key": KEY}, sim=rig.sim)
    async with restarted.client() as http:
        client.http = http
        summit = rig.sim_state.accounts[rig.sim_state.users[DEMO_USERS[1]]].company_id
        assert (await client.call(tokens["access_token"])).json()["account"] == summit
        refreshed = await client.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.status_code == 200


async def test_state_file_under_another_key_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    state = tmp_path / "oauth-state.enc"
    rig = build_rig(config={"state_file": state, "key": KEY})
    async with rig.client() as http:
        await McpClient(http).register()
    with pytest.raises(OAuthError, match="cannot be decrypted"):
        build_rig(config={"state_file": state, "key": b"z" * 40})


async def test_world_readable_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "oauth-state.enc"
    rig = build_rig(config={"state_file": state, "key": KEY})
    async with rig.client() as http:
        await McpClient(http).register()
    state.chmod(0o644)
    with pytest.raises(InsecureFileError, match="chmod 600"):
        build_rig(config={"state_file": state, "key": KEY})


def test_state_file_without_a_key_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="key"):
        build_rig(config={"state_file": tmp_path / "s.enc"})


def test_secret_never_shows_its_value() -> None:
    secret = Secret("tok_abcdef123456")
    assert "abcdef" not in repr(secret)
    assert "abcdef" not in str(secret)
    assert "abcdef" not in f"{secret}"
    assert "abcdef" not in repr([secret, {"t": secret}])
    assert secret.reveal() == "tok_abcdef123456"
    assert secret == Secret("tok_abcdef123456")
    assert secret != Secret("tok_other")
    assert len(secret.fingerprint()) == 8


def test_write_private_creates_0600_and_check_private_refuses_group_access(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "file"
    write_private(path, b"data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    check_private(path)
    path.chmod(0o640)
    with pytest.raises(InsecureFileError):
        check_private(path)


def test_secret_box_detects_tampering() -> None:
    box = SecretBox.from_material(KEY)
    sealed = bytearray(box.seal(b'{"a": 1}'))
    sealed[20] ^= 1
    with pytest.raises(OAuthError, match="cannot be decrypted"):
        box.open(bytes(sealed), source="x")


def test_write_private_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    write_private(tmp_path / "f", b"1")
    write_private(tmp_path / "f", b"2")
    assert sorted(os.listdir(tmp_path)) == ["f"]
    assert (tmp_path / "f").read_bytes() == b"2"
