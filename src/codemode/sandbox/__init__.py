"""The ``execute_code`` engine: hostile Python run in confined, throw-away worker processes.

Two layers (see ``sandbox/THREAT_MODEL.md``): a RestrictedPython policy inside each worker
(``guards``, driven by ``sandbox/policy.toml``), and the worker process itself: forked from a
clean zygote, confined by rlimits, a private network namespace, an unprivileged uid, Landlock and
seccomp where the kernel has them, killed with its process group at the end of every run. The
worker holds no credential: its ``klaviyo`` object forwards each call to the host's
:class:`SdkBridge`, which applies the :class:`~codemode.policy.Policy`, calls Klaviyo and scans
the answer.

Usage::

    sandbox = Sandbox(limits=Limits(wall_s=30))
    bridge = SdkBridge(client=AsyncKlaviyo(...), catalog=load_catalog(), policy=Policy())
    result = await sandbox.execute(code, bridge=bridge, store={})
    result.to_dict()
    await sandbox.aclose()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codemode.sandbox.bridge import (
        Bridge,
        BridgeReply,
        ConfirmHook,
        ResponseScanner,
        SdkBridge,
        SdkClient,
    )
    from codemode.sandbox.limits import Limits
    from codemode.sandbox.result import (
        CallRecord,
        ErrorInfo,
        ExecutionResult,
        OutputScan,
        Redaction,
        ScanVerdict,
    )
    from codemode.sandbox.runner import ProgressCallback, Sandbox, SandboxError

_WHERE = {
    "Bridge": "codemode.sandbox.bridge",
    "BridgeReply": "codemode.sandbox.bridge",
    "ConfirmHook": "codemode.sandbox.bridge",
    "ResponseScanner": "codemode.sandbox.bridge",
    "SdkBridge": "codemode.sandbox.bridge",
    "SdkClient": "codemode.sandbox.bridge",
    "Limits": "codemode.sandbox.limits",
    "CallRecord": "codemode.sandbox.result",
    "ErrorInfo": "codemode.sandbox.result",
    "ExecutionResult": "codemode.sandbox.result",
    "OutputScan": "codemode.sandbox.result",
    "Redaction": "codemode.sandbox.result",
    "ScanVerdict": "codemode.sandbox.result",
    "ProgressCallback": "codemode.sandbox.runner",
    "Sandbox": "codemode.sandbox.runner",
    "SandboxError": "codemode.sandbox.runner",
}

__all__ = [
    "Bridge",
    "BridgeReply",
    "CallRecord",
    "ConfirmHook",
    "ErrorInfo",
    "ExecutionResult",
    "Limits",
    "OutputScan",
    "ProgressCallback",
    "Redaction",
    "ResponseScanner",
    "Sandbox",
    "SandboxError",
    "ScanVerdict",
    "SdkBridge",
    "SdkClient",
]


def __getattr__(name: str) -> Any:
    # Names load on first use: importing one light submodule (or the package for one name) does
    # not pull in the rest (a one-shot `codemode exec` starts without what it never touches).
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
