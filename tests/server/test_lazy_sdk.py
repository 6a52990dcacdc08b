"""The stdio server imports the SDK's server side without its client; every name stays reachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codemode.server.lazy_sdk import defer_package_init


def _output(probe: str) -> str:
    """What ``probe`` prints when run by a fresh interpreter (nothing imported yet)."""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_server_modules_load_without_the_client_until_a_package_name_is_read() -> None:
    probe = (
        "import sys\n"
        "from codemode.server.lazy_sdk import defer_package_init\n"
        "assert defer_package_init('mcp')\n"
        "from mcp.server.stdio import stdio_server\n"
        "from mcp.server.mcpserver import MCPServer\n"
        "print('mcp.client.client' in sys.modules)\n"
        "from mcp import Client, ClientSession\n"
        "import mcp\n"
        "print('mcp.client.client' in sys.modules, mcp.Client is Client, mcp.types.Tool.__name__)\n"
    )
    assert _output(probe).split("\n")[:2] == ["False", "True True Tool"]


def test_a_package_already_imported_or_unknown_is_left_alone() -> None:
    import json

    assert defer_package_init("json") is False and sys.modules["json"] is json
    assert defer_package_init("codemode_no_such_package") is False
    assert "codemode_no_such_package" not in sys.modules


def test_httpx_loads_without_its_command_line_client_until_it_is_run() -> None:
    probe = (
        "import sys\n"
        "from codemode.server.lazy_sdk import import_httpx\n"
        "httpx = import_httpx()\n"
        "assert import_httpx() is httpx and httpx.AsyncClient\n"
        "print(sorted(m for m in ('click', 'rich', 'httpx._main') if m in sys.modules))\n"
        "try:\n"
        "    httpx.main(['--help'])\n"
        "except SystemExit as stop:\n"
        "    print(stop.code, 'click' in sys.modules)\n"
    )
    output = _output(probe)
    lines = output.splitlines()
    assert lines[0] == "[]" and lines[-1] == "0 True" and "Usage" in output


def test_a_package_whose_init_fails_is_unregistered_and_raises_its_own_error(
    tmp_path: Path,
) -> None:
    package = tmp_path / "codemode_broken_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('broken init')\n")
    (package / "sub.py").write_text("VALUE = 1\n")
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from codemode.server.lazy_sdk import defer_package_init\n"
        "assert defer_package_init('codemode_broken_pkg')\n"
        "import codemode_broken_pkg as p\n"
        "try:\n"
        "    p.anything\n"
        "except RuntimeError as exc:\n"
        "    print(exc, 'codemode_broken_pkg' in sys.modules)\n"
        "try:\n"
        "    import codemode_broken_pkg\n"
        "except RuntimeError as exc:\n"
        "    print('again:', exc)\n"
    )
    lines = _output(probe).split("\n")
    assert lines[0] == "broken init False"
    assert "again: broken init" in lines
