"""Prompt-injection scanner for everything an SDK call returns and for the script's final output.

Tier 1 (about a millisecond): normalisation (NFKC, homoglyphs, zero-width and bidi characters,
leetspeak, hidden HTML, markdown), decoding of base64, hex, percent and rot13 payloads, and patterns
with an id and a reason each, in English and fourteen other languages. Tier 2: a hashed n-gram classifier shipped as
an ONNX file and run with onnxruntime on one CPU thread. Responses are scanned field by field; the
result names the JSON pointer of each flagged field and why.

    from codemode.scanner import scan, Scanner
    scan("Ignore previous instructions").injection          # True
    Scanner.default().scan_response(body, policy="redact")   # ResponseScan
"""

from __future__ import annotations

from ._scanner import ANNOTATE_END, ANNOTATE_START, Scanner
from ._types import (
    REDACTED,
    Finding,
    InjectionDetected,
    ResponseScan,
    ScannerError,
    ScanPolicy,
    ScanStatus,
    Verdict,
)

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
    return Scanner.default().scan_text(text)
