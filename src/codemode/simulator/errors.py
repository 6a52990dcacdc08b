"""Errors the simulator answers with, in Klaviyo's error-object shape."""

from __future__ import annotations

import uuid
from typing import Any

from codemode.errors import CodemodeError

__all__ = ["ApiError", "error_document"]

TITLES = {
    400: "Invalid input.",
    401: "Not authorized.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    415: "Unsupported media type.",
    429: "Throttled.",
    500: "A server error occurred.",
    503: "Service unavailable.",
}


class ApiError(CodemodeError):
    """An error response the simulator sends back (never escapes the app)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.meta = meta
        self.headers = headers or {}

    def to_object(self) -> dict[str, Any]:
        """The error object: id, status, code, title, detail, source (and meta when set)."""
        source: dict[str, Any] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
        obj: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": self.status,
            "code": self.code,
            "title": TITLES.get(self.status, "Error."),
            "detail": self.detail,
            "source": source,
        }
        if self.meta:
            obj["meta"] = self.meta
        return obj


def error_document(error: ApiError) -> dict[str, Any]:
    """The body of an error response."""
    return {"errors": [error.to_object()]}


def bad_param(parameter: str, detail: str) -> ApiError:
    """A 400 about one query parameter."""
    return ApiError(400, "invalid", detail, parameter=parameter)


def bad_body(pointer: str, detail: str) -> ApiError:
    """A 400 about one place in the request body."""
    return ApiError(400, "invalid", detail, pointer=pointer)


def not_found(kind: str, ident: str) -> ApiError:
    """A 404 for a missing resource."""
    return ApiError(
        404,
        "not_found",
        f"A {kind} with id {ident!r} does not exist in this account.",
        pointer="/data/id",
    )
