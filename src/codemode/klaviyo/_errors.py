"""Typed errors for Klaviyo API calls (stdlib only: the sandbox worker raises these too).

The tree::

    KlaviyoError                    any failed call; carries status, operation id and Klaviyo's errors
    ├── ValidationError             rejected before sending: unknown/missing/wrong parameter (status 0)
    ├── TransportError              no usable answer: timeout, connection reset, DNS (status 0)
    └── APIError                    Klaviyo answered with an error status
        ├── BadRequestError         400
        ├── AuthenticationError     401
        ├── PermissionDeniedError   403 (missing scope, policy)
        ├── NotFoundError           404
        ├── ConflictError           409 (``meta`` may hold the existing id)
        ├── RateLimitError          429 (``retry_after`` seconds)
        └── ServerError             5xx
"""

from __future__ import annotations

from typing import Any

from codemode.errors import CodemodeError

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "KlaviyoError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "error_for_status",
]


class KlaviyoError(CodemodeError):
    """A Klaviyo call failed; the message says what to fix.

    Attributes:
        status: HTTP status (0 when nothing was sent or no answer came back).
        operation_id: the action called, e.g. ``get_profiles``.
        code, title, detail: from Klaviyo's first error object, when there is one.
        source: ``{"pointer": ...}`` or ``{"parameter": ...}`` naming the offending input.
        errors: every error object of Klaviyo's answer, as sent.
        meta: ``meta`` of the first error object (409 carries the duplicate's id there).
        too_large: the answer was longer than the client's ``max_response_bytes`` and was not
            read (not carried across the sandbox pipe).
    """

    too_large: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        operation_id: str | None = None,
        code: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        source: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.operation_id = operation_id
        self.code = code
        self.title = title
        self.detail = detail
        self.source = source or {}
        self.errors = errors or []
        self.meta = meta or {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (used to carry the error across the sandbox pipe)."""
        return {
            "class": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "operation_id": self.operation_id,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": self.source,
            "errors": self.errors,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KlaviyoError:
        """Rebuild the right subclass from :meth:`to_dict` output."""
        klass = _BY_NAME.get(str(data.get("class")), KlaviyoError)
        return klass(
            str(data.get("message", "")),
            status=int(data.get("status") or 0),
            operation_id=data.get("operation_id"),
            code=data.get("code"),
            title=data.get("title"),
            detail=data.get("detail"),
            source=data.get("source") or {},
            errors=list(data.get("errors") or []),
            meta=data.get("meta") or {},
        )


class ValidationError(KlaviyoError):
    """A parameter was rejected before anything was sent."""


class TransportError(KlaviyoError):
    """The request could not be completed (timeout, reset connection); safe to retry reads."""


class APIError(KlaviyoError):
    """Klaviyo answered with an error status."""


class BadRequestError(APIError):
    """400: the request is malformed; ``source`` names the parameter or body pointer."""


class AuthenticationError(APIError):
    """401: the key or token is missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the key or token lacks the scope this action needs."""


class NotFoundError(APIError):
    """404: no such resource (check the id)."""


class ConflictError(APIError):
    """409: the resource already exists; ``meta`` may carry the existing id."""


class RateLimitError(APIError):
    """429: throttled; ``retry_after`` says how many seconds to wait."""

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before retrying, when Klaviyo said."""
        value = self.meta.get("retry_after")
        return float(value) if value is not None else None


class ServerError(APIError):
    """5xx: Klaviyo failed; retrying later may work."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}
_BY_NAME: dict[str, type[KlaviyoError]] = {
    klass.__name__: klass
    for klass in (
        KlaviyoError,
        ValidationError,
        TransportError,
        APIError,
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        RateLimitError,
        ServerError,
    )
}


def error_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
