"""OAuth endpoints shaped like Klaviyo's: authorize (PKCE S256), token and revoke.

``GET /oauth/authorize`` auto-approves: it signs in the demo user given by the ``user`` hint (or
the first demo user) and redirects to ``redirect_uri`` with ``code`` and ``state``. Tokens are
bound to that user's account, so one user's token can never read another account's data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from codemode.simulator.config import DEMO_USERS
from codemode.simulator.state import Grant, SimState

__all__ = ["authorize", "revoke", "token"]

CODE_TTL = 600.0
REFRESH_TTL = 90 * 86400.0


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _redirect(uri: str, params: dict[str, str]) -> RedirectResponse:
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{joiner}{urlencode(params)}", status_code=302)


async def authorize(request: Request) -> Response:
    """Auto-approve an authorization request and redirect back with a code."""
    sim: SimState = request.app.state.sim
    q = request.query_params
    client = sim.clients.get(q.get("client_id", ""))
    redirect_uri = q.get("redirect_uri", "")
    if client is None:
        return _oauth_error("invalid_client", "Unknown client_id: register the app first.", 401)
    if not redirect_uri or (client.redirect_uris and redirect_uri not in client.redirect_uris):
        return _oauth_error(
            "invalid_request", "redirect_uri is missing or not registered for this client."
        )
    state = q.get("state", "")
    if q.get("response_type") != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
        return _redirect(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "PKCE with code_challenge_method=S256 is required.",
                "state": state,
            },
        )
    user = q.get("user") or DEMO_USERS[0]
    account_id = sim.users.get(user)
    if account_id is None:
        return _redirect(
            redirect_uri,
            {
                "error": "access_denied",
                "error_description": f"unknown user {user!r}",
                "state": state,
            },
        )
    scopes = frozenset(q.get("scope", "").split())
    code = secrets.token_urlsafe(24)
    sim.codes[code] = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "challenge": q["code_challenge"],
        "account_id": account_id,
        "user": user,
        "scopes": scopes,
        "expires_at": sim.config.clock() + CODE_TTL,
    }
    return _redirect(redirect_uri, {"code": code, "state": state})


def _client_from_basic(sim: SimState, request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client = sim.clients.get(client_id)
    if client is None or not secrets.compare_digest(client.secret, secret):
        return None
    return client_id


def _issue(
    sim: SimState, client_id: str, account_id: str, user: str, scopes: frozenset[str]
) -> JSONResponse:
    now = sim.config.clock()
    access = secrets.token_urlsafe(32)
    refresh = secrets.token_urlsafe(32)
    sim.tokens[access] = Grant(account_id, user, client_id, scopes, now + sim.config.token_ttl)
    sim.refresh[refresh] = Grant(account_id, user, client_id, scopes, now + REFRESH_TTL)
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": sim.config.token_ttl,
            "refresh_token": refresh,
            "scope": " ".join(sorted(scopes)),
        },
        headers={"Cache-Control": "no-store"},
    )


async def token(request: Request) -> Response:
    """Exchange an authorization code (with its PKCE verifier) or a refresh token for tokens."""
    sim: SimState = request.app.state.sim
    client_id = _client_from_basic(sim, request)
    if client_id is None:
        return _oauth_error(
            "invalid_client",
            "Authenticate the client with HTTP Basic (client_id:client_secret).",
            401,
        )
    form = await request.form()
    grant_type = str(form.get("grant_type", ""))
    if grant_type == "authorization_code":
        code = sim.codes.pop(str(form.get("code", "")), None)
        if (
            code is None
            or code["client_id"] != client_id
            or code["expires_at"] <= sim.config.clock()
        ):
            return _oauth_error(
                "invalid_grant", "The authorization code is invalid, expired or already used."
            )
        if str(form.get("redirect_uri", code["redirect_uri"])) != code["redirect_uri"]:
            return _oauth_error(
                "invalid_grant", "redirect_uri does not match the authorization request."
            )
        verifier = str(form.get("code_verifier", ""))
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .decode()
            .rstrip("=")
        )
        if not verifier or not secrets.compare_digest(digest, code["challenge"]):
            return _oauth_error(
                "invalid_grant", "code_verifier does not match the PKCE code_challenge."
            )
        return _issue(sim, client_id, code["account_id"], code["user"], code["scopes"])
    if grant_type == "refresh_token":
        grant = sim.refresh.pop(str(form.get("refresh_token", "")), None)
        if grant is None or grant.client_id != client_id or grant.expires_at <= sim.config.clock():
            return _oauth_error(
                "invalid_grant",
                "The refresh token is invalid, expired or revoked: authorize again.",
            )
        return _issue(sim, client_id, grant.account_id, grant.user, grant.scopes)
    return _oauth_error(
        "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
    )


async def revoke(request: Request) -> Response:
    """Revoke an access or refresh token (always 200, as RFC 7009 asks)."""
    sim: SimState = request.app.state.sim
    if _client_from_basic(sim, request) is None:
        return _oauth_error(
            "invalid_client",
            "Authenticate the client with HTTP Basic (client_id:client_secret).",
            401,
        )
    form = await request.form()
    value = str(form.get("token", ""))
    sim.tokens.pop(value, None)
    sim.refresh.pop(value, None)
    return JSONResponse({})
