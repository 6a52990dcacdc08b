"""A worker already taken over (layer 1 and the proxy bypassed) talks to the host directly.

It can put anything on its socket: non-JSON numbers, frames near and over the cap, forged calls
in any number, forged dry-run writes. The host must stay bounded and correct: each attack states
what the host does (which protocol error ends the run, what it records, what it refuses).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from codemode.sandbox import BridgeReply, Limits, Sandbox
from codemode.sandbox.channel import AsyncChannel
from codemode.sandbox.protocol import HEADER, ProtocolError, encode, recv_frame
from codemode.sandbox.runner import _FRAME_SLACK, _OVER_LIMIT_CALLS, _Run, _StopRun

from .conftest import FakeBridge

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(
    wall_s=5.0, max_calls=20, output_bytes=2048, call_bytes=64 * 1024, planned_bytes=4096
)


class PlanningBridge(FakeBridge):
    """Answers every write as planned (a dry run), echoing the parameters."""

    async def call(self, op_id: str, args: Sequence[Any], params: Mapping[str, Any]) -> BridgeReply:
        self.calls.append((op_id, list(args), dict(params)))
        return BridgeReply(raw={"data": None}, planned=True, params=dict(params))


def raw_frame(body: bytes) -> bytes:
    return len(body).to_bytes(HEADER, "big") + body


def call_frame(op: str = "get_profiles", **params: Any) -> bytes:
    return encode({"t": "call", "op": op, "args": [], "params": params})


async def converse(
    frames: list[bytes], bridge: FakeBridge | None = None
) -> tuple[_Run, BaseException | None, FakeBridge]:
    """Play a hostile worker that sends ``frames`` after the hello (answers are drained)."""
    host, worker = socket.socketpair()
    sandbox = Sandbox(limits=LIMITS)
    run = _Run(LIMITS, dry_run=False)
    bridge = bridge or FakeBridge()

    def hostile() -> None:
        worker.sendall(encode({"t": "hello", "isolation": {"uid": 1}}))
        recv_frame(worker)
        worker.settimeout(5)
        for frame in frames:
            try:
                worker.sendall(frame)
                if b'"t":"call"' in frame[:64]:
                    recv_frame(worker)  # the host's answer
            except OSError:
                break
        worker.close()

    thread = threading.Thread(target=hostile)
    thread.start()
    error: BaseException | None = None
    channel = AsyncChannel(
        host,
        max_frame=max(LIMITS.call_bytes, LIMITS.store_bytes, LIMITS.output_bytes) + _FRAME_SLACK,
    )
    try:
        with anyio.fail_after(20):
            await sandbox._converse(channel, "pass", {}, bridge, run, None)
    except (ProtocolError, _StopRun) as exc:
        error = exc
    host.close()  # a worker still sending meets a closed socket, as after a kill
    thread.join(10)
    return run, error, bridge


async def test_nan_in_a_forged_call_ends_the_run_as_a_protocol_error() -> None:
    run, error, bridge = await converse(
        [raw_frame(b'{"t":"call","op":"get_profiles","args":[],"params":{"x":NaN}}')]
    )
    assert isinstance(error, ProtocolError) and "undecodable frame" in str(error)
    assert bridge.calls == [] and run.calls == []


@pytest.mark.parametrize("constant", [b"Infinity", b"-Infinity", b"NaN"])
async def test_non_json_numbers_anywhere_are_refused(constant: bytes) -> None:
    _, error, _ = await converse([raw_frame(b'{"t":"done","dropped":' + constant + b"}")])
    assert isinstance(error, ProtocolError) and "undecodable frame" in str(error)


async def test_a_frame_over_the_runs_cap_is_refused_before_it_is_read() -> None:
    cap = max(LIMITS.call_bytes, LIMITS.store_bytes, LIMITS.output_bytes) + _FRAME_SLACK
    _, error, _ = await converse([(cap + 1).to_bytes(HEADER, "big")])
    assert isinstance(error, ProtocolError) and f"exceeds {cap}" in str(error)


async def test_a_forged_call_over_call_bytes_is_refused_without_reaching_the_bridge() -> None:
    run, error, bridge = await converse([call_frame(filter="x" * (LIMITS.call_bytes + 1000))])
    assert error is None and bridge.calls == []
    assert [(c.id, c.status, c.error) for c in run.calls] == [
        ("get_profiles", 0, "ValidationError")
    ]


async def test_an_operation_id_longer_than_any_real_one_is_a_protocol_error() -> None:
    _, error, bridge = await converse([call_frame("x" * 201)])
    assert isinstance(error, ProtocolError) and "malformed call" in str(error)
    assert bridge.calls == []


async def test_a_flood_of_forged_calls_is_recorded_once_past_the_limit_then_stopped() -> None:
    run, error, bridge = await converse([call_frame() for _ in range(5000)])
    assert isinstance(error, _StopRun) and "kept calling" in str(error)
    assert len(bridge.calls) == LIMITS.max_calls
    assert len(run.calls) == LIMITS.max_calls + 1
    assert run.over_limit == _OVER_LIMIT_CALLS + 1


async def test_forged_dry_run_writes_keep_only_their_budget_of_parameters() -> None:
    frames = [call_frame("create_list", attributes={"name": "y" * 3000}) for _ in range(10)]
    run, error, _ = await converse(frames, PlanningBridge(dry_run=True))
    assert error is None and len(run.planned) == 10
    kept = [p for p in run.planned if p["params"] is not None]
    assert len(kept) == 1 and run.planned_bytes <= LIMITS.planned_bytes
    assert all("not kept" in p["omitted"] for p in run.planned if p["params"] is None)
    assert len(json.dumps(run.planned)) < LIMITS.planned_bytes + 10 * 200


async def test_a_large_output_frame_is_decoded_off_the_loop_and_still_capped() -> None:
    run, error, _ = await converse([encode({"t": "out", "s": "z" * 100_000})])
    assert error is None
    assert run.kept == LIMITS.output_bytes and run.dropped == 100_000 - LIMITS.output_bytes


async def test_a_deeply_nested_frame_is_a_protocol_error_not_a_host_crash() -> None:
    body = b'{"t":"out","s":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _, error, _ = await converse([raw_frame(body)])
    assert isinstance(error, ProtocolError) and "undecodable frame" in str(error)


async def test_a_frame_that_is_not_utf8_is_a_protocol_error() -> None:
    _, error, _ = await converse([raw_frame(b'{"t":"out","s":"\xff\xfe"}')])
    assert isinstance(error, ProtocolError) and "UnicodeDecodeError" in str(error)


async def test_a_lone_surrogate_in_forged_output_is_read_as_the_printer_writes_it() -> None:
    run, error, _ = await converse([raw_frame(b'{"t":"out","s":"a\\ud800b"}')])
    assert error is None and run.output == ["a?b"] and run.kept == 3
