"""Build the OAuth pieces from :class:`codemode.config.Settings` (the CLI and server use these)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from codemode.config import Settings, user_config_dir
from codemode.errors import ConfigError
from codemode.server.oauth._secrets import Secret
from codemode.server.oauth.local import LocalLoginSource
from codemode.server.oauth.upstream import KlaviyoOAuthClient, default_authorize_url, klaviyo_scopes
from codemode.server.oauth.vault import TokenVault, open_vault

if TYPE_CHECKING:
    from codemode.server.oauth.bundle import OAuthConfig

__all__ = [
    "local_login_source",
    "local_oauth_client",
    "login_folder",
    "login_vault",
    "oauth_config",
]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _app_credentials(settings: Settings) -> tuple[str, str]:
    if settings.oauth_client_id and settings.oauth_client_secret:
        return settings.oauth_client_id, settings.oauth_client_secret
    host = urlsplit(settings.base_url).hostname or ""
    if host in _LOOPBACK and not settings.oauth_client_id:
        # A simulator on this machine (`codemode sim`): its pre-registered demo app.
        from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET

        return DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET
    raise ConfigError(
        "OAuth needs a Klaviyo app: set KLAVIYO_OAUTH_CLIENT_ID and KLAVIYO_OAUTH_CLIENT_SECRET "
        "(Klaviyo > Settings > Apps), or use a private key with KLAVIYO_API_KEY"
    )


def oauth_config(settings: Settings, *, server_url: str | None = None) -> OAuthConfig:
    """The HTTP server's OAuth front.

    Args:
        settings: the settings.
        server_url: the URL clients reach this server at, when ``CODEMODE_PUBLIC_URL`` is unset
            (for a loopback server, ``http://127.0.0.1:PORT``).

    Raises:
        ConfigError: no OAuth app, or no public URL, or a plain-http one off loopback.
    """
    from codemode.server.oauth.bundle import OAuthConfig

    client_id, client_secret = _app_credentials(settings)
    public = settings.public_url or server_url
    if not public:
        raise ConfigError(
            "OAuth needs the server's public URL: set CODEMODE_PUBLIC_URL (e.g. https://mcp.example.com)"
        )
    parts = urlsplit(public)
    if parts.scheme != "https" and (parts.hostname or "") not in _LOOPBACK:
        raise ConfigError(
            f"the OAuth server URL {public} must use https (plain http only on loopback): set "
            "CODEMODE_PUBLIC_URL to the https:// address clients reach this server at"
        )
    key = settings.oauth_key.encode() if settings.oauth_key else None
    return OAuthConfig(
        client_id=client_id,
        client_secret=client_secret,
        server_url=public,
        base_url=settings.base_url,
        authorize_url=settings.oauth_authorize_url,
        scopes=klaviyo_scopes(read_only=settings.read_only),
        # Persist only with a key: a random per-process key could not decrypt it after a restart.
        state_file=settings.state_path() / "oauth-state.db" if key else None,
        key=key,
        client_ttl=settings.client_ttl_s,
    )


def local_oauth_client(settings: Settings, http: httpx.AsyncClient) -> KlaviyoOAuthClient:
    """Klaviyo's OAuth client for ``codemode login`` and the stdio server."""
    client_id, client_secret = _app_credentials(settings)
    return KlaviyoOAuthClient(
        client_id=client_id,
        client_secret=Secret(client_secret),
        base_url=settings.base_url.rstrip("/"),
        authorize_url=settings.oauth_authorize_url or default_authorize_url(settings.base_url),
        http=http,
        clock=time.time,
    )


def login_folder(settings: Settings) -> Path:
    """Where the file vault lives (``CODEMODE_CONFIG_DIR`` or the user config folder)."""
    return settings.config_dir or user_config_dir()


def login_vault(settings: Settings) -> TokenVault:
    """The vault ``codemode login`` writes and the stdio server reads."""
    return open_vault(
        settings.token_store, folder=login_folder(settings), base_url=settings.base_url
    )


def local_login_source(settings: Settings, http: httpx.AsyncClient) -> LocalLoginSource:
    """The stdio server's ``CredentialSource`` from the stored login."""
    return LocalLoginSource(local_oauth_client(settings, http), login_vault(settings))
