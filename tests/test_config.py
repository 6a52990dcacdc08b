"""Settings: the server's own variables (transport, bind address, stores, audit default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemode.config import Settings
from codemode.errors import ConfigError


def test_server_settings_are_read_from_codemode_variables() -> None:
    s = Settings.from_env(
        {
            "CODEMODE_TRANSPORT": "http",
            "CODEMODE_HOST": "0.0.0.0",
            "CODEMODE_PORT": "9000",
            "CODEMODE_ALLOWED_ORIGINS": "https://a.example/, https://b.example",
            "CODEMODE_QUEUE_S": "2.5",
            "CODEMODE_RATE_PER_MIN": "30",
            "CODEMODE_MAX_STORES": "10",
            "CODEMODE_STORE_TTL_S": "60",
            "CODEMODE_STORE_BYTES": "1000",
        }
    )
    assert (s.transport, s.host, s.port) == ("http", "0.0.0.0", 9000)
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert (s.queue_s, s.rate_per_min, s.max_stores, s.store_ttl_s, s.store_bytes) == (
        2.5,
        30,
        10,
        60.0,
        1000,
    )


def test_a_bad_transport_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CODEMODE_TRANSPORT"):
        Settings.from_env({"CODEMODE_TRANSPORT": "sse"})


def test_the_audit_log_is_on_by_default_for_http_only_and_can_be_turned_off(tmp_path: Path) -> None:
    base = Settings.from_env({"CODEMODE_STATE_DIR": str(tmp_path)})
    assert base.audit_path() is None
    assert base.audit_path("http") == tmp_path / "audit.sqlite3"
    explicit = Settings.from_env({"CODEMODE_AUDIT_DB": str(tmp_path / "x.db")})
    assert explicit.audit_path() == tmp_path / "x.db"
    for off in ("off", "", "0"):
        assert Settings.from_env({"CODEMODE_AUDIT_DB": off}).audit_path("http") is None


def test_cli_overrides_ignore_unset_flags() -> None:
    s = Settings(port=8000).with_overrides(port=None, host="::1")
    assert (s.port, s.host) == (8000, "::1")


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_a_number_setting_that_is_not_finite_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"CODEMODE_SLOT_EXPIRY_S.*not a finite number"):
        Settings.from_env({"CODEMODE_SLOT_EXPIRY_S": raw})


def test_allow_list_entries_are_principals_or_whole_key_hashes() -> None:
    whole = "sha256:" + "ab" * 32
    s = Settings.from_env(
        {"CODEMODE_ALLOWED_PRINCIPALS": f"key:0123456789ab, {whole.upper().replace('SHA', 'sha')}"}
    )
    assert s.allowed_principals == ("key:0123456789ab", whole)
    key = "pk_" + "7" * 32
    with pytest.raises(ConfigError, match="entry 2 is neither") as refused:
        Settings.from_env({"CODEMODE_ALLOWED_PRINCIPALS": f"key:0123456789ab,{key}"})
    assert key not in str(refused.value)  # a key pasted by mistake is never echoed


@pytest.mark.parametrize("raw", ["65536", "99999"])
def test_a_port_past_65535_is_refused_not_bound_modulo_65536(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"port \d+ is out of range: use 1 to 65535"):
        Settings.from_env({"CODEMODE_PORT": raw})
    with pytest.raises(ConfigError, match="--port or CODEMODE_PORT"):
        Settings().with_overrides(port=int(raw))


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("CODEMODE_MAX_WORKERS", "max_workers"),
        ("CODEMODE_PORT", "port"),
        ("CODEMODE_OUTPUT_BYTES", "output_bytes"),
        ("CODEMODE_PRINCIPAL_WORKERS", "principal_workers"),
    ],
)
def test_a_count_that_is_not_whole_is_refused_not_cut(name: str, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"{name}='2.5' is not a whole number; unset it"):
        Settings.from_env({name: "2.5"})
    assert getattr(Settings.from_env({name: "3"}), field) == 3
    assert getattr(Settings.from_env({name: "3.0"}), field) == 3
