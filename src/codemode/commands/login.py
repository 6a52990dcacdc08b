"""``codemode login`` / ``codemode logout``: a Klaviyo OAuth login for the local (stdio) server.

The login runs Klaviyo's authorization-code flow with PKCE in the browser, with a one-shot
listener on 127.0.0.1 for the redirect, and keeps the tokens in the OS keyring or in an
encrypted ``0600`` file (``CODEMODE_TOKEN_STORE``). Tokens are never printed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

import typer

from codemode.config import Settings


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``login`` and ``logout`` to ``app``."""

    @app.command(help="Sign in to Klaviyo with OAuth for the local server (browser + PKCE).")
    def login(
        no_browser: bool = typer.Option(
            False, "--no-browser", help="Print the sign-in URL instead of opening a browser."
        ),
        status: bool = typer.Option(False, "--status", help="Show the stored login and exit."),
        port: int = typer.Option(
            0,
            "--port",
            help=(
                "Loopback port for the redirect (0: any free port). If your Klaviyo app only "
                "accepts registered redirect URIs, register http://127.0.0.1:PORT/callback and "
                "pass that PORT."
            ),
            min=0,
            max=65535,
        ),
        timeout: float = typer.Option(
            300.0, "--timeout", help="Seconds to wait for the browser.", min=1.0
        ),
    ) -> None:
        from codemode.errors import CodemodeError

        try:
            settings = Settings.from_env()
            if status:
                _status(settings)
                return
            asyncio.run(_login(settings, no_browser=no_browser, port=port, timeout=timeout))
        except CodemodeError as exc:
            _fail(str(exc))

    @app.command(help="Revoke the stored Klaviyo login and delete it from this machine.")
    def logout() -> None:
        from codemode.errors import CodemodeError

        try:
            asyncio.run(_logout(Settings.from_env()))
        except CodemodeError as exc:
            _fail(str(exc))


async def _login(settings: Settings, *, no_browser: bool, port: int, timeout: float) -> None:
    import webbrowser

    import httpx

    from codemode.server.oauth import klaviyo_scopes, login
    from codemode.server.oauth.configure import local_oauth_client, login_vault

    vault = login_vault(settings)

    def announce(url: str) -> None:
        typer.echo("Open this URL in a browser to sign in to Klaviyo:", err=True)
        # The URL alone on stdout, so scripts (and tests) can pick it up.
        typer.echo(url)
        sys.stdout.flush()

    def open_browser(url: str) -> bool:
        opened = webbrowser.open(url)
        if not opened:
            typer.echo("Could not open a browser; open the URL above by hand.", err=True)
        return opened

    async with httpx.AsyncClient() as http:
        stored = await login(
            local_oauth_client(settings, http),
            vault,
            scopes=klaviyo_scopes(read_only=settings.read_only),
            announce=announce,
            open_browser=None if no_browser else open_browser,
            port=port,
            timeout=timeout,
        )
    typer.echo(
        f"Logged in to {stored.base_url} ({len(stored.tokens.scopes)} scopes); "
        f"tokens stored in {vault.location}.",
        err=True,
    )


def _status(settings: Settings) -> None:
    from codemode.server.oauth.configure import login_vault

    vault = login_vault(settings)
    stored = vault.load()
    if stored is None:
        typer.echo(f"Not logged in (looked in {vault.location}). Run `codemode login`.")
        raise typer.Exit(1)
    since = datetime.fromtimestamp(stored.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = stored.tokens.expires_at - time.time()
    access = f"valid for {int(left // 60)} min" if left > 0 else "expired (refreshed on next use)"
    typer.echo(
        f"Logged in to {stored.base_url} with app {stored.client_id} since {since}.\n"
        f"Access token: {access}; refresh token: {'stored' if stored.tokens.refresh_token else 'none'}.\n"
        f"Scopes: {' '.join(stored.tokens.scopes) or '(not reported)'}\n"
        f"Stored in {vault.location}."
    )


async def _logout(settings: Settings) -> None:
    import httpx

    from codemode.errors import ConfigError
    from codemode.server.oauth import UpstreamOAuthError, logout
    from codemode.server.oauth.configure import local_oauth_client, login_vault

    vault = login_vault(settings)
    if vault.load() is None:  # nothing to revoke: the OAuth app need not be configured either
        typer.echo("Not logged in; nothing to do.", err=True)
        return
    async with httpx.AsyncClient() as http:
        try:
            upstream = local_oauth_client(settings, http)
        except ConfigError as exc:  # a login stored, but no app to revoke it with: still forget it
            vault.clear()
            typer.echo(
                f"Deleted the local login, but could not revoke it at Klaviyo ({exc}); revoke "
                "the app's access in Klaviyo (Settings > Apps) if it should end now.",
                err=True,
            )
            raise typer.Exit(1) from None
        try:
            had = await logout(upstream, vault)
        except UpstreamOAuthError as exc:
            typer.echo(
                f"Deleted the local login, but Klaviyo did not confirm the revocation: {exc}",
                err=True,
            )
            raise typer.Exit(1) from None
    typer.echo(
        "Logged out: token revoked and deleted." if had else "Not logged in; nothing to do.",
        err=True,
    )
