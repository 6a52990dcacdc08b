"""Who is calling: private keys, OAuth bearer tokens and public company ids, with scope checks."""

from __future__ import annotations

from dataclasses import dataclass

from codemode.catalog import Action
from codemode.simulator.errors import ApiError
from codemode.simulator.state import KeyGrant, SimState

__all__ = ["Principal", "authenticate"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the account it reaches, its scopes and its rate-limit bucket."""

    account_id: str
    kind: str
    scopes: frozenset[str] | None
    bucket: str


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "not_authenticated", detail)


def authenticate(
    sim: SimState, action: Action, authorization: str | None, company_id: str | None
) -> Principal:
    """Resolve the caller of ``action`` and check its scopes.

    Raises:
        ApiError: 401 without valid credentials (or a private key on a client endpoint),
            403 when the key or token lacks a scope the action needs.
    """
    if action.kind == "client":
        if authorization and authorization.startswith("Klaviyo-API-Key"):
            raise _unauthorized(
                "Client endpoints take the public company_id query parameter; never send a private key from a client."
            )
        if not company_id:
            raise ApiError(
                400,
                "invalid",
                "company_id (the account's public key) is required on client endpoints.",
                parameter="company_id",
            )
        account_id = sim.by_company.get(company_id)
        if account_id is None:
            raise _unauthorized(
                f"Unknown company_id {company_id!r}: use the account's 6-character public key."
            )
        return Principal(account_id, "public", None, f"public:{account_id}")
    if not authorization:
        raise _unauthorized(
            "Authentication credentials were not provided: send 'Authorization: Klaviyo-API-Key pk_...' or an OAuth bearer token."
        )
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    principal: Principal
    if scheme == "Klaviyo-API-Key":
        grant = sim.keys.get(credential)
        if (
            grant is None
            and sim.config.demo
            and credential.startswith("pk_")
            and len(credential) > 3
        ):
            # Demo mode: any private-looking key opens the default account with full access.
            grant = KeyGrant(sim.default_account)
        if grant is None:
            raise _unauthorized(
                "Incorrect authentication credentials: the private API key is not valid."
            )
        principal = Principal(
            grant.account_id, "private", grant.scopes, f"account:{grant.account_id}"
        )
    elif scheme == "Bearer":
        token = sim.tokens.get(credential)
        if token is None:
            raise _unauthorized(
                "The OAuth access token is not valid or was revoked: refresh it or authorize again."
            )
        if token.expires_at <= sim.config.clock():
            raise _unauthorized(
                "The OAuth access token has expired: use the refresh_token grant at /oauth/token."
            )
        principal = Principal(
            token.account_id, "oauth", token.scopes, f"oauth:{token.client_id}:{token.account_id}"
        )
    else:
        raise _unauthorized(
            "Unsupported Authorization scheme: use 'Klaviyo-API-Key pk_...' or 'Bearer <token>'."
        )
    if principal.scopes is not None:
        missing = [s for s in action.scopes if not _has_scope(principal.scopes, s)]
        if missing:
            raise ApiError(
                403,
                "permission_denied",
                f"{action.id} needs the scope {', '.join(missing)}; this credential has {', '.join(sorted(principal.scopes)) or 'none'}.",
            )
    return principal


def _has_scope(granted: frozenset[str], needed: str) -> bool:
    # A write scope implies the read scope of the same area, as in Klaviyo's key settings.
    if needed in granted:
        return True
    area, _, level = needed.partition(":")
    return level == "read" and f"{area}:write" in granted
