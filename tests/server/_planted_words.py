"""A demo server whose user declines every confirmation, with words planted in the data and read
into a session's store one run at a time (no single answer holds them together): red team
rounds 13 and 14 build destructive calls from them to see what the confirmation question shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mcp import Client
from mcp_types import ElicitResult


@dataclass
class PlantedWords:
    """The MCP client, the session whose ``store['w']`` holds the words, the questions asked."""

    client: Client
    session: dict[str, Any]
    asked: list[str] = field(default_factory=list)


@asynccontextmanager
async def words_in_store(
    audit_db: Path, words: Sequence[str], tag: str
) -> AsyncIterator[PlantedWords]:
    """``words`` as the first names of profiles ``w<i>@<tag>.test``, each read by a run of its own
    and appended to ``store['w']``; destructive actions allowed, every question declined."""
    from codemode.config import Settings
    from codemode.server import DEMO_BASE_URL, build_server
    from codemode.simulator import SimConfig, create_app

    asked: list[str] = []

    async def elicit(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    sim = create_app(SimConfig(profiles=5, events=5))
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=DEMO_BASE_URL)
    built = build_server(
        Settings(demo=True, audit_db=audit_db, allow_destructive=True),
        transport="memory",
        http_client=raw,
        log_level="ERROR",
    )
    seed = "".join(
        f"klaviyo.profiles.create_profile(attributes={{'email': 'w{i}@{tag}.test', "
        f"'first_name': {w!r}}})\n"
        for i, w in enumerate(words)
    )
    async with built.running(), Client(built.mcp, mode="legacy", elicitation_callback=elicit) as c:
        await c.call_tool("execute_code", {"code": seed})
        session: dict[str, Any] = {}
        for i in range(len(words)):
            read = (
                "store.setdefault('w', []).append(klaviyo.profiles.get_profiles("
                f"filter=F.equals('email', 'w{i}@{tag}.test')).data[0]['first_name'])"
            )
            ran = await c.call_tool("execute_code", {"code": read, **session})
            assert ran.structured_content is not None
            session = {"session": ran.structured_content["session"]}
        yield PlantedWords(c, session, asked)
