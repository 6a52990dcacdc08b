"""The stdio server imports the SDK's server side without its client; every name stays reachable."""

from __future__ import annotations

import subprocess
import sys

from codemode.server.lazy_sdk import defer_package_init


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
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["False", "True True Tool"]


def test_a_package_already_imported_or_unknown_is_left_alone() -> None:
    import json

    assert defer_package_init("json") is False and sys.modules["json"] is json
    assert defer_package_init("codemode_no_such_package") is False
    assert "codemode_no_such_package" not in sys.modules
