"""Run tasks in each mode against the demo simulator and count what enters the model's context.

The three servers (classic, FastMCP CodeMode over it, this project's) are built and connected once
(:func:`open_bench`); a :class:`Switch` transport points all of them at the simulator of the task at
hand. Every simulator (:func:`new_world`) holds the same seeded account anchored at the same date,
so a write task gives each mode a fresh one and writes never leak between modes, while read-only
tasks can share one; the ground truth is computed on the data every mode starts from.

What is counted, in o200k_base tokens (``_tokens``), for every mode alike:

- **definitions**: the tools as the model sees them (name, description, input schema; see
  ``_peers.model_view``), counted once per model turn, because clients resend them every turn;
- **arguments**: each tool call's arguments (JSON) the model writes;
- **results**: each tool result's text that enters the context.

Turns: one per round of tool calls (independent calls made in parallel share a round) plus the
final answer turn. Each round trip is also kept on its own (``Usage.round_trips``), by kind:
``definitions`` (per turn, all turns), ``search``, ``signature`` (arguments plus result),
``code`` (the script or, for classic, a call's arguments) and ``output`` (what came back), so a
change shows where it helped.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
from mcp import Client

from codemode.bench._peers import model_view
from codemode.bench._tokens import count_json, count_tokens

__all__ = [
    "ANCHOR",
    "BASE_URL",
    "KINDS",
    "Bench",
    "ClassicAgent",
    "CodeAgent",
    "KlaviyoAgent",
    "PeerAgent",
    "ToolFailed",
    "Usage",
    "World",
    "follow_pages",
    "new_world",
    "open_bench",
    "text_of",
]

# The demo data's "today": fixed, so every run (and the README built from it) gives the same numbers.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
BASE_URL = "http://simulator"


class ToolFailed(Exception):
    """A tool answered with ``isError``; a scripted agent treats that as a failed task."""


KINDS = ("definitions", "search", "signature", "code", "output")
_TOOL_KINDS = {
    "search_api": "search",
    "search": "search",
    "get_signature": "signature",
    "get_schema": "signature",
    "execute_code": "code",
    "execute": "code",
}


@dataclass
class Usage:
    """Token counts of one task in one mode."""

    definition_tokens_per_turn: int = 0
    turns: int = 1  # the final answer turn
    argument_tokens: int = 0
    result_tokens: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)

    @property
    def definition_tokens(self) -> int:
        return self.definition_tokens_per_turn * self.turns

    @property
    def total(self) -> int:
        return self.definition_tokens + self.argument_tokens + self.result_tokens

    def record(self, tool: str, arguments: dict[str, Any], text: str) -> None:
        args = count_json(arguments)
        result = count_tokens(text)
        self.argument_tokens += args
        self.result_tokens += result
        kind = _TOOL_KINDS.get(
            tool, "code"
        )  # a classic action call: the model writes its arguments
        self.calls.append(
            {"tool": tool, "kind": kind, "argument_tokens": args, "result_tokens": result}
        )

    def round_trips(self) -> list[dict[str, Any]]:
        """Every round trip in order with its tokens; the definitions first, for all turns."""
        trips: list[dict[str, Any]] = [
            {"kind": "definitions", "tokens": self.definition_tokens, "turns": self.turns}
        ]
        for call in self.calls:
            if call["kind"] == "code":
                trips.append(
                    {"kind": "code", "tool": call["tool"], "tokens": call["argument_tokens"]}
                )
                trips.append(
                    {"kind": "output", "tool": call["tool"], "tokens": call["result_tokens"]}
                )
            else:
                tokens = call["argument_tokens"] + call["result_tokens"]
                trips.append({"kind": call["kind"], "tool": call["tool"], "tokens": tokens})
        return trips

    def breakdown(self) -> dict[str, int]:
        """Tokens by kind of round trip (the five kinds sum to ``total``)."""
        sums = dict.fromkeys(KINDS, 0)
        for trip in self.round_trips():
            sums[trip["kind"]] += trip["tokens"]
        return sums

    def as_dict(self) -> dict[str, Any]:
        return {
            "turns": self.turns,
            "tool_calls": len(self.calls),
            "definition_tokens_per_turn": self.definition_tokens_per_turn,
            "definition_tokens": self.definition_tokens,
            "argument_tokens": self.argument_tokens,
            "result_tokens": self.result_tokens,
            "total_tokens": self.total,
            "breakdown": self.breakdown(),
            "searches": list(self.searches),
            "round_trips": self.round_trips(),
        }


async def follow_pages(
    call: Callable[..., Awaitable[Any]], tool: str, arguments: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every record of a listing, one ``call`` (one turn) per page, passing ``links.next`` back as
    ``page_cursor`` (both the classic server and Klaviyo's accept the link)."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        args = dict(arguments, page_cursor=cursor) if cursor else dict(arguments)
        doc = await call(tool, **args)
        records.extend(doc.get("data") or [])
        cursor = (doc.get("links") or {}).get("next")
        if not cursor:
            return records


def text_of(result: Any) -> str:
    """The text blocks of a CallToolResult, joined as a client shows them to the model."""
    return "\n".join(
        getattr(block, "text", "") for block in result.content if getattr(block, "text", None)
    )


# -- the world: one fresh simulator ------------------------------------------------------------


class Switch(httpx.AsyncBaseTransport):
    """An httpx transport to whichever simulator app is current.

    The three servers (and their MCP clients) are built once per run; each task then points this
    switch at its own fresh simulator, so no server has to be rebuilt (and no 100k-token tool list
    re-validated) per task.
    """

    def __init__(self) -> None:
        self._transport: httpx.ASGITransport | None = None
        self.app: Any = None

    def use(self, app: Any) -> None:
        self.app = app
        self._transport = httpx.ASGITransport(app=app)

    def current(self) -> Any:
        """The selected simulator app (what the loopback server for Klaviyo's server serves)."""
        if self.app is None:
            raise RuntimeError("no simulator selected")
        return self.app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            raise RuntimeError("no simulator selected")
        return await self._transport.handle_async_request(request)


@dataclass
class World:
    """A fresh demo simulator and its store (for ground truth and for checking writes)."""

    app: Any
    now: datetime

    @property
    def account(self) -> Any:
        """The default demo account's store (tables of records, list/segment joins)."""
        sim = self.app.state.sim
        return sim.accounts[sim.default_account]

    def table(self, kind: str) -> list[Any]:
        """Every stored record of one resource type, in creation order."""
        return list(self.account.records(kind))

    def named(self, kind: str, name: str) -> Any:
        """The one record of ``kind`` whose ``name`` attribute is ``name``."""
        found = [r for r in self.table(kind) if r.attributes.get("name") == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {kind} records named {name!r} in the demo data")
        return found[0]

    async def raw(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """An independent raw HTTP read (no SDK): the document the simulator answers."""
        from codemode.simulator import DEMO_PRIVATE_KEY

        headers = {
            "Authorization": f"Klaviyo-API-Key {DEMO_PRIVATE_KEY}",
            "revision": self.app.state.sim.catalog.revision,
            "Accept": "application/vnd.api+json",
            "Content-Type": "application/vnd.api+json",
        }
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            response = await http.request(
                method, path, params=query or None, json=body, headers=headers
            )
        response.raise_for_status()
        return response.json() if response.content else None


@cache
def _seeded_account() -> bytes:
    from codemode.simulator import SimConfig, create_app

    sim = create_app(SimConfig(seed=0, now=ANCHOR, rate_limits=False)).state.sim
    return pickle.dumps(sim.accounts[sim.default_account], protocol=pickle.HIGHEST_PROTOCOL)


def new_world() -> World:
    """A fresh simulator (anchored at :data:`ANCHOR`) holding the seeded demo account."""
    from codemode.simulator import SimConfig, create_app

    # Seeding the demo account takes a second or two; every world after the first starts from a
    # pickled copy of the freshly seeded account instead (same records, same ids, same joins).
    app = create_app(SimConfig(seed=0, now=ANCHOR, rate_limits=False, profiles=1, events=0))
    sim = app.state.sim
    sim.accounts[sim.default_account] = pickle.loads(_seeded_account())
    return World(app=app, now=ANCHOR)


# -- the three kinds of scripted agent ---------------------------------------------------------


class _Agent:
    def __init__(self, client: Any, usage: Usage) -> None:
        self.client = client
        self.usage = usage
        self.shown_signatures: set[str] = set()

    def reset(self) -> None:
        """Start counting a new task (the definitions per turn stay as listed)."""
        self.usage = Usage(definition_tokens_per_turn=self.usage.definition_tokens_per_turn)
        self.shown_signatures = set()

    async def list_definitions(self) -> list[dict[str, Any]]:
        listed = await self.client.list_tools()
        tools = listed.tools if hasattr(listed, "tools") else listed
        views = [
            model_view(t.model_dump(mode="json", by_alias=True, exclude_none=True)) for t in tools
        ]
        self.usage.definition_tokens_per_turn = count_json(views)
        return views

    async def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        result = await self._call_raw(tool, arguments)
        text = text_of(result)
        self.usage.record(tool, arguments, text)
        if result.is_error:
            raise ToolFailed(f"{tool} failed: {text[:500]}")
        return text

    async def _call_raw(self, tool: str, arguments: dict[str, Any]) -> Any:
        return await self.client.call_tool(tool, arguments)


class ClassicAgent(_Agent):
    """Calls the one-tool-per-action server; every raw response enters the context."""

    async def call(self, tool: str, **arguments: Any) -> Any:
        """One tool call in its own turn; returns the parsed JSON:API document (None for 204)."""
        self.usage.turns += 1
        return self._parse(await self._call(tool, arguments))

    async def parallel(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Independent calls the model makes together in one turn."""
        if not calls:
            return []
        self.usage.turns += 1
        return [self._parse(await self._call(tool, args)) for tool, args in calls]

    async def pages(self, tool: str, **arguments: Any) -> list[dict[str, Any]]:
        """Every record of a listing: one turn per page, following ``links.next``."""
        return await follow_pages(self.call, tool, arguments)

    @staticmethod
    def _parse(text: str) -> Any:
        return None if text == "(no content)" else json.loads(text)


class CodeAgent(_Agent):
    """This project's three tools: search_api, get_signature, execute_code."""

    async def search(self, query: str, limit: int = 5) -> list[str]:
        """Ids of the functions found; those shown with their signature count as read."""
        self.usage.turns += 1
        self.usage.searches.append(query)
        await self._call("search_api", {"query": query, "limit": limit})
        results = self._structured.get("results", [])
        self.shown_signatures.update(r["id"] for r in results if r.get("signature"))
        return [r["id"] for r in results]

    async def signatures(self, names: list[str]) -> None:
        self.usage.turns += 1
        await self._call("get_signature", {"names": names})

    async def execute(self, code: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Run a script; returns the structured result (``output``, ``error``, ``calls``...)."""
        self.usage.turns += 1
        args: dict[str, Any] = {"code": code}
        if dry_run:
            args["dry_run"] = True
        await self._call("execute_code", args)
        return self._structured

    async def _call_raw(self, tool: str, arguments: dict[str, Any]) -> Any:
        result = await self.client.call_tool(tool, arguments)
        self._structured: dict[str, Any] = result.structured_content or {}
        return result


class PeerAgent(_Agent):
    """FastMCP CodeMode: search, get_schema, execute (``call_tool`` inside pydantic-monty)."""

    async def search(self, query: str, limit: int = 5) -> list[str]:
        self.usage.turns += 1
        self.usage.searches.append(query)
        text = await self._call("search", {"query": query, "limit": limit})
        return [line[2:].split(":", 1)[0] for line in text.splitlines() if line.startswith("- ")]

    async def get_schema(self, tools: list[str], detail: str = "detailed") -> None:
        self.usage.turns += 1
        args: dict[str, Any] = {"tools": tools}
        if detail != "detailed":
            args["detail"] = detail
        await self._call("get_schema", args)

    async def execute(self, code: str) -> Any:
        """Run the code; its return value (JSON text in the result) is the answer."""
        self.usage.turns += 1
        text = await self._call("execute", {"code": code})
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    async def _call_raw(self, tool: str, arguments: dict[str, Any]) -> Any:
        return await self.client.call_tool_mcp(tool, arguments)


class KlaviyoAgent(_Agent):
    """Klaviyo's own MCP server (28 curated tools): one tool call per turn, its answers as JSON."""

    async def call(self, tool: str, **arguments: Any) -> Any:
        """One tool call in its own turn; returns its parsed answer."""
        self.usage.turns += 1
        text = await self._call(tool, {"model": "other", **arguments})
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text


AnyAgent = ClassicAgent | PeerAgent | CodeAgent | KlaviyoAgent


@dataclass
class Bench:
    """The servers and their connected agents, built once, switched between worlds."""

    switch: Switch
    classic: ClassicAgent
    peer: PeerAgent | None
    code: CodeAgent
    peer_error: str | None = None
    klaviyo: KlaviyoAgent | None = None
    klaviyo_info: dict[str, Any] = field(default_factory=dict)
    classic_tools: frozenset[str] = frozenset()
    """The tools of the classic server (and so of FastMCP CodeMode over it)."""

    def agent(self, mode: str, world: World) -> AnyAgent:
        """The agent of ``mode``, pointed at ``world`` and with fresh counts."""
        agent: AnyAgent | None = {
            "classic": self.classic,
            "peer": self.peer,
            "code": self.code,
            "klaviyo": self.klaviyo,
        }[mode]
        if agent is None:
            reason = self.peer_error if mode == "peer" else self.klaviyo_info.get("reason")
            raise RuntimeError(f"{mode} is unavailable: {reason}")
        self.switch.use(world.app)
        agent.reset()
        return agent


@asynccontextmanager
async def open_bench(
    *, klaviyo: bool = False, log: Callable[[str], None] = lambda _: None
) -> AsyncIterator[Bench]:
    """Build the classic server, FastMCP CodeMode over it, and this project's server; connect all.

    With ``klaviyo``, also start Klaviyo's own server offline against a loopback simulator; when
    it cannot run, ``klaviyo_info`` says why and the others run as usual.
    """
    from codemode import AsyncKlaviyo
    from codemode.bench._classic import build_classic_server, tool_definitions
    from codemode.bench._peers import PeerUnavailable, build_fastmcp_codemode
    from codemode.config import Settings
    from codemode.server import build_server
    from codemode.simulator import DEMO_PRIVATE_KEY

    switch = Switch()
    http = httpx.AsyncClient(transport=switch, base_url=BASE_URL)
    sdk = AsyncKlaviyo(api_key=DEMO_PRIVATE_KEY, base_url=BASE_URL, http_client=http, max_retries=0)

    async def call(op: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        result = await sdk.call(op, **arguments)
        raw: dict[str, Any] | None = result.raw
        return raw

    # Destructive actions are allowed, as the other modes can perform them too (GDPR erasure task);
    # the task itself asks for a dry run, which only code mode offers. The scripted agent cannot
    # answer a confirmation form and the other modes ask nobody, so confirmation is waived: a
    # task then meets the API's own answer (a 409 for the default tag group), not a PolicyError.
    settings = Settings(
        demo=True, audit_disabled=True, allow_destructive=True, destructive_unconfirmed=True
    )
    code_server = build_server(settings, transport="memory", http_client=http)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(code_server.running())  # stops its sandbox at the end
        classic_client = await stack.enter_async_context(Client(build_classic_server(call)))
        code_client = await stack.enter_async_context(Client(code_server.mcp))
        classic = ClassicAgent(classic_client, Usage())
        code = CodeAgent(code_client, Usage())
        await classic.list_definitions()
        await code.list_definitions()
        peer: PeerAgent | None = None
        peer_error: str | None = None
        try:
            from fastmcp import Client as FastMCPClient

            proxy = await build_fastmcp_codemode(build_classic_server(call), stack)
            peer = PeerAgent(await stack.enter_async_context(FastMCPClient(proxy)), Usage())
            await peer.list_definitions()
        except (PeerUnavailable, ImportError) as exc:
            peer_error = str(exc)
        except Exception as exc:  # a peer that crashes is reported, and the others still run
            peer_error = f"crashed while starting: {type(exc).__name__}: {exc}"[:300]
        bench = Bench(
            switch=switch,
            classic=classic,
            peer=peer,
            code=code,
            peer_error=peer_error,
            classic_tools=frozenset(t.name for t in tool_definitions()),
        )
        if klaviyo:
            await _start_klaviyo(bench, stack, log)
        try:
            yield bench
        finally:
            await http.aclose()


async def _start_klaviyo(bench: Bench, stack: AsyncExitStack, log: Callable[[str], None]) -> None:
    from codemode.bench._klaviyo_server import connect_klaviyo, loopback
    from codemode.bench._peers import KLAVIYO_MCP_PACKAGE, PeerUnavailable, home_relative
    from codemode.simulator import DEMO_PRIVATE_KEY

    try:
        url = await stack.enter_async_context(loopback(bench.switch.current))
        client, version = await connect_klaviyo(stack, url, DEMO_PRIVATE_KEY, log)
        agent = KlaviyoAgent(client, Usage())
        listed = await client.list_tools()
        raw = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
        views = await agent.list_definitions()
    except PeerUnavailable as exc:
        bench.klaviyo_info = {"available": False, "reason": home_relative(str(exc))}
        return
    except Exception as exc:  # a peer that crashes is a note in the table, never a traceback
        reason = f"crashed: {type(exc).__name__}: {exc}"[:300]
        bench.klaviyo_info = {"available": False, "reason": home_relative(reason)}
        return
    bench.klaviyo = agent
    bench.klaviyo_info = {
        "available": True,
        "package": f"{KLAVIYO_MCP_PACKAGE} {version}",
        "tools": len(views),
        "tool_names": [t["name"] for t in views],
        "definition_tokens": agent.usage.definition_tokens_per_turn,
        "tools_list_tokens": count_json(raw),
    }
