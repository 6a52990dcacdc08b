"""``codemode serve`` answers ``initialize`` before the SDK loads, exactly as the SDK would."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp_types import version as mcp_versions

from codemode.server.handshake import (
    HANDSHAKE_VERSIONS,
    EarlyAnswers,
    initialize_result,
    tools_list_result,
)

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


def _serve(
    *lines: bytes, answers: int, tmp_path: Path, flags: tuple[str, ...] = ()
) -> tuple[list[dict[str, Any]], str]:
    """Send ``lines``, read ``answers`` answers, then close stdin (EOF ends the server)."""
    env = {k: v for k, v in os.environ.items() if k != "KLAVIYO_API_KEY"}
    env.update(CODEMODE_AUDIT_DB="off", HOME=str(tmp_path), COLUMNS="400")
    err = tmp_path / "stderr.txt"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            [str(CODEMODE), "serve", "--demo", "--log-level", "DEBUG", *flags],
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


def test_tools_list_is_answered_early_as_the_sdk_answers_it_read_only_too(tmp_path: Path) -> None:
    lines = _initialize("2025-11-25") + b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    lines += b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
    lines += b'{"jsonrpc":"2.0","id":3,"method":"resources/list"}\n'  # the SDK's to answer

    for flags, variant in (((), "read_write"), (("--read-only",), "read_only")):
        answers, stderr = _serve(lines, answers=3, tmp_path=tmp_path, flags=flags)

        assert [a.get("id") for a in answers] == [1, 2, 3], (answers, stderr)
        assert answers[1]["result"] == tools_list_result(read_only=bool(flags))
        # The SDK listed the tools too; its answer was compared with the early one and dropped.
        assert "request 2 was sent early" in " ".join(stderr.split()), stderr
        assert "differed" not in stderr, stderr
        described = {t["name"]: t["description"] for t in answers[1]["result"]["tools"]}
        assert ("read-only" in described["execute_code"]) is (variant == "read_only")


# In process, over pipes: what the reader answers by itself, and what it leaves to the SDK.


class _Wire:
    def __init__(self, read_only: bool = False) -> None:
        self.client_w, self.server_r = _pipe()
        self.server_w, self.client_r = _pipe()
        self.early = EarlyAnswers.start(
            read_only=read_only, fd_in=self.server_r, fd_out=self.server_w
        )
        self._buffer = b""

    def send(self, *messages: dict[str, Any] | bytes) -> None:
        for m in messages:
            os.write(self.client_w, m if isinstance(m, bytes) else (json.dumps(m) + "\n").encode())

    def answer(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.client_r], [], [], 10)
            assert ready, "no answer within 10 s"
            self._buffer += os.read(self.client_r, 1 << 16)
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)  # type: ignore[no-any-return]

    def stopped_by_itself(self) -> bool:
        """The reader stopped at a line it leaves to the SDK (or the end of input)."""
        self.early._thread.join(timeout=10)
        return not self.early._thread.is_alive()

    def nothing_more(self) -> bool:
        return not self._buffer and not select.select([self.client_r], [], [], 0.2)[0]

    def unread(self) -> bytes:
        ready, _, _ = select.select([self.server_r], [], [], 0.2)
        return os.read(self.server_r, 1 << 16) if ready else b""

    def close(self) -> None:
        for fd in (self.client_w, self.server_r, self.server_w, self.client_r):
            os.close(fd)


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    return w, r  # (writer, reader) as the caller names them: the first is written by one side


def _request(ident: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        message["params"] = params
    return message


@pytest.fixture
def wire() -> Any:
    w = _Wire()
    yield w
    w.early.finish()
    w.close()


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def test_the_reader_answers_initialize_ping_and_tools_list_by_itself(wire: _Wire) -> None:
    wire.send(
        _initialize("2025-06-18"), INITIALIZED, _request(2, "ping"), _request(3, "tools/list")
    )

    assert wire.answer()["result"] == initialize_result("2025-06-18")
    assert wire.answer() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert wire.answer()["result"] == tools_list_result(read_only=False)
    assert [a["id"] for a in wire.early.answered] == [1, 2, 3]


def test_the_first_line_without_a_fixed_answer_stops_the_reader_and_nothing_after_it_is_read(
    wire: _Wire,
) -> None:
    call = _request(2, "tools/call", {"name": "search_api", "arguments": {"query": "lists"}})
    wire.send(_initialize("2025-11-25"), INITIALIZED, call, _request(3, "tools/list"))
    wire.answer()

    assert wire.stopped_by_itself()

    assert wire.nothing_more()
    assert [json.loads(x).get("id") for x in wire.early.lines] == [1, None, 2]
    assert wire.unread() == (json.dumps(_request(3, "tools/list")) + "\n").encode()


@pytest.mark.parametrize(
    "line",
    [
        _request(2, "tools/list", {"cursor": "abc"}),  # a later page: the SDK's
        {"jsonrpc": "2.0", "id": True, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "extra": 1},
        {"jsonrpc": "1.0", "id": 2, "method": "ping"},
    ],
)
def test_requests_that_are_not_exactly_as_expected_are_left_to_the_sdk(
    wire: _Wire, line: dict[str, Any]
) -> None:
    wire.send(_initialize("2025-11-25"), line)
    wire.answer()

    assert wire.stopped_by_itself()

    assert wire.nothing_more()
    assert len(wire.early.lines) == 2 and len(wire.early.answered) == 1


def test_nothing_is_answered_early_before_an_initialize(wire: _Wire) -> None:
    wire.send(_request(1, "tools/list"), _initialize("2025-11-25"))

    assert wire.stopped_by_itself()

    assert wire.nothing_more() and wire.early.answered == []
    assert wire.early.lines == [b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}']
    assert wire.unread() == _initialize("2025-11-25")


def test_finish_stops_at_a_line_boundary_and_leaves_later_input_unread(wire: _Wire) -> None:
    wire.send(_initialize("2025-11-25"))
    wire.answer()

    wire.early.finish()
    wire.send(_request(2, "tools/list"))

    assert wire.nothing_more()
    assert wire.unread() == (json.dumps(_request(2, "tools/list")) + "\n").encode()


def test_the_reader_ends_at_the_end_of_input() -> None:
    w = _Wire()
    os.close(w.client_w)

    assert w.stopped_by_itself() and w.early.lines == []
    w.early.finish()
    for fd in (w.server_r, w.server_w, w.client_r):
        os.close(fd)
