"""``codemode actions``: every action agents can reach, and a validator for extension files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``actions`` command to ``app``."""

    @app.command(name="actions")
    def actions(
        as_json: bool = typer.Option(False, "--json", help="One JSON object: {actions: [...]}."),
        check: Path | None = typer.Option(
            None,
            "--check",
            help="Validate an extension file (extra operations) and exit.",
            metavar="FILE",
        ),
        extensions: Path | None = typer.Option(
            None,
            "--extensions",
            help="Extension file to include (default: CODEMODE_EXTENSIONS).",
            metavar="FILE",
        ),
    ) -> None:
        """List every action (built-in, companion, extra, composite) with its source and kind."""
        from rich.console import Console
        from rich.table import Table

        from codemode.catalog import load_catalog
        from codemode.config import Settings
        from codemode.extensions import (
            ExtensionError,
            composite_action,
            load_composites,
            load_extra_operations,
        )

        catalog = load_catalog()
        err = Console(stderr=True)
        if check is not None:
            try:
                extra = load_extra_operations(check, catalog)
            except ExtensionError as exc:
                err.print(f"[red]invalid:[/red] {exc}")
                raise typer.Exit(1) from None
            err.print(
                f"[green]ok:[/green] {check} adds {len(extra)} operation(s): {', '.join(a.id for a in extra)}"
            )
            return
        path = extensions or Settings.from_env().extensions
        try:
            added = load_extra_operations(path, catalog) if path else []
            added += [composite_action(c) for c in load_composites()]
        except ExtensionError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        everything = catalog.with_actions(added)
        rows = [
            {
                "id": a.id,
                "function": a.function,
                "source": a.source,
                "kind": a.kind,
                "summary": a.summary,
            }
            for a in everything.values()
        ]
        if as_json:
            sys.stdout.write(json.dumps({"actions": rows}) + "\n")
            return
        table = Table("function", "source", "kind", "summary", title=f"{len(rows)} actions")
        for row in rows:
            table.add_row(row["function"], row["source"], row["kind"], row["summary"])
        Console().print(table)
