"""Settings for the CLI and the server: the only module that reads environment variables.

Library constructors (``Klaviyo``, ``Sandbox``, ``Policy``...) take keyword arguments and read no
environment; the CLI and the server build them from a :class:`Settings`.

Environment:
    KLAVIYO_API_KEY          private key (``pk_...``), kept in the host process only
    KLAVIYO_BASE_URL         default ``https://a.klaviyo.com``
    CODEMODE_READ_ONLY       ``1`` refuses every action that is not a read
    CODEMODE_ALLOW / CODEMODE_DENY
                             comma-separated operation ids, groups (``profiles``) or kinds (``kind:write``)
    CODEMODE_ALLOW_DESTRUCTIVE  ``1`` enables destructive actions (and webhook writes); each one is
                             confirmed by the user through MCP elicitation, and refused where the
                             client has no way to ask
    CODEMODE_DESTRUCTIVE_UNCONFIRMED  ``1`` waives that confirmation (destructive actions then run
                             unasked wherever they are enabled); off by default
    CODEMODE_SCAN_POLICY     ``redact`` (default), ``block`` or ``annotate``
    CODEMODE_TIMEOUT_S, CODEMODE_CPU_S, CODEMODE_MEMORY_MB, CODEMODE_OUTPUT_BYTES,
    CODEMODE_MAX_CALLS, CODEMODE_CODE_BYTES  sandbox limits
    CODEMODE_MAX_WORKERS     concurrent sandbox workers in all (default: 2 per core, at least 4)
    CODEMODE_PRINCIPAL_WORKERS  concurrent runs of one principal (default: three quarters of the pool)
    CODEMODE_CPU_QUOTA_S     worker CPU-seconds one principal may spend per minute (default 120)
    CODEMODE_AUDIT_DB        SQLite audit log path, or a ``postgresql://`` URL that replicas share;
                             ``off`` (or empty) disables it. Unset: on for HTTP (under
                             the state folder), off for stdio
    CODEMODE_EXTENSIONS      extension file (extra operations) path
    CODEMODE_DEMO            ``1`` wires the in-process simulator with the demo account
    CODEMODE_TRANSPORT       ``stdio`` (default) or ``http``
    CODEMODE_HOST / CODEMODE_PORT   HTTP bind address (default ``127.0.0.1:8000``)
    CODEMODE_ALLOWED_ORIGINS comma-separated browser origins the HTTP endpoint accepts (others: 403)
    CODEMODE_KEEPALIVE_S     seconds an idle HTTP keep-alive connection stays open (default 75: longer
                             than the idle timeout of common load balancers, 60 s, so the server never
                             closes a connection the balancer is about to reuse)
    CODEMODE_HEADER_TIMEOUT_S / CODEMODE_BODY_TIMEOUT_S
                             seconds an HTTP request's head may take to arrive (default 20), and its
                             body from the end of the head (default 30); past them: 408, closed
    CODEMODE_QUEUE_S         the longest a run waits for a worker (queued per principal, served round
                             robin) before a "busy" result with ``retry_after`` (default 60)
    CODEMODE_RATE_PER_MIN    ``execute_code`` runs allowed per principal per minute
    CODEMODE_MAX_STORES / CODEMODE_STORE_TTL_S / CODEMODE_STORE_BYTES
                             session stores kept in all, their idle lifetime and the size cap of one
    CODEMODE_PRINCIPAL_STORES / CODEMODE_PRINCIPAL_STORE_BYTES
                             stores and bytes one principal may keep (its own oldest go first)
    CODEMODE_SESSIONS_PER_PRINCIPAL / CODEMODE_MAX_SESSIONS / CODEMODE_SESSION_IDLE_S
                             open MCP sessions per principal and in all, and their idle lifetime
    CODEMODE_API_KEYS        which ``pk_`` keys may log in over HTTP: ``verify`` (default: one cheap
                             Klaviyo call per key, cached), ``allowlist`` (only CODEMODE_ALLOWED_PRINCIPALS)
                             or ``off`` (OAuth only)
    CODEMODE_ALLOWED_PRINCIPALS  comma-separated keys for ``allowlist``: ``sha256:<64 hex>`` (the
                             whole key's SHA-256, no Klaviyo call) or ``key:<12 hex>`` (a principal
                             as ``codemode audit`` shows it; Klaviyo checks the key once)
    CODEMODE_REGISTER_PER_MIN  OAuth client registrations accepted per source address per minute
    CODEMODE_CLIENT_TTL_S    seconds a registered OAuth client that never signed in is kept
    CODEMODE_STATE_DIR       folder for the audit log and tokens (default ``~/.local/state/codemode``)
    CODEMODE_SLOT_EXPIRY_S   seconds before a slot held by a dead replica frees (default timeout + 15)
    CODEMODE_STATE           shared state for replicas: ``memory://`` (default, one process) or
                             ``redis://host:6379/0`` (sessions, stores, OAuth, limits shared)

OAuth (read by ``codemode.server.oauth``, ``codemode login`` and ``codemode serve``):
    KLAVIYO_OAUTH_CLIENT_ID / KLAVIYO_OAUTH_CLIENT_SECRET   the Klaviyo OAuth app
    KLAVIYO_OAUTH_AUTHORIZE_URL  consent page (default Klaviyo's, or ``{KLAVIYO_BASE_URL}/oauth/authorize``)
    CODEMODE_PUBLIC_URL      the HTTP server's URL as clients see it (OAuth issuer; audience ``.../mcp``)
    CODEMODE_OAUTH_KEY       32+ character secret: signs issued tokens and encrypts the server's OAuth state
    CODEMODE_TOKEN_STORE     where `codemode login` keeps tokens: ``auto`` (keyring if usable), ``keyring``, ``file``
    CODEMODE_CONFIG_DIR      folder of the login token file (default the user config folder)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from codemode.errors import ConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "KeyAuth",
    "ScanPolicy",
    "Settings",
    "Transport",
    "default_workers",
    "user_config_dir",
]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
ScanPolicy = Literal["redact", "block", "annotate"]
Transport = Literal["stdio", "http"]
KeyAuth = Literal["verify", "allowlist", "off"]
_KEY_AUTHS: tuple[KeyAuth, ...] = ("verify", "allowlist", "off")


def default_workers(cores: int | None = None) -> int:
    """The worker pool's default size: two per core (workers mostly wait on the host), 4 to 64."""
    return max(4, min(64, 2 * (cores or os.cpu_count() or 2)))


_OFF = {"off", "none", "0", "false", "no"}
_SCAN_POLICIES: tuple[ScanPolicy, ...] = ("redact", "block", "annotate")
_TRUE = {"1", "true", "yes", "on"}
_SECRET_FIELDS = {"api_key", "oauth_client_secret", "oauth_key", "audit_url"}
_TOKEN_STORES: tuple[Literal["auto", "keyring", "file"], ...] = ("auto", "keyring", "file")
_FALSE = {"0", "false", "no", "off", ""}
_POSTGRES = ("postgres://", "postgresql://")


@dataclass(frozen=True)
class Settings:
    """Every operator-facing setting, with its default."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    demo: bool = False
    read_only: bool = False
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    allow_destructive: bool = False
    destructive_unconfirmed: bool = False
    scan_policy: ScanPolicy = "redact"
    timeout_s: float = 30.0
    cpu_s: float = 20.0
    memory_mb: int = 256
    output_bytes: int = 16 * 1024
    max_calls: int = 200
    code_bytes: int = 64 * 1024
    max_workers: int = field(default_factory=default_workers)
    principal_workers: int | None = None
    slot_expiry_s: float | None = None
    demo_latency_ms: float = 0.0
    """With ``--demo``: delay the simulator adds to every API request (models Klaviyo's answer
    time; ``codemode bench load`` sets it to show runs bound by waiting, not CPU)."""
    cpu_quota_s: float = 120.0
    audit_db: Path | None = None
    audit_url: str | None = None
    audit_disabled: bool = False
    extensions: Path | None = None
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: tuple[str, ...] = ()
    keepalive_s: float = 75.0
    header_timeout_s: float = 20.0
    """Seconds a request's line and headers may take to arrive (``codemode.server.listener``):
    a head lost four times in a row still arrives after TCP's 1 + 2 + 4 + 8 s of backoff."""
    body_timeout_s: float = 30.0
    """Seconds a request's body may take from the end of its head: the largest body accepted
    (448 KiB at the default ``code_bytes``) at 15 KiB/s; a typical call is a few KiB."""
    queue_s: float = 60.0
    rate_per_min: int = 60
    max_stores: int = 1000
    store_ttl_s: float = 3600.0
    store_bytes: int = 1024 * 1024
    principal_stores: int = 64
    principal_store_bytes: int = 8 * 1024 * 1024
    sessions_per_principal: int = 256
    max_sessions: int = 4096
    session_idle_s: float = 600.0
    api_keys: KeyAuth = "verify"
    allowed_principals: tuple[str, ...] = ()
    register_per_min: int = 10
    client_ttl_s: float = 3600.0
    state_dir: Path | None = None
    state_url: str | None = None
    # OAuth (codemode.server.oauth)
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)
    oauth_authorize_url: str | None = None
    public_url: str | None = None
    oauth_key: str | None = field(default=None, repr=False)
    token_store: Literal["auto", "keyring", "file"] = "auto"
    config_dir: Path | None = None

    def audit_path(self, transport: str | None = None) -> Path | None:
        """The audit database to write, or ``None`` when auditing is off.

        An explicit ``CODEMODE_AUDIT_DB`` wins; otherwise HTTP deployments (many users) audit by
        default under the state folder and a local stdio server does not.

        Args:
            transport: The transport being served; defaults to ``self.transport``.
        """
        if self.audit_disabled:
            return None
        if self.audit_db is not None:
            return self.audit_db
        served = transport or self.transport
        return self.state_path() / "audit.sqlite3" if served == "http" else None

    def slot_lease_s(self) -> float:
        """How long a worker slot lives without its replica: longer than any run may take.

        A replica that dies mid-run cannot release its slots; they free themselves after this.
        """
        return self.slot_expiry_s or self.timeout_s + 15.0

    def principal_slots(self) -> int:
        """Concurrent runs one principal may hold: the setting, else three quarters of the pool.

        Below the pool's size by default, so one principal can never take every worker.
        """
        pool = max(1, self.max_workers)
        share = self.principal_workers or max(1, pool - max(1, pool // 4))
        return max(1, min(pool, share))

    def state_path(self) -> Path:
        """The folder for the audit log and stored tokens (``CODEMODE_STATE_DIR``)."""
        return self.state_dir or Path.home() / ".local" / "state" / "codemode"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={'<set>' if f.name in _SECRET_FIELDS and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"Settings({shown})"

    def __post_init__(self) -> None:
        # A port past 65535 would be bound modulo 65536 while the banner names the one asked for.
        if not 0 <= self.port <= 65535:
            raise ConfigError(
                f"port {self.port} is out of range: use 1 to 65535 (--port or CODEMODE_PORT)"
            )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``KLAVIYO_*`` and ``CODEMODE_*`` variables.

        Raises:
            ConfigError: a variable has a value that cannot be used; the message names it.
        """
        env = os.environ if environ is None else environ
        return cls(
            api_key=env.get("KLAVIYO_API_KEY") or None,
            base_url=(env.get("KLAVIYO_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            demo=_flag(env, "CODEMODE_DEMO", False),
            read_only=_flag(env, "CODEMODE_READ_ONLY", False),
            allow=_list(env, "CODEMODE_ALLOW"),
            deny=_list(env, "CODEMODE_DENY"),
            allow_destructive=_flag(env, "CODEMODE_ALLOW_DESTRUCTIVE", False),
            destructive_unconfirmed=_flag(env, "CODEMODE_DESTRUCTIVE_UNCONFIRMED", False),
            scan_policy=_scan_policy(env),
            timeout_s=_number(env, "CODEMODE_TIMEOUT_S", 30.0),
            cpu_s=_number(env, "CODEMODE_CPU_S", 20.0),
            memory_mb=_whole(env, "CODEMODE_MEMORY_MB", 256),
            output_bytes=_whole(env, "CODEMODE_OUTPUT_BYTES", 16 * 1024),
            max_calls=_whole(env, "CODEMODE_MAX_CALLS", 200),
            code_bytes=_whole(env, "CODEMODE_CODE_BYTES", 64 * 1024),
            max_workers=_whole(env, "CODEMODE_MAX_WORKERS", default_workers()),
            principal_workers=_optional_int(env, "CODEMODE_PRINCIPAL_WORKERS"),
            slot_expiry_s=_number(env, "CODEMODE_SLOT_EXPIRY_S", 0.0) or None,
            demo_latency_ms=_number(env, "CODEMODE_DEMO_LATENCY_MS", 0.0, zero_ok=True),
            cpu_quota_s=_number(env, "CODEMODE_CPU_QUOTA_S", 120.0),
            audit_db=_audit_db(env),
            audit_url=_audit_url(env),
            audit_disabled=env.get("CODEMODE_AUDIT_DB", "x").strip().lower() in _OFF | {""},
            extensions=Path(env["CODEMODE_EXTENSIONS"]) if env.get("CODEMODE_EXTENSIONS") else None,
            transport=_transport(env),
            host=(env.get("CODEMODE_HOST") or "127.0.0.1").strip(),
            port=_whole(env, "CODEMODE_PORT", 8000),
            allowed_origins=tuple(o.rstrip("/") for o in _list(env, "CODEMODE_ALLOWED_ORIGINS")),
            keepalive_s=_number(env, "CODEMODE_KEEPALIVE_S", 75.0),
            header_timeout_s=_number(env, "CODEMODE_HEADER_TIMEOUT_S", 20.0),
            body_timeout_s=_number(env, "CODEMODE_BODY_TIMEOUT_S", 30.0),
            queue_s=_number(env, "CODEMODE_QUEUE_S", 60.0),
            rate_per_min=_whole(env, "CODEMODE_RATE_PER_MIN", 60),
            max_stores=_whole(env, "CODEMODE_MAX_STORES", 1000),
            store_ttl_s=_number(env, "CODEMODE_STORE_TTL_S", 3600.0),
            store_bytes=_whole(env, "CODEMODE_STORE_BYTES", 1024 * 1024),
            principal_stores=_whole(env, "CODEMODE_PRINCIPAL_STORES", 64),
            principal_store_bytes=_whole(env, "CODEMODE_PRINCIPAL_STORE_BYTES", 8 * 1024 * 1024),
            sessions_per_principal=_whole(env, "CODEMODE_SESSIONS_PER_PRINCIPAL", 256),
            max_sessions=_whole(env, "CODEMODE_MAX_SESSIONS", 4096),
            session_idle_s=_number(env, "CODEMODE_SESSION_IDLE_S", 600.0),
            api_keys=_key_auth(env),
            allowed_principals=_allowed(env),
            register_per_min=_whole(env, "CODEMODE_REGISTER_PER_MIN", 10),
            client_ttl_s=_number(env, "CODEMODE_CLIENT_TTL_S", 3600.0),
            state_dir=Path(env["CODEMODE_STATE_DIR"]) if env.get("CODEMODE_STATE_DIR") else None,
            state_url=(env.get("CODEMODE_STATE") or "").strip() or None,
            oauth_client_id=env.get("KLAVIYO_OAUTH_CLIENT_ID") or None,
            oauth_client_secret=env.get("KLAVIYO_OAUTH_CLIENT_SECRET") or None,
            oauth_authorize_url=(env.get("KLAVIYO_OAUTH_AUTHORIZE_URL") or "").rstrip("/") or None,
            public_url=(env.get("CODEMODE_PUBLIC_URL") or "").rstrip("/") or None,
            oauth_key=_oauth_key(env),
            token_store=_token_store(env),
            config_dir=Path(env["CODEMODE_CONFIG_DIR"]) if env.get("CODEMODE_CONFIG_DIR") else None,
        )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a yes/no value; use 1 or 0")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _number(env: Mapping[str, str], name: str, default: float, *, zero_ok: bool = False) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; unset it to use {default}") from None
    if not math.isfinite(value):  # nan passes every comparison below; inf never ends a wait
        raise ConfigError(f"{name}={raw!r} is not a finite number; unset it to use {default}")
    if value < 0 or (value == 0 and not zero_ok):
        kind = "zero or positive" if zero_ok else "positive"
        raise ConfigError(f"{name} must be {kind} (got {raw}); unset it to use {default}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    value = _number(env, name, default)
    if value != int(value):  # "2.5" workers or bytes would be cut to 2 without a word
        raise ConfigError(f"{name}={env[name]!r} is not a whole number; unset it to use {default}")
    return int(value)


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return _whole(env, name, 1)


_ALLOWED_ENTRY = re.compile(r"key:[0-9a-f]{12}|sha256:[0-9a-f]{64}")


def _allowed(env: Mapping[str, str]) -> tuple[str, ...]:
    """``CODEMODE_ALLOWED_PRINCIPALS``, each entry checked (a pasted key is never echoed)."""
    entries = tuple(entry.lower() for entry in _list(env, "CODEMODE_ALLOWED_PRINCIPALS"))
    for position, entry in enumerate(entries, 1):
        if not _ALLOWED_ENTRY.fullmatch(entry):
            raise ConfigError(
                f"CODEMODE_ALLOWED_PRINCIPALS entry {position} is neither key:<12 hex> (a principal "
                "as `codemode audit` shows it) nor sha256:<64 hex> (the key's whole SHA-256, e.g. "
                '`printf %s "$KEY" | sha256sum`); never list the key itself'
            )
    return entries


def _key_auth(env: Mapping[str, str]) -> KeyAuth:
    raw = (env.get("CODEMODE_API_KEYS") or "verify").strip().lower()
    for mode in _KEY_AUTHS:
        if raw == mode:
            return mode
    raise ConfigError(
        f"CODEMODE_API_KEYS={raw!r} is not one of verify (check each key with Klaviyo), "
        "allowlist (only CODEMODE_ALLOWED_PRINCIPALS) or off (OAuth only)"
    )


def _scan_policy(env: Mapping[str, str]) -> ScanPolicy:
    raw = (env.get("CODEMODE_SCAN_POLICY") or "redact").strip().lower()
    for policy in _SCAN_POLICIES:
        if raw == policy:
            return policy
    raise ConfigError(f"CODEMODE_SCAN_POLICY={raw!r} is not one of {', '.join(_SCAN_POLICIES)}")


def _audit_db(env: Mapping[str, str]) -> Path | None:
    raw = (env.get("CODEMODE_AUDIT_DB") or "").strip()
    if raw.startswith(_POSTGRES):
        return None
    return Path(raw) if raw and raw.lower() not in _OFF else None


def _audit_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("CODEMODE_AUDIT_DB") or "").strip()
    return raw if raw.startswith(_POSTGRES) else None


def _transport(env: Mapping[str, str]) -> Transport:
    raw = (env.get("CODEMODE_TRANSPORT") or "stdio").strip().lower()
    if raw == "stdio":
        return "stdio"
    if raw == "http":
        return "http"
    raise ConfigError(f"CODEMODE_TRANSPORT={raw!r} is not stdio or http")


def _oauth_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("CODEMODE_OAUTH_KEY") or None
    if raw is not None and len(raw) < 32:
        raise ConfigError(
            "CODEMODE_OAUTH_KEY must be at least 32 characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return raw


def _token_store(env: Mapping[str, str]) -> Literal["auto", "keyring", "file"]:
    raw = (env.get("CODEMODE_TOKEN_STORE") or "auto").strip().lower()
    for store in _TOKEN_STORES:
        if raw == store:
            return store
    raise ConfigError(f"CODEMODE_TOKEN_STORE={raw!r} is not one of auto, keyring, file")


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user configuration folder of codemode: ``CODEMODE_CONFIG_DIR``, else XDG on Linux,
    Application Support on macOS, APPDATA on Windows (no platformdirs dependency for one path)."""
    import sys

    env = os.environ if environ is None else environ
    if env.get("CODEMODE_CONFIG_DIR"):
        return Path(env["CODEMODE_CONFIG_DIR"])
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return Path(env.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "codemode"
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        return Path.home() / "Library" / "Application Support" / "codemode"
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "codemode"
