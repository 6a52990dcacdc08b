"""State and logic shared by ``Klaviyo`` and ``AsyncKlaviyo``: auth, catalog, building, decoding.

The two clients differ only in their send loops (``_client``); everything that does no I/O lives
here, so both behave the same by construction.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import httpx

from codemode.catalog import Action, Catalog, load_catalog
from codemode.catalog._model import operation_key
from codemode.errors import ConfigError
from codemode.klaviyo._errors import (
    APIError,
    AuthenticationError,
    KlaviyoError,
    TransportError,
    ValidationError,
    error_for_status,
)
from codemode.klaviyo._jsonapi import CallInfo
from codemode.klaviyo._params import BaseURL, PreparedRequest, build_request
from codemode.klaviyo._retries import (
    RetryPolicy,
    may_have_been_sent,
    parse_rate_limit,
    parse_retry_after,
)

__all__ = ["CallHook", "Core"]

CallHook = Callable[[CallInfo], None]


def _check_credential(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{name} is empty; pass a Klaviyo private key (pk_...) or an OAuth access token"
        )
    if any(ch.isspace() for ch in value.strip()) or "\r" in value or "\n" in value:
        raise ConfigError(
            f"{name} contains whitespace; copy the credential again without spaces or newlines"
        )
    return value.strip()


def _lister(action: Action, catalog: Mapping[str, Action] | None) -> str:
    """The listing that holds the ids a 404 path names: ``klaviyo.coupons.get_coupon_codes``.

    ``/api/coupon-codes/{id}`` and ``/api/lists/{id}/profiles`` are listed by the read of the
    path before their first id; "the matching get_* action" where the catalog has none.
    """
    head = action.path.split("/{", 1)[0]
    for other in (catalog or {}).values():
        if other.method == "GET" and other.path == head and other.kind == "read":
            return other.function
    return "the matching get_* action"


def _hint(
    action: Action,
    status: int,
    source: Mapping[str, Any],
    meta: Mapping[str, Any],
    catalog: Mapping[str, Action] | None = None,
) -> str:
    if status == 400:
        where = source.get("parameter") or source.get("pointer")
        return f"Fix {where!r} and retry." if where else "Fix the request parameters and retry."
    if status == 401:
        return "The API key or token is missing, wrong or expired: check the credential."
    if status == 403:
        scopes = ", ".join(action.scopes) or "the action's scopes"
        return f"The credential lacks a scope this action needs ({scopes}): use a key or token with it."
    if status == 404:
        if "/catalog-" in action.path and action.path_params:
            # Catalog ids carry their integration and catalog: an external id alone is not one.
            return (
                "No such resource: catalog ids are compound, '$custom:::$default:::' + the "
                f"external_id (e.g. '$custom:::$default:::SKU-1'); list them with "
                f"{_lister(action, catalog)}."
            )
        if action.path.startswith("/api/coupon-codes/{"):
            # The code a customer types is not the id: the id puts the coupon's id before it.
            return (
                "No such resource: a coupon code's id is the coupon's id, a dash, then the code "
                f"(e.g. 'SUMMER10-AB12CD'); list them with {_lister(action, catalog)}."
            )
        return f"No such resource: check the id (list ids with {_lister(action, catalog)})."
    if status == 409:
        dup = meta.get("duplicate_profile_id") or meta.get("id")
        return (
            f"It already exists (id {dup}): update it instead."
            if dup
            else "It already exists: update it instead."
        )
    if status == 429:
        wait = meta.get("retry_after")
        return (
            f"Rate limited: wait {wait:g}s and retry, or make fewer calls."
            if wait is not None
            else ("Rate limited: wait and retry, or make fewer calls.")
        )
    if status >= 500:
        return "Klaviyo failed on its side: retry later."
    return "Check the request and retry."


# What CappedBody can inflate with a bound (httpx would offer brotli or zstd when installed).
ACCEPT_ENCODING = "gzip, deflate"


class CappedBody:
    """An answer's body read no further than ``limit`` bytes *after* decompression.

    httpx inflates each network chunk whole (one ``zlib`` call per chunk, with no output
    bound), so a gzip answer of 600 KB arriving in one piece became 600 MB before anyone could
    count it. gzip and deflate are inflated here with a bound instead. Requests ask for those
    two only (``ACCEPT_ENCODING``); any other encoding, or a stack of them ("gzip, gzip", whose
    inner layer httpx would inflate whole), is refused as undecodable.
    """

    def __init__(self, limit: int, inflate: bool, ready: bytes | None = None) -> None:
        self.limit = limit
        self._body = bytearray()
        self._over = False
        self._ready = ready  # a response already read (a test transport's): its content
        # wbits 32+15: a zlib or a gzip header, detected.
        self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS) if inflate else None

    @classmethod
    def of(cls, response: httpx.Response, limit: int) -> CappedBody:
        if response.is_stream_consumed:  # read already (decoded): nothing left to bound
            return cls(limit, inflate=False, ready=response.content)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise httpx.DecodingError(f"unsupported content-encoding {encoding[:40]!r}")
        return cls(limit, inflate=encoding not in ("", "identity"))

    def chunks(self, response: httpx.Response) -> Iterator[bytes]:
        if self._ready is not None:
            return iter((self._ready,))
        return response.iter_raw() if self._zlib is not None else response.iter_bytes()

    async def achunks(self, response: httpx.Response) -> AsyncIterator[bytes]:
        if self._ready is not None:
            yield self._ready
            return
        chunks = response.aiter_raw() if self._zlib is not None else response.aiter_bytes()
        async for chunk in chunks:
            yield chunk

    def feed(self, chunk: bytes) -> bool:
        """Add a chunk; True once the body is past the limit (stop reading)."""
        if self._zlib is None:
            self._body += chunk
        else:
            try:
                while chunk and len(self._body) <= self.limit:
                    self._body += self._zlib.decompress(chunk, self.limit + 1 - len(self._body))
                    chunk = self._zlib.unconsumed_tail
            except zlib.error as exc:
                raise httpx.DecodingError(f"the answer could not be inflated: {exc}") from None
        self._over = len(self._body) > self.limit
        return self._over

    def content(self) -> bytes | None:
        """The whole body, or None when it was past the limit."""
        if not self._over and self._zlib is not None:
            self._body += self._zlib.flush()  # at most the window zlib still holds
            self._over = len(self._body) > self.limit
        return None if self._over else bytes(self._body)


class Core:
    """State and logic shared by both clients: auth, catalog, request building, answer decoding."""

    # Bytes of an answer read at most, after decompression: a gzip answer of a few hundred KB
    # can inflate to gigabytes, and httpx inflated all of it before the size was looked at.
    max_response_bytes: int = 32 * 1024 * 1024

    def __init__(
        self,
        *,
        api_key: str | None,
        access_token: str | None,
        base_url: str,
        revision: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        catalog: Catalog | None,
        on_call: CallHook | None,
        user_agent: str,
    ) -> None:
        if (api_key is None) == (access_token is None):
            raise ConfigError(
                "pass exactly one of api_key= (private key, pk_...) or access_token= (OAuth) to the Klaviyo client"
            )
        if api_key is not None:
            self._scheme, self._credential = (
                "Klaviyo-API-Key",
                _check_credential("api_key", api_key),
            )
        else:
            self._scheme, self._credential = (
                "Bearer",
                _check_credential("access_token", str(access_token)),
            )
        self._base = BaseURL.parse(base_url)
        self._catalog = catalog if catalog is not None else load_catalog()
        self._revision = revision or self._catalog.revision
        self._timeout = timeout
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries)
        self._on_call = on_call
        self._user_agent = user_agent

    @property
    def catalog(self) -> Catalog:
        """The catalog this client serves (built-in actions plus any extensions)."""
        return self._catalog

    @property
    def base_url(self) -> str:
        """The base URL every request is built on."""
        return str(self._base)

    @property
    def revision(self) -> str:
        """The ``revision`` header sent (an action's own revision overrides it)."""
        return self._revision

    def __repr__(self) -> str:
        auth = "api_key" if self._scheme == "Klaviyo-API-Key" else "access_token"
        return f"<{type(self).__name__} base_url={str(self._base)!r} auth={auth} revision={self._revision!r}>"

    def action(self, operation_id: str) -> Action:
        """The catalog action for an id or dotted name.

        Raises:
            ValidationError: unknown action; the message lists the closest ids.
        """
        key = operation_key(str(operation_id))
        action = self._catalog.get(key)
        if action is None:
            close = self._catalog.closest(key)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "search the API for the right action."
            )
            raise ValidationError(f"unknown action {operation_id!r}; {hint}", operation_id=key)
        return action

    def prepare(self, operation_id: str, /, **params: Any) -> PreparedRequest:
        """Validate parameters and build the request without sending it (and without the credential).

        Raises:
            ValidationError: unknown action or invalid parameters.
        """
        return build_request(
            self.action(operation_id), params, base=self._base, revision=self._revision
        )

    def _http_request(
        self, http: httpx.Client | httpx.AsyncClient, action: Action, prepared: PreparedRequest
    ) -> httpx.Request:
        headers = dict(prepared.headers)
        headers["User-Agent"] = self._user_agent
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        # Client endpoints (/client/*) authenticate by company_id; the secret stays home.
        if action.kind != "client":
            headers["Authorization"] = f"{self._scheme} {self._credential}"
        content = (
            prepared.content
            if prepared.content is not None
            else None
            if prepared.json is None
            else json.dumps(prepared.json, separators=(",", ":")).encode()
        )
        return http.build_request(
            prepared.method, prepared.url, content=content, headers=headers, timeout=self._timeout
        )

    def _can_refresh(self, status: int, refreshed: bool, hook: object) -> bool:
        return status == 401 and self._scheme == "Bearer" and hook is not None and not refreshed

    def _refresh_failed(self, action: Action, exc: Exception) -> AuthenticationError:
        # Only the class name: a refresh library's message may quote tokens or secrets.
        return AuthenticationError(
            f"{action.id}: 401 and refreshing the access token failed ({type(exc).__name__}); "
            "sign in to Klaviyo again",
            status=401,
            operation_id=action.id,
        )

    def _set_token(self, token: object) -> None:
        self._credential = _check_credential("refreshed access token", str(token))

    @staticmethod
    def _retry_method(action: Action) -> str:
        """The method the retry rules judge by: a read sent as POST (the reporting queries) is
        as safe to repeat as a GET; everything else by its real method."""
        return "GET" if action.kind == "read" else action.method

    def _transport_error(self, action: Action, exc: Exception, attempts: int) -> TransportError:
        kind = type(exc).__name__
        sent = may_have_been_sent(exc) and self._retry_method(action) != "GET"
        advice = (
            "The write may or may not have happened: check before repeating it."
            if sent
            else "Check the network or base_url and retry later."
        )
        return TransportError(
            f"{action.id}: no answer from Klaviyo ({kind}) after {attempts} attempt(s). {advice}",
            operation_id=action.id,
        )

    def _too_large(self, action: Action, response: httpx.Response) -> KlaviyoError:
        error = KlaviyoError(
            f"{action.id}: Klaviyo's answer is larger than {self.max_response_bytes} bytes and was "
            "not read; ask for less (page_size, fields, filter)",
            status=response.status_code,
            operation_id=action.id,
        )
        error.too_large = True
        return error

    def _decode(
        self,
        action: Action,
        prepared: PreparedRequest,
        response: httpx.Response,
        attempts: int,
        text: bytes | None,
    ) -> tuple[dict[str, Any] | None, KlaviyoError | None]:
        """The answer's document or its error; ``text`` None: the body was past the limit."""
        if text is None:
            return None, self._too_large(action, response)
        status = response.status_code
        doc: Any = None
        if text:
            try:
                doc = json.loads(text)
            except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
                doc = None
        if 300 <= status < 400:
            return None, APIError(
                f"{action.id}: Klaviyo answered {status} (redirect); redirects are not followed. Check base_url.",
                status=status,
                operation_id=action.id,
            )
        if status >= 400:
            errors = (
                [e for e in (doc or {}).get("errors", []) if isinstance(e, dict)]
                if isinstance(doc, dict)
                else []
            )
            first = errors[0] if errors else {}
            meta = dict(first.get("meta") or {})
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if retry_after is not None:
                    meta["retry_after"] = retry_after
            source = dict(first.get("source") or {})
            title = str(first.get("title") or response.reason_phrase or "error").rstrip(".")
            detail = first.get("detail")
            tried = f" after {attempts} attempts" if attempts > 1 else ""
            message = (
                f"{action.id}: {status} {title}{tried}"
                + (f": {str(detail).rstrip('.')}" if detail else "")
                + f". {_hint(action, status, source, meta, self._catalog)}"
            )
            klass = error_for_status(status)
            return None, klass(
                message,
                status=status,
                operation_id=action.id,
                code=first.get("code"),
                title=first.get("title"),
                detail=detail,
                source=source,
                errors=errors,
                meta=meta,
            )
        if not text or status == 204:
            return None, None
        if not isinstance(doc, dict):
            return None, KlaviyoError(
                f"{action.id}: Klaviyo answered {status} with a body that is not a JSON object; check base_url.",
                status=status,
                operation_id=action.id,
            )
        return doc, None

    def _info(
        self,
        prepared: PreparedRequest,
        started: float,
        attempts: int,
        response: httpx.Response | None,
        error: KlaviyoError | None,
    ) -> CallInfo:
        headers = response.headers if response is not None else httpx.Headers()
        info = CallInfo(
            operation_id=prepared.operation_id,
            method=prepared.method,
            path=prepared.path,
            status=response.status_code if response is not None else 0,
            ms=round((time.perf_counter() - started) * 1000, 3),
            attempts=attempts,
            rate_limit=parse_rate_limit(headers),
            retry_after=parse_retry_after(headers.get("retry-after")),
            error=type(error).__name__ if error is not None else None,
        )
        if self._on_call is not None:
            self._on_call(info)
        return info
