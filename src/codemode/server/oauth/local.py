"""``codemode login`` on this machine, and the credentials the stdio server gets from it.

The login is Klaviyo's authorization-code flow with PKCE (RFC 8252, native apps): a one-shot
HTTP listener on ``127.0.0.1`` receives the redirect, the code is exchanged with the app's
secret, and the tokens go into a :class:`~codemode.server.oauth.vault.TokenVault`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from codemode.server.oauth._errors import (
    LoginTimeoutError,
    NotLoggedInError,
    OAuthError,
    UpstreamOAuthError,
)
from codemode.server.oauth._secrets import Secret
from codemode.server.oauth.upstream import KlaviyoOAuthClient, Pkce
from codemode.server.oauth.vault import StoredLogin, TokenVault

if TYPE_CHECKING:  # the credentials module imports the mcp SDK; `codemode login` needs none of it
    from codemode.server.credentials import KlaviyoCredentials

__all__ = ["LocalLoginSource", "LoopbackListener", "login", "logout"]

_PAGE = "<!doctype html><meta charset=utf-8><title>codemode</title><h1>{title}</h1><p>{text}</p>"
_MAX_REQUEST = 16 * 1024


@dataclass(frozen=True, slots=True)
class _Callback:
    code: str | None
    error: str | None


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the OAuth redirect.

    Only ``GET /callback`` with the expected ``state`` completes it; anything else (a favicon
    request, a forged redirect with another state) is answered and ignored.
    """

    def __init__(self, *, state: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self._state = state
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[_Callback] | None = None

    @property
    def redirect_uri(self) -> str:
        """The URI to register with Klaviyo and pass to the authorize request."""
        if self._server is None:
            raise RuntimeError("start the listener first")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}/callback"

    async def __aenter__(self) -> LoopbackListener:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def wait(self, timeout: float) -> _Callback:
        """The callback's code (or error).

        Raises:
            LoginTimeoutError: nothing came back within ``timeout`` seconds.
        """
        assert self._result is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            raise LoginTimeoutError(
                f"no answer from the browser within {timeout:.0f}s; run `codemode login` again "
                "(use --no-browser to copy the URL by hand)"
            ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        status, title, text = 404, "Not found", "This listener only waits for Klaviyo's sign-in."
        try:
            method, target, _ = (
                head[:_MAX_REQUEST].split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            )
        except ValueError:
            method, target = "", ""
        parts = urlsplit(target)
        if method == "GET" and parts.path == "/callback":
            query = parse_qs(parts.query)
            state = query.get("state", [""])[0]
            assert self._result is not None
            if not hmac.compare_digest(state.encode(), self._state.encode()):
                status, title, text = (
                    400,
                    "Sign-in failed",
                    "This link is not from the current sign-in.",
                )
            elif self._result.done():
                status, title, text = 400, "Already signed in", "You can close this window."
            else:
                error = query.get("error", [None])[0]
                self._result.set_result(_Callback(query.get("code", [None])[0], error))
                if error:
                    status, title, text = 400, "Sign-in cancelled", f"Klaviyo said: {error[:100]}."
                else:
                    status, title, text = 200, "Signed in to Klaviyo", "You can close this window."
        body = _PAGE.format(title=title, text=text).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def login(
    upstream: KlaviyoOAuthClient,
    vault: TokenVault,
    *,
    scopes: Sequence[str],
    announce: Callable[[str], None],
    open_browser: Callable[[str], bool] | None,
    port: int = 0,
    timeout: float = 300.0,
    wall_clock: Callable[[], float] = time.time,
) -> StoredLogin:
    """Run the browser login and store the tokens.

    Args:
        upstream: Klaviyo's OAuth client (the app's id and secret).
        vault: where to keep the tokens.
        scopes: Klaviyo scopes to ask for.
        announce: shows the authorize URL to the user (always: the browser may not open).
        open_browser: opens a URL (``webbrowser.open``); None for ``--no-browser``.
        port: loopback port (0 picks a free one; Klaviyo apps may need a fixed, registered one).
        timeout: seconds to wait for the browser.
        wall_clock: seconds since the epoch, recorded as the login time.

    Raises:
        LoginTimeoutError: the browser did not come back in time.
        UpstreamOAuthError / OAuthError: Klaviyo refused.
    """
    state = secrets.token_urlsafe(24)
    pkce = Pkce.new()
    async with LoopbackListener(state=state, port=port) as listener:
        url = upstream.authorization_url(
            redirect_uri=listener.redirect_uri, scopes=scopes, state=state, pkce=pkce
        )
        announce(url)
        if open_browser is not None:
            open_browser(url)
        answer = await listener.wait(timeout)
        redirect_uri = listener.redirect_uri
    if answer.error or not answer.code:
        raise OAuthError(f"Klaviyo did not grant access ({answer.error or 'no code'}); try again")
    tokens = await upstream.exchange_code(code=answer.code, redirect_uri=redirect_uri, pkce=pkce)
    stored = StoredLogin(tokens, upstream.base_url, upstream.client_id, wall_clock())
    vault.save(stored)
    return stored


async def logout(upstream: KlaviyoOAuthClient, vault: TokenVault) -> bool:
    """Revoke the stored refresh token at Klaviyo and forget the login.

    Returns:
        False when nothing was stored. The local copy is deleted even if Klaviyo cannot be
        reached (the error is raised after), so a logout never leaves tokens behind.
    """
    stored = vault.load()
    if stored is None:
        return False
    vault.clear()
    token = stored.tokens.refresh_token or stored.tokens.access_token
    await upstream.revoke(
        token, hint="refresh_token" if stored.tokens.refresh_token else "access_token"
    )
    return True


class LocalLoginSource:
    """``CredentialSource`` for stdio: the one local user's stored login, kept fresh.

    Args:
        upstream: Klaviyo's OAuth client, to refresh.
        vault: the stored login (rotated refresh tokens are written back).
        clock: seconds since the epoch (``expires_at`` in the vault uses it).
        refresh_skew: refresh this many seconds before expiry.
    """

    principal = "local"

    def __init__(
        self,
        upstream: KlaviyoOAuthClient,
        vault: TokenVault,
        *,
        clock: Callable[[], float] = time.time,
        refresh_skew: float = 60.0,
    ) -> None:
        self._upstream = upstream
        self._vault = vault
        self._clock = clock
        self._skew = refresh_skew
        self._lock = asyncio.Lock()
        self._login: StoredLogin | None = None

    def _stored(self) -> StoredLogin:
        if self._login is None:
            found = self._vault.load()
            if found is None:
                raise NotLoggedInError(
                    "not logged in to Klaviyo: run `codemode login` (or set KLAVIYO_API_KEY), "
                    "then restart the server"
                )
            if found.base_url.rstrip("/") != self._upstream.base_url.rstrip("/"):
                raise NotLoggedInError(
                    f"the stored login is for {found.base_url}, not {self._upstream.base_url}; "
                    "run `codemode login` again"
                )
            self._login = found
        return self._login

    async def token(self) -> Secret:
        """A valid Klaviyo access token, refreshed when it is about to expire.

        Raises:
            NotLoggedInError: nothing stored, or Klaviyo no longer accepts the refresh token.
        """
        async with self._lock:
            login = self._stored()
            if login.tokens.expires_at - self._skew > self._clock():
                return login.tokens.access_token
            return await self._refresh(login)

    async def refresh(self, rejected: Secret | None = None) -> Secret:
        """Klaviyo answered 401: refresh unless another call already did."""
        async with self._lock:
            login = self._stored()
            if rejected is not None and login.tokens.access_token != rejected:
                return login.tokens.access_token
            return await self._refresh(login, rejected)

    def _newer_on_disk(self, login: StoredLogin) -> StoredLogin | None:
        """The vault's login when another process (or ``codemode login``) replaced ours."""
        on_disk = self._vault.load()
        if (
            on_disk is not None
            and on_disk.base_url.rstrip("/") == login.base_url.rstrip("/")
            and on_disk.tokens.refresh_token != login.tokens.refresh_token
        ):
            self._login = on_disk
            return on_disk
        return None

    async def _refresh(self, login: StoredLogin, rejected: Secret | None = None) -> Secret:
        # Several local servers (one per MCP client) share one stored login, and Klaviyo rotates
        # refresh tokens: when another process refreshed first, its tokens are in the vault and
        # ours are spent, so adopt those instead of failing with invalid_grant. Checked before
        # refreshing, and again after an invalid_grant (two processes refreshing at once).
        for attempt in (1, 2):
            newer = self._newer_on_disk(login)
            if newer is not None:
                login = newer
                still_valid = newer.tokens.expires_at - self._skew > self._clock()
                if still_valid and newer.tokens.access_token != rejected:
                    return newer.tokens.access_token
            elif attempt == 2:
                break
            if login.tokens.refresh_token is None:
                raise NotLoggedInError("the Klaviyo login expired; run `codemode login` again")
            try:
                fresh = await self._upstream.refresh(login.tokens.refresh_token, login.tokens)
            except UpstreamOAuthError as exc:
                if exc.error == "invalid_grant":
                    continue
                raise
            self._login = StoredLogin(fresh, login.base_url, login.client_id, login.created_at)
            self._vault.save(self._login)
            return fresh.access_token
        self._login = None
        raise NotLoggedInError(
            "Klaviyo no longer accepts the stored login (revoked or expired); run "
            "`codemode login` again"
        )

    def granted_scopes(self) -> frozenset[str] | None:
        """The Klaviyo scopes of the stored login; None when unknown (none stored or listed)."""
        try:
            scopes = self._stored().tokens.scopes
        except NotLoggedInError:
            return None
        return frozenset(scopes) if scopes else None

    async def resolve(self, request: object | None) -> KlaviyoCredentials:
        """``CredentialSource`` protocol: the local user's credentials, whatever the request.

        Raises:
            MissingCredentials: not logged in (the message says to run ``codemode login``).
        """
        from codemode.server.credentials import KlaviyoCredentials, MissingCredentials

        try:
            current = await self.token()
        except NotLoggedInError as exc:
            raise MissingCredentials(str(exc)) from None
        last: list[Secret] = [current]

        async def on_unauthorized() -> str:
            fresh = await self.refresh(last[0])
            last[0] = fresh
            return fresh.reveal()

        return KlaviyoCredentials(
            principal=self.principal, access_token=current.reveal(), on_unauthorized=on_unauthorized
        )
