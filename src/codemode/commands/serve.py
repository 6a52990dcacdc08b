"""``codemode serve``: the MCP server over stdio (default) or Streamable HTTP at ``/mcp``.

The work is :func:`run_serve`, free of typer: ``codemode.cli.main`` calls it directly for a plain
``codemode serve`` (see :mod:`codemode.cli`), and the typer command registered here calls it for
``--help`` and the in-process test runner.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemode.commands._exit import Exit

if TYPE_CHECKING:
    import typer

    from codemode.config import Settings

__all__ = ["OPTIONS", "fast_parse_ok", "register", "run_serve"]

OPTIONS: dict[str, tuple[str, str]] = {
    "--transport": ("transport", "str"),
    "-t": ("transport", "str"),
    "--host": ("host", "str"),
    "--port": ("port", "int"),
    "--demo": ("demo", "flag"),
    "--read-only": ("read_only", "flag"),
    "--allow": ("allow", "list"),
    "--deny": ("deny", "list"),
    "--allow-destructive": ("allow_destructive", "flag"),
    "--destructive-unconfirmed": ("destructive_unconfirmed", "flag"),
    "--extensions": ("extensions", "path"),
    "--log-level": ("log_level", "str"),
    "--state": ("state", "str"),
    "--principal-workers": ("principal_workers", "int"),
    "--slot-expiry": ("slot_expiry", "float"),
}
"""The options of ``serve`` as ``codemode.cli``'s fast parser reads them: flag -> (name, kind).
A test checks they are the typer command's options, so the two parsers cannot drift apart."""


def fast_parse_ok(parsed: dict[str, Any]) -> bool:
    """Whether values read by the fast parser pass typer's own bounds (else typer reports)."""
    workers = parsed.get("principal_workers")
    expiry = parsed.get("slot_expiry")
    return (workers is None or workers >= 1) and (expiry is None or expiry >= 1.0)


def _settings(**flags: Any) -> Settings:
    from codemode.config import Settings

    base = Settings.from_env()
    allow = tuple(flags.pop("allow") or ()) or None
    deny = tuple(flags.pop("deny") or ()) or None
    return base.with_overrides(allow=allow, deny=deny, **flags)


def _fail(message: str) -> None:
    print(f"codemode serve: {message}", file=sys.stderr)
    raise Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    import typer

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
        raise typer.Exit(
            run_serve(
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
                log_level=log_level,
                state=state,
                principal_workers=principal_workers,
                slot_expiry=slot_expiry,
            )
        )


def run_serve(**options: Any) -> int:
    """Serve until the client goes away (stdio) or the process is stopped (HTTP); exit status.

    ``options`` are :func:`_serve`'s keywords (the names in :data:`OPTIONS`).
    """
    try:
        _serve(**options)
    except Exit as stop:
        return stop.code
    return 0


def _serve(
    *,
    transport: str | None = None,
    host: str | None = None,
    port: int | None = None,
    demo: bool | None = None,
    read_only: bool | None = None,
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    allow_destructive: bool | None = None,
    destructive_unconfirmed: bool | None = None,
    extensions: Path | None = None,
    log_level: str = "WARNING",
    state: str | None = None,
    principal_workers: int | None = None,
    slot_expiry: float | None = None,
) -> None:
    from codemode.errors import CodemodeError

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
        early = zygote = None
        if settings.transport == "stdio":  # a client may start us per conversation: start fast
            from codemode.sandbox.spawn import ZygoteClient
            from codemode.server.handshake import EarlyAnswers
            from codemode.server.lazy_sdk import defer_package_init, import_httpx

            # Answer initialize and tools/list while the SDK and the server load (see handshake).
            early = EarlyAnswers.start(read_only=settings.read_only)
            # The sandbox's zygote starts on the other core meanwhile, ready for the first
            # execute_code (launched from this thread, which runs the event loop).
            zygote = ZygoteClient.launch(sys.executable)
            defer_package_init("mcp")  # the SDK's client side is not needed to serve
            import_httpx()  # nor httpx's command-line client
        from codemode.server import build_server

        try:
            built = build_server(settings, log_level=level)  # type: ignore[arg-type]
        except BaseException:
            if zygote is not None:  # it exits when it finds the host gone
                zygote.ctrl.close()
            raise
        if zygote is not None:
            built.runtime.sandbox.adopt(zygote)
        if early is not None:
            if not settings.demo and not settings.api_key:
                print(
                    "codemode serve: warning: no KLAVIYO_API_KEY; execute_code will ask for one "
                    "(use --demo to try it with no account)",
                    file=sys.stderr,
                )
            import anyio

            anyio.run(built.run_stdio, early)
            return
        import uvicorn

        from codemode.server.listener import uvicorn_options
        from codemode.server.memory import settle_heap

        asgi = built.http_app()
        settle_heap()  # a long-lived process: what it built is never garbage
        where = f"http://{settings.host}:{settings.port}/mcp"
        print(
            f"codemode: serving MCP at {where}" + (" (demo)" if settings.demo else ""),
            file=sys.stderr,
        )
        uvicorn.run(
            asgi,
            host=settings.host,
            port=settings.port,
            **uvicorn_options(settings, log_level=level.lower()),
        )
    except CodemodeError as exc:
        _fail(str(exc))
