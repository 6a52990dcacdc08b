"""``codemode signature``: what ``get_signature`` tells an agent about one or more actions."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from codemode.catalog import Catalog
    from codemode.search import Signature


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
        read_only: bool = typer.Option(
            False, "--read-only", help="Mark actions as `codemode exec --read-only` would run them."
        ),
    ) -> None:
        """Show how to call actions: signature, parameters, returned fields, an example.

        Each action is marked with what `codemode exec` will do with it under the configured
        policy (CODEMODE_READ_ONLY, CODEMODE_ALLOW, CODEMODE_DENY, ...), as get_signature marks it.
        """
        from codemode.catalog import load_catalog
        from codemode.search import get_signatures, render_signatures

        catalog = load_catalog()
        sigs, errors = get_signatures(names, catalog)
        marks = _exec_marks(sigs, catalog, read_only=read_only)
        if as_json:
            payload = {
                "signatures": [{**s.to_dict(), "policy": marks[s.id]} for s in sigs],
                "errors": errors,
            }
            sys.stdout.write(json.dumps(payload) + "\n")
        else:
            shown = {k: v for k, v in marks.items() if v != "allowed"}
            typer.echo(render_signatures(sigs, errors, shown))
        if errors:
            raise typer.Exit(1)


def _exec_marks(sigs: list[Signature], catalog: Catalog, *, read_only: bool) -> dict[str, str]:
    """What ``codemode exec`` will do with each action under the configured policy.

    The command line cannot show the user a confirmation form, so an action that needs one is
    refused there unless the operator waived confirmation. Bad policy settings exit with 2.
    """
    from codemode.config import Settings
    from codemode.errors import ConfigError
    from codemode.policy import Policy

    try:
        settings = Settings.from_env().with_overrides(read_only=read_only or None)
        policy = Policy.from_settings(settings)
        if settings.extensions is None:  # with extensions an entry may name one of theirs
            policy.check_entries(catalog)
    except (ConfigError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    marks: dict[str, str] = {}
    for sig in sigs:
        action = catalog.get(sig.id)
        marks[sig.id] = (
            "allowed"
            if action is None
            else policy.mark_text(
                action, can_ask=False, waived=settings.destructive_unconfirmed, plan="--dry-run"
            )
        )
    return marks
