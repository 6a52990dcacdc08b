"""Test rig: the simulator and our OAuth front in-process, a scripted browser, an MCP client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    BearerAuthBackend,
    RequireAuthMiddleware,
)
from mcp.server.auth.routes import build_resource_metadata_url
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from codemode.klaviyo import AsyncKlaviyo
from codemode.server.oauth import OAuthBundle, OAuthConfig, build_oauth
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, SimConfig

SERVER = "http://127.0.0.1:8000"
SIM = "http://127.0.0.1:9000"
CLIENT_REDIRECT = "http://127.0.0.1:7777/callback"
SCOPES = ("accounts:read", "profiles:read")


class FakeClock:
    """Epoch seconds that move only when a test says so (the SDK compares code expiry with
    ``time.time()``, so it starts at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Router(httpx.AsyncBaseTransport):
    """Sends each request to the in-process ASGI app serving its host:port."""

    def __init__(
        self, apps: dict[str, ASGIApp], fallback: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._apps = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}
        self._fallback = fallback  # real sockets (127.0.0.1 servers) for hosts not listed

    def add(self, base: str, app: ASGIApp) -> None:
        self._apps[urlsplit(base).netloc] = httpx.ASGITransport(app=app)

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._apps.get(f"{request.url.host}:{request.url.port}")
        if transport is None and self._fallback is not None:
            return await self._fallback.handle_async_request(request)
        if transport is None:
            raise httpx.ConnectError(
                f"nothing listens on {request.url.host}:{request.url.port}", request=request
            )
        return await transport.handle_async_request(request)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


@dataclass
class Rig:
    """Simulator + OAuth front + a protected ``/mcp`` endpoint that answers with the caller's
    Klaviyo account (fetched with the SDK, with the credentials the bundle resolves)."""

    clock: FakeClock
    sim: Starlette
    bundle: OAuthBundle
    router: Router
    http: httpx.AsyncClient  # the server's client to Klaviyo (the simulator)
    seen_upstream_tokens: list[str] = field(default_factory=list)

    @property
    def sim_state(self) -> Any:
        return self.sim.state.sim

    def client(self) -> httpx.AsyncClient:
        """A fresh user agent (own cookie jar) that reaches every app of the rig."""
        return httpx.AsyncClient(transport=self.router, timeout=10.0)


def build_rig(
    *,
    clock: FakeClock | None = None,
    config: dict[str, Any] | None = None,
    sim: Starlette | None = None,
) -> Rig:
    clock = clock or FakeClock()
    sim = sim or create_app(SimConfig(profiles=8, events=10, clock=clock))
    router = Router({})
    router.add(SIM, sim)
    http = httpx.AsyncClient(transport=router, timeout=10.0)
    settings: dict[str, Any] = dict(
        client_id=DEMO_OAUTH_CLIENT,
        client_secret=DEMO_OAUTH_SECRET,
        server_url=SERVER,
        base_url=SIM,
        scopes=SCOPES,
        token_ttl=600,
    )
    settings.update(config or {})
    bundle = build_oauth(OAuthConfig(**settings), http_client=http, clock=clock)
    rig = Rig(clock=clock, sim=sim, bundle=bundle, router=router, http=http)
    router.add(SERVER, protected_app(rig))
    return rig


def protected_app(rig: Rig) -> Starlette:
    bundle = rig.bundle

    async def whoami(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        user = request.scope["user"]
        assert isinstance(user, AuthenticatedUser)
        creds = await bundle.klaviyo_credentials(user.access_token)
        if creds is None:
            await JSONResponse({"error": "no klaviyo login"}, status_code=409)(scope, receive, send)
            return
        assert creds.access_token is not None
        rig.seen_upstream_tokens.append(creds.access_token)
        klaviyo = AsyncKlaviyo(
            access_token=creds.access_token,
            on_unauthorized=creds.on_unauthorized,
            base_url=SIM,
            http_client=rig.http,
            max_retries=0,
        )
        result = await klaviyo.accounts.get_accounts()
        account = result.raw["data"][0] if result.raw else None
        await JSONResponse(
            {"principal": creds.principal, "account": account["id"] if account else None}
        )(scope, receive, send)

    metadata_url = build_resource_metadata_url(bundle.resource_server_url)
    return Starlette(
        routes=[*bundle.routes, Route("/mcp", RequireAuthMiddleware(whoami, [], metadata_url))],
        middleware=[
            Middleware(
                AuthenticationMiddleware,
                backend=BearerAuthBackend(
                    bundle.token_verifier, resource_server_url=bundle.resource_server_url
                ),
            ),
            Middleware(AuthContextMiddleware),
        ],
    )


_HIDDEN = re.compile(r'<input type=hidden name=(\w+) value="([^"]*)">')


async def browse(
    browser: httpx.AsyncClient,
    url: str,
    *,
    stop_at: str,
    user: str | None = None,
    approve: bool = True,
) -> httpx.URL:
    """Play the browser: follow redirects, submit the consent form, pick the simulator user.

    Returns the URL the browser is finally sent to under ``stop_at`` (the client's redirect URI).
    """
    response = await browser.get(url)
    for _ in range(12):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith(stop_at):
                return httpx.URL(location)
            if location.startswith(f"{SIM}/oauth/authorize") and user is not None:
                location += "&" + urlencode({"user": user})  # the user picks an account at Klaviyo
            response = await browser.get(location)
            continue
        if response.status_code == 200 and "<form" in response.text:
            fields = dict(_HIDDEN.findall(response.text))
            action = "approve" if approve else "deny"
            response = await browser.post(
                response.url.join("/oauth/consent"), data={**fields, "action": action}
            )
            continue
        raise AssertionError(
            f"browser stuck at {response.request.url}: {response.status_code} {response.text[:200]}"
        )
    raise AssertionError("too many redirects")


@dataclass
class McpClient:
    """An MCP client doing DCR, PKCE authorization and token calls against our front."""

    http: httpx.AsyncClient
    client_id: str = ""
    client_secret: str | None = None
    redirect_uri: str = CLIENT_REDIRECT

    async def register(
        self, *, auth_method: str = "none", name: str = "Test agent"
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"{SERVER}/register",
            json={
                "redirect_uris": [self.redirect_uri],
                "client_name": name,
                "token_endpoint_auth_method": auth_method,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": " ".join(SCOPES),
            },
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        self.client_id = body["client_id"]
        self.client_secret = body.get("client_secret")
        return body

    def authorize_url(self, challenge: str, state: str, **extra: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "scope": " ".join(SCOPES),
            "resource": f"{SERVER}/mcp",
            **extra,
        }
        return f"{SERVER}/authorize?{urlencode(query)}"

    async def token(self, **form: str) -> httpx.Response:
        data = {"client_id": self.client_id, **form}
        if self.client_secret:
            data["client_secret"] = self.client_secret
        return await self.http.post(f"{SERVER}/token", data=data)

    async def login(self, browser: httpx.AsyncClient, *, user: str | None = None) -> dict[str, Any]:
        """The whole dance; returns the token response."""
        verifier, challenge = pkce()
        state = secrets.token_urlsafe(8)
        final = await browse(
            browser, self.authorize_url(challenge, state), stop_at=self.redirect_uri, user=user
        )
        query = parse_qs(final.query.decode())
        assert query["state"] == [state], query
        response = await self.token(
            grant_type="authorization_code",
            code=query["code"][0],
            redirect_uri=self.redirect_uri,
            code_verifier=verifier,
            resource=f"{SERVER}/mcp",
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def call(self, access_token: str) -> httpx.Response:
        return await self.http.get(
            f"{SERVER}/mcp", headers={"Authorization": f"Bearer {access_token}"}
        )
