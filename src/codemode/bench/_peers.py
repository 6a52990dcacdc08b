"""The real peers the tokens benchmark measures in the same run.

- FastMCP's CodeMode transform (``fastmcp`` 4.x, sandbox ``pydantic-monty``) placed over the very
  same one-tool-per-action server as the classic baseline, through a FastMCP proxy.
- Klaviyo's own local MCP server (PyPI ``klaviyo-mcp-server``, Python >= 3.13): its own virtual
  environment under ``.bench-venvs/`` is made here (``_ensure_venv``); ``_klaviyo_server`` runs
  it offline against the simulator.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.server import Server
from mcp.shared.memory import create_client_server_memory_streams

from codemode.bench._interpreters import find_python
from codemode.errors import CodemodeError

__all__ = [
    "KLAVIYO_MCP_PACKAGE",
    "PeerUnavailable",
    "build_fastmcp_codemode",
    "home_relative",
    "model_view",
]

KLAVIYO_MCP_PACKAGE = "klaviyo-mcp-server"
_VENV_DIR = ".bench-venvs"


class PeerUnavailable(CodemodeError):
    """A peer cannot run on this machine; the message says why and what would fix it."""


def model_view(tool: dict[str, Any]) -> dict[str, Any]:
    """What an MCP client forwards to the model for one tool: name, description, input schema.

    Clients drop protocol extras (``_meta``, ``outputSchema``, annotations, titles) when they turn
    ``tools/list`` into the model's tool list, so every mode is counted on this same projection.
    """
    view: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        view["description"] = tool["description"]
    view["input_schema"] = tool.get("inputSchema") or tool.get("input_schema") or {}
    return view


# -- FastMCP CodeMode over the classic server ------------------------------------------------------


async def build_fastmcp_codemode(classic: Server[Any], stack: contextlib.AsyncExitStack) -> Any:
    """A FastMCP server proxying ``classic`` with the CodeMode transform applied.

    The proxy's backend connection to ``classic`` lives as long as ``stack``.

    Raises:
        PeerUnavailable: fastmcp 4.x (with its code-mode extra) is not installed.
    """
    try:
        from fastmcp.client.transports.base import ClientTransport, TransportOptions
        from fastmcp.experimental.transforms.code_mode import CodeMode
        from fastmcp.server import create_proxy
    except ImportError as exc:
        raise PeerUnavailable(
            f"fastmcp 4.x is not installed ({exc}); "
            'install the benchmark extra: .venv/bin/pip install -e ".[bench]"'
        ) from exc

    class LowLevelTransport(ClientTransport):
        """fastmcp's in-memory transport takes FastMCP or MCPServer objects; this takes a Server."""

        def __init__(self, server: Server[Any]) -> None:
            self.server = server

        @contextlib.asynccontextmanager
        async def connect_session(
            self, *, transport_options: Any = None, **session_kwargs: Any
        ) -> AsyncGenerator[Any, None]:
            options = transport_options or TransportOptions()
            async with create_client_server_memory_streams() as (client_streams, server_streams):
                server = self.server

                async def run_server() -> None:
                    await server.run(
                        server_streams[0],
                        server_streams[1],
                        server.create_initialization_options(),
                    )

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run_server)
                    try:
                        async with options.session_class(
                            read_stream=client_streams[0],
                            write_stream=client_streams[1],
                            **session_kwargs,
                        ) as session:
                            yield session
                    finally:
                        tg.cancel_scope.cancel()

    from fastmcp import Client as FastMCPClient

    # fastmcp logs to the console (an INFO line about the reused session, a traceback per failed
    # execute); failures are recorded in the benchmark's results, so keep the console for the table.
    logging.getLogger("fastmcp").setLevel(logging.CRITICAL)
    # One backend session for the whole run: fastmcp's default, a fresh session per request, makes
    # every call re-run the handshake and re-list (and re-validate) the 174 classic tools. Reuse
    # changes only wall time, not what the model sees; calls here are sequential, so the context
    # mixing fastmcp warns about cannot happen.
    backend = await stack.enter_async_context(FastMCPClient(LowLevelTransport(classic)))
    proxy = create_proxy(backend, name="klaviyo-classic-codemode")
    proxy.add_transform(CodeMode())
    return proxy


# -- Klaviyo's own MCP server ----------------------------------------------------------------------


KLAVIYO_MCP_PYTHON = (3, 13)


def _run_step(args: list[str], what: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """One setup step; any failure (exit code, missing file, timeout) becomes PeerUnavailable."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable(f"{what} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise PeerUnavailable(f"{what} could not start: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise PeerUnavailable(f"{what} failed (exit {done.returncode}): {tail[:300]}")
    return done


def home_relative(text: str) -> str:
    """``text`` with the home folder written ``~`` (results are committed; paths are not)."""
    home = str(Path.home())
    return text.replace(home, "~") if home not in ("", "/") else text


def _ensure_venv(root: Path, log: Callable[[str], None]) -> Path:
    venv = root / _VENV_DIR / KLAVIYO_MCP_PACKAGE
    exe = venv / "bin" / KLAVIYO_MCP_PACKAGE
    if exe.exists() and _probe_ok(venv / "bin" / "python"):
        return exe
    found = find_python(KLAVIYO_MCP_PYTHON)
    if found.python is None:
        raise PeerUnavailable(
            f"{KLAVIYO_MCP_PACKAGE}: " + home_relative(found.reason(KLAVIYO_MCP_PYTHON))
        )
    shutil.rmtree(venv, ignore_errors=True)
    log(f"creating {venv.relative_to(root)} with Python {found.version} (first run only)")
    try:
        _run_step([found.python, "-m", "venv", str(venv)], "creating its virtual environment", 300)
        log(f"pip install {KLAVIYO_MCP_PACKAGE} (first run only; about a minute)")
        _run_step(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                KLAVIYO_MCP_PACKAGE,
            ],
            f"pip install {KLAVIYO_MCP_PACKAGE}",
            900,
        )
    except PeerUnavailable:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    if not exe.exists():
        shutil.rmtree(venv, ignore_errors=True)
        raise PeerUnavailable(f"pip install {KLAVIYO_MCP_PACKAGE} made no {exe.name} command")
    return exe


def _probe_ok(python: Path) -> bool:
    try:
        return (
            subprocess.run([str(python), "-c", ""], capture_output=True, timeout=30).returncode == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


def _installed_version(exe: Path) -> str:
    done = subprocess.run(
        [
            str(exe.parent / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version('{KLAVIYO_MCP_PACKAGE}'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip() or "unknown"
