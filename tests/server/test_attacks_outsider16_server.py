"""Red team round 16 through the MCP transports: text that is not valid Unicode in the tools'
arguments and in what a script prints, sent over the real stdio transport as raw JSON-RPC (the
official client would refuse to encode it), and the store and the audit log after it.

Written before reading the defences (see tests/sandbox/test_attacks_outsider16.py for the rest).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from codemode.audit import AuditLog
from codemode.extensions import composite
from tests.server.conftest import BuildServer, text_of

CODEMODE = Path(sys.executable).parent / "codemode"


class RawStdio:
    """``codemode serve --demo`` over stdio, driven with hand-written JSON-RPC lines."""

    def __init__(self, tmp_path: Path) -> None:
        env = {"CODEMODE_AUDIT_DB": str(tmp_path / "audit.sqlite3"), "HOME": str(tmp_path)}
        self.proc = subprocess.Popen(
            [str(CODEMODE), "serve", "--demo"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.next_id = 0

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
        self.proc.stdin.flush()

    def request(
        self, method: str, params: dict[str, Any], raw: str | None = None, refusal: bool = False
    ) -> Any:
        """Send a request (``raw``: its params as JSON text, to carry escapes json.dumps would
        not write) and read lines until its answer (``refusal``: or a parse error, which has no
        id)."""
        self.next_id += 1
        body = raw if raw is not None else json.dumps(params)
        self.send(f'{{"jsonrpc":"2.0","id":{self.next_id},"method":"{method}","params":{body}}}')
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                return {"closed": True}
            message = json.loads(line)
            if message.get("id") == self.next_id:
                return message
            if refusal and message.get("id") is None and "error" in message:
                return message
        return {"no answer": True}

    def start(self) -> None:
        self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "r16", "version": "0"},
            },
        )
        self.send('{"jsonrpc":"2.0","method":"notifications/initialized"}')

    def close(self) -> str:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when the server hangs
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode("utf-8", "replace")
        self.proc.stderr.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return err


def _call(code_json: str, extra: str = "") -> str:
    """The params of an ``execute_code`` call whose code is the JSON string ``code_json``."""
    return f'{{"name":"execute_code","arguments":{{"code":{code_json}{extra}}}}}'


# Each: the code as JSON text, extra arguments. ``\\ud800`` in the JSON text is a lone surrogate
# the tool argument itself holds; ``\\\\ud800`` is one the script makes at run time.
ODD = {
    "argument-print-lone-surrogate": ("\"print('a\\ud800b')\"", ""),
    "script-print-lone-surrogate": ("\"print('a\\\\ud800b')\"", ""),
    "argument-comment-lone-surrogate": ('"# \\udc00\\nprint(1)"', ""),
    "script-raise-lone-surrogate": ("\"raise ValueError('\\\\ud83d')\"", ""),
    "script-error-line-surrogate-name": ('"x\\\\ud800 = 1"', ""),
    "argument-code-holds-nul": ('"print(1)\\u0000"', ""),
    "argument-session-lone-surrogate": ("\"store['a'] = 1\\nprint(2)\"", ',"session":"s\\ud800"'),
    "argument-session-nul": ('"print(3)"', ',"session":"s\\u0000t"'),
    "argument-session-huge": ('"print(3)"', ',"session":"' + "s" * 2_000_000 + '"'),
    "script-store-key-lone-surrogate": (
        "\"store['\\\\ud800'] = '\\\\udfff'\\nprint(4)\"",
        ',"session":"odd"',
    ),
    "script-dry-run-body-surrogate": (
        "\"klaviyo.lists.create_list(attributes={'name': '\\\\ud800'})\\nprint(5)\"",
        ',"dry_run":true',
    ),
    "script-filter-surrogate": (
        "\"klaviyo.profiles.get_profiles(filter=F.equals('email', '\\\\ud800'))\\nprint(6)\"",
        "",
    ),
}


@pytest.mark.parametrize("name", list(ODD), ids=[f"S-{k}" for k in ODD])
def test_text_that_is_not_valid_unicode_never_breaks_the_stdio_server(
    tmp_path: Path, name: str
) -> None:
    """Every such call gets an answer the transport could send, the server keeps answering, and
    the run is in the audit log."""
    code, extra = ODD[name]
    server = RawStdio(tmp_path)
    try:
        server.start()
        answer = server.request("tools/call", {}, raw=_call(code, extra), refusal=True)
        after = server.request(
            "tools/call", {"name": "execute_code", "arguments": {"code": "print('alive')"}}
        )
    finally:
        err = server.close()
    assert "result" in answer or "error" in answer, answer
    assert "Traceback" not in err, err[-3000:]
    assert after.get("result", {}).get("structuredContent", {}).get("output", "").strip() == (
        "alive"
    ), (after, err[-3000:])
    rows = AuditLog(tmp_path / "audit.sqlite3").rows()
    assert len(rows) in (1, 2), rows  # the refused call may have no row; the next one has
    json.dumps(rows).encode("utf-8")


async def test_a_store_holding_odd_text_stays_usable_in_the_next_run(
    make_server: BuildServer,
) -> None:
    """A store whose keys and values are not valid Unicode does not break the session: the next
    run of the session still starts and reads what it can."""
    built = make_server()
    async with built.running(), Client(built.mcp) as c:
        first = await c.call_tool(
            "execute_code",
            {
                "code": "store['k\\ud800'] = 'v\\udc00'\nstore['n'] = 7\nprint('kept')",
                "session": "u",
            },
        )
        second = await c.call_tool(
            "execute_code", {"code": "print(store.get('n'))", "session": "u"}
        )
    assert "kept" in text_of(first) or first.is_error
    assert text_of(second).strip().splitlines()[0] in ("7", "None"), text_of(second)


@composite(name="tag_lists_r16", summary="Read the account's lists.", kind="read")
async def tag_lists_r16(klaviyo: Any, name: str) -> dict[str, Any]:
    """Declared a read, but writes: under a dry run its write must be planned, not sent."""
    await klaviyo.call("create_list", attributes={"name": name})
    return {"ok": True}


@composite(name="make_list_r16", summary="Create a list.", kind="write")
async def make_list_r16(klaviyo: Any, name: str) -> dict[str, Any]:
    """A declared write: under a dry run, nothing is sent either."""
    await klaviyo.call("create_list", attributes={"name": name})
    return {"ok": True}


@composite(name="client_profile_r16", summary="Look a profile up.", kind="read")
async def client_profile_r16(klaviyo: Any, email: str) -> dict[str, Any]:
    """Declared a read, but creates a profile through a client action (public key)."""
    accounts = await klaviyo.call("get_accounts")
    public = accounts.records[0]["public_api_key"]
    await klaviyo.call("create_client_profile", company_id=public, attributes={"email": email})
    return {"ok": True}


DRY = {
    "read-composite-that-writes": "klaviyo.custom.tag_lists_r16(name='dry r16 a')",
    "write-composite": "klaviyo.custom.make_list_r16(name='dry r16 b')",
    "read-composite-client-write": "klaviyo.custom.client_profile_r16(email='dry@r16c.test')",
}


@pytest.mark.parametrize("code", list(DRY.values()), ids=[f"S-dry-{k}" for k in DRY])
async def test_a_dry_run_never_sends_what_a_composite_writes(
    make_server: BuildServer, code: str
) -> None:
    built = make_server(composites=(tag_lists_r16, make_list_r16, client_profile_r16))
    async with built.running(), Client(built.mcp) as c:
        await c.call_tool("execute_code", {"code": code + "\nprint('done')", "dry_run": True})
        after = await c.call_tool(
            "execute_code",
            {
                "code": "print([l['name'] for l in klaviyo.lists.get_lists().all()])\n"
                "print(len(klaviyo.profiles.get_profiles("
                "filter=F.equals('email', 'dry@r16c.test')).data))"
            },
        )
    text = text_of(after)
    assert "dry r16" not in text, text
    assert text.strip().splitlines()[-1] == "0", text
