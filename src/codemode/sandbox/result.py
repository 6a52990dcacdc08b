"""What an execution returns: output, calls, error, store (the DESIGN.md shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from codemode.sandbox.sketch import Sketch

__all__ = ["CallRecord", "ErrorInfo", "ExecutionResult", "OutputScan", "Redaction", "ScanVerdict"]

ScanVerdict = Literal["clean", "flagged", "blocked", "unscanned"]


@dataclass(frozen=True, slots=True)
class OutputScan:
    """The scanner's word on the outside text of a result (what ``Bridge.scan_output`` returns).

    Attributes:
        verdict: ``clean``, ``flagged`` (redact or annotate policy), ``blocked`` or ``unscanned``.
        flagged: the keys of the pieces to take out (or mark), each with a short, host-written reason.
        annotate: mark the flagged pieces instead of removing them (scan policy ``annotate``).
    """

    verdict: ScanVerdict
    flagged: Mapping[str, str] = field(default_factory=dict)
    annotate: bool = False


@dataclass(frozen=True, slots=True)
class Redaction:
    """One piece of outside text taken out of (or marked in) a result, and why.

    Attributes:
        where: the place in the result, e.g. ``output line 3`` or ``error message``.
        source: where the text came from, e.g. ``get_profiles (call 2)``.
        reason: the scanner's rule, e.g. ``pattern override.ignore_previous``.
        action: ``removed`` or ``marked`` (annotate policy).
    """

    where: str
    source: str
    reason: str
    action: Literal["removed", "marked"] = "removed"

    def to_dict(self) -> dict[str, str]:
        """``{"where", "source", "reason", "action"}``."""
        return {
            "where": self.where,
            "source": self.source,
            "reason": self.reason,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One SDK call a script made.

    Attributes:
        id: operation id.
        status: HTTP status (0 when nothing was sent: refused, invalid, planned in a dry run).
        ms: host-side time of the call, scanning included.
        scan: the scanner's verdict on the answer (``unscanned`` without a scanner or answer).
        error: the exception class the script received, when the call failed.
    """

    id: str
    status: int
    ms: float
    scan: ScanVerdict
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "status", "ms", "scan"}`` plus ``error`` when the call failed."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "ms": self.ms,
            "scan": self.scan,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a script failed, written for the model that has to fix it."""

    type: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"type", "message", "line"}``."""
        return {"type": self.type, "message": self.message, "line": self.line}


@dataclass(slots=True)
class ExecutionResult:
    """The outcome of one execution.

    Attributes:
        output: what the script printed (capped, scanned; a truncation note at the end).
        truncated: True when printed text was dropped.
        dropped_bytes: how much was dropped.
        calls: the SDK calls, in order.
        error: None, or why the script failed.
        store: the session store after the run (the input store when the run could not update it).
        planned_writes: in a dry run, the writes that were recorded instead of sent.
        dry_run: whether writes were planned instead of sent.
        output_scan: the scanner's verdict on the outside text of the result (``clean`` when
            there was none: the script's own words and the host's messages are never scanned).
        redactions: each piece of outside text taken out of the result (or marked), and why.
        wall_ms, cpu_ms: time of the whole execution and the worker's CPU time.
        host_cpu_ms: the host's CPU time scanning for the run (its answers, then the output
            screen), charged against its CPU limit.
        isolation: which confinement layers the worker reported (see THREAT_MODEL.md).
        worker_pid: the worker's process id (gone once the result exists).
        sketch: the session's provenance sketch to keep with ``store`` (host-side only: never
            in :meth:`to_dict`, never in the store the script sees); None when there is none.
    """

    output: str = ""
    truncated: bool = False
    dropped_bytes: int = 0
    calls: list[CallRecord] = field(default_factory=list)
    error: ErrorInfo | None = None
    store: dict[str, Any] = field(default_factory=dict)
    planned_writes: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    output_scan: ScanVerdict = "unscanned"
    redactions: list[Redaction] = field(default_factory=list)
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    host_cpu_ms: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    worker_pid: int | None = None
    sketch: Sketch | None = None

    @property
    def ok(self) -> bool:
        """True when the script ran to its end without an error."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The tool result of DESIGN.md (the server adds ``session``)."""
        out: dict[str, Any] = {
            "output": self.output,
            "truncated": self.truncated,
            "calls": [call.to_dict() for call in self.calls],
            "error": self.error.to_dict() if self.error else None,
            "output_scan": self.output_scan,
            "redactions": [r.to_dict() for r in self.redactions],
        }
        if self.dry_run:
            out["planned_writes"] = list(self.planned_writes)
        return out
