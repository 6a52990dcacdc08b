"""The first layer in-process: guards, module proxies, the SDK proxy and the worker's run loop.

These run the worker's code directly in the test process with a fake channel (no fork), so each
rule is checked on its own and measured by coverage.
"""

from __future__ import annotations

import socket
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest

from codemode.klaviyo._errors import KlaviyoError, NotFoundError, ValidationError
from codemode.policy import PolicyError
from codemode.sandbox import guards, proxy, worker
from codemode.sandbox.protocol import ProtocolError, decode, encode, recv_frame, send_frame


class Channel:
    """Records what the worker sends; answers calls from a script of replies."""

    def __init__(self, replies: list[dict[str, Any]] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.replies = list(replies or [])

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(message)
        return (
            self.replies.pop(0)
            if self.replies
            else {"ok": True, "raw": {"data": []}, "status": 200}
        )


@pytest.fixture(autouse=True)
def _restore_stdio() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    yield
    sys.stdout, sys.stderr = saved


def run(code: str, channel: Channel | None = None, **request: Any) -> dict[str, Any]:
    base = {
        "code": code,
        "store": {},
        "names": {"profiles": ["get_profiles"]},
        "output_bytes": 200,
        "store_bytes": 100,
    }
    base.update(request)
    return worker.run(base, channel or Channel())


def output(channel: Channel) -> str:
    return "".join(m["s"] for m in channel.sent if m.get("t") == "out")


# ---------------------------------------------------------------------------------------------
# What the policy exposes leads nowhere
# ---------------------------------------------------------------------------------------------


def _walk(root: Any, depth: int, seen: set[int], found: list[str], path: str) -> None:
    if id(root) in seen or depth < 0:
        return
    seen.add(id(root))
    denied = guards.load_policy()["attributes"]["denied"]
    for name in dir(root):
        if name.startswith("_") or name in denied or name in ("format", "format_map"):
            continue
        try:
            value = getattr(root, name)
        except Exception:
            continue
        where = f"{path}.{name}"
        if isinstance(
            value, (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)
        ):
            found.append(where)
            continue
        if value is __builtins__ or value is sys.modules:
            found.append(where)
            continue
        _walk(value, depth - 1, seen, found, where)


def test_nothing_public_reachable_from_the_policy_is_a_module_frame_or_code() -> None:
    found: list[str] = []
    seen: set[int] = set()
    for name, module in guards.module_proxies().items():
        for attr in object.__getattribute__(module, "_names"):
            _walk(getattr(module, attr), 3, seen, found, f"{name}.{attr}")
    _walk(proxy.F, 3, seen, found, "F")
    _walk(proxy.F.equals("email", "a@b.co"), 3, seen, found, "Filter")
    for name, value in guards.safe_builtins().items():
        if not name.startswith("_"):
            _walk(value, 3, seen, found, name)
    assert found == []


def test_every_policy_entry_has_a_reason_and_an_implementation() -> None:
    policy = guards.load_policy()
    for section in ("builtins", "closed", "closed_modules", "internal_imports"):
        for name, reason in policy[section].items():
            assert isinstance(reason, str) and len(reason) > 3, (section, name)
    assert set(policy["builtins"]) - {
        "getattr",
        "hasattr",
        "setattr",
        "delattr",
        "type",
        "format",
    } <= set(guards._BUILTIN_IMPLS)
    assert not set(policy["builtins"]) & set(policy["closed"])
    assert not set(policy["modules"]) & set(policy["closed_modules"])
    for name, entry in policy["modules"].items():
        assert entry["reason"] and entry["names"], name
        assert all(isinstance(r, str) and r for r in entry["names"].values())
    for name, entry in policy["limits"].items():
        assert entry["reason"], name


def test_policy_limits_match_the_code_defaults() -> None:
    from codemode.sandbox import Limits

    limits = Limits()
    for name, entry in guards.load_policy()["limits"].items():
        assert getattr(limits, name) == entry["value"], name


def test_the_shipped_policy_is_found_beside_the_package_or_in_the_repository() -> None:
    assert guards.policy_path().name == "policy.toml" and guards.policy_path().is_file()


# ---------------------------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------------------------


def test_getattr_guard_rules() -> None:
    with pytest.raises(TypeError, match="plain str"):
        guards.guarded_getattr(1, 5)
    with pytest.raises(TypeError, match="at most 3"):
        guards.guarded_getattr(1, "real", 1, 2)
    assert guards.guarded_getattr(1, "nope", "d") == "d"
    with pytest.raises(guards.ForbiddenError, match="real builtins"):
        guards.guarded_getattr(
            types.SimpleNamespace(
                b=__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)
            ),
            "b",
        )
    with pytest.raises(guards.ForbiddenError, match="module object"):
        guards.guarded_getitem({"m": sys}, "m")
    assert guards.guarded_hasattr(1, "real") and not guards.guarded_hasattr(1, "_x")
    assert not guards.guarded_hasattr(1, "nope")


def test_write_guard_rules() -> None:
    class Mine(metaclass=guards.ScriptMeta):
        pass

    mine = Mine()
    guards.guarded_setattr(mine, "x", 1)
    guards.guarded_delattr(mine, "x")
    with pytest.raises(guards.ForbiddenError):
        guards.guarded_delattr(mine, "_x")
    with pytest.raises(guards.ForbiddenError, match="cannot change a int"):
        guards.write_guard(1)["a"] = 2
    with pytest.raises(guards.ForbiddenError):
        del guards.write_guard(1).a
    assert guards.inplace("-=", 5, 2) == 3 and guards.apply_call(max, 1, 2) == 2


def test_module_proxy_is_read_only_and_lists_what_it_has() -> None:
    json_proxy = guards.module_proxies()["json"]
    assert repr(json_proxy) == "<sandbox module json>"
    with pytest.raises(AttributeError, match="available: JSONDecodeError, dumps, loads"):
        json_proxy.codecs  # noqa: B018
    with pytest.raises(guards.ForbiddenError):
        json_proxy.dumps = print
    with pytest.raises(guards.ForbiddenError):
        del json_proxy.dumps


def test_import_hook_rules() -> None:
    with pytest.raises(ImportError, match="allowed modules"):
        guards.guarded_import("json", level=1)
    with pytest.raises(AttributeError, match=r"json\.decoder is not available"):
        guards.guarded_import("json", fromlist=("dumps", "decoder"))
    assert guards.guarded_import("_strptime").__name__ == "_strptime"
    with pytest.raises(ImportError):
        guards.guarded_import("_thread")


def test_output_sink_caps_by_bytes_without_splitting_characters() -> None:
    sent: list[str] = []
    sink = guards.OutputSink(5, sent.append)
    sink.write("ab")
    sink.write(123)  # type: ignore[arg-type]  # print passes str; stray writers may not
    sink.write("\u00e9\u00e9")  # 4 bytes, room for 0 after "ab123"
    sink.flush()
    assert sink() == "ab123" and sink.dropped == 4 and sent == ["ab", "123"]
    half = guards.OutputSink(3, sent.append)
    half.write("a\u00e9\u00e9")
    assert half() == "a\u00e9" and half.dropped == 2


def test_a_syntax_error_names_its_type_once() -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script("def (:\n")
    assert caught.value.kind == "SyntaxError" and caught.value.line == 1
    # shown as "SyntaxError: invalid syntax ...", not "SyntaxError: SyntaxError: invalid ..."
    assert caught.value.message.startswith("invalid syntax"), caught.value.message


def test_compile_reports_nesting_bombs_cleanly() -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script("x = " + "(" * 300 + ")" * 300)
    assert caught.value.kind == "SyntaxError"
    with pytest.raises(guards.CompileFailure, match="nested too deeply"):
        guards.compile_script("x = " + "-" * 100000 + "1")


def test_closed_names_have_reasons() -> None:
    assert guards.closed_name_reason("open") and guards.closed_name_reason("nope") is None


# ---------------------------------------------------------------------------------------------
# Worker run loop
# ---------------------------------------------------------------------------------------------


def test_run_streams_output_and_returns_the_store() -> None:
    channel = Channel()
    done = run("print('hi')\nstore['a'] = [1]", channel)
    assert done == {"t": "done", "error": None, "store": {"a": [1]}, "dropped": 0}
    assert output(channel) == "hi\n"


@pytest.mark.parametrize(
    ("code", "kind", "fragment"),
    [
        ("x = [0] * (2 ** 62)", "LimitError", "memory limit of 7 MiB"),
        ("def f():\n    return f()\nf()", "RecursionError", "use a loop"),
        ("class E(Exception):\n    def __str__(self):\n        return 1 / 0\nraise E()", "E", "E"),
        ("raise ValueError()", "ValueError", "ValueError"),
        ("klaviyo.call(5)", "TypeError", "operation id as a str"),
        ("klaviyo.call('get_profiles', bad=object())", "ValidationError", "parameter 'bad'"),
        ("klaviyo.profiles.get_profiles(1, object())", "ValidationError", "parameter #2"),
    ],
)
def test_run_describes_failures_for_the_model(code: str, kind: str, fragment: str) -> None:
    done = run(code, memory_mb=7)
    assert done["error"]["type"] == kind and fragment in done["error"]["message"]


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_interpreter_exits_are_reported_not_obeyed(exc: BaseException) -> None:
    error = worker.describe(exc, memory_mb=1)
    assert error["type"] == type(exc).__name__ and "cannot stop the interpreter" in error["message"]


def test_klaviyo_errors_show_their_status() -> None:
    error = worker.describe(NotFoundError("no such profile", status=404), memory_mb=1)
    assert error["message"] == "HTTP 404: no such profile"
    assert worker.describe(KlaviyoError("404 already"), memory_mb=1)["message"] == "404 already"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("store = 5", "must stay a dict"),
        ("store['s'] = {1}", "store['s'] is not JSON"),
        ("store['me'] = store", "not JSON"),
        ("store['n'] = float('nan')", "not JSON"),
        ("store['big'] = 'x' * 200", "limit is 100 bytes"),
    ],
)
def test_store_problems_are_reported(code: str, fragment: str) -> None:
    done = run(code)
    assert done["store"] is None and done["error"]["type"] == "StoreError"
    assert fragment in done["error"]["message"]


def test_store_nested_too_deep_is_refused() -> None:
    value: dict[str, Any] = {}
    for _ in range(100000):
        value = {"a": value}
    store, problem = worker._store_problem(value, 10**9)
    assert store is None and problem is not None


def test_sdk_proxy_turns_replies_into_results_and_errors() -> None:
    replies = [
        {
            "ok": True,
            "raw": {"data": {"type": "profile", "id": "P", "attributes": {}}},
            "status": 200,
        },
        {
            "ok": False,
            "error": {"class": "PolicyError", "message": "no", "rule": "deny", "operation_id": "x"},
        },
        {"ok": False, "error": {"class": "LimitError", "message": "limit"}},
        {
            "ok": False,
            "error": {"class": "InjectionDetected", "message": "blocked", "operation_id": "x"},
        },
        {"ok": False},
    ]
    channel = Channel(replies)
    sdk = proxy.SdkProxy(channel, {"profiles": ["get_profiles"]})
    assert sdk.profiles.get_profiles().data == {"type": "profile", "id": "P"}
    with pytest.raises(PolicyError) as policy_error:
        sdk.call("get_profiles")
    assert policy_error.value.rule == "deny"
    with pytest.raises(proxy.LimitError):
        sdk.call("get_profiles")
    with pytest.raises(proxy.InjectionDetected):
        sdk.call("get_profiles")
    with pytest.raises(KlaviyoError, match="the call failed"):
        sdk.call("get_profiles")
    assert "2026" not in repr(sdk.errors)
    assert sdk.errors.ValidationError is ValidationError
    with pytest.raises(AttributeError):
        sdk.nope  # noqa: B018
    with pytest.raises(AttributeError, match="did you mean get_profiles"):
        sdk.profiles.get_profile  # noqa: B018
    assert repr(sdk.profiles) == "<klaviyo.profiles>"
    assert "runs on the host" in repr(sdk.profiles.get_profiles)


# ---------------------------------------------------------------------------------------------
# Worker serve loop and framing over a real socket
# ---------------------------------------------------------------------------------------------


def test_serve_says_hello_runs_and_sends_done() -> None:
    host, child = socket.socketpair()
    thread = threading.Thread(target=worker.serve, args=(child, {"uid": 0}))
    thread.start()
    hello = recv_frame(host)
    assert hello is not None and hello["t"] == "hello" and hello["isolation"]["uid"] == 0
    send_frame(
        host, {"code": "print(1)", "store": {}, "names": {}, "output_bytes": 10, "store_bytes": 10}
    )
    assert recv_frame(host) == {"t": "out", "s": "1"}
    assert recv_frame(host) == {"t": "out", "s": "\n"}
    assert recv_frame(host)["t"] == "done"  # type: ignore[index]
    thread.join(5)
    host.close()
    child.close()


def test_serve_ends_quietly_when_the_host_goes_away() -> None:
    host, child = socket.socketpair()
    host.close()
    worker.serve(child, {})  # hello fails: HostGone, no exception
    child.close()
    host, child = socket.socketpair()
    thread = threading.Thread(target=worker.serve, args=(child, {}))
    thread.start()
    recv_frame(host)
    host.close()  # no request comes
    thread.join(5)
    assert not thread.is_alive()
    child.close()


def test_serve_survives_a_call_when_the_host_disappears() -> None:
    host, child = socket.socketpair()
    thread = threading.Thread(target=worker.serve, args=(child, {}))
    thread.start()
    recv_frame(host)
    send_frame(
        host,
        {
            "code": "klaviyo.call('x')",
            "store": {},
            "names": {},
            "output_bytes": 10,
            "store_bytes": 10,
        },
    )
    assert recv_frame(host)["t"] == "call"  # type: ignore[index]
    host.close()
    thread.join(5)
    assert not thread.is_alive()
    child.close()


def test_serve_logs_its_own_bugs_instead_of_crashing(capsys: pytest.CaptureFixture[str]) -> None:
    host, child = socket.socketpair()
    thread = threading.Thread(target=worker.serve, args=(child, {}))
    thread.start()
    recv_frame(host)
    send_frame(host, {"no": "code"})
    thread.join(5)
    assert not thread.is_alive()
    host.close()
    child.close()


def test_frames_reject_garbage() -> None:
    assert decode(encode({"a": 1})[4:]) == {"a": 1}
    with pytest.raises(ProtocolError):
        decode(b"\xff")
    with pytest.raises(ProtocolError):
        decode(b"[1]")
    with pytest.raises(ProtocolError):
        decode(b"[" * 100000 + b"]" * 100000)
    host, child = socket.socketpair()
    host.sendall((10).to_bytes(4, "big") + b"{}")
    host.close()
    with pytest.raises(ProtocolError, match="middle of a frame"):
        recv_frame(child)
    child.close()
    host, child = socket.socketpair()
    host.sendall(b"\x00\x00")
    host.close()
    with pytest.raises(ProtocolError, match="middle of a frame"):
        recv_frame(child)
    child.close()
    host, child = socket.socketpair()
    host.sendall((100).to_bytes(4, "big"))
    with pytest.raises(ProtocolError, match="exceeds"):
        recv_frame(child, max_bytes=10)
    host.close()
    child.close()
    host, child = socket.socketpair()
    host.sendall((0).to_bytes(4, "big"))
    with pytest.raises(ProtocolError):
        recv_frame(child)  # an empty body is not a JSON object
    host.close()
    child.close()


# ---------------------------------------------------------------------------------------------
# The remaining rules, one by one
# ---------------------------------------------------------------------------------------------


def test_augmented_assignment_goes_through_the_guards_in_process() -> None:
    channel = Channel()
    done = run(
        "d = {'n': 1}\nd['n'] += 2\nclass A:\n    def __init__(self):\n        self.c = 1\n"
        "a = A()\na.c *= 5\nprint(d['n'], a.c)\nt = (1,)\nt[0] += 1",
        channel,
    )
    assert output(channel) == "3 5\n"
    assert done["error"]["type"] == "ForbiddenError" and done["error"]["line"] == 10


def test_in_process_refusals_have_reasons() -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script("x = ().__bases__")
    assert (
        caught.value.kind == "ForbiddenSyntax" and "refuses this construct" in caught.value.message
    )
    with pytest.raises(guards.ForbiddenError, match="frame"):
        guards.guarded_getattr((x for x in ()), "gi_frame")
    with pytest.raises(guards.ForbiddenError, match="MRO"):
        guards.guarded_getattr(int, "mro")
    with pytest.raises(guards.ForbiddenError, match="'__class__' is closed"):
        guards.guarded_getattr("{0.__class__}", "format")(1)
    with pytest.raises(guards.ForbiddenError, match="names starting with _"):
        guards.guarded_setattr(object(), "_x", 1)
    assert repr(guards.guarded_import("json", fromlist=("dumps",))) == "<sandbox module json>"
    sink = guards.OutputSink(10, lambda s: None)
    with pytest.raises(guards.ForbiddenError, match="print"):
        sink._call_print("x", file=sink)


def test_worker_reports_compile_failures_and_closed_names() -> None:
    done = run("x = (")
    assert done["error"]["type"] == "SyntaxError" and done["store"] is None
    done = run("open('/etc/passwd')")
    assert done["error"] == {
        "type": "NameError",
        "message": "open is not available in the sandbox: scripts cannot read or write files; "
        "fetch data with the klaviyo SDK and keep state in `store`",
        "line": 1,
    }
    done = run("undefined_name")
    assert done["error"]["message"] == "name 'undefined_name' is not defined"


def test_store_error_names_the_first_bad_key() -> None:
    done = run("store['ok'] = 1\nstore['bad'] = {1}")
    assert "store['bad']" in done["error"]["message"]


def test_filters_built_with_f_travel_as_klaviyo_filter_text() -> None:
    channel = Channel()
    done = run(
        "f = F.and_(F.equals('email', 'a@b.co'), F.greater_than('created', '2024-01-01'))\n"
        "klaviyo.profiles.get_profiles(filter=f & F.any('id', ['1', '2']))",
        channel,
    )
    assert done["error"] is None
    call = next(m for m in channel.sent if m.get("t") == "call")
    assert call["params"]["filter"].startswith('and(and(equals(email,"a@b.co")')
    assert 'any(id,["1","2"])' in call["params"]["filter"]


def test_file_bytes_travel_to_the_host_as_base64_text() -> None:
    channel = Channel()
    done = run("klaviyo.profiles.get_profiles(file=b'GIF89a\\x00\\xff', name='x')", channel)
    assert done["error"] is None
    call = next(m for m in channel.sent if m.get("t") == "call")
    assert call["params"] == {"file": "R0lGODlhAP8=", "name": "x"}


def test_sdk_proxy_pages_and_encodes_dates_in_process() -> None:
    pages = [
        {
            "ok": True,
            "raw": {
                "data": [{"type": "p", "id": "1"}],
                "links": {"next": "https://x/?page%5Bcursor%5D=c2"},
            },
        },
        {"ok": True, "raw": {"data": [{"type": "p", "id": "2"}], "links": {}}},
    ]
    channel = Channel(pages)
    done = run(
        "import datetime\nr = klaviyo.profiles.get_profiles(since=datetime.date(2024, 1, 2))\n"
        "print([p['id'] for p in r.all()], repr(klaviyo))\nklaviyo.errors.Nope",
        channel,
    )
    calls = [m for m in channel.sent if m.get("t") == "call"]
    assert calls[0]["params"] == {"since": "2024-01-02"}
    assert calls[1]["params"] == {"since": "2024-01-02", "page_cursor": "c2"}
    assert "['1', '2'] <klaviyo SDK proxy: 1 groups" in output(channel)
    assert (
        done["error"]["type"] == "AttributeError"
        and "klaviyo.errors has no 'Nope'" in done["error"]["message"]
    )


def test_socket_channel_carries_a_call_and_its_answer() -> None:
    host, child = socket.socketpair()
    thread = threading.Thread(target=worker.serve, args=(child, {}))
    thread.start()
    recv_frame(host)
    send_frame(
        host,
        {
            "code": "print(klaviyo.call('x').status)",
            "store": {},
            "names": {},
            "output_bytes": 10,
            "store_bytes": 10,
        },
    )
    assert recv_frame(host)["t"] == "call"  # type: ignore[index]
    send_frame(host, {"ok": True, "raw": None, "status": 204})
    assert recv_frame(host) == {"t": "out", "s": "204"}
    thread.join(5)
    host.close()
    child.close()


def test_a_frame_whose_body_never_comes_is_refused() -> None:
    host, child = socket.socketpair()
    host.sendall((10).to_bytes(4, "big"))
    host.close()
    with pytest.raises(ProtocolError, match="middle of a frame"):
        recv_frame(child)
    child.close()


def test_limits_and_results_validate_and_report() -> None:
    from codemode.sandbox import ExecutionResult, Limits

    with pytest.raises(ValueError, match="wall_s must be positive"):
        Limits(wall_s=0)
    assert ExecutionResult().ok


def test_augmented_assignment_of_names_and_slices_in_process() -> None:
    channel = Channel()
    run("n = 1\nn += 1\nprint(n)", channel)
    assert output(channel) == "2\n"
    with pytest.raises(guards.CompileFailure, match="slices"):
        guards.compile_script("a = [1]\na[0:1] += [2]")


def test_a_store_too_big_to_serialise_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: Any, **kwargs: Any) -> str:
        raise MemoryError

    monkeypatch.setattr(worker.json, "dumps", exhausted)
    store, problem = worker._store_problem({"a": 1}, 10)
    assert store is None and problem is not None and "far over its limit" in problem


def test_memory_errors_free_the_scripts_data_but_keep_the_store() -> None:
    done = run("store['kept'] = 1\nbig = [0] * (2 ** 62)", memory_mb=7)
    assert done["error"]["type"] == "LimitError" and done["store"] == {"kept": 1}


def test_prepare_skips_the_seccomp_program_on_other_architectures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codemode.sandbox import confine

    monkeypatch.setattr(confine, "_machine", lambda: "aarch64")
    confine.prepare()  # only reads the baseline size; nothing to build


def test_a_compile_error_without_a_position_shows_no_placeholders() -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script("x = 1\x00")
    assert caught.value.kind == "SyntaxError" and caught.value.line is None
    assert "None" not in caught.value.message


def test_a_closed_module_says_what_to_write_instead() -> None:
    with pytest.raises(ImportError) as caught:
        guards.guarded_import("operator")
    message = str(caught.value)
    assert "use a lambda: sorted(rows, key=lambda r: r['x'])" in message
    assert "allowed modules: base64, bisect," in message and "heapq" in message
    with pytest.raises(ImportError, match="no files, processes or environment"):
        guards.guarded_import("os.path")
    with pytest.raises(ImportError) as unknown:
        guards.guarded_import("numpy")
    assert str(unknown.value).startswith("module 'numpy' is not available in the sandbox; allowed")


def test_heapq_and_bisect_are_proxies_of_their_functions_alone() -> None:
    heapq = guards.guarded_import("heapq")
    assert heapq.nlargest(2, [{"n": 1}, {"n": 3}, {"n": 2}], key=lambda r: r["n"]) == [
        {"n": 3},
        {"n": 2},
    ]
    assert guards.guarded_import("bisect").bisect_left([1, 5, 9], 6) == 2
    with pytest.raises(AttributeError, match="not available in the sandbox"):
        heapq._heapq  # noqa: B018


def test_a_refused_dunder_scripts_often_write_says_what_to_write_instead() -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script(
            "class A:\n    def __init__(self):\n        self.x = 1\n"
            "class B(A):\n    def __init__(self):\n        super().__init__()\n"
        )
    assert caught.value.kind == "ForbiddenSyntax" and caught.value.line == 6
    assert "set every field in one class's __init__, or use a dict" in caught.value.message
    with pytest.raises(guards.CompileFailure, match=r"use type\(x\).__name__ or isinstance"):
        guards.compile_script("print((1).__class__)")


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("r = await klaviyo.lists.get_lists()", "SDK calls in a script are synchronous"),
        ("async def main():\n    pass", "scripts run synchronously: use def"),
        ("async def main():\n    async for x in y:\n        pass", "use def"),
    ],
)
def test_async_habits_are_refused_with_the_synchronous_way(code: str, says: str) -> None:
    with pytest.raises(guards.CompileFailure) as caught:
        guards.compile_script(code)
    assert caught.value.kind == "ForbiddenSyntax" and says in caught.value.message


def test_reaching_for_an_sdk_client_points_to_the_global_klaviyo() -> None:
    for module, says in [
        ("codemode", "the SDK is already the script's global `klaviyo`"),
        ("klaviyo_api", "the script's global `klaviyo` has every operation"),
        ("asyncio", "SDK calls return their result directly: call them without await"),
    ]:
        with pytest.raises(ImportError) as caught:
            guards.guarded_import(module)
        assert says in str(caught.value)
    for name in ("Klaviyo", "AsyncKlaviyo"):
        reason = guards.closed_name_reason(name)
        assert reason is not None and "global `klaviyo` is the client" in reason
