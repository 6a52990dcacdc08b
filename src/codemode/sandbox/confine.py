"""Kernel confinement of a worker, applied in the forked child before it reads any script.

Everything here runs in the worker process (forked from the zygote, still root when the server
runs as root) and is irreversible for that process:

1. resource limits: address space, CPU seconds, open files, file size 0, no core dumps, no new
   processes (``RLIMIT_NPROC`` 0: effective once the uid is not root);
2. an empty network namespace (``unshare(CLONE_NEWNET)``; with ``CLONE_NEWUSER`` when not root):
   no interface but a downed loopback, so no socket can reach anything. A root zygote enters one
   at start-up and every worker inherits it; otherwise each worker makes its own;
3. privileges dropped to ``nobody`` when running as root (so ``/proc/<host>/environ`` and ``mem``
   are closed even if everything else failed), not dumpable, ``no_new_privs``;
4. Landlock (Linux >= 5.13): no file may be opened, read, written or executed; TCP bind/connect
   refused (ABI 4) and signals to processes outside the worker refused (ABI 6);
5. seccomp (x86-64): ``socket``, ``connect``, ``fork``/``clone``, ``execve``, ``ptrace``, ``kill``,
   namespace, mount, keyring, BPF and io_uring system calls fail with ``EPERM``.

Steps 2, 4 and 5 depend on the kernel; each reports whether it took effect (``isolation``) and the
host surfaces that report. Steps 1 and 3 must succeed or the worker refuses to run.
"""

from __future__ import annotations

import ctypes
import os
import resource
from functools import cache
from typing import Any

__all__ = ["ConfinementError", "apply", "landlock", "no_network", "seccomp"]

NOBODY = 65534
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# The C library the interpreter is linked against, through dlopen(NULL): libc's symbols are in
# the process's global scope. ctypes.util.find_library("c") would find the same library by running
# `ldconfig -p` in a subprocess, in the host and again in the zygote, on every start.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _machine() -> str:
    """The CPU architecture, as ``uname -m`` says (``platform`` costs a start more to import)."""
    return os.uname().machine


class ConfinementError(Exception):
    """A mandatory confinement step failed; the worker must not run the script."""


def _errno_text() -> str:
    err = ctypes.get_errno()
    return f"{os.strerror(err)} (errno {err})"


def prctl(option: int, arg2: int = 0) -> bool:
    """``prctl(option, arg2, 0, 0, 0)``; True on success."""
    return int(_libc.prctl(option, ctypes.c_ulong(arg2), 0, 0, 0)) == 0


def _baseline_bytes() -> int:
    with open("/proc/self/statm", "rb") as handle:  # binary: no codec lookup (an import)
        pages = int(handle.read().split()[0])
    return pages * resource.getpagesize()


def set_limits(limits: dict[str, Any]) -> None:
    """Apply rlimits (soft == hard, so the worker cannot raise them)."""
    memory = _baseline_bytes() + int(limits["memory_mb"]) * 1024 * 1024
    cpu = max(1, int(float(limits["cpu_s"]) + 0.999))
    plan = [
        (resource.RLIMIT_AS, memory, memory),
        # SIGXCPU at the soft limit; SIGKILL one second later if it is ignored.
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_NOFILE, int(limits["open_files"]), int(limits["open_files"])),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NPROC, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    ]
    for which, soft, hard in plan:
        resource.setrlimit(which, (soft, hard))


def no_network(extra: int = 0) -> tuple[bool, str]:
    """Move into a new, empty network namespace (plus ``extra`` namespaces); (done, why not)."""
    flags = CLONE_NEWNET | extra
    if os.geteuid() != 0:
        flags |= CLONE_NEWUSER
    if int(_libc.unshare(flags)) == 0:
        return True, ""
    return False, f"unshare(CLONE_NEWNET) failed: {_errno_text()}"


# SysV IPC limits written in the worker's own IPC namespace (root only, before Landlock): no
# segment, queue or semaphore set can be created even if the system calls were allowed.
_SYSV_LIMITS = {
    "shmmni": "0",
    "shmall": "0",
    "shmmax": "0",
    "msgmni": "0",
    "msgmax": "0",
    "msgmnb": "0",
    "sem": "0 0 0 0",
}


def own_ipc_and_uts() -> tuple[bool, str]:
    """A private IPC and UTS namespace for this worker, SysV limits at zero; (done, why not).

    SysV shared memory lives in the IPC namespace, not in the process: in a shared namespace a
    segment outlives its worker, escapes ``RLIMIT_AS`` and links concurrent workers.
    """
    if int(_libc.unshare(CLONE_NEWIPC | CLONE_NEWUTS)) != 0:
        return False, f"unshare(CLONE_NEWIPC | CLONE_NEWUTS) failed: {_errno_text()}"
    if os.geteuid() == 0:
        for name, value in _SYSV_LIMITS.items():
            try:
                fd = os.open(f"/proc/sys/kernel/{name}", os.O_WRONLY)
                try:
                    os.write(fd, value.encode())
                finally:
                    os.close(fd)
            except OSError:  # an older kernel without the knob; seccomp still refuses SysV calls
                continue
    return True, ""


def drop_privileges(uid: int = NOBODY, gid: int = NOBODY) -> bool:
    """Become ``uid``/``gid`` with no supplementary groups when root; False when not root.

    Raises:
        ConfinementError: running as root and the switch failed (never run as root).
    """
    if os.geteuid() != 0:
        return False
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError as exc:
        raise ConfinementError(f"could not drop root privileges: {exc.strerror}") from None
    if os.geteuid() == 0 or os.getegid() == 0:  # pragma: no cover - the kernel just said it worked
        raise ConfinementError("still root after setresuid")
    return True


def landlock() -> tuple[int, str]:
    """Forbid every file access (and TCP, and outside signals where the ABI has them).

    Returns:
        (ABI version applied, or 0), and why not when 0.
    """
    syscall = _libc.syscall
    abi = int(syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))  # CREATE_RULESET_VERSION
    if abi < 1:
        return 0, f"Landlock unavailable: {_errno_text()}"
    fs = (1 << 13) - 1  # ABI 1: execute, write, read, readdir, remove, make_* ...
    if abi >= 2:
        fs |= 1 << 13  # REFER
    if abi >= 3:
        fs |= 1 << 14  # TRUNCATE
    if abi >= 5:
        fs |= 1 << 15  # IOCTL_DEV
    net = 0b11 if abi >= 4 else 0  # BIND_TCP | CONNECT_TCP
    scoped = 0b11 if abi >= 6 else 0  # ABSTRACT_UNIX_SOCKET | SIGNAL
    attr = (ctypes.c_uint64 * 3)(fs, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = int(syscall(444, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if fd < 0:
        return 0, f"landlock_create_ruleset failed: {_errno_text()}"
    try:
        if int(syscall(446, ctypes.c_int(fd), ctypes.c_uint32(0))) != 0:
            return 0, f"landlock_restrict_self failed: {_errno_text()}"
    finally:
        os.close(fd)
    return abi, ""


# x86-64 system call numbers refused with EPERM, each with the reason it is closed.
_X86_64_DENY = {
    41: "socket",
    42: "connect",
    43: "accept",
    49: "bind",
    50: "listen",
    53: "socketpair",
    288: "accept4",
    56: "clone (processes and threads)",
    57: "fork",
    58: "vfork",
    435: "clone3",
    59: "execve",
    322: "execveat",
    101: "ptrace",
    310: "process_vm_readv",
    311: "process_vm_writev",
    62: "kill",
    200: "tkill",
    234: "tgkill",
    129: "rt_sigqueueinfo",
    297: "rt_tgsigqueueinfo",
    272: "unshare",
    308: "setns",
    165: "mount",
    166: "umount2",
    155: "pivot_root",
    161: "chroot",
    105: "setuid",
    106: "setgid",
    113: "setreuid",
    114: "setregid",
    117: "setresuid",
    119: "setresgid",
    116: "setgroups",
    160: "setrlimit (prlimit64 on itself stays allowed: glibc's getrlimit uses it)",
    135: "personality",
    248: "add_key",
    249: "request_key",
    250: "keyctl",
    321: "bpf",
    298: "perf_event_open",
    323: "userfaultfd",
    425: "io_uring_setup",
    426: "io_uring_enter",
    427: "io_uring_register",
    303: "name_to_handle_at",
    304: "open_by_handle_at",
    246: "kexec_load",
    175: "init_module",
    313: "finit_module",
    176: "delete_module",
    169: "reboot",
    167: "swapon",
    168: "swapoff",
    163: "acct",
    # Cross-process reach (another worker runs as the same uid).
    424: "pidfd_send_signal",
    434: "pidfd_open",
    438: "pidfd_getfd",
    312: "kcmp",
    440: "process_madvise",
    448: "process_mrelease",
    279: "move_pages",
    256: "migrate_pages",
    141: "setpriority (renice another worker)",
    142: "sched_setparam",
    144: "sched_setscheduler",
    203: "sched_setaffinity",
    251: "ioprio_set",
    103: "syslog (kernel log)",
    # SysV and POSIX message-queue IPC: objects that outlive the worker and link workers.
    29: "shmget",
    30: "shmat",
    31: "shmctl",
    67: "shmdt",
    64: "semget",
    65: "semop",
    66: "semctl",
    220: "semtimedop",
    68: "msgget",
    69: "msgsnd",
    70: "msgrcv",
    71: "msgctl",
    240: "mq_open",
    241: "mq_unlink",
    242: "mq_timedsend",
    243: "mq_timedreceive",
    244: "mq_notify",
    245: "mq_getsetattr",
    # Watching or probing the host's files. Landlock refuses opening files but not path lookups:
    # stat, access, readlink, chdir and the error of a refused open (ENOENT or EACCES) would tell
    # which paths exist; a worker has every module it needs before it is confined.
    2: "open",
    257: "openat",
    437: "openat2",
    85: "creat",
    4: "stat",
    6: "lstat",
    262: "newfstatat (glibc's fstat too; the worker never needs it once confined)",
    332: "statx",
    21: "access",
    269: "faccessat",
    439: "faccessat2",
    89: "readlink",
    267: "readlinkat",
    80: "chdir",
    137: "statfs",
    191: "getxattr",
    192: "lgetxattr",
    194: "listxattr",
    195: "llistxattr",
    464: "getxattrat",
    465: "listxattrat",
    253: "inotify_init",
    294: "inotify_init1",
    254: "inotify_add_watch",
    255: "inotify_rm_watch",
    300: "fanotify_init",
    301: "fanotify_mark",
    457: "statmount",
    458: "listmount",
    428: "open_tree",
    429: "move_mount",
    430: "fsopen",
    431: "fsconfig",
    432: "fsmount",
    433: "fspick",
    442: "mount_setattr",
    179: "quotactl",
    443: "quotactl_fd",
    212: "lookup_dcookie",
    # Changing files (Landlock refuses them too; the error would still probe paths).
    76: "truncate",
    82: "rename",
    264: "renameat",
    316: "renameat2",
    83: "mkdir",
    258: "mkdirat",
    84: "rmdir",
    86: "link",
    265: "linkat",
    87: "unlink",
    263: "unlinkat",
    88: "symlink",
    266: "symlinkat",
    90: "chmod",
    268: "fchmodat",
    452: "fchmodat2",
    92: "chown",
    94: "lchown",
    260: "fchownat",
    132: "utime",
    235: "utimes",
    261: "futimesat",
    280: "utimensat",
    133: "mknod",
    259: "mknodat",
    188: "setxattr",
    189: "lsetxattr",
    197: "removexattr",
    198: "lremovexattr",
    134: "uselib",
    153: "vhangup",
    # Host clocks and names.
    159: "adjtimex",
    164: "settimeofday",
    227: "clock_settime",
    305: "clock_adjtime",
    170: "sethostname",
    171: "setdomainname",
    172: "iopl",
    173: "ioperm",
}
_AUDIT_ARCH_X86_64 = 0xC000003E


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_PRLIMIT64 = 302


def seccomp_program(deny: list[int]) -> list[tuple[int, int, int, int]]:
    """The BPF program: wrong arch -> kill; x32, a denied call, or prlimit64 on another
    process -> EPERM; anything else -> allow."""
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill, eperm = 0x7FFF0000, 0x80000000, 0x00050000 | 1
    n = len(deny)
    if n + 7 > 255:  # pragma: no cover - a BPF jump offset is one byte
        raise ValueError(f"{n} denied system calls do not fit one BPF jump table")
    prog = [
        (ld_abs, 0, 0, 4),  # 0: arch
        (jeq, 1, 0, _AUDIT_ARCH_X86_64),  # 1
        (ret, 0, 0, kill),  # 2
        (ld_abs, 0, 0, 0),  # 3: syscall number
        (jge, n + 7, 0, 0x40000000),  # 4: x32 ABI -> deny (at 12 + n)
    ]
    for index, nr in enumerate(deny):  # 5 .. 4 + n
        prog.append((jeq, n + 6 - index, 0, nr))
    prog += [
        (jeq, 1, 0, _PRLIMIT64),  # 5 + n
        (ret, 0, 0, allow),  # 6 + n
        (ld_abs, 0, 0, 16),  # 7 + n: prlimit64's pid, low half
        (jeq, 0, 3, 0),  # 8 + n
        (ld_abs, 0, 0, 20),  # 9 + n: high half
        (jeq, 0, 1, 0),  # 10 + n
        (ret, 0, 0, allow),  # 11 + n: pid 0 is the worker itself
        (ret, 0, 0, eperm),  # 12 + n
    ]
    return prog


@cache
def _fprog() -> _SockFprog:
    # Built once in the zygote; workers only install it.
    program = seccomp_program(sorted(_X86_64_DENY))
    filters = (_SockFilter * len(program))(*(_SockFilter(*ins) for ins in program))
    fprog = _SockFprog(len(program), filters)
    fprog.keep = filters  # the array must outlive the pointer
    return fprog


def seccomp() -> tuple[bool, str]:
    """Install the system-call filter; (done, why not)."""
    if _machine() != "x86_64":
        return False, f"seccomp filter not built for {_machine()}"
    fprog = _fprog()
    if int(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0)) != 0:
        return False, f"seccomp filter refused: {_errno_text()}"
    return True, ""


def prepare() -> None:
    """Build what the workers only apply (called once in the zygote)."""
    if _machine() == "x86_64":
        _fprog()
    _baseline_bytes()


def apply(limits: dict[str, Any], network: tuple[bool, str] | None = None) -> dict[str, Any]:
    """Confine this process; the report says which layers took effect.

    Raises:
        ConfinementError: a mandatory step (limits, privilege drop) failed.
    """
    notes: list[str] = []
    # The zygote usually made one empty namespace for all its workers already (creating and
    # tearing down a namespace per run costs about a millisecond plus kernel clean-up work).
    if network is not None and network[0]:
        network_isolated, why = network
        private, why_ipc = own_ipc_and_uts()
    else:  # one unshare for everything (with a user namespace when not root)
        network_isolated, why = no_network(CLONE_NEWIPC | CLONE_NEWUTS)
        private, why_ipc = (network_isolated, why) if network_isolated else own_ipc_and_uts()
    for note in (why, why_ipc):
        if note and note not in notes:
            notes.append(note)
    try:
        set_limits(limits)
    except (OSError, ValueError) as exc:
        raise ConfinementError(f"could not set resource limits: {exc}") from None
    dropped = drop_privileges(int(limits.get("uid", NOBODY)), int(limits.get("gid", NOBODY)))
    if not dropped:
        notes.append("not started as root: the worker keeps the server's uid")
    # Changing credentials clears the parent-death signal, so it is set after the switch.
    prctl(PR_SET_PDEATHSIG, 9)  # die with the zygote
    prctl(PR_SET_DUMPABLE, 0)
    if not prctl(PR_SET_NO_NEW_PRIVS, 1):  # pragma: no cover - always allowed since Linux 3.5
        raise ConfinementError(f"PR_SET_NO_NEW_PRIVS failed: {_errno_text()}")
    abi, why = landlock()
    if why:
        notes.append(why)
    filtered, why = seccomp()
    if why:
        notes.append(why)
    return {
        "uid": os.getuid(),
        "dropped_privileges": dropped,
        "network_namespace": network_isolated,
        "ipc_namespace": private,
        "landlock_abi": abi,
        "seccomp": filtered,
        "rlimits": True,
        "notes": notes,
    }
