"""``codemode scan``: the prompt-injection scanner from the shell, for people and for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer

from codemode.commands._json import dumps as dumps_json

if TYPE_CHECKING:
    from codemode.scanner import Scanner, Verdict


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command to ``app``."""

    @app.command(name="scan")
    def scan(
        file: str = typer.Argument("-", help="A file to scan, or - for standard input."),
        jsonl: bool = typer.Option(
            False,
            "--jsonl",
            help='Read lines {"text": ...}; write one {"injection", "score", "ms"} line per input line.',
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the verdict as one JSON object."),
    ) -> None:
        """Scan text for prompt injection: `codemode scan note.txt` or `... | codemode scan -`.

        A file holding JSON (an API response) is scanned field by field. Exit status: 0 clean,
        1 injection found, 2 bad input.
        """
        from codemode.scanner import Scanner
        from codemode.scanner._scanner import MAX_SCAN_CHARS

        scanner = Scanner.default()
        try:
            stream: TextIO = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            typer.echo(
                f"cannot read {file}: {exc.strerror}; pass a readable file or - for stdin", err=True
            )
            raise typer.Exit(2) from exc
        limit = MAX_SCAN_CHARS
        with stream:
            if jsonl:
                _serve_jsonl(scanner, stream)
                return
            try:
                text = stream.read(limit + 1)  # /dev/zero or an endless pipe: never more
            except (OSError, UnicodeDecodeError) as exc:
                typer.echo(f"cannot read {file}: {exc}; pass a readable UTF-8 file", err=True)
                raise typer.Exit(2) from None
        if len(text) > limit:
            typer.echo(
                f"{file} is longer than the {limit} characters the scanner reads; split it",
                err=True,
            )
            raise typer.Exit(2)
        verdict = scanner.scan_text(text)
        if as_json:
            sys.stdout.write(dumps_json(_as_dict(verdict)) + "\n")
        else:
            _print_human(verdict, scanner)
        raise typer.Exit(1 if verdict.injection else 0)


def _as_dict(verdict: Verdict) -> dict[str, object]:
    return {
        "injection": verdict.injection,
        "score": round(verdict.score, 4),
        "ms": round(verdict.ms, 3),
        "tier2_available": verdict.tier2_available,
        "findings": [f.as_dict() for f in verdict.findings],
    }


def _print_human(verdict: Verdict, scanner: Scanner) -> None:
    from rich.console import Console

    console = Console()
    if verdict.injection:
        console.print(
            f"[bold red]INJECTION[/bold red] score {verdict.score:.2f} ({verdict.ms:.1f} ms)"
        )
    else:
        console.print(f"[green]clean[/green] score {verdict.score:.2f} ({verdict.ms:.1f} ms)")
    for finding in verdict.findings:
        where = f"{finding.pointer} " if finding.pointer else ""
        console.print(
            f"  - {where}tier {finding.tier} {finding.rule} ({finding.score:.2f}): {finding.reason}",
            highlight=False,
            markup=False,
        )
    if not verdict.tier2_available:
        console.print(
            f"[yellow]tier 2 unavailable[/yellow] ({scanner.tier2_error}); patterns only",
            highlight=False,
        )


def _serve_jsonl(scanner: Scanner, stream: TextIO) -> None:
    """One output line per input line, in order; a bad line gets an ``error`` and injection true."""
    out = sys.stdout
    # Load the model and compile the patterns before the first line, so "ms" is the scan alone.
    scanner.scan_text("warm-up: load the classifier and the patterns")
    from codemode.scanner._scanner import MAX_SCAN_CHARS

    while line := stream.readline(MAX_SCAN_CHARS + 1):  # a line is never held past the limit
        too_long = len(line) > MAX_SCAN_CHARS and not line.endswith("\n")
        while too_long and (rest := stream.readline(MAX_SCAN_CHARS + 1)):
            if rest.endswith("\n"):  # the rest of that line, dropped a bounded piece at a time
                break
        if not line.strip():
            continue
        try:
            if too_long:
                raise ValueError(f"longer than the {MAX_SCAN_CHARS} characters the scanner reads")
            record = json.loads(line)
            text = record.get("text") if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise ValueError('each line must be an object with a string "text"')
        except ValueError as exc:
            # Fail closed: what could not be read is not declared clean.
            out.write(
                json.dumps(
                    {"injection": True, "score": 1.0, "ms": 0.0, "error": f"bad input line: {exc}"}
                )
                + "\n"
            )
            out.flush()
            continue
        verdict = scanner.scan_text(text)
        out.write(
            dumps_json(
                {
                    "injection": verdict.injection,
                    "score": round(verdict.score, 4),
                    "ms": round(verdict.ms, 3),
                }
            )
            + "\n"
        )
        out.flush()
