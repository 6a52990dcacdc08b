"""Attacks on the kernel layer after a full layer-1 escape (raw Python in a confined child).

Each probe is something an attacker who already broke out of RestrictedPython would try next to
reach the host, another worker or a resource that outlives the run: SysV IPC, pidfds, another
process's memory, renicing, watching or probing the host's files. Each must fail with the errno
named here (EPERM from seccomp; nothing may tell an existing path from a missing one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
from collections.abc import Callable
from typing import Any

import pytest

from .test_confinement import _confined, _report

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _sys(nr: int, *args: int | bytes | None) -> Callable[[], str]:
    def call() -> str:
        ctypes.set_errno(0)
        result = int(_libc.syscall(nr, *args))
        if result >= 0:
            return "ok"
        return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))

    return call


def _os(action: Callable[[], object]) -> Callable[[], str]:
    def call() -> str:
        try:
            action()
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, str(exc.errno))
        return "ok"

    return call


IPC_PRIVATE, IPC_CREAT = 0, 0o1000

# (name, probe factory given the host pid) -> expected result
PROBES: dict[str, tuple[Callable[[int], Callable[[], str]], str]] = {
    "shmget_segment": (lambda host: _sys(29, IPC_PRIVATE, 1 << 20, IPC_CREAT | 0o600), "EPERM"),
    "shmat_any": (lambda host: _sys(30, 0, None, 0), "EPERM"),
    "shmctl_list": (lambda host: _sys(31, 0, 3, None), "EPERM"),  # IPC_INFO
    "msgget_queue": (lambda host: _sys(68, IPC_PRIVATE, IPC_CREAT | 0o600), "EPERM"),
    "semget_set": (lambda host: _sys(64, IPC_PRIVATE, 1, IPC_CREAT | 0o600), "EPERM"),
    "mq_open_posix": (lambda host: _sys(240, b"/q", os.O_CREAT | os.O_RDWR, 0o600, None), "EPERM"),
    "pidfd_open_host": (lambda host: _sys(434, host, 0), "EPERM"),
    "pidfd_open_self": (lambda host: _sys(434, os.getpid(), 0), "EPERM"),
    "pidfd_send_signal": (lambda host: _sys(424, 0, 9, None, 0), "EPERM"),
    "pidfd_getfd": (lambda host: _sys(438, 0, 0, 0), "EPERM"),
    "process_vm_readv_host": (lambda host: _sys(310, host, None, 0, None, 0, 0), "EPERM"),
    "process_vm_writev_host": (lambda host: _sys(311, host, None, 0, None, 0, 0), "EPERM"),
    "kcmp_host": (lambda host: _sys(312, host, os.getpid(), 0, 0, 0), "EPERM"),
    "ptrace_attach_host": (lambda host: _sys(101, 16, host, 0, 0), "EPERM"),
    "process_madvise": (lambda host: _sys(440, 0, None, 0, 0, 0), "EPERM"),
    "move_pages_host": (lambda host: _sys(279, host, 0, None, None, None, 0), "EPERM"),
    "setpriority_host": (lambda host: _sys(141, 0, host, 19), "EPERM"),
    "sched_setaffinity_host": (lambda host: _sys(203, host, 8, b"\x01" * 8), "EPERM"),
    "ioprio_set_host": (lambda host: _sys(251, 1, host, 0), "EPERM"),
    "syslog_read": (lambda host: _sys(103, 3, None, 0), "EPERM"),
    "inotify_init": (lambda host: _sys(253), "EPERM"),
    "inotify_init1": (lambda host: _sys(294, 0), "EPERM"),
    "inotify_add_watch": (lambda host: _sys(254, 0, b"/etc", 0xFFF), "EPERM"),
    "fanotify_init": (lambda host: _sys(300, 0, 0), "EPERM"),
    "statmount": (lambda host: _sys(457, None, None, 0, 0), "EPERM"),
    "listmount": (lambda host: _sys(458, None, None, 0, 0), "EPERM"),
    "open_tree": (lambda host: _sys(428, -100, b"/", 0), "EPERM"),
    "fsopen": (lambda host: _sys(430, b"tmpfs", 0), "EPERM"),
    "stat_existing": (lambda host: _os(lambda: os.stat("/etc/passwd")), "EPERM"),
    "stat_missing": (lambda host: _os(lambda: os.stat("/no/such/path")), "EPERM"),
    "stat_host_proc": (lambda host: _os(lambda: os.stat(f"/proc/{host}/environ")), "EPERM"),
    "lstat_root": (lambda host: _os(lambda: os.lstat("/root")), "EPERM"),
    "access_existing": (lambda host: _sys(21, b"/etc/shadow", 0), "EPERM"),
    "faccessat2_missing": (lambda host: _sys(439, -100, b"/no/such", 0, 0), "EPERM"),
    "readlink_host_exe": (lambda host: _os(lambda: os.readlink(f"/proc/{host}/exe")), "EPERM"),
    "readlink_host_cwd": (lambda host: _os(lambda: os.readlink(f"/proc/{host}/cwd")), "EPERM"),
    "chdir_probe": (lambda host: _os(lambda: os.chdir("/etc")), "EPERM"),
    "statvfs_probe": (lambda host: _os(lambda: os.statvfs("/")), "EPERM"),
    "listdir_root": (lambda host: _os(lambda: os.listdir("/")), "EPERM"),
    "open_existing": (lambda host: _os(lambda: os.open("/etc/hostname", os.O_RDONLY)), "EPERM"),
    "open_missing": (lambda host: _os(lambda: os.open("/no/such/file", os.O_RDONLY)), "EPERM"),
    "open_o_path": (lambda host: _os(lambda: os.open("/etc", os.O_PATH)), "EPERM"),
    "openat2_probe": (lambda host: _sys(437, -100, b"/etc/passwd", None, 0), "EPERM"),
    "getxattr_probe": (lambda host: _os(lambda: os.getxattr("/etc/passwd", "user.x")), "EPERM"),
    "mkdir_probe": (lambda host: _os(lambda: os.mkdir("/tmp/codemode-escape")), "EPERM"),
    "unlink_probe": (lambda host: _os(lambda: os.unlink("/tmp/codemode-escape")), "EPERM"),
    "rename_probe": (lambda host: _os(lambda: os.rename("/tmp/a", "/tmp/b")), "EPERM"),
    "symlink_probe": (lambda host: _os(lambda: os.symlink("/etc", "/tmp/l")), "EPERM"),
    "chmod_probe": (lambda host: _os(lambda: os.chmod("/tmp", 0o777)), "EPERM"),
    "utime_probe": (lambda host: _os(lambda: os.utime("/tmp")), "EPERM"),
    "mknod_fifo": (lambda host: _os(lambda: os.mkfifo("/tmp/codemode-fifo")), "EPERM"),
    "sethostname": (lambda host: _os(lambda: socket.sethostname("pwned")), "EPERM"),
    "settimeofday": (lambda host: _sys(164, None, None), "EPERM"),
    "clock_settime": (lambda host: _sys(227, 0, None), "EPERM"),
    "unix_socket": (lambda host: _os(lambda: socket.socket(socket.AF_UNIX)), "EPERM"),
    "socketpair": (lambda host: _os(lambda: socket.socketpair()), "EPERM"),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Any]:
    host = os.getpid()

    def probe(report: dict[str, Any]) -> dict[str, Any]:
        return {name: factory(host)() for name, (factory, _) in PROBES.items()}

    return _confined(probe)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_escaped_code_cannot_reach_past_the_kernel_layer(
    outcomes: dict[str, Any], name: str
) -> None:
    if not _report(outcomes)["seccomp"]:
        pytest.skip("no seccomp filter on this machine: " + "; ".join(outcomes["report"]["notes"]))
    assert outcomes[name] == PROBES[name][1], (name, outcomes[name])


def test_a_worker_has_its_own_ipc_and_uts_namespace(outcomes: dict[str, Any]) -> None:
    assert _report(outcomes)["ipc_namespace"] is True
