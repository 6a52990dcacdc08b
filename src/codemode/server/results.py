"""The three tools' structured results (their ``outputSchema``) and the text the model reads.

Shapes follow DESIGN.md exactly. The text rendering is what most clients put in the model's
context, so it carries everything the model needs (output, error, session id, planned writes)
in as few tokens as possible; ``structuredContent`` carries the same facts as JSON.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CallRecord",
    "ErrorInfo",
    "ExecuteResult",
    "SearchResult",
    "SearchResultItem",
    "Signature",
    "SignatureResult",
    "render_execute",
]

Kind = Literal["read", "write", "destructive", "client"]
Scan = Literal["clean", "flagged", "blocked", "unscanned"]


def _lean_schema(schema: dict[str, Any]) -> None:
    """Drop the titles pydantic derives from field names: the model pays for every token."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_lean_schema)


class SearchResultItem(_Model):
    """One ranked SDK function."""

    id: str
    function: str = Field(description="Call path in scripts, e.g. klaviyo.profiles.get_profiles")
    summary: str
    kind: Kind
    score: float


class SearchResult(_Model):
    """Ranked functions, best first."""

    results: list[SearchResultItem]


class Signature(_Model):
    """One function's signature, parameter docs and return shape."""

    id: str
    function: str
    signature: str
    doc: str
    returns: str


class SignatureResult(_Model):
    """One entry per name found."""

    signatures: list[Signature]


class CallRecord(_Model):
    """One SDK call a script made."""

    id: str
    status: int = Field(
        description="HTTP status; 0 when nothing was sent (refused, invalid, dry run)"
    )
    ms: float
    scan: Scan = Field(
        description="Prompt-injection scan of the answer; unscanned when there was none"
    )


class ErrorInfo(_Model):
    """Why a script (or the run) failed."""

    type: str
    message: str
    line: int | None = None
    retry_after: int | None = Field(
        default=None, description="Busy or RateLimited: seconds to wait before retrying"
    )


class ExecuteResult(_Model):
    """What the script printed and the API calls it made."""

    output: str = Field(description="What the script printed (capped, scanned)")
    truncated: bool
    calls: list[CallRecord]
    error: ErrorInfo | None
    session: str = Field(description="Pass back as `session` to keep `store` across runs")
    planned_writes: list[dict[str, Any]] | None = Field(
        default=None, description="dry_run only: the writes the script would have sent"
    )


def render_execute(result: ExecuteResult, notes: list[str]) -> str:
    """The text the model reads for an ``execute_code`` result."""
    parts: list[str] = []
    if result.output:
        parts.append(result.output.rstrip("\n"))
    if result.truncated:
        parts.append("[output truncated: print less, e.g. aggregates or the first rows]")
    if result.error is not None:
        where = f" (line {result.error.line})" if result.error.line else ""
        parts.append(f"error: {result.error.type}{where}: {result.error.message}")
    if result.calls:
        parts.append("calls: " + _calls_line(result.calls))
    if result.planned_writes is not None:
        if result.planned_writes:
            parts.append(f"planned writes ({len(result.planned_writes)}, not sent):")
            parts.extend(
                json.dumps(w, separators=(",", ":"), default=str)[:400]
                for w in result.planned_writes[:20]
            )
            if len(result.planned_writes) > 20:
                parts.append(f"... +{len(result.planned_writes) - 20} more")
        else:
            parts.append("planned writes: none")
    parts.extend(notes)
    parts.append(f"session: {result.session}")
    return "\n".join(parts)


def _calls_line(calls: list[CallRecord]) -> str:
    """Consecutive identical calls folded (``get_profiles 200 x10``): pages add no tokens."""
    runs: list[tuple[str, int]] = []
    for call in calls:
        mark = f" [{call.scan}]" if call.scan in ("flagged", "blocked") else ""
        label = f"{call.id} {call.status}{mark}"
        if runs and runs[-1][0] == label:
            runs[-1] = (label, runs[-1][1] + 1)
        else:
            runs.append((label, 1))
    shown = [label if n == 1 else f"{label} x{n}" for label, n in runs[:12]]
    more = f", +{len(runs) - 12} more" if len(runs) > 12 else ""
    return ", ".join(shown) + more
