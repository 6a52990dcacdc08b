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
        core: bool = typer.Option(
            False, "--core", help="Only the 162 core actions of the spec (the usual tasks)."
        ),
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
        """List every action (every Klaviyo operation, extra, composite) with its source and kind."""
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
                "core": a.core,
                "companion_of": a.companion_of,
                "summary": a.summary,
            }
            for a in everything.values()
            if a.core or not core
        ]
        if as_json:
            sys.stdout.write(json.dumps({"actions": rows}) + "\n")
            return
        marked = sum(1 for r in rows if r["core"])
        title = f"{len(rows)} actions ({marked} core)"
        table = Table("function", "source", "kind", "core", "summary", title=title)
        for row in rows:
            table.add_row(
                str(row["function"]),
                str(row["source"]),
                str(row["kind"]),
                "yes" if row["core"] else "",
                str(row["summary"]),
            )
        Console().print(table)
