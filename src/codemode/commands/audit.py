"""``codemode audit``: show the server's audit log (who ran what, which calls, the outcome)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""

    @app.command(help="Show the audit log of execute_code runs (no secrets, no response data).")
    def audit(
        since: str = typer.Option(None, "--since", help="Only runs this recent: 30m, 1h, 2d, 1w."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
        db: str = typer.Option(
            None,
            "--db",
            help="Audit database: a SQLite file or a postgresql:// URL (default: "
            "CODEMODE_AUDIT_DB or the HTTP default).",
        ),
        limit: int = typer.Option(200, "--limit", help="At most this many rows, newest first."),
    ) -> None:
        from codemode.audit import open_audit, parse_since
        from codemode.config import Settings
        from codemode.errors import CodemodeError

        try:
            settings = Settings.from_env()
            target: Path | str | None = db or settings.audit_url or settings.audit_path("http")
        except CodemodeError as exc:
            typer.echo(f"codemode audit: {exc}", err=True)
            raise typer.Exit(2) from None
        remote = isinstance(target, str) and target.startswith(("postgres://", "postgresql://"))
        path = None if target is None else target if remote else Path(target)
        if path is None:
            typer.echo(
                "codemode audit: auditing is off (CODEMODE_AUDIT_DB=off); pass --db FILE", err=True
            )
            raise typer.Exit(2)
        if isinstance(path, Path) and not path.is_file():
            typer.echo(
                f"codemode audit: no audit log at {path} yet (it appears after the first run)",
                err=True,
            )
            raise typer.Exit(1)
        try:
            cutoff = parse_since(since) if since else None
        except ValueError as exc:
            typer.echo(f"codemode audit: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            log = open_audit(path)
        except CodemodeError as exc:
            typer.echo(f"codemode audit: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            rows = log.rows(since=cutoff, limit=limit)
        finally:
            log.close()
        if as_json:
            for row in rows:
                sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        # Every cell is escaped: no stored text is ever read as Rich markup.
        table = Table(title=escape(f"{len(rows)} runs from {path}"), title_justify="left")
        for name in ("when (UTC)", "who", "session", "outcome", "ms", "calls", "code sha256"):
            table.add_column(name)
        for row in rows:
            table.add_row(*(escape(cell) for cell in _cells(row)))
        Console().print(table)


def _cells(row: dict[str, Any]) -> list[str]:
    """One row as plain text; scanner outcomes other than clean are labelled ``[flagged]``..."""
    calls = ", ".join(
        f"{c.get('id')} {c.get('status')}"
        + ("" if c.get("scan") in ("clean", None) else f" [{c.get('scan')}]")
        for c in row["calls"][:4]
    )
    if len(row["calls"]) > 4:
        calls += f" +{len(row['calls']) - 4}"
    outcome = f"{row['outcome']}" + (" (dry run)" if row["dry_run"] else "")
    if row["error_type"] and row["outcome"] == "error":
        outcome += f": {row['error_type']}"
    return [
        time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["started"])),
        str(row["principal"]),
        str(row["session"])[:10],
        outcome,
        f"{row['duration_ms']:.0f}",
        calls or "-",
        str(row["code_sha256"])[:12],
    ]
