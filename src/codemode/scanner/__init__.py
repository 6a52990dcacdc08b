"""Prompt-injection scanner for everything an SDK call returns and for the script's final output.

Tier 1 (about a millisecond): normalisation (NFKC, homoglyphs, zero-width and bidi characters,
leetspeak, hidden HTML, markdown, look-alikes of other scripts, stacked marks, backwards text),
decoding of base64, base32, hex, binary, quoted-printable, character-code, escaped, percent,
rot13 and variation-selector payloads, and patterns
with an id and a reason each, in English and fourteen other languages. Tier 2: a hashed n-gram classifier shipped as
an ONNX file and run with onnxruntime on one CPU thread. Responses are scanned field by field; the
result names the JSON pointer of each flagged field and why.

    from codemode.scanner import scan, Scanner
    scan("Ignore previous instructions").injection          # True
    Scanner.default().scan_response(body, policy="redact")   # ResponseScan
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._types import (
    ANNOTATE_END,
    ANNOTATE_START,
    REDACTED,
    Finding,
    InjectionDetected,
    ResponseScan,
    ScannerError,
    ScanPolicy,
    ScanStatus,
    Verdict,
)

if TYPE_CHECKING:
    from ._scanner import Scanner

__all__ = [
    "ANNOTATE_END",
    "ANNOTATE_START",
    "REDACTED",
    "Finding",
    "InjectionDetected",
    "ResponseScan",
    "ScanPolicy",
    "ScanStatus",
    "Scanner",
    "ScannerError",
    "Verdict",
    "scan",
]


def scan(text: str) -> Verdict:
    """Scan one text with the shared default scanner (``Scanner.default().scan_text``)."""
    from ._scanner import Scanner

    return Scanner.default().scan_text(text)


def __getattr__(name: str) -> Any:
    # The scanner (its compiled patterns) loads on first use: the sandbox imports this package's
    # marks and types without paying for the patterns.
    if name == "Scanner":
        from ._scanner import Scanner

        return Scanner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
