"""Issue #22, the caller's Klaviyo scopes: search_api and get_signature say what execute_code does.

Two callers, each through the official MCP client over Streamable HTTP on the real server and the
simulator (which enforces scopes with 403 exactly as the policy reads them):

- an OAuth user who granted Klaviyo only some scopes (the test plays the browser and unticks the
  rest at Klaviyo's consent): every operation needing a scope it lacks is marked refused, naming
  the scope and asking the user to reconnect, and execute_code refuses it with the same words as
  a PermissionDeniedError before anything is sent to Klaviyo;
- a private key with declared scopes: nothing is marked until Klaviyo answers 403, then the
  missing scope is marked and refused for that key only (another key is unaffected).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from codemode.config import Settings
from codemode.server import build_server
from codemode.simulator.app import create_app
from codemode.simulator.config import DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET, DEMO_USERS, SimConfig
from tests.server.conftest import BuildServer, http_client, serving, text_of
from tests.server.oauth._support import CLIENT_REDIRECT, SIM, Router, browse
from tests.server.oauth.test_mcp_end_to_end import MemoryStorage
from tests.server.oauth.test_mcp_end_to_end import serving as serving_on

# The scopes the user leaves ticked at Klaviyo's consent screen.
GRANTED = frozenset({"accounts:read", "lists:read", "profiles:read"})
# Calls that reach the policy, and Klaviyo when allowed.
CALLS = {
    "get_lists": "klaviyo.lists.get_lists()",
    "get_profiles": "klaviyo.profiles.get_profiles(page_size=1)",
    "get_profiles_for_list": "klaviyo.lists.get_profiles_for_list(LIST)",
    "get_tags_for_list": "klaviyo.lists.get_tags_for_list(LIST)",
    "create_list": "klaviyo.lists.create_list(attributes={'name': 'Scoped'})",
    "get_campaigns": "klaviyo.campaigns.get_campaigns(filter=\"equals(messages.channel,'email')\")",
    "create_client_event": "klaviyo.call('create_client_event', company_id='X')",
}


def mark_of(text: str) -> str:
    """The policy's mark leading a summary or doc (``allowed`` when there is none)."""
    return text[1 : text.index("]")] if text.startswith("[refused: ") else "allowed"


async def observe(client: Client) -> dict[str, dict[str, Any]]:
    """Per action: its mark in get_signature, in search_api (structured and text), and the run."""
    seen: dict[str, dict[str, Any]] = {}
    signatures = await client.call_tool("get_signature", {"names": list(CALLS)})
    assert signatures.structured_content is not None
    docs = {s["id"]: s["doc"] for s in signatures.structured_content["signatures"]}
    for action_id, call in CALLS.items():
        found = await client.call_tool("search_api", {"query": action_id, "limit": 10})
        assert found.structured_content is not None
        listed = {r["id"]: r for r in found.structured_content["results"]}
        assert action_id in listed, (action_id, list(listed))
        line = next(x for x in text_of(found).splitlines() if f".{action_id} " in x)
        code = f"LIST = klaviyo.lists.get_lists().records[0]['id']\n{call}\nprint('ran')"
        ran = await client.call_tool("execute_code", {"code": code})
        assert ran.structured_content is not None
        seen[action_id] = {
            "signature": mark_of(docs[action_id]),
            "search": mark_of(listed[action_id]["summary"]),
            "line": line,
            "error": ran.structured_content["error"] or {},
            "calls": ran.structured_content["calls"],
        }
    return seen


def narrowing(router: Router, keep: frozenset[str]) -> httpx.AsyncBaseTransport:
    """The user's browser, unticking every scope but ``keep`` on Klaviyo's consent screen."""

    class Narrow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if f"{request.url.scheme}://{request.url.netloc.decode()}" == SIM and (
                request.url.path == "/oauth/authorize"
            ):
                query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
                asked = query.get("scope", "").split()
                query["scope"] = " ".join(s for s in asked if s in keep)
                request = httpx.Request(
                    request.method, request.url.copy_with(query=urlencode(query).encode())
                )
            return await router.handle_async_request(request)

        async def aclose(self) -> None:
            await router.aclose()  # its fallback holds real sockets to our server

    return Narrow()


async def test_an_oauth_user_with_narrow_scopes_sees_each_refusal_before_running_it(
    tmp_path: Any,
) -> None:
    sim = create_app(SimConfig(profiles=8, events=10))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    settings = Settings(
        base_url=SIM,
        oauth_client_id=DEMO_OAUTH_CLIENT,
        oauth_client_secret=DEMO_OAUTH_SECRET,
        host="127.0.0.1",
        port=port,
        audit_db=tmp_path / "audit.sqlite3",
    )
    upstream = httpx.AsyncClient(transport=Router({"127.0.0.1:9000": sim}), timeout=30)
    built = build_server(settings, transport="http", http_client=upstream, log_level="ERROR")
    stats = sim.state.sim.stats
    codes: asyncio.Queue[AuthorizationCodeResult] = asyncio.Queue()
    browser_router = Router({"127.0.0.1:9000": sim}, fallback=httpx.AsyncHTTPTransport())

    async with (
        serving_on(sock, built.http_app()),
        httpx.AsyncClient(transport=narrowing(browser_router, GRANTED), timeout=30) as browser,
    ):

        async def redirect_handler(authorization_url: str) -> None:
            final = await browse(
                browser, authorization_url, stop_at=CLIENT_REDIRECT, user=DEMO_USERS[0]
            )
            query = parse_qs(final.query.decode())
            codes.put_nowait(
                AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])
            )

        async def callback_handler() -> AuthorizationCodeResult:
            return await asyncio.wait_for(codes.get(), 30)

        auth = OAuthClientProvider(
            server_url=url,
            client_metadata=OAuthClientMetadata.model_validate(
                {
                    "redirect_uris": [CLIENT_REDIRECT],
                    "client_name": "scoped agent",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                }
            ),
            storage=MemoryStorage(),
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        raw = httpx2.AsyncClient(auth=auth, timeout=30)
        async with raw, Client(streamable_http_client(url, http_client=raw)) as client:
            writes, denied = stats.attempts.copy(), stats.statuses[403]
            seen = await observe(client)
            sent, denied = stats.attempts - writes, stats.statuses[403] - denied

    expected_refused = {
        "create_list": "lists:write",
        "get_campaigns": "campaigns:read",
        "get_tags_for_list": "tags:read",  # it needs lists:read (granted) and tags:read
    }
    for action_id, got in seen.items():
        assert got["signature"] == got["search"], (action_id, got)
        error = got["error"]
        if action_id in expected_refused:
            scope = expected_refused[action_id]
            mark = f"refused: needs scope {scope}; ask the user to reconnect granting it"
            assert got["signature"] == mark, (action_id, got)
            assert f"[{mark}]" in got["line"]
            assert error.get("type") == "PermissionDeniedError", (action_id, error)
            assert f"needs scope {scope}" in error["message"]
            assert "ask the user to reconnect granting it" in error["message"]
            assert "not the agent" in error["message"]
            assert action_id not in sent  # refused before anything reached Klaviyo
            assert [c["status"] for c in got["calls"] if c["id"] == action_id] == [0]
        elif action_id == "create_client_event":
            # Client actions take the public company id, not the sign-in: no scope is checked;
            # the server's egress gate still refuses it, and says so in the mark.
            assert got["signature"].startswith("refused: outside addresses are off")
            assert error.get("type") == "PolicyError"
        else:
            assert got["signature"] == "allowed", (action_id, got)
            assert error == {}, (action_id, error)
            assert "refused" not in got["line"]
    assert denied == 0  # Klaviyo never had to refuse anything: the marks said so first


SCOPED_KEY = "pk_test_scoped_lists_read_0123456789"
OTHER_KEY = "pk_test_other_full_access_0123456789"


async def test_a_private_key_is_marked_only_after_klaviyo_refuses_a_scope(
    make_server: BuildServer, sim_app: Any
) -> None:
    state = sim_app.state.sim
    state.add_key(SCOPED_KEY, state.default_account, scopes=GRANTED)
    built = make_server(transport="http", demo=False, base_url="http://simulator")
    sign = {"names": ["create_list", "get_lists"]}
    async with serving(built.http_app()) as url:
        async with http_client(url, {"X-Klaviyo-API-Key": SCOPED_KEY}) as client:
            unknown = await client.call_tool("get_signature", sign)
            first = await client.call_tool("execute_code", {"code": CALLS["create_list"]})
            known = await client.call_tool("get_signature", sign)
            found = await client.call_tool("search_api", {"query": "create_list", "limit": 10})
            before = state.stats.statuses[403]
            second = await client.call_tool("execute_code", {"code": CALLS["create_list"]})
            after = state.stats.statuses[403]
        async with http_client(url, {"X-Klaviyo-API-Key": OTHER_KEY}) as other:
            theirs = await other.call_tool("get_signature", sign)

    def docs(result: Any) -> dict[str, str]:
        return {s["id"]: s["doc"] for s in result.structured_content["signatures"]}

    # Until Klaviyo answers, a key's scopes are unknown: nothing extra is said.
    assert mark_of(docs(unknown)["create_list"]) == "allowed"
    assert first.structured_content is not None
    error = first.structured_content["error"]
    assert error["type"] == "PermissionDeniedError"  # Klaviyo's own 403
    assert "lists:write" in error["message"]
    mark = "refused: needs scope lists:write; ask the user for a key with it"
    assert mark_of(docs(known)["create_list"]) == mark
    assert mark_of(docs(known)["get_lists"]) == "allowed"
    assert found.structured_content is not None
    summary = {r["id"]: r["summary"] for r in found.structured_content["results"]}
    assert mark_of(summary["create_list"]) == mark
    line = next(x for x in text_of(found).splitlines() if ".create_list " in x)
    assert f"[{mark}]" in line
    # The run now refuses with the mark's words, before calling Klaviyo.
    assert second.structured_content is not None
    refused = second.structured_content["error"]
    assert refused["type"] == "PermissionDeniedError"
    assert "needs scope lists:write" in refused["message"]
    assert "ask the user for a key with it" in refused["message"]
    assert "not the agent" in refused["message"]
    assert after == before
    # Another key is another principal: nothing learnt about this one applies to it.
    assert mark_of(docs(theirs)["create_list"]) == "allowed"
