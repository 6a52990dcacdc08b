"""``codemode sim``: the Klaviyo simulator on its own, with the demo accounts, on a local port."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

import typer


def _quiet_drops(record: logging.LogRecord) -> bool:
    # A simulated dropped connection is the point of --drop-rate, not a server error to print.
    from codemode.simulator.app import DroppedConnection

    return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["quiet_drops"] = {"()": lambda: _quiet_drops}
    config["handlers"]["default"].setdefault("filters", []).append("quiet_drops")
    return config


def register(app: typer.Typer) -> None:
    """Add the ``sim`` command to ``app``."""

    @app.command("sim")
    def sim(
        port: int = typer.Option(8765, "--port", "-p", help="Port to listen on.", min=1, max=65535),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Interface to bind (loopback by default)."
        ),
        seed: int = typer.Option(
            0, "--seed", help="Seed of the demo data; the same seed gives the same accounts."
        ),
        no_rate_limits: bool = typer.Option(
            False, "--no-rate-limits", help="Do not enforce Klaviyo's per-endpoint rate limits."
        ),
        error_rate: float = typer.Option(
            0.0, "--error-rate", help="Share of API requests answered 503 (seeded, deterministic)."
        ),
        latency_ms: float = typer.Option(
            0.0, "--latency-ms", help="Delay added to every API request."
        ),
        drop_rate: float = typer.Option(
            0.0, "--drop-rate", help="Share of API requests whose connection drops mid-response."
        ),
        burst_429_every: int = typer.Option(
            0, "--burst-429-every", help="Every Nth API request answers 429 (0: never)."
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
            FaultConfig,
            SimConfig,
            create_app,
        )

        app_ = create_app(
            SimConfig(
                seed=seed,
                rate_limits=not no_rate_limits,
                db_path=db,
                faults=FaultConfig(
                    error_rate=error_rate,
                    latency_ms=latency_ms,
                    drop_rate=drop_rate,
                    burst_429_every=burst_429_every,
                    seed=seed,
                ),
            )
        )
        ready = time.perf_counter() - started
        sim_state = app_.state.sim
        typer.echo(f"Klaviyo simulator ready in {ready:.2f}s on http://{host}:{port}")
        for account in sim_state.accounts.values():
            if sim_state.is_seeded(account.account_id):
                size = f"{len(account.table('profile'))} profiles, {len(account.table('event'))} events"
            else:
                size = "seeded on first use"
            typer.echo(f"  account {account.name!r}: company_id {account.company_id}, {size}")
        typer.echo(
            f"  private key: {DEMO_PRIVATE_KEY} (any 'pk_...' works); public key: {DEMO_COMPANY_ID}; OAuth client: {DEMO_OAUTH_CLIENT}"
        )
        typer.echo(
            f"  rate limits: {'off' if no_rate_limits else 'on'}; state: {db or 'in memory'}"
        )
        from codemode.config import Settings
        from codemode.server.listener import read_deadline_protocol

        defaults = Settings()  # the simulator reads no CODEMODE_* setting: serve's defaults
        uvicorn.run(
            app_,
            host=host,
            port=port,
            log_level="warning",
            log_config=_log_config(),
            http=read_deadline_protocol(
                header_timeout_s=defaults.header_timeout_s, body_timeout_s=defaults.body_timeout_s
            ),
        )
