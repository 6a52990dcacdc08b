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
