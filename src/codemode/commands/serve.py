"""``codemode serve``: the MCP server over stdio (default) or Streamable HTTP at ``/mcp``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from codemode.config import Settings
from codemode.errors import CodemodeError


def _settings(**flags: Any) -> Settings:
    base = Settings.from_env()
    allow = tuple(flags.pop("allow") or ()) or None
    deny = tuple(flags.pop("deny") or ()) or None
    return base.with_overrides(allow=allow, deny=deny, **flags)


def _fail(message: str) -> None:
    typer.echo(f"codemode serve: {message}", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""

    @app.command(help="Run the MCP server (stdio by default; --transport http serves /mcp).")
    def serve(
        transport: str = typer.Option(None, "--transport", "-t", help="stdio (default) or http."),
        host: str = typer.Option(None, "--host", help="HTTP bind address (default 127.0.0.1)."),
        port: int = typer.Option(None, "--port", help="HTTP port (default 8000)."),
        demo: bool = typer.Option(
            None, "--demo", help="Use the in-process demo simulator: no account, no network."
        ),
        read_only: bool = typer.Option(
            None, "--read-only", help="Refuse every action that is not a read."
        ),
        allow: list[str] = typer.Option(
            None, "--allow", help="Only these ids, groups or kind:KIND (repeatable)."
        ),
        deny: list[str] = typer.Option(
            None, "--deny", help="Never these ids, groups or kind:KIND (repeatable)."
        ),
        allow_destructive: bool = typer.Option(
            None,
            "--allow-destructive",
            help="Enable destructive actions; each is confirmed by the user through MCP "
            "elicitation, and refused where the client cannot ask.",
        ),
        destructive_unconfirmed: bool = typer.Option(
            None,
            "--destructive-unconfirmed",
            help="With --allow-destructive: run destructive actions without asking the user "
            "(for clients with no elicitation; CODEMODE_DESTRUCTIVE_UNCONFIRMED).",
        ),
        extensions: Path = typer.Option(
            None, "--extensions", help="Extension file of extra operations (CODEMODE_EXTENSIONS)."
        ),
        log_level: str = typer.Option(
            "WARNING", "--log-level", help="Server log level; logs go to stderr."
        ),
        state: str = typer.Option(
            None,
            "--state",
            help="Shared state for replicas: memory:// (default, one process) or "
            "redis://host:6379/0 (CODEMODE_STATE); see docs/deploy.md.",
        ),
        principal_workers: int = typer.Option(
            None,
            "--principal-workers",
            min=1,
            help="Concurrent runs one user may hold, across every replica sharing --state "
            "(CODEMODE_PRINCIPAL_WORKERS; default three quarters of the worker pool).",
        ),
        slot_expiry: float = typer.Option(
            None,
            "--slot-expiry",
            min=1.0,
            help="Seconds after which a worker slot held by a replica that died is freed "
            "(CODEMODE_SLOT_EXPIRY_S; default the script time limit plus 15 s).",
        ),
    ) -> None:
        from codemode.server import build_server

        if transport is not None and transport not in ("stdio", "http"):
            _fail(f"--transport {transport!r} is not stdio or http")
        try:
            settings = _settings(
                transport=transport,
                host=host,
                port=port,
                demo=demo,
                read_only=read_only,
                allow=allow,
                deny=deny,
                allow_destructive=allow_destructive,
                destructive_unconfirmed=destructive_unconfirmed,
                extensions=extensions,
                state_url=state,
                principal_workers=principal_workers,
                slot_expiry_s=slot_expiry,
            )
            if settings.destructive_unconfirmed and not settings.allow_destructive:
                _fail(
                    "--destructive-unconfirmed only waives the confirmation of destructive "
                    "actions; enable them too with --allow-destructive"
                )
            level = log_level.upper()
            if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
                _fail(f"--log-level {log_level!r} is not DEBUG, INFO, WARNING, ERROR or CRITICAL")
            built = build_server(settings, log_level=level)  # type: ignore[arg-type]
            if settings.transport == "stdio":
                if not settings.demo and not settings.api_key:
                    typer.echo(
                        "codemode serve: warning: no KLAVIYO_API_KEY; execute_code will ask for one "
                        "(use --demo to try it with no account)",
                        err=True,
                    )
                import anyio

                anyio.run(built.run_stdio)
                return
            import uvicorn

            asgi = built.http_app()
            where = f"http://{settings.host}:{settings.port}/mcp"
            print(
                f"codemode: serving MCP at {where}" + (" (demo)" if settings.demo else ""),
                file=sys.stderr,
            )
            # On SIGTERM uvicorn stops accepting and lets running scripts finish (up to their own
            # time limit) before it closes: a rolling restart loses no answer.
            uvicorn.run(
                asgi,
                host=settings.host,
                port=settings.port,
                log_level=level.lower(),
                timeout_graceful_shutdown=int(settings.timeout_s) + 5,
            )
        except CodemodeError as exc:
            _fail(str(exc))
