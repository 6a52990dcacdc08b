"""Errors of the OAuth package.

The tree::

    CodemodeError
    ├── ConfigError
    │   └── InsecureFileError       a token or key file other users can read (names the fix)
    └── OAuthError                  anything that went wrong while authenticating with Klaviyo
        ├── NotLoggedInError        no stored login (says to run ``codemode login``)
        ├── LoginTimeoutError       the browser never came back to the loopback listener
        └── UpstreamOAuthError      Klaviyo's token endpoint refused a request (carries its
                                    ``error`` code, never a token)

No message here ever carries a token, a code or a client secret: callers pass only the error
code and description that Klaviyo returned.
"""

from __future__ import annotations

from codemode.errors import CodemodeError, ConfigError

__all__ = [
    "InsecureFileError",
    "LoginTimeoutError",
    "NotLoggedInError",
    "OAuthError",
    "UpstreamOAuthError",
]


class OAuthError(CodemodeError):
    """Authenticating with Klaviyo failed; the message says what to do next."""


class NotLoggedInError(OAuthError):
    """There are no Klaviyo credentials for this user (or they were revoked)."""


class LoginTimeoutError(OAuthError):
    """The browser did not return to the loopback listener in time."""


class UpstreamOAuthError(OAuthError):
    """Klaviyo's OAuth endpoint answered with an error.

    Attributes:
        error: the OAuth ``error`` code (``invalid_grant``, ``invalid_client``...).
        status: the HTTP status, or 0 when no answer came back.
    """

    def __init__(self, message: str, *, error: str, status: int) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


class InsecureFileError(ConfigError):
    """A file holding tokens or keys is readable by other users."""
