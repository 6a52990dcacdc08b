"""``codemode signature``: what ``get_signature`` tells an agent about one or more actions."""

from __future__ import annotations

import json
import sys

import typer


def register(app: typer.Typer) -> None:
    """Add the ``signature`` command to ``app``."""

    @app.command(name="signature")
    def signature(
        names: list[str] = typer.Argument(
            ..., help="Operation ids or functions, e.g. get_profiles klaviyo.lists.get_lists."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print {signatures: [...], errors: [...]} as one JSON object."
        ),
    ) -> None:
        """Show how to call actions: signature, parameters, returned fields, an example."""
        from codemode.catalog import load_catalog
        from codemode.search import get_signatures, render_signatures

        sigs, errors = get_signatures(names, load_catalog())
        if as_json:
            payload = {"signatures": [s.to_dict() for s in sigs], "errors": errors}
            sys.stdout.write(json.dumps(payload) + "\n")
        else:
            typer.echo(render_signatures(sigs, errors))
        if errors:
            raise typer.Exit(1)
