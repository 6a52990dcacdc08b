"""The access tokens this server issues to MCP clients: short-lived HS256 JWTs.

Each token names its audience (the MCP resource URL, RFC 8707), its issuer, its expiry, the MCP
client it was issued to, and as subject the id of the server-side Klaviyo grant. It never
contains a Klaviyo token: Klaviyo credentials stay in :class:`~codemode.server.oauth.grants.GrantStore`
and are looked up by subject on each request (no token passthrough).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

__all__ = ["IssuedToken", "TokenIssuer"]

_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A verified token's claims."""

    subject: str
    client_id: str
    scopes: tuple[str, ...]
    audience: str
    issuer: str
    expires_at: int
    jti: str


class TokenIssuer:
    """Signs and verifies our access tokens.

    Args:
        key: HMAC key (at least 32 bytes); random per process unless configured, in which case
            tokens survive a restart.
        issuer: our issuer URL (``iss``).
        audience: the MCP resource URL (``aud``); a token for anything else is refused.
        ttl: lifetime in seconds.
        clock: seconds since the epoch (injected by tests).
    """

    def __init__(
        self,
        *,
        key: bytes,
        issuer: str,
        audience: str,
        ttl: int,
        clock: Callable[[], float],
    ) -> None:
        if len(key) < 32:
            raise ValueError("the token signing key must be at least 32 bytes")
        self._key = key
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenIssuer(issuer={self.issuer!r}, audience={self.audience!r}, ttl={self.ttl})"

    def issue(
        self, *, subject: str, client_id: str, scopes: Sequence[str]
    ) -> tuple[str, IssuedToken]:
        """A new signed token and its claims."""
        now = int(self._clock())
        claims = IssuedToken(
            subject=subject,
            client_id=client_id,
            scopes=tuple(scopes),
            audience=self.audience,
            issuer=self.issuer,
            expires_at=now + self.ttl,
            jti=secrets.token_urlsafe(16),
        )
        payload: dict[str, Any] = {
            "iss": claims.issuer,
            "aud": claims.audience,
            "sub": claims.subject,
            "client_id": claims.client_id,
            "scope": " ".join(claims.scopes),
            "iat": now,
            "exp": claims.expires_at,
            "jti": claims.jti,
        }
        return jwt.encode(
            payload, self._key, algorithm=_ALGORITHM, headers={"typ": "at+jwt"}
        ), claims

    def verify(self, token: str) -> IssuedToken | None:
        """The claims of a token we issued for this audience that has not expired, else None."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # Expiry is checked below against the injected clock, not the wall clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["iss", "aud", "sub", "exp", "jti", "client_id"],
                },
            )
        except jwt.InvalidTokenError:
            return None
        expires_at = payload.get("exp")
        if not isinstance(expires_at, int) or expires_at <= self._clock():
            return None
        scope = payload.get("scope", "")
        return IssuedToken(
            subject=str(payload["sub"]),
            client_id=str(payload["client_id"]),
            scopes=tuple(str(scope).split()),
            audience=self.audience,
            issuer=self.issuer,
            expires_at=expires_at,
            jti=str(payload["jti"]),
        )
