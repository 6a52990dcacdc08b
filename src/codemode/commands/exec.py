"""``codemode exec FILE|-``: run a script in the sandbox exactly as ``execute_code`` does."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from codemode.commands._json import dumps as dumps_json

if TYPE_CHECKING:
    from codemode.config import Settings
    from codemode.sandbox import ExecutionResult, ResponseScanner

_DEMO_BASE_URL = "http://simulator"


def register(app: typer.Typer) -> None:
    """Add the ``exec`` command to ``app``."""

    @app.command(name="exec")
    def exec_(
        file: str = typer.Argument(..., help="The script to run, or - to read it from stdin."),
        demo: bool = typer.Option(
            False, "--demo", help="Run against the embedded simulator (no account needed)."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print the structured result as one JSON object."
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Perform reads, record writes without sending them."
        ),
        read_only: bool = typer.Option(
            False, "--read-only", help="Refuse every action that is not a read."
        ),
        store_file: Path | None = typer.Option(
            None,
            "--store",
            help="A JSON file holding the session store; read before, written after.",
        ),
    ) -> None:
        """Run a Python script in the sandbox, with `klaviyo`, `store` and the allowed modules.

        Example: `echo 'print(len(klaviyo.profiles.get_profiles().records))' | codemode exec - --demo`.
        Exit status: 0 when the script succeeded, 1 when it failed, 2 for bad input.
        """
        from codemode.config import Settings
        from codemode.errors import ConfigError

        try:
            settings = Settings.from_env().with_overrides(
                demo=demo or None, read_only=read_only or None
            )
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        code = _read(file)
        store = _load_store(store_file)
        import anyio

        result = anyio.run(_run, settings, code, store, dry_run)
        if store_file is not None and result.store != store:
            store_file.write_text(json.dumps(result.store, indent=2) + "\n", encoding="utf-8")
        if as_json:
            sys.stdout.write(dumps_json(result.to_dict()) + "\n")
        else:
            sys.stdout.write(result.output)
            if result.planned_writes:
                typer.echo(
                    f"planned writes (dry run): {dumps_json(result.planned_writes)}", err=True
                )
            for r in result.redactions:
                typer.echo(
                    f"{r.action} as suspected prompt injection: {r.where} (from {r.source}, "
                    f"{r.reason})",
                    err=True,
                )
            if result.error is not None:
                where = f" (line {result.error.line})" if result.error.line else ""
                typer.echo(f"error{where}: {result.error.type}: {result.error.message}", err=True)
        raise typer.Exit(0 if result.error is None else 1)


def _read(file: str) -> str:
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(
            f"cannot read {file}: {exc}; pass a readable UTF-8 file or - for stdin", err=True
        )
        raise typer.Exit(2) from exc


def _load_store(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"cannot read the store {path}: {exc}; fix or delete the file", err=True)
        raise typer.Exit(2) from exc
    if not isinstance(data, dict):
        typer.echo(f"the store {path} must hold a JSON object; fix or delete the file", err=True)
        raise typer.Exit(2)
    return data


def _scanner() -> ResponseScanner | None:
    try:
        from codemode.scanner import Scanner
    except ImportError as exc:  # a partial install: run, but say nothing was scanned
        typer.echo(f"warning: the scanner is unavailable ({exc}); results are unscanned", err=True)
        return None
    return Scanner.default()


async def _run(
    settings: Settings, code: str, store: dict[str, Any], dry_run: bool
) -> ExecutionResult:
    import httpx

    from codemode.catalog import load_catalog
    from codemode.klaviyo import AsyncKlaviyo
    from codemode.policy import Policy
    from codemode.sandbox import Limits, Sandbox, SdkBridge

    if settings.demo:
        from codemode.simulator import DEMO_PRIVATE_KEY, LazyApp

        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=LazyApp()), base_url=_DEMO_BASE_URL
        )
        api_key, base_url = DEMO_PRIVATE_KEY, _DEMO_BASE_URL
    elif settings.api_key:
        http = httpx.AsyncClient()
        api_key, base_url = settings.api_key, settings.base_url
    else:
        typer.echo(
            "no Klaviyo key: set KLAVIYO_API_KEY=pk_... or pass --demo to use the simulator",
            err=True,
        )
        raise typer.Exit(2)
    async with http:
        client = AsyncKlaviyo(api_key=api_key, base_url=base_url, http_client=http)
        bridge = SdkBridge(
            client=client,
            catalog=load_catalog(),
            policy=Policy.from_settings(settings),
            scanner=_scanner(),
            scan_policy=settings.scan_policy,
            dry_run=dry_run,
            secrets=[api_key],
        )
        async with Sandbox(limits=Limits.from_settings(settings)) as sandbox:
            return await sandbox.execute(code, bridge=bridge, store=store)
