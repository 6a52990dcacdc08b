"""``codemode search``: the ``search_api`` ranking from the shell, for people and for scripts."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from codemode.search import SearchIndex

MAX_K = 50
"""The most results one query asks for (``-k``, and ``"k"`` on a ``--jsonl`` line)."""


def register(app: typer.Typer) -> None:
    """Add the ``search`` command to ``app``."""

    @app.command(name="search")
    def search(
        query: str | None = typer.Argument(None, help="What you want to do, in any words."),
        k: int = typer.Option(5, "-k", "--limit", min=1, max=MAX_K, help="How many results."),
        as_json: bool = typer.Option(
            False, "--json", help="Print {results: [...]} as one JSON object."
        ),
        jsonl: bool = typer.Option(
            False,
            "--jsonl",
            help='Read lines {"query": ...} on stdin; write one {"results": [...]} line per query.',
        ),
    ) -> None:
        """Find the SDK functions for a task: `codemode search "add a contact to a list"`."""
        from codemode.catalog import load_catalog
        from codemode.search import SearchIndex, render_help

        index = SearchIndex(load_catalog())
        if jsonl:
            _serve_jsonl(index, k)
            return
        if query is None:
            typer.echo(render_help(""), err=True)
            raise typer.Exit(2)
        hits = index.search(query, limit=k)
        if as_json:
            sys.stdout.write(json.dumps({"results": [h.to_dict() for h in hits]}) + "\n")
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        if not hits:
            console.print(render_help(query), highlight=False)
            raise typer.Exit(1)
        table = Table(title=f"search: {query}")
        table.add_column("#", justify="right")
        table.add_column("function", no_wrap=True)
        table.add_column("kind")
        table.add_column("score", justify="right")
        table.add_column("summary")
        for rank, hit in enumerate(hits, 1):
            kind = f"[red]{hit.kind}[/red]" if hit.kind == "destructive" else hit.kind
            table.add_row(str(rank), hit.function, kind, f"{hit.score:.3f}", hit.summary)
        console.print(table)
        console.print(
            "Next: codemode signature " + " ".join(h.id for h in hits[:2]), highlight=False
        )


def _serve_jsonl(index: SearchIndex, k: int) -> None:
    """One output line per input line, in order; a bad line gets an ``error`` instead of results."""
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            query = record.get("query") if isinstance(record, dict) else None
            if not isinstance(query, str):
                raise ValueError('each line must be an object with a string "query"')
            limit = record.get("k", k)
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_K:
                raise ValueError(f'"k" must be a whole number from 1 to {MAX_K}, as -k is')
        except (ValueError, KeyError, TypeError) as exc:
            out.write(json.dumps({"results": [], "error": f"bad input line: {exc}"}) + "\n")
            out.flush()
            continue
        hits = index.search(query, limit=limit)
        out.write(json.dumps({"results": [h.to_dict() for h in hits]}) + "\n")
        out.flush()
