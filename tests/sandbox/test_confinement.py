"""The second layer on its own: what a script could do if it escaped RestrictedPython entirely.

Each test forks a child of the test process, confines it exactly as a worker is confined, then
runs raw Python (no RestrictedPython at all) that tries to reach files, /proc, the network, new
processes and other processes, and reports what happened through a pipe.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import pytest

from codemode.sandbox import confine

from . import _coverage_relay

LIMITS = {"cpu_s": 2, "memory_mb": 64, "open_files": 16}


def _attempt(action: Callable[[], object]) -> str:
    try:
        action()
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def _probes(host_pid: int) -> dict[str, Any]:
    def open_file() -> object:
        with open("/etc/hostname", "rb") as handle:
            return handle.read()

    def host_environ() -> object:
        with open(f"/proc/{host_pid}/environ", "rb") as handle:
            return handle.read()

    def inet_socket() -> object:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def start_thread() -> object:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        return thread

    def spawn() -> object:
        return subprocess.run(["/bin/true"], check=False)

    return {
        "open_file": _attempt(open_file),
        "host_environ": _attempt(host_environ),
        "socket": _attempt(inet_socket),
        "fork": _attempt(os.fork),
        "thread": _attempt(start_thread),
        "subprocess": _attempt(spawn),
        "kill_host": _attempt(lambda: os.kill(host_pid, 0)),
        "setuid_root": _attempt(lambda: os.setuid(0)),
        "raise_limits": _attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))),
        "limit_other": _attempt(lambda: resource.prlimit(host_pid, resource.RLIMIT_NOFILE, (1, 1))),
        "as_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
    }


def _confined(
    probe: Callable[[dict[str, Any]], dict[str, Any]],
    setup: Callable[[], None] | None = None,
    network: tuple[bool, str] | None = None,
) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 0
        try:
            os.close(read_end)
            if setup is not None:
                setup()  # fault injection: only this child is affected
            try:
                report = confine.apply(LIMITS, network)
                found = {"report": report, **probe(report)}
            except confine.ConfinementError as exc:
                found = {"refused": str(exc)}
            found["coverage"] = _coverage_relay.snapshot()
            os.write(write_end, json.dumps(found).encode())
        except BaseException as exc:
            import traceback

            os.write(
                write_end, json.dumps({"crash": repr(exc), "tb": traceback.format_exc()}).encode()
            )
            status = 1
        os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    data: dict[str, Any] = json.loads(b"".join(chunks))
    assert "crash" not in data, data
    _coverage_relay.merge(data.pop("coverage"))
    return data


@pytest.fixture(scope="module")
def escaped() -> dict[str, Any]:
    host = os.getpid()
    return _confined(lambda report: _probes(host))


def test_escaped_code_cannot_open_files(escaped: dict[str, Any]) -> None:
    if not escaped["report"]["landlock_abi"]:
        pytest.skip("Landlock unavailable on this kernel: " + "; ".join(escaped["report"]["notes"]))
    assert escaped["open_file"] == "PermissionError"


def test_escaped_code_cannot_read_the_hosts_environment(escaped: dict[str, Any]) -> None:
    report = escaped["report"]
    if not (report["dropped_privileges"] or report["landlock_abi"]):
        pytest.skip("neither a uid switch (not root) nor Landlock: " + "; ".join(report["notes"]))
    assert escaped["host_environ"] in {"PermissionError", "FileNotFoundError"}


def test_escaped_code_has_no_network(escaped: dict[str, Any]) -> None:
    report = escaped["report"]
    if not (report["seccomp"] or report["network_namespace"]):
        pytest.skip(
            "neither seccomp nor network namespaces available: " + "; ".join(report["notes"])
        )
    if report["seccomp"]:
        assert escaped["socket"] == "PermissionError"


def test_escaped_code_cannot_start_processes_or_threads(escaped: dict[str, Any]) -> None:
    assert escaped["fork"] != "ok"
    assert escaped["thread"] != "ok"
    assert escaped["subprocess"] != "ok"


def test_escaped_code_cannot_signal_the_host_or_regain_root(escaped: dict[str, Any]) -> None:
    report = escaped["report"]
    if report["dropped_privileges"] or report["seccomp"] or report["landlock_abi"] >= 6:
        assert escaped["kill_host"] == "PermissionError"
    assert escaped["setuid_root"] == "PermissionError"
    assert escaped["raise_limits"] in {"PermissionError", "ValueError"}
    if report["dropped_privileges"] or report["seccomp"]:
        assert escaped["limit_other"] == "PermissionError"


def test_limits_are_applied(escaped: dict[str, Any]) -> None:
    assert 64 * 1024 * 1024 < escaped["as_limit"] < 4 * 1024**3


def test_root_is_dropped_to_nobody() -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root server drops privileges")
    data = _confined(
        lambda report: {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
    )
    assert (data["uid"], data["gid"], data["groups"]) == (confine.NOBODY, confine.NOBODY, [])
    assert data["report"]["dropped_privileges"] is True


def test_network_namespace_has_no_route() -> None:
    def probe(report: dict[str, Any]) -> dict[str, Any]:
        # Before seccomp would refuse socket(): the namespace alone must already cut the network.
        return {"netns": report["network_namespace"]}

    data = _confined(probe)
    if not data["netns"]:
        pytest.skip("network namespaces unavailable: " + "; ".join(data["report"]["notes"]))
    assert data["netns"] is True


def test_seccomp_program_denies_each_listed_call_and_allows_the_rest() -> None:
    program = confine.seccomp_program([41, 59])
    deny_at = len(program) - 1

    # Walk the program by hand for a few system calls.
    def verdict(nr: int, arch: int = 0xC000003E, arg0: int = 0) -> int:
        data = {0: nr, 4: arch, 16: arg0 & 0xFFFFFFFF, 20: arg0 >> 32}
        pc, acc = 0, 0
        while True:
            code, jt, jf, k = program[pc]
            if code == 0x20:
                acc = data[k]
                pc += 1
            elif code == 0x15:
                pc += 1 + (jt if acc == k else jf)
            elif code == 0x35:
                pc += 1 + (jt if acc >= k else jf)
            else:
                return k

    assert verdict(41) == 0x00050000 | errno.EPERM == program[deny_at][3]
    assert verdict(59) == 0x00050000 | errno.EPERM
    assert verdict(0) == 0x7FFF0000
    assert verdict(0x40000000 + 41) == 0x00050000 | errno.EPERM
    assert verdict(0, arch=0x40000003) == 0x80000000
    assert verdict(302, arg0=0) == 0x7FFF0000
    assert verdict(302, arg0=1234) == 0x00050000 | errno.EPERM
    assert verdict(302, arg0=1 << 32) == 0x00050000 | errno.EPERM


class _FaultyLibc:
    """The real libc, except for the calls told to fail (in a forked child only)."""

    def __init__(self, *, abi: int | None = None, fail: tuple[str, ...] = ()) -> None:
        self.real = confine._libc
        self.abi = abi
        self.fail = fail

    def prctl(self, option: int, *args: Any) -> int:
        if option == confine.PR_SET_SECCOMP and "seccomp" in self.fail:
            return -1
        return int(self.real.prctl(option, *args))

    def unshare(self, flags: int) -> int:
        return -1 if "unshare" in self.fail else int(self.real.unshare(flags))

    def syscall(self, number: int, *args: Any) -> int:
        if number == 444 and args[0] is None:  # the ABI version query
            if "version" in self.fail:
                return -1
            return self.abi if self.abi is not None else int(self.real.syscall(number, *args))
        if number == 444 and "create" in self.fail:
            return -1
        if number == 446 and "restrict" in self.fail:
            return -1
        return int(self.real.syscall(number, *args))


def _with_libc(**kwargs: Any) -> Callable[[], None]:
    def setup() -> None:
        confine._libc = _FaultyLibc(**kwargs)  # type: ignore[assignment]

    return setup


def _report(data: dict[str, Any]) -> dict[str, Any]:
    assert "refused" not in data, data
    report: dict[str, Any] = data["report"]
    return report


@pytest.mark.parametrize("abi", [1, 2, 3, 4, 5])
def test_older_landlock_abis_are_applied_with_what_they_have(abi: int) -> None:
    data = _confined(
        lambda report: {"open": _attempt(lambda: open("/etc/hostname", "rb").close())},
        _with_libc(abi=abi),
    )
    if not _report(data)["landlock_abi"]:
        pytest.skip("Landlock unavailable: " + "; ".join(data["report"]["notes"]))
    assert data["report"]["landlock_abi"] == abi and data["open"] == "PermissionError"


@pytest.mark.parametrize(
    ("fail", "note"),
    [
        (("version",), "Landlock unavailable"),
        (("create",), "landlock_create_ruleset failed"),
        (("restrict",), "landlock_restrict_self failed"),
        (("unshare",), "unshare(CLONE_NEWNET) failed"),
        (("seccomp",), "seccomp filter refused"),
    ],
)
def test_a_missing_kernel_layer_is_reported_not_fatal(fail: tuple[str, ...], note: str) -> None:
    report = _report(_confined(lambda report: {}, _with_libc(fail=fail)))
    assert any(note in line for line in report["notes"]), report["notes"]


def test_other_architectures_report_no_seccomp_filter() -> None:
    def setup() -> None:
        confine._machine = lambda: "riscv64"

    report = _report(_confined(lambda report: {}, setup))
    assert report["seccomp"] is False and any("not built for riscv64" in n for n in report["notes"])


def test_a_non_root_server_keeps_its_uid_and_says_so() -> None:
    def setup() -> None:
        real = os.geteuid
        state = {"calls": 0}

        def geteuid() -> int:
            state["calls"] += 1
            return 1000 if state["calls"] <= 2 else real()

        confine.os.geteuid = geteuid  # type: ignore[assignment]

    report = _report(_confined(lambda report: {}, setup))
    assert report["dropped_privileges"] is False
    assert any("not started as root" in n for n in report["notes"])


def test_a_namespace_made_by_the_zygote_is_reused() -> None:
    report = _report(
        _confined(lambda report: {}, _with_libc(fail=("unshare",)), network=(True, ""))
    )
    # The worker's only own unshare is for IPC and UTS: the network one is the zygote's.
    assert report["network_namespace"] is True and report["ipc_namespace"] is False
    assert report["notes"] == ["unshare(CLONE_NEWIPC | CLONE_NEWUTS) failed: Success (errno 0)"], (
        report["notes"]
    )


def test_each_worker_gets_its_own_ipc_namespace_as_well() -> None:
    report = _report(_confined(lambda report: {}, network=(True, "")))
    assert report["network_namespace"] is True and report["ipc_namespace"] is True


@pytest.mark.parametrize("broken", ["setrlimit", "setresuid"])
def test_mandatory_steps_that_fail_refuse_to_run(broken: str) -> None:
    def setup() -> None:
        def fail(*args: Any) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")

        if broken == "setrlimit":
            confine.resource.setrlimit = fail  # type: ignore[assignment]
        else:
            confine.os.setresuid = fail  # type: ignore[assignment]

    data = _confined(lambda report: {}, setup)
    assert "refused" in data
    assert ("resource limits" if broken == "setrlimit" else "drop root privileges") in data[
        "refused"
    ]
