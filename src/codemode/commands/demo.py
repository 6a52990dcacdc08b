"""``codemode demo``: the main job on the embedded demo account, with no account and no network.

It starts the Klaviyo simulator in-process, connects the official ``mcp`` client to the server
(in-memory transport) and walks through real tasks the way an agent does: search, read a
signature, run a script that prints only the answer. For each task it then counts what the
conversation cost in tokens against the classic one-tool-per-action approach on the same task:

- code mode: the three tool definitions, plus every tool call's arguments and its text result;
- classic: every action's tool definition, plus each Klaviyo call's parameters and its raw
  JSON:API response (captured from the very requests the script made), which a classic server
  puts in the model's context. Tool definitions are counted once per task for both, which
  favours the classic side.

Counts use the o200k_base tokenizer when the benchmark extra is installed, else a labelled
estimate (characters / 4).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import typer

_NEXT = "Then connect a real client: see docs/clients.md (Claude Desktop, Cursor, VS Code)."


@dataclass
class Step:
    """One tool call an agent makes."""

    tool: str
    arguments: dict[str, Any]


@dataclass
class Task:
    """A task and the calls an agent makes to solve it."""

    short: str
    title: str
    steps: list[Step]


@dataclass
class Tally:
    """Tokens a task cost, both ways."""

    code_mode: int = 0
    classic: int = 0
    http_calls: int = 0
    raw: list[tuple[str, str]] = field(default_factory=list)


TASKS = [
    Task(
        "Top countries",
        "Where do our profiles live? The top 5 countries.",
        [
            Step("search_api", {"query": "all profiles with their location", "limit": 3}),
            Step("get_signature", {"names": ["get_profiles"]}),
            Step(
                "execute_code",
                {
                    "code": (
                        "from collections import Counter\n"
                        "countries = Counter()\n"
                        "for p in klaviyo.profiles.get_profiles(page_size=100).all():\n"
                        "    countries[(p.get('location') or {}).get('country') or 'unknown'] += 1\n"
                        "for country, n in countries.most_common(5):\n"
                        "    print(f'{country}: {n}')\n"
                    )
                },
            ),
        ],
    ),
    Task(
        "List sizes",
        "Which lists do we have, and how many profiles are on each?",
        [
            Step("search_api", {"query": "lists and how many profiles each has", "limit": 3}),
            Step("get_signature", {"names": ["get_lists", "get_profiles_for_list"]}),
            Step(
                "execute_code",
                {
                    "code": (
                        "for l in klaviyo.lists.get_lists().all():\n"
                        "    members = klaviyo.lists.get_profiles_for_list(l['id'], page_size=100)\n"
                        "    print(f\"{l['name']}: {sum(1 for _ in members.all())}\")\n"
                    )
                },
            ),
        ],
    ),
    Task(
        "VIP list (dry run)",
        "Plan it first: a 'VIP (demo)' list with our 10 newest profiles (dry run, nothing is sent).",
        [
            Step("search_api", {"query": "create a list and add profiles to it", "limit": 3}),
            Step("get_signature", {"names": ["create_list", "add_profiles_to_list"]}),
            Step(
                "execute_code",
                {
                    "dry_run": True,
                    "code": (
                        "newest = klaviyo.profiles.get_profiles(sort='-created', page_size=10)\n"
                        "vip = klaviyo.lists.create_list(attributes={'name': 'VIP (demo)'})\n"
                        "list_id = (vip.data or {}).get('id', 'NEW_LIST')  # a planned write returns no data\n"
                        "klaviyo.lists.add_profiles_to_list(list_id, ids=[p['id'] for p in newest])\n"
                        "print(f'{len(newest)} profiles planned for the VIP list')\n"
                    ),
                },
            ),
        ],
    ),
]


def _counter() -> tuple[Callable[[str], int], str]:
    try:
        from codemode.bench._tokens import count_tokens

        count_tokens("probe")
        return count_tokens, "o200k_base tokens"
    except Exception:  # the bench extra is optional: fall back to a clearly labelled estimate
        return (
            lambda text: (len(text) + 3) // 4
        ), "estimated tokens (characters / 4; install the bench extra for exact counts)"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _short(text: str, lines: int = 14) -> str:
    rows = text.splitlines()
    return "\n".join(
        rows[:lines] + ([f"... ({len(rows) - lines} more lines)"] if len(rows) > lines else [])
    )


async def run_tasks(
    console: Any, count: Callable[[str], int], unit: str, sim_config: Any = None
) -> list[tuple[Task, Tally]]:
    """Run :data:`TASKS` through the official MCP client against a fresh demo simulator.

    Args:
        console: A ``rich`` console for the live view.
        count: Token counter for one string.
        unit: What ``count`` counts, for the headings.
        sim_config: The simulator's ``SimConfig`` (default: the full demo account).
    """
    import httpx
    from mcp import Client
    from mcp_types import TextContent
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    from codemode.bench._classic import tool_definitions
    from codemode.config import Settings
    from codemode.server import DEMO_BASE_URL, build_server
    from codemode.simulator import SimConfig, create_app

    current: list[Tally] = []

    async def capture(response: httpx.Response) -> None:
        body = await response.aread()
        if current:
            current[-1].http_calls += 1
            current[-1].raw.append(
                (str(response.request.url.query.decode()), body.decode("utf-8", "replace"))
            )

    with console.status("starting the demo simulator (seeded account, in-process)"):
        sim = create_app(sim_config or SimConfig())
        http_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim),
            base_url=DEMO_BASE_URL,
            event_hooks={"response": [capture]},
        )
        settings = Settings(demo=True, audit_disabled=True)
        built = build_server(
            settings, transport="memory", http_client=http_client, log_level="ERROR"
        )
        classic_defs = count(
            _dumps(
                [
                    t.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for t in tool_definitions()
                ]
            )
        )

    results: list[tuple[Task, Tally]] = []
    async with built.running(), Client(built.mcp) as client:
        listed = await client.list_tools()
        ours = count(
            _dumps(
                [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
            )
        )
        console.print(
            f"Connected the official MCP client: {len(listed.tools)} tools "
            f"({', '.join(t.name for t in listed.tools)}), {ours:,} {unit.split(' (')[0]} of definitions "
            f"against {classic_defs:,} for {len(tool_definitions())} classic one-per-action tools.\n"
        )
        session: str | None = None
        for number, task in enumerate(TASKS, 1):
            console.rule(f"[bold]Task {number}: {task.title}")
            tally = Tally(code_mode=ours, classic=classic_defs)
            current.append(tally)
            for step in task.steps:
                args = dict(step.arguments)
                if step.tool == "execute_code" and session:
                    args["session"] = session
                shown = ", ".join(
                    f"{k}={v!r}" if k != "code" else "code=<script below>" for k, v in args.items()
                )
                console.print(f"[cyan]→ {step.tool}[/]({escape(shown)})")
                if "code" in args:
                    console.print(
                        Panel(
                            Text(args["code"].rstrip()),
                            title="script",
                            border_style="dim",
                            expand=False,
                        )
                    )
                started = time.perf_counter()
                with console.status(f"{step.tool} running"):
                    result = await client.call_tool(step.tool, args)
                ms = (time.perf_counter() - started) * 1000
                text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
                tally.code_mode += count(_dumps({"name": step.tool, "arguments": args})) + count(
                    text
                )
                if step.tool == "execute_code" and result.structured_content:
                    session = result.structured_content.get("session") or session
                style = "red" if result.is_error else "green"
                console.print(
                    Panel(
                        Text(_short(text)),
                        title=f"{step.tool} · {ms:.0f} ms",
                        border_style=style,
                        expand=False,
                    )
                )
            for query, body in tally.raw:
                tally.classic += count(_dumps({"query": query})) + count(body)
            if tally.http_calls == 0:
                console.print(
                    "[yellow]note: no Klaviyo request reached the simulator in this task[/]"
                )
            results.append((task, tally))
    return results


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""

    @app.command(
        help="Walk through real tasks on the built-in demo account (no account, no network)."
    )
    def demo() -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        try:
            import anyio

            from codemode.server import build_server  # noqa: F401  (fail early with a clear message)
            from codemode.simulator import create_app  # noqa: F401
        except ImportError as exc:
            console.print(
                f"[red]codemode demo: a part is missing ({exc}); reinstall with `make install`[/]"
            )
            raise typer.Exit(1) from None
        count, unit = _counter()
        started = time.perf_counter()
        try:
            results = anyio.run(run_tasks, console, count, unit)
        except Exception as exc:  # the demo must end with a message, never a traceback
            console.print(f"[red]codemode demo failed: {type(exc).__name__}: {exc}[/]")
            console.print("Run `make test` to see which part is broken.")
            raise typer.Exit(1) from None
        table = Table(title=f"Tokens per task ({unit})", title_justify="left")
        for name in (
            "task",
            "code mode",
            "classic (one tool per action)",
            "Klaviyo calls",
            "saved",
        ):
            table.add_column(name, justify="right" if name != "task" else "left")
        for task, tally in results:
            saved = 1 - tally.code_mode / tally.classic if tally.classic else 0.0
            table.add_row(
                task.short,
                f"{tally.code_mode:,}",
                f"{tally.classic:,}",
                str(tally.http_calls),
                f"{saved:.1%}",
            )
        console.print()
        console.print(table)
        console.print(
            "Classic = every action's tool definition + each call's raw JSON response; code mode = three "
            "tool definitions + what each call sent and printed. Definitions are counted once per task."
        )
        console.print(f"\nDone in {time.perf_counter() - started:.1f} s. {_NEXT}")
        console.print(
            "Claude Desktop, no account needed:\n"
            '  {"mcpServers": {"klaviyo-demo": {"command": "codemode", "args": ["serve", "--demo"]}}}\n'
            "Cursor (~/.cursor/mcp.json), your account:\n"
            '  {"mcpServers": {"klaviyo": {"command": "codemode", "args": ["serve"], '
            '"env": {"KLAVIYO_API_KEY": "${env:KLAVIYO_API_KEY}"}}}}'
        )
