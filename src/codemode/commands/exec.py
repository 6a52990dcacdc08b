"""``codemode exec FILE|-``: run a script in the sandbox exactly as ``execute_code`` does.

The work is :func:`run_exec`, free of typer: ``codemode.cli.main`` calls it directly for a plain
``codemode exec`` (a start costs what the sandbox needs, not what the CLI framework needs), and
the typer command registered here calls it for ``--help`` and the in-process test runner.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codemode.commands._exit import Exit

if TYPE_CHECKING:
    import typer

    from codemode.config import Settings
    from codemode.sandbox import Bridge, ExecutionResult, ResponseScanner
    from codemode.sandbox.spawn import ZygoteClient

__all__ = ["OPTIONS", "register", "run_exec", "visible"]

_DEMO_BASE_URL = "http://simulator"

OPTIONS: dict[str, tuple[str, str]] = {
    "--demo": ("demo", "flag"),
    "--json": ("as_json", "flag"),
    "--dry-run": ("dry_run", "flag"),
    "--read-only": ("read_only", "flag"),
    "--store": ("store_file", "path"),
}
"""The options of ``exec`` as ``codemode.cli``'s fast parser reads them: flag -> (name, kind).
A test checks they are the typer command's options, so the two parsers cannot drift apart."""


# Characters a terminal acts on instead of showing: C0 controls but newline and tab (ESC starts
# colour, cursor, title, clipboard (OSC 52) and hyperlink sequences; CR overwrites a line), DEL,
# C1 controls (a one-character CSI), and the bidirectional controls that reorder what is shown:
# overrides, isolates and the invisible marks (LRM, RLM, ALM), which move the digits and
# punctuation beside them.
_TERMINAL_CONTROLS = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in [
        *range(0x00, 0x09),
        *range(0x0B, 0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
}


def visible(text: str) -> str:
    """``text`` safe for a terminal: every control character written as its escape (``\\x1b``).

    Script output carries outside text (a profile name can hold an escape sequence that sets the
    terminal's title or clipboard, or a carriage return that hides the line before it): the
    terminal must show it, never obey it. ``--json`` escapes it as JSON does.
    """
    return text.translate(_TERMINAL_CONTROLS)


def _say(message: str) -> None:
    print(visible(message), file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add the ``exec`` command to ``app``."""
    import typer

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
        raise typer.Exit(
            run_exec(
                file,
                demo=demo,
                as_json=as_json,
                dry_run=dry_run,
                read_only=read_only,
                store_file=store_file,
            )
        )


def run_exec(
    file: str,
    *,
    demo: bool = False,
    as_json: bool = False,
    dry_run: bool = False,
    read_only: bool = False,
    store_file: Path | None = None,
) -> int:
    """Run the script in ``file`` (``-`` for stdin); return the exit status (0, 1 or 2)."""
    from codemode.config import Settings
    from codemode.errors import ConfigError

    try:
        settings = Settings.from_env().with_overrides(
            demo=demo or None, read_only=read_only or None
        )
        # A misspelt entry stops here, not at the first call (exec loads no extensions: with an
        # extension file, an entry may name one of its operations).
        if (settings.allow or settings.deny) and settings.extensions is None:
            from codemode.catalog import load_catalog
            from codemode.policy import Policy

            try:
                Policy.from_settings(settings).check_entries(load_catalog())
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        code = _read(file, settings.code_bytes)
        store = _load_store(store_file, _store_limit(settings))
        if not settings.demo and not settings.api_key:
            _say("no Klaviyo key: set KLAVIYO_API_KEY=pk_... or pass --demo to use the simulator")
            raise Exit(2)
    except ConfigError as exc:
        _say(str(exc))
        return 2
    except Exit as stop:
        return stop.code
    # The zygote starts now, before the host imports the rest (the event loop, the runner): its
    # start, the longest part of a one-shot run's, overlaps the host's. Launched from this thread,
    # which runs the event loop (its parent-death signal follows the thread that forked it).
    from codemode.sandbox.spawn import ZygoteClient

    zygote = ZygoteClient.launch(sys.executable)
    import anyio

    from codemode.commands._json import dumps as dumps_json

    result = anyio.run(_run, settings, code, store, dry_run, zygote)
    saved = True
    if store_file is not None and result.store != store:
        saved = _save_store(store_file, result.store)
    if as_json:
        # execute_code's result; its ``session`` (what keeps ``store`` across runs) is, on the
        # command line, the --store file, or null: without one each run starts empty.
        payload = {**result.to_dict(), "session": None if store_file is None else str(store_file)}
        sys.stdout.write(dumps_json(payload) + "\n")
    else:
        sys.stdout.write(visible(result.output))
        if result.planned_writes:
            _say(f"planned writes (dry run): {dumps_json(result.planned_writes)}")
        for r in result.redactions:
            _say(
                f"{r.action} as suspected prompt injection: {r.where} (from {r.source}, {r.reason})"
            )
        if result.error is not None:
            where = f" (line {result.error.line})" if result.error.line else ""
            _say(f"error{where}: {result.error.type}: {result.error.message}")
    sys.stdout.flush()
    return 0 if result.error is None and saved else 1


def _read(file: str, limit: int) -> str:
    """The script, read no further than the script limit (``/dev/zero`` or a pipe never ending)."""
    try:
        if file == "-":
            code = sys.stdin.read(limit + 1)
        else:
            with Path(file).open(encoding="utf-8") as stream:
                code = stream.read(limit + 1)  # characters: at least as many bytes
    except (OSError, UnicodeDecodeError) as exc:
        _say(f"cannot read {file}: {exc}; pass a readable UTF-8 file or - for stdin")
        raise Exit(2) from exc
    if len(code.encode("utf-8", "surrogatepass")) > limit:
        _say(f"{file}: the script is longer than {limit} bytes (CODEMODE_CODE_BYTES); shorten it")
        raise Exit(2)
    return code


def _store_limit(settings: Any) -> int:
    from codemode.sandbox.limits import Limits

    return Limits.from_settings(settings).store_bytes


def _load_store(path: Path | None, limit: int) -> dict[str, Any]:
    """The store file, read no further than the store limit (a run could not keep more):
    ``/dev/zero`` grew without end, and a file past the limit reached the worker whole."""
    if path is None or not path.exists():
        return {}
    try:
        with path.open("rb") as stream:
            raw = stream.read(limit + 1)
        if len(raw) > limit:
            _say(
                f"the store {path} is larger than the store limit ({limit} bytes); fix or delete the file"
            )
            raise Exit(2)
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        detail = "nested too deep" if isinstance(exc, RecursionError) else str(exc)[:200]
        _say(f"cannot read the store {path}: {detail}; fix or delete the file")
        raise Exit(2) from None
    if not isinstance(data, dict):
        _say(f"the store {path} must hold a JSON object; fix or delete the file")
        raise Exit(2)
    return data


def _save_store(path: Path, store: dict[str, Any]) -> bool:
    """Write the store whole or not at all: a new file beside it (private to the user) replaces
    the old one in one step, so a run killed or a disk filled mid-write leaves the previous
    store intact. Says so and returns False when it cannot be written."""
    import os
    import tempfile

    text = json.dumps(store, indent=2) + "\n"
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _say(
            f"cannot write the store {path}: {exc.strerror or exc}; the previous store is "
            "unchanged (the run's writes to Klaviyo, if any, were made)"
        )
        return False
    return True


def _scanner() -> ResponseScanner | None:
    try:
        from codemode.scanner import Scanner
    except ImportError as exc:  # a partial install: run, but say nothing was scanned
        _say(f"warning: the scanner is unavailable ({exc}); results are unscanned")
        return None
    return Scanner.default()


def _host_parts(settings: Settings) -> tuple[Any, Any, ResponseScanner | None]:
    """Import and build the host side of a run: the catalog, the policy and the scanner."""
    # Imported here, on a thread, so that the HTTP client and SDK modules load off the event
    # loop; it finds them in sys.modules afterwards.
    from codemode.server.lazy_sdk import import_httpx

    import_httpx()  # without its command-line client
    import codemode.klaviyo
    import codemode.simulator.lazy  # noqa: F401
    from codemode.catalog import load_catalog
    from codemode.policy import Policy

    return load_catalog(), Policy.from_settings(settings), _scanner()


async def _run(
    settings: Settings,
    code: str,
    store: dict[str, Any],
    dry_run: bool,
    zygote: ZygoteClient,
) -> ExecutionResult:
    from contextlib import AsyncExitStack

    import anyio

    from codemode.catalog import operation_names
    from codemode.sandbox.deferred import DeferredBridge
    from codemode.sandbox.limits import Limits
    from codemode.sandbox.runner import Sandbox

    if settings.demo:
        from codemode.simulator.config import DEMO_PRIVATE_KEY

        api_key, base_url = DEMO_PRIVATE_KEY, _DEMO_BASE_URL
    else:  # run_exec checked there is a key
        api_key, base_url = settings.api_key or "", settings.base_url
    sandbox = Sandbox(limits=Limits.from_settings(settings))
    sandbox.adopt(zygote)
    clients = AsyncExitStack()

    async def build() -> Bridge:
        """The SDK side: only a script that calls Klaviyo (or prints outside text) pays for it."""
        import anyio.to_thread

        catalog, policy, scanner = await anyio.to_thread.run_sync(_host_parts, settings)
        import httpx

        from codemode.klaviyo import AsyncKlaviyo
        from codemode.sandbox.bridge import SdkBridge

        if settings.demo:
            from codemode.simulator.lazy import LazyApp

            transport = httpx.ASGITransport(app=LazyApp())
            http = httpx.AsyncClient(transport=transport, base_url=base_url)
        else:
            http = httpx.AsyncClient()
        await clients.enter_async_context(http)
        return SdkBridge(
            client=AsyncKlaviyo(api_key=api_key, base_url=base_url, http_client=http),
            catalog=catalog,
            policy=policy,
            scanner=scanner,
            scan_policy=settings.scan_policy,
            dry_run=dry_run,
            secrets=[api_key],
        )

    bridge = DeferredBridge(
        names=operation_names(), build=build, secrets=[api_key], dry_run=dry_run
    )
    try:
        async with anyio.create_task_group() as tg:
            # A script that names klaviyo will call it: build the SDK side on a thread while the
            # zygote starts, instead of after the first call arrives. Only a hint: a script that
            # reaches the SDK another way builds it on its first call.
            if "klaviyo" in code:
                tg.start_soon(bridge.prefetch)
            result = await sandbox.execute(code, bridge=bridge, store=store)
        return result
    finally:
        with anyio.CancelScope(shield=True):
            await sandbox.aclose()
            await clients.aclose()
