"""Per-user authentication with Klaviyo's OAuth: the HTTP authorization front and local login.

HTTP (many users). The server is an OAuth 2.1 protected resource with a small authorization
server in front of Klaviyo (DCR, authorize, consent, token, revoke, RFC 8414 and RFC 9728
metadata). From :class:`codemode.config.Settings` (see ``codemode.server.app.build_server``)::

    from codemode.server.oauth.configure import oauth_config
    bundle = build_oauth(oauth_config(settings, server_url="http://127.0.0.1:8000"),
                         http_client=http)              # the client that reaches Klaviyo
    auth = HttpAuth(token_verifier=bundle.token_verifier,
                    resource_server_url=bundle.resource_server_url,
                    routes=bundle.routes)               # codemode.server.http
    credentials = RequestUserSource(oauth=bundle)       # codemode.server.credentials
    ...                                                 # on shutdown: await bundle.aclose()

``bundle.klaviyo_credentials(access_token)`` maps one of our verified tokens to the Klaviyo
credentials held server-side for its user (principal ``oauth:<grant id>``, Klaviyo's access
token, and ``on_unauthorized`` for the SDK); it returns None when the login is gone and raises
``MissingCredentials`` when Klaviyo cannot be reached. The MCP client's token never reaches
Klaviyo, and a token only ever leads to its own user's grant. With the SDK's own app instead of
``build_http_app``: ``MCPServer(auth=bundle.auth_settings, token_verifier=bundle.token_verifier)``
and add ``bundle.routes`` as custom routes.

Local (stdio, one user). ``codemode login`` stores the tokens in a vault (OS keyring or an
encrypted ``0600`` file); the stdio server reads and refreshes them through
:class:`LocalLoginSource`, a ``CredentialSource``::

    from codemode.server.oauth.configure import local_login_source
    credentials = local_login_source(settings, http)    # raises ConfigError without an OAuth app

Tokens are wrapped in :class:`Secret` (no ``repr``), never logged, and only persisted encrypted
in ``0600`` files (or in the OS keyring). Operator documentation: ``docs/oauth.md``.

Names load lazily: ``codemode login`` must not pay for importing the mcp SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemode.server.oauth._errors import (
        InsecureFileError,
        LoginTimeoutError,
        NotLoggedInError,
        OAuthError,
        UpstreamOAuthError,
    )
    from codemode.server.oauth._secrets import Secret
    from codemode.server.oauth.bundle import OAuthBundle, OAuthConfig, build_oauth
    from codemode.server.oauth.local import LocalLoginSource, login, logout
    from codemode.server.oauth.provider import KlaviyoOAuthProvider
    from codemode.server.oauth.upstream import (
        KlaviyoOAuthClient,
        UpstreamTokens,
        default_authorize_url,
        klaviyo_scopes,
    )
    from codemode.server.oauth.vault import (
        FileVault,
        KeyringVault,
        StoredLogin,
        TokenVault,
        open_vault,
    )

_WHERE = {
    "FileVault": "vault",
    "InsecureFileError": "_errors",
    "KeyringVault": "vault",
    "KlaviyoOAuthClient": "upstream",
    "KlaviyoOAuthProvider": "provider",
    "LocalLoginSource": "local",
    "LoginTimeoutError": "_errors",
    "NotLoggedInError": "_errors",
    "OAuthBundle": "bundle",
    "OAuthConfig": "bundle",
    "OAuthError": "_errors",
    "Secret": "_secrets",
    "StoredLogin": "vault",
    "TokenVault": "vault",
    "UpstreamOAuthError": "_errors",
    "UpstreamTokens": "upstream",
    "build_oauth": "bundle",
    "default_authorize_url": "upstream",
    "klaviyo_scopes": "upstream",
    "login": "local",
    "logout": "local",
    "open_vault": "vault",
}

__all__ = [
    "FileVault",
    "InsecureFileError",
    "KeyringVault",
    "KlaviyoOAuthClient",
    "KlaviyoOAuthProvider",
    "LocalLoginSource",
    "LoginTimeoutError",
    "NotLoggedInError",
    "OAuthBundle",
    "OAuthConfig",
    "OAuthError",
    "Secret",
    "StoredLogin",
    "TokenVault",
    "UpstreamOAuthError",
    "UpstreamTokens",
    "build_oauth",
    "default_authorize_url",
    "klaviyo_scopes",
    "login",
    "logout",
    "open_vault",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'codemode.server.oauth' has no attribute {name!r}")
    return getattr(importlib.import_module(f"codemode.server.oauth.{module}"), name)
