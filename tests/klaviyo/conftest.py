"""Shared fixtures of the SDK tests: a scripted transport and clients that never sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from codemode.catalog import Catalog, load_catalog
from codemode.klaviyo import AsyncKlaviyo, Klaviyo

KEY = "pk_test_secret_0123456789"
BASE = "https://a.klaviyo.com"

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def jsonapi(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A JSON:API response (no body when ``body`` is None)."""
    content = b"" if body is None else json.dumps(body).encode()
    all_headers = {"content-type": "application/vnd.api+json", **(headers or {})}
    return httpx.Response(status, content=content, headers=all_headers)


def error(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    """A Klaviyo error document."""
    obj = {
        "id": "e1",
        "status": status,
        "code": code,
        "title": code.replace("_", " "),
        "detail": detail,
        **extra,
    }
    return jsonapi(status, {"errors": [obj]})


class Script:
    """A transport that answers from a script and records every request it saw.

    Each step is a response, an exception to raise (transport failure) or a callable.
    When the script runs out, the last step repeats.
    """

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def _next(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            if isinstance(step, httpx.RequestError):
                step._request = request
            raise step
        if isinstance(step, httpx.Response):
            return httpx.Response(step.status_code, content=step.content, headers=step.headers)
        return step(request)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self._next(request)

    async def ahandler(self, request: httpx.Request) -> httpx.Response:
        return self._next(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        content = self.requests[index].content
        return json.loads(content) if content else None


class Sleeps(list[float]):
    """Records the delays a client asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Callable[..., tuple[Klaviyo, Script]]:
    """``make_client(*steps, **client_kwargs) -> (Klaviyo, Script)``."""

    def make(*steps: Step, **kwargs: Any) -> tuple[Klaviyo, Script]:
        script = Script(*steps)
        http = httpx.Client(transport=httpx.MockTransport(script.handler))
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("sleep", sleeps)
        return Klaviyo(http_client=http, **kwargs), script

    return make


@pytest.fixture
def make_async_client(sleeps: Sleeps) -> Callable[..., tuple[AsyncKlaviyo, Script]]:
    """``make_async_client(*steps, **client_kwargs) -> (AsyncKlaviyo, Script)``."""

    def make(*steps: Step, **kwargs: Any) -> tuple[AsyncKlaviyo, Script]:
        script = Script(*steps)
        http = httpx.AsyncClient(transport=httpx.MockTransport(script.ahandler))
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("sleep", sleeps.asleep)
        return AsyncKlaviyo(http_client=http, **kwargs), script

    return make
