"""The MCP Inspector's command-line mode (npm ``@modelcontextprotocol/inspector``) against the server.

Runs when ``npx`` is available and the package is installed (``CODEMODE_INSPECTOR_CLI`` naming its
``mcp-inspector-cli``, or the test cache folder below), or can be installed quickly from npm's
local cache without the network. Otherwise it is skipped with the command that enables it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CODEMODE = Path(sys.executable).parent / "codemode"
CACHE = Path.home() / ".cache" / "codemode-tests" / "inspector"
PACKAGE = "@modelcontextprotocol/inspector"
ENABLE = f"npm install --prefix {CACHE} {PACKAGE}"


@pytest.fixture(scope="module")
def inspector() -> Path:
    """Path of ``mcp-inspector-cli``, or skip saying how to get it."""
    if shutil.which("npx") is None or shutil.which("npm") is None:
        pytest.skip("MCP Inspector test skipped: npx/npm are not installed")
    explicit = os.environ.get("CODEMODE_INSPECTOR_CLI")
    if explicit:
        return Path(explicit)
    cli = CACHE / "node_modules" / ".bin" / "mcp-inspector-cli"
    if not cli.exists():
        try:  # quick only when npm already holds the package: never the network here
            CACHE.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    "npm",
                    "install",
                    "--offline",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(CACHE),
                    PACKAGE,
                ],
                check=True,
                capture_output=True,
                timeout=90,
            )
        except (subprocess.SubprocessError, OSError):
            pytest.skip(
                f"MCP Inspector test skipped: {PACKAGE} is not installed; to enable it run: {ENABLE}"
            )
    return cli


def _inspect(cli: Path, tmp_path: Path, *method: str) -> dict[str, object]:
    done = subprocess.run(
        [
            str(cli),
            "--cli",
            "-e",
            f"CODEMODE_AUDIT_DB={tmp_path / 'audit.sqlite3'}",
            str(CODEMODE),
            "serve",
            "--demo",
            *method,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_inspector_lists_three_tools_and_runs_a_script(inspector: Path, tmp_path: Path) -> None:
    listed = _inspect(inspector, tmp_path, "--method", "tools/list")
    tools = listed["tools"]
    assert isinstance(tools, list)
    assert sorted(t["name"] for t in tools) == ["execute_code", "get_signature", "search_api"]
    assert all("outputSchema" in t and "annotations" in t for t in tools)
    called = _inspect(
        inspector,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "execute_code",
        "--tool-arg",
        "code=print(len(klaviyo.lists.get_lists().data))",
    )
    structured = called["structuredContent"]
    assert isinstance(structured, dict)
    assert structured["error"] is None and structured["output"].strip().isdigit()
