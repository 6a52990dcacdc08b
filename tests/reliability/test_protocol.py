"""Malformed JSON-RPC frames: over HTTP (garbage POSTed to /mcp) and stdio (``codemode serve``
spawned, garbage lines on its stdin). Each is refused and the server keeps serving.

The stdio server runs with a canary key against the simulator served on 127.0.0.1 and logs at
DEBUG, so the same transcript also shows that its stdout and stderr never carry the key.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from codemode.server.credentials import key_principal
from codemode.simulator import SimConfig, create_app
from tests.reliability.conftest import BuildServer
from tests.server.conftest import http_client, serving

CODEMODE = Path(sys.executable).parent / "codemode"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

GARBAGE: list[tuple[str, bytes]] = [
    ("not_json", b"not json"),
    ("truncated", b'{"jsonrpc":"2.0","id":1,"method":"tools/li'),
    ("invalid_utf8", b"\xff\xfe\xfa{}"),
    ("nul_bytes", b'{"jsonrpc":"2.0",\x00"id":1}'),
    ("not_an_object", b"[]"),
    ("number", b"42"),
    ("no_method", b'{"jsonrpc":"2.0","id":1}'),
    ("wrong_version", b'{"jsonrpc":"1.0","id":1,"method":"ping"}'),
    ("object_id", b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'),
    ("deep_nesting", b"[" * 100_000 + b"]" * 100_000),
    ("lone_surrogate", b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\\ud800"}}'),
    (
        "huge_string",
        b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 4_000_000 + b'"}}',
    ),
]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_garbage_posted_to_mcp_gets_a_json_rpc_error_and_the_server_keeps_serving(
    make_server: BuildServer, mode: str
) -> None:
    built = make_server(transport="http")
    answers: dict[str, httpx.Response] = {}
    with anyio.fail_after(120):
        async with serving(built.http_app()) as url:
            async with httpx.AsyncClient(timeout=60) as raw:
                for name, body in GARBAGE:
                    answers[name] = await raw.post(url, content=body, headers=HEADERS)
                wrong_type = await raw.post(
                    url, content=b"x", headers={"content-type": "text/plain"}
                )
            async with http_client(url, mode=mode) as client:
                ran = await client.call_tool("execute_code", {"code": "print(6 * 7)"})
    for name, answer in answers.items():
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:200])
        error = answer.json()["error"]
        assert error["code"] in (-32700, -32600, -32602), (name, error)
        assert error["message"], name
        assert "Traceback" not in answer.text
    assert 400 <= wrong_type.status_code < 500
    assert ran.structured_content is not None and ran.structured_content["output"].strip() == "42"


STDIO_GARBAGE = [line for name, line in GARBAGE if name not in ("huge_string",)] + [b"\x00\x00"]


CANARY = "pk_canary_" + secrets.token_hex(12)
STDIO_CALLS = [
    "print(6 * 7)",
    "klaviyo.profiles.get_profile('nope')",
    "raise ValueError('boom')",
    "klaviyo.webhooks.create_webhook(name='x', endpoint_url='https://e.example', secret_key='k')",
]


def _stdio_transcript(tmp: Path) -> dict[str, Any]:
    """Spawn ``codemode serve``, send garbage then a real session; collect the output."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "garbage", "version": "0"},
        },
    }
    frames = [line.replace(b"\n", b" ") + b"\n" for line in STDIO_GARBAGE]
    frames += [
        json.dumps(initialize).encode() + b"\n",
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n',
        *(line.replace(b"\n", b" ") + b"\n" for line in STDIO_GARBAGE[:4]),
        b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n',
        b'{"jsonrpc":"2.0","id":3,"method":"no/such/method"}\n',
        *(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 4 + n,
                    "method": "tools/call",
                    "params": {"name": "execute_code", "arguments": {"code": code}},
                }
            ).encode()
            + b"\n"
            for n, code in enumerate(STDIO_CALLS)
        ),
    ]
    # Requests run concurrently: wait for every answer before closing stdin (which ends the server).
    awaited = [f'"id":{i},'.encode() for i in range(1, 4 + len(STDIO_CALLS))]
    env = {**os.environ, "CODEMODE_AUDIT_DB": str(tmp / "audit.sqlite3"), "HOME": str(tmp)}
    env["KLAVIYO_API_KEY"] = CANARY

    async def main() -> dict[str, Any]:
        out = b""
        errors = b""
        sim = create_app(SimConfig(profiles=20, events=40))
        with anyio.fail_after(180):
            async with serving(sim) as url:
                env["KLAVIYO_BASE_URL"] = url.removesuffix("/mcp")
                command = [str(CODEMODE), "serve", "--log-level", "DEBUG"]
                async with await anyio.open_process(command, env=env) as proc:
                    assert proc.stdin is not None and proc.stdout is not None
                    assert proc.stderr is not None
                    for frame in frames:
                        await proc.stdin.send(frame)
                    while not all(marker in out for marker in awaited):
                        out += await proc.stdout.receive()
                    await proc.stdin.aclose()
                    async for chunk in proc.stdout:
                        out += chunk
                    async for chunk in proc.stderr:
                        errors += chunk
                    code = await proc.wait()
        audit = b"".join(p.read_bytes() for p in tmp.glob("audit.sqlite3*"))
        return {"stdout": out, "stderr": errors, "returncode": code, "audit": audit}

    return anyio.run(main)


@pytest.fixture(scope="module")
def stdio_transcript(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _stdio_transcript(tmp_path_factory.mktemp("stdio"))


def _messages(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in transcript["stdout"].splitlines() if line.strip()]


def test_garbage_on_stdin_neither_stops_the_stdio_server_nor_reaches_stdout(
    stdio_transcript: dict[str, Any],
) -> None:
    messages = _messages(stdio_transcript)  # every stdout line is JSON (json.loads would fail)
    by_id = {m.get("id"): m for m in messages}
    assert "result" in by_id[1] and "tools" in by_id[2]["result"]
    assert by_id[3]["error"]["code"] == -32601
    assert by_id[4]["result"]["structuredContent"]["output"].strip() == "42"
    assert stdio_transcript["returncode"] == 0  # it ended because stdin closed, not a crash
    assert b"Traceback" not in stdio_transcript["stderr"]


def test_the_stdio_servers_stdout_stderr_and_audit_never_carry_the_key(
    stdio_transcript: dict[str, Any],
) -> None:
    by_id = {m.get("id"): m for m in _messages(stdio_transcript)}
    kinds = [by_id[4 + n]["result"]["structuredContent"]["error"] for n in range(len(STDIO_CALLS))]
    assert kinds[0] is None
    assert [k["type"] for k in kinds[1:]] == ["NotFoundError", "ValueError", "PolicyError"]
    assert b"DEBUG" in stdio_transcript["stderr"] or len(stdio_transcript["stderr"]) > 200
    assert key_principal(CANARY).encode() in stdio_transcript["audit"]  # the runs were audited
    for where in ("stdout", "stderr", "audit"):
        assert CANARY.encode() not in stdio_transcript[where], where
        assert CANARY[3:].encode() not in stdio_transcript[where], where


def test_each_garbage_line_on_stdin_is_answered_with_a_json_rpc_error(
    stdio_transcript: dict[str, Any],
) -> None:
    errors = [m for m in _messages(stdio_transcript) if m.get("id") is None and "error" in m]
    assert len(errors) >= len(STDIO_GARBAGE)
    assert {e["error"]["code"] for e in errors} <= {-32700, -32600}
