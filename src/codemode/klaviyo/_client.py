"""``Klaviyo`` and ``AsyncKlaviyo``: one request builder, two send loops (sync and async).

Both clients validate parameters and build the request with :func:`build_request` (no I/O), then
send it with retries (:class:`RetryPolicy`), refresh an OAuth token once on 401 when given a hook,
and turn the answer into a :class:`Result` or a typed :class:`KlaviyoError`. The credential lives
only in the client and the ``Authorization`` header; it never appears in ``repr()``, errors or
prepared requests.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from codemode.catalog import Action, Catalog, load_catalog
from codemode.errors import ConfigError
from codemode.klaviyo._errors import (
    APIError,
    KlaviyoError,
    TransportError,
    ValidationError,
    error_for_status,
)
from codemode.klaviyo._generated import AsyncGroups, SyncGroups
from codemode.klaviyo._jsonapi import CallInfo, Result
from codemode.klaviyo._pagination import next_page_params
from codemode.klaviyo._params import BaseURL, PreparedRequest, build_request
from codemode.klaviyo._resource import AsyncResource, SyncResource
from codemode.klaviyo._retries import (
    RetryPolicy,
    may_have_been_sent,
    parse_rate_limit,
    parse_retry_after,
)

__all__ = ["DEFAULT_BASE_URL", "AsyncKlaviyo", "Klaviyo"]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
USER_AGENT = "codemode-klaviyo/0.1"

TokenRefresher = Callable[[], str]
AsyncTokenRefresher = Callable[[], "str | Awaitable[str]"]
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


def _hint(action: Action, status: int, source: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    if status == 400:
        where = source.get("parameter") or source.get("pointer")
        return f"Fix {where!r} and retry." if where else "Fix the request parameters and retry."
    if status == 401:
        return "The API key or token is missing, wrong or expired: check the credential."
    if status == 403:
        scopes = ", ".join(action.scopes) or "the action's scopes"
        return f"The credential lacks a scope this action needs ({scopes}): use a key or token with it."
    if status == 404:
        return "No such resource: check the id (list ids with the matching get_* action)."
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


class _Core:
    """State and logic shared by both clients: auth, catalog, request building, answer decoding."""

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
        key = str(operation_id).strip().rsplit(".", 1)[-1]
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
        self, http: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest
    ) -> httpx.Request:
        headers = dict(prepared.headers)
        headers["User-Agent"] = self._user_agent
        headers["Authorization"] = f"{self._scheme} {self._credential}"
        content = (
            None
            if prepared.json is None
            else json.dumps(prepared.json, separators=(",", ":")).encode()
        )
        return http.build_request(
            prepared.method, prepared.url, content=content, headers=headers, timeout=self._timeout
        )

    def _can_refresh(self, status: int, refreshed: bool, hook: object) -> bool:
        return status == 401 and self._scheme == "Bearer" and hook is not None and not refreshed

    def _set_token(self, token: object) -> None:
        self._credential = _check_credential("refreshed access token", str(token))

    def _transport_error(self, action: Action, exc: Exception, attempts: int) -> TransportError:
        kind = type(exc).__name__
        sent = may_have_been_sent(exc) and action.method != "GET"
        advice = (
            "The write may or may not have happened: check before repeating it."
            if sent
            else "Check the network or base_url and retry later."
        )
        return TransportError(
            f"{action.id}: no answer from Klaviyo ({kind}) after {attempts} attempt(s). {advice}",
            operation_id=action.id,
        )

    def _decode(
        self, action: Action, prepared: PreparedRequest, response: httpx.Response, attempts: int
    ) -> tuple[dict[str, Any] | None, KlaviyoError | None]:
        status = response.status_code
        text = response.content
        doc: Any = None
        if text:
            try:
                doc = json.loads(text)
            except ValueError:
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
                + f". {_hint(action, status, source, meta)}"
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


class Klaviyo(SyncGroups, _Core):
    """Synchronous Klaviyo client: ``Klaviyo(api_key="pk_...").profiles.get_profiles(page_size=50)``.

    Args:
        api_key: a private API key (sent as ``Klaviyo-API-Key``). Exactly one of api_key/access_token.
        access_token: an OAuth access token (sent as ``Bearer``).
        on_unauthorized: for OAuth, called once on a 401 to get a fresh token; the call is then retried.
        base_url: the API origin (default ``https://a.klaviyo.com``); every URL is built on it.
        revision: the ``revision`` header (default: the catalog's revision).
        timeout: seconds (or an ``httpx.Timeout``) per attempt.
        max_retries: retries on 429/5xx/transport errors (see ``_retries`` for which are safe).
        retry_policy: full control over retries and backoff (overrides max_retries).
        catalog: the actions served (default: the built-in catalog; pass one with extensions).
        http_client: an ``httpx.Client`` to send through (e.g. with ``MockTransport``); not closed by us.
        sleep: the sleep function used between retries (inject a fake in tests).
        on_call: called with a :class:`CallInfo` after every call, successful or not.
        user_agent: the ``User-Agent`` header.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        on_unauthorized: TokenRefresher | None = None,
        base_url: str = DEFAULT_BASE_URL,
        revision: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_call: CallHook | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        _Core.__init__(
            self,
            api_key=api_key,
            access_token=access_token,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            catalog=catalog,
            on_call=on_call,
            user_agent=user_agent,
        )
        self._on_unauthorized = on_unauthorized
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.Client(follow_redirects=False)
        )
        self._sleep = sleep

    def __getattr__(self, name: str) -> SyncResource:
        # Reached only for names that are not attributes: extension groups from the catalog.
        if not name.startswith("_") and name in self._catalog.groups:
            return SyncResource(self, name)
        raise AttributeError(
            f"Klaviyo has no attribute {name!r}; groups: {', '.join(sorted(self._catalog.groups))}"
        )

    def call(self, operation_id: str, /, **params: Any) -> Result:
        """Call any action by id: ``k.call("get_profiles", page_size=10)``.

        Raises:
            ValidationError: invalid parameters (nothing was sent).
            APIError: Klaviyo answered with an error (a subclass per status).
            TransportError: no answer (timeout, reset) after the retries allowed.
        """
        action = self.action(operation_id)
        prepared = build_request(action, params, base=self._base, revision=self._revision)
        started = time.perf_counter()
        response: httpx.Response | None = None
        attempts = 0
        retries = 0
        refreshed = False
        while True:
            attempts += 1
            request = self._http_request(self._http, prepared)
            try:
                response = self._http.send(request, follow_redirects=False)
            except httpx.HTTPError as exc:
                delay = self._policy.exception_delay(action.method, exc, retries)
                if delay is None:
                    failure = self._transport_error(action, exc, attempts)
                    self._info(prepared, started, attempts, None, failure)
                    raise failure from None
                retries += 1
                self._sleep(delay)
                continue
            if self._can_refresh(response.status_code, refreshed, self._on_unauthorized):
                assert self._on_unauthorized is not None
                refreshed = True
                self._set_token(self._on_unauthorized())
                continue
            delay = self._policy.status_delay(
                action.method, response.status_code, response.headers, retries
            )
            if delay is None:
                break
            retries += 1
            self._sleep(delay)
        assert response is not None
        doc, error = self._decode(action, prepared, response, attempts)
        info = self._info(prepared, started, attempts, response, error)
        if error is not None:
            raise error
        return Result(
            doc,
            status=response.status_code,
            info=info,
            fetch_next=lambda cursor: self.call(action.id, **next_page_params(params, cursor)),
        )

    def close(self) -> None:
        """Close the HTTP client when this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Klaviyo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncKlaviyo(AsyncGroups, _Core):
    """Asynchronous Klaviyo client: ``await AsyncKlaviyo(api_key=...).profiles.get_profiles()``.

    Takes the same arguments as :class:`Klaviyo`, except ``http_client`` is an ``httpx.AsyncClient``,
    ``sleep`` is awaited (default ``asyncio.sleep``) and ``on_unauthorized`` may be async.
    Results page with ``async for record in result.aall(max_items=...)``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        on_unauthorized: AsyncTokenRefresher | None = None,
        base_url: str = DEFAULT_BASE_URL,
        revision: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_call: CallHook | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        _Core.__init__(
            self,
            api_key=api_key,
            access_token=access_token,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            catalog=catalog,
            on_call=on_call,
            user_agent=user_agent,
        )
        self._on_unauthorized = on_unauthorized
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.AsyncClient(follow_redirects=False)
        )
        self._sleep = sleep

    def __getattr__(self, name: str) -> AsyncResource:
        if not name.startswith("_") and name in self._catalog.groups:
            return AsyncResource(self, name)
        raise AttributeError(
            f"AsyncKlaviyo has no attribute {name!r}; groups: {', '.join(sorted(self._catalog.groups))}"
        )

    async def call(self, operation_id: str, /, **params: Any) -> Result:
        """Call any action by id: ``await k.call("get_profiles", page_size=10)`` (see ``Klaviyo.call``)."""
        action = self.action(operation_id)
        prepared = build_request(action, params, base=self._base, revision=self._revision)
        started = time.perf_counter()
        response: httpx.Response | None = None
        attempts = 0
        retries = 0
        refreshed = False
        while True:
            attempts += 1
            request = self._http_request(self._http, prepared)
            try:
                response = await self._http.send(request, follow_redirects=False)
            except httpx.HTTPError as exc:
                delay = self._policy.exception_delay(action.method, exc, retries)
                if delay is None:
                    failure = self._transport_error(action, exc, attempts)
                    self._info(prepared, started, attempts, None, failure)
                    raise failure from None
                retries += 1
                await self._sleep(delay)
                continue
            if self._can_refresh(response.status_code, refreshed, self._on_unauthorized):
                assert self._on_unauthorized is not None
                refreshed = True
                token = self._on_unauthorized()
                self._set_token(await token if inspect.isawaitable(token) else token)
                continue
            delay = self._policy.status_delay(
                action.method, response.status_code, response.headers, retries
            )
            if delay is None:
                break
            retries += 1
            await self._sleep(delay)
        assert response is not None
        doc, error = self._decode(action, prepared, response, attempts)
        info = self._info(prepared, started, attempts, response, error)
        if error is not None:
            raise error

        async def fetch_next(cursor: str) -> Result:
            return await self.call(action.id, **next_page_params(params, cursor))

        return Result(doc, status=response.status_code, info=info, afetch_next=fetch_next)

    async def aclose(self) -> None:
        """Close the HTTP client when this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncKlaviyo:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
