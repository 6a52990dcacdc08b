"""In-process checks of the pieces behind the attack suite: the format stand-ins, type(), the
bridge's early refusals and scan deadline, the frame encoder's handling of non-finite numbers,
and the worker proxy's argument checks (the attacks exercise them inside a forked worker, where
coverage is not measured)."""

from __future__ import annotations

import copy
import json
import math
import time
from typing import Any

import pytest

from codemode.klaviyo._errors import ValidationError
from codemode.sandbox import guards, scriptlib
from codemode.sandbox.bridge import RUN_DEADLINE
from codemode.sandbox.protocol import HEADER, decode, encode, encode_answer
from codemode.sandbox.proxy import SdkProxy

from .test_bridge import FakeClient, FakeScan, FakeScanner, bridge


def test_type_answers_the_class_of_a_value_and_refuses_classes_and_three_arguments() -> None:
    assert scriptlib.safe_type(3) is int and scriptlib.safe_type("x") is str
    with pytest.raises(scriptlib.ForbiddenError, match="type\\(\\) of a class"):
        scriptlib.safe_type(int)
    with pytest.raises(scriptlib.ForbiddenError, match="three arguments"):
        scriptlib.safe_type("X", (), {})


def test_every_route_to_str_format_gets_the_guarded_stand_in() -> None:
    class S(str):
        pass

    s = S("{0[k]}-{1.real!r:>3}")
    bound = guards.guarded_getattr(super(S, s), "format")
    assert bound({"k": 1}, 1) == "1-  1" and bound.__name__ == "bound_format"
    unbound = guards.guarded_getattr(str, "format")
    assert unbound("{x}", x=2) == "2"
    as_item = guards.guarded_getitem({"f": "{a}".format_map}, "f")
    assert as_item({"a": 3}) == "3"
    unbound_map = guards.guarded_getattr(str, "format_map")
    assert unbound_map("{a}", {"a": 4}) == "4"
    with pytest.raises(guards.ForbiddenError, match="'__globals__' is closed"):
        unbound("{0.__globals__}", len)
    with pytest.raises(TypeError, match="needs a str template"):
        unbound(5)
    with pytest.raises(TypeError, match="spec must be a str"):
        scriptlib.safe_format(1, 2)


def test_only_str_methods_named_format_are_swapped() -> None:
    assert scriptlib.real_format_method([].append) is None
    assert scriptlib.real_format_method(len) is None
    assert scriptlib.real_format_method("x".format) == ("format", "x")


def test_name_is_readable_only_as_a_str() -> None:
    class A:
        pass

    assert guards.guarded_getattr(len, "__name__") == "len"
    assert guards.guarded_getattr(A(), "__name__", None) is None
    assert guards.guarded_getattr(A, "__name__") == "A"
    with pytest.raises(AttributeError):
        guards.guarded_getattr(A(), "__name__")


def test_json_dumps_keeps_a_scripts_own_default_first() -> None:
    assert scriptlib.json_dumps({1, 2}) == "[1, 2]"
    assert scriptlib.json_dumps(object(), default=lambda o: "mine") == '"mine"'

    def refuse(value: Any) -> Any:
        raise TypeError("not mine")

    assert scriptlib.json_dumps({3}, default=refuse) == "[3]"  # falls back to the sandbox's
    with pytest.raises(TypeError, match="not JSON serializable"):
        scriptlib.json_dumps(object())


async def test_the_bridge_refuses_too_many_keywords_before_the_sdk() -> None:
    client = FakeClient()
    reply = await bridge(client).call("get_profiles", [], {f"k{i}": 1 for i in range(65)})
    assert reply.error is not None and "got 65 keyword arguments" in reply.error["message"]
    assert client.calls == []


async def test_a_call_the_router_would_serve_as_another_action_is_refused() -> None:
    client = FakeClient()
    b = bridge(client)
    # The route table is shared by every bridge over the catalog: patch a private copy.
    b._routes = copy.copy(b._routes)
    b._routes.served_as = lambda action, values: "delete_profile"  # type: ignore[method-assign]
    reply = await b.call("get_profile", ["P1"], {})
    assert reply.error is not None and "would be routed to delete_profile" in reply.error["message"]
    assert client.calls == []


class DeadlineScanner:
    def __init__(self) -> None:
        self.deadlines: list[float] = []

    def scan_response(self, document: Any, policy: str = "redact", *, deadline: float) -> FakeScan:
        self.deadlines.append(deadline)
        return FakeScan("clean", document)


async def test_a_scanner_that_takes_a_deadline_gets_the_runs() -> None:
    scanner = DeadlineScanner()
    b = bridge(FakeClient(), scanner=scanner)
    token = RUN_DEADLINE.set(time.monotonic() + 7)
    try:
        reply = await b.call("get_profiles", [], {})
    finally:
        RUN_DEADLINE.reset(token)
    assert reply.scan == "clean" and len(scanner.deadlines) == 1
    assert 0 < scanner.deadlines[0] - time.monotonic() <= 7
    assert await b._scan(None) == (None, "unscanned", [], None)


def test_a_frame_with_a_non_finite_number_is_sent_with_null() -> None:
    frame = encode({"raw": {"x": math.nan, "y": [math.inf, 1.0]}})
    assert json.loads(frame[HEADER:]) == {"raw": {"x": None, "y": [None, 1.0]}}


class RecordingChannel:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(message)
        return {"ok": True, "raw": None, "status": 204}


def test_the_worker_proxy_refuses_oversized_and_self_referring_arguments() -> None:
    channel = RecordingChannel()
    proxy = SdkProxy(channel, {"lists": ["create_list"]}, call_bytes=100)
    with pytest.raises(ValidationError, match="the limit is 100 bytes per call"):
        proxy.call("create_list", attributes={"name": "x" * 200})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValidationError, match=r"not JSON|nested too deeply"):
        proxy.call("create_list", attributes=loop)
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested too deeply"):
        proxy.call("create_list", attributes=deep)
    assert channel.sent == []


async def test_a_clean_answer_travels_as_the_json_the_bridge_encoded_once() -> None:
    raw = {"data": [{"id": "P1", "attributes": {"first_name": "Zoë", "n": 1.5}}]}
    reply = await bridge(FakeClient(raw=raw), scanner=FakeScanner("clean")).call(
        "get_profiles", [], {}
    )
    assert reply.raw == raw and reply.raw_json is not None
    frame = encode_answer(reply.raw_json, reply.status)
    assert decode(frame[HEADER:]) == decode(
        encode({"ok": True, "raw": raw, "status": 200})[HEADER:]
    )


async def test_an_answer_holding_a_secret_is_scrubbed_and_encoded_again() -> None:
    raw = {"data": [{"id": "P1", "attributes": {"note": "key pk_secret_123 leaked"}}]}
    b = bridge(FakeClient(raw=raw), scanner=FakeScanner("clean"), secrets=("pk_secret_123",))
    reply = await b.call("get_profiles", [], {})
    assert reply.raw_json is None and reply.raw is not None
    assert "pk_secret_123" not in json.dumps(reply.raw)


async def test_a_redacted_answer_is_not_sent_as_the_original_encoding() -> None:
    b = bridge(FakeClient(), scanner=FakeScanner("flagged"))
    reply = await b.call("get_profiles", [], {})
    assert reply.raw == {"redacted": True, "policy": "redact"} and reply.raw_json is None


async def test_an_answer_json_cannot_encode_exactly_falls_back_to_the_channels_encoder() -> None:
    reply = await bridge(FakeClient(raw={"x": math.nan}), scanner=FakeScanner("clean")).call(
        "get_profiles", [], {}
    )
    assert reply.raw_json is None and reply.raw == {"x": math.nan}
