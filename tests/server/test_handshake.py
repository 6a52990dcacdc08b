"""``codemode serve`` answers ``initialize`` before the SDK loads, exactly as the SDK would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_types import version as mcp_versions

from codemode.server.handshake import HANDSHAKE_VERSIONS, initialize_result

CODEMODE = Path(sys.executable).parent / "codemode"


def _initialize(version: str, ident: Any = 1) -> bytes:
    message = {
        "jsonrpc": "2.0",
        "id": ident,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    return (json.dumps(message) + "\n").encode()


def _serve(*lines: bytes, answers: int, tmp_path: Path) -> tuple[list[dict[str, Any]], str]:
    """Send ``lines``, read ``answers`` answers, then close stdin (EOF ends the server)."""
    env = {k: v for k, v in os.environ.items() if k != "KLAVIYO_API_KEY"}
    env.update(CODEMODE_AUDIT_DB="off", HOME=str(tmp_path))
    err = tmp_path / "stderr.txt"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(CODEMODE), "serve", "--demo", "--log-level", "WARNING"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"".join(lines))
            proc.stdin.flush()
            got = [json.loads(proc.stdout.readline()) for _ in range(answers)]
            proc.stdin.close()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stdin.close()
    return got, err.read_text(errors="replace")


def test_the_versions_offered_are_the_sdks() -> None:
    assert tuple(mcp_versions.HANDSHAKE_PROTOCOL_VERSIONS) == HANDSHAKE_VERSIONS
    assert HANDSHAKE_VERSIONS[-1] == mcp_versions.LATEST_HANDSHAKE_VERSION


@pytest.mark.parametrize("version", ["2024-11-05", "2025-11-25", "2026-07-28", "1999-01-01"])
def test_the_early_answer_is_the_sdks_answer_and_is_sent_once(version: str, tmp_path: Path) -> None:
    tools = b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    tools += b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'

    answers, stderr = _serve(_initialize(version), tools, answers=2, tmp_path=tmp_path)

    assert [a.get("id") for a in answers] == [1, 2], (answers, stderr)
    assert answers[0]["result"] == initialize_result(version)
    # The SDK ran the same handshake afterwards; its answer, dropped, was logged if different.
    assert "differed" not in stderr, stderr
    assert "execute_code" in json.dumps(answers[1])


def test_a_first_line_that_is_not_initialize_is_left_to_the_sdk(tmp_path: Path) -> None:
    answers, stderr = _serve(
        b"not json\n", _initialize("2025-11-25", ident="a"), answers=2, tmp_path=tmp_path
    )

    assert answers[0]["error"]["code"] == -32700, (answers, stderr)
    assert answers[1]["id"] == "a" and answers[1]["result"] == initialize_result("2025-11-25")
    assert "differed" not in stderr, stderr
