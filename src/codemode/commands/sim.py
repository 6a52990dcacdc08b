"""``codemode sim``: the Klaviyo simulator on its own, with the demo accounts, on a local port."""

from __future__ import annotations

import time
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``sim`` command to ``app``."""

    @app.command("sim")
    def sim(
        port: int = typer.Option(8765, "--port", "-p", help="Port to listen on."),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Interface to bind (loopback by default)."
        ),
        seed: int = typer.Option(
            0, "--seed", help="Seed of the demo data; the same seed gives the same accounts."
        ),
        no_rate_limits: bool = typer.Option(
            False, "--no-rate-limits", help="Do not enforce Klaviyo's per-endpoint rate limits."
        ),
        db: Path | None = typer.Option(
            None, "--db", help="SQLite file that keeps the simulator's state across restarts."
        ),
    ) -> None:
        """Run a Klaviyo-compatible API with seeded demo data (any 'pk_...' key is accepted).

        Try: curl -H 'Authorization: Klaviyo-API-Key pk_demo' -H 'revision: 2026-07-15'
        http://127.0.0.1:8765/api/lists
        """
        started = time.perf_counter()
        import uvicorn

        from codemode.simulator import (
            DEMO_COMPANY_ID,
            DEMO_OAUTH_CLIENT,
            DEMO_PRIVATE_KEY,
            SimConfig,
            create_app,
        )

        app_ = create_app(SimConfig(seed=seed, rate_limits=not no_rate_limits, db_path=db))
        ready = time.perf_counter() - started
        accounts = app_.state.sim.accounts.values()
        typer.echo(f"Klaviyo simulator ready in {ready:.2f}s on http://{host}:{port}")
        for account in accounts:
            typer.echo(
                f"  account {account.name!r}: company_id {account.company_id}, {len(account.table('profile'))} profiles, {len(account.table('event'))} events"
            )
        typer.echo(
            f"  private key: {DEMO_PRIVATE_KEY} (any 'pk_...' works); public key: {DEMO_COMPANY_ID}; OAuth client: {DEMO_OAUTH_CLIENT}"
        )
        typer.echo(
            f"  rate limits: {'off' if no_rate_limits else 'on'}; state: {db or 'in memory'}"
        )
        uvicorn.run(app_, host=host, port=port, log_level="warning")
