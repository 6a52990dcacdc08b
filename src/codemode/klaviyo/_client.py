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
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from codemode.catalog import Catalog
from codemode.klaviyo._core import CallHook, CappedBody, Core
from codemode.klaviyo._generated import AsyncGroups, SyncGroups
from codemode.klaviyo._jsonapi import Result
from codemode.klaviyo._pagination import next_page_params
from codemode.klaviyo._params import build_request
from codemode.klaviyo._resource import AsyncResource, SyncResource
from codemode.klaviyo._retries import RetryPolicy

__all__ = ["DEFAULT_BASE_URL", "AsyncKlaviyo", "Klaviyo"]

DEFAULT_BASE_URL = "https://a.klaviyo.com"
USER_AGENT = "codemode-klaviyo/0.1"

TokenRefresher = Callable[[], str]
AsyncTokenRefresher = Callable[[], "str | Awaitable[str]"]


class Klaviyo(SyncGroups, Core):
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
        Core.__init__(
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
        self._refresh_lock = threading.Lock()
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
            used = self._credential
            request = self._http_request(self._http, action, prepared)
            try:
                response = self._http.send(request, follow_redirects=False, stream=True)
                try:
                    body = CappedBody.of(response, self.max_response_bytes)
                    for chunk in body.chunks(response):
                        if body.feed(chunk):
                            break
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                delay = self._policy.exception_delay(self._retry_method(action), exc, retries)
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
                with self._refresh_lock:
                    # Another thread may have refreshed while this request was in flight.
                    if self._credential == used:
                        try:
                            self._set_token(self._on_unauthorized())
                        except Exception as exc:
                            refusal = self._refresh_failed(action, exc)
                            self._info(prepared, started, attempts, response, refusal)
                            raise refusal from None
                continue
            delay = self._policy.status_delay(
                self._retry_method(action), response.status_code, response.headers, retries
            )
            if delay is None:
                break
            retries += 1
            self._sleep(delay)
        assert response is not None
        doc, error = self._decode(action, prepared, response, attempts, body.content())
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


class AsyncKlaviyo(AsyncGroups, Core):
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
        Core.__init__(
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
        self._refresh_lock = asyncio.Lock()
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
            used = self._credential
            request = self._http_request(self._http, action, prepared)
            try:
                response = await self._http.send(request, follow_redirects=False, stream=True)
                try:
                    body = CappedBody.of(response, self.max_response_bytes)
                    async for chunk in body.achunks(response):
                        if body.feed(chunk):
                            break
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                delay = self._policy.exception_delay(self._retry_method(action), exc, retries)
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
                async with self._refresh_lock:
                    # Concurrent calls that all met the expired token refresh it once.
                    if self._credential == used:
                        try:
                            token = self._on_unauthorized()
                            self._set_token(await token if inspect.isawaitable(token) else token)
                        except Exception as exc:
                            refusal = self._refresh_failed(action, exc)
                            self._info(prepared, started, attempts, response, refusal)
                            raise refusal from None
                continue
            delay = self._policy.status_delay(
                self._retry_method(action), response.status_code, response.headers, retries
            )
            if delay is None:
                break
            retries += 1
            await self._sleep(delay)
        assert response is not None
        doc, error = self._decode(action, prepared, response, attempts, body.content())
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
