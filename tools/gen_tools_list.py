"""Write the answer to ``tools/list`` that ``codemode serve`` sends before the MCP SDK has loaded.

Output: src/codemode/server/tools_list.json, the ``result`` of ``tools/list`` as the SDK puts it on
the wire, for a read-write and a read-only server (the only setting the three tools' definitions
depend on). :mod:`codemode.server.handshake` answers a client's first ``tools/list`` from it while
the server is still importing, and the SDK's own answer, produced later, is compared with it and
dropped. Rerun after a tool's name, description, schema or annotations change.

Usage:
  python tools/gen_tools_list.py          write the file
  python tools/gen_tools_list.py --check  exit 1 when the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from codemode.server.handshake import HANDSHAKE_VERSIONS, TOOLS_LIST_FILE  # noqa: E402

OUTPUT = ROOT / "src" / "codemode" / "server" / TOOLS_LIST_FILE


async def _listed(read_only: bool) -> dict[str, Any]:
    """The wire ``result`` of ``tools/list``, the same for every revision the server agrees to."""
    import mcp_types
    from mcp_types.methods import serialize_server_result

    from codemode.config import Settings
    from codemode.server import build_server

    settings = Settings.from_env().with_overrides(demo=True, read_only=read_only)
    built = build_server(settings, transport="stdio")
    tools = await built.mcp.list_tools()
    data = mcp_types.ListToolsResult(tools=tools).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    wire = [serialize_server_result("tools/list", v, data) for v in HANDSHAKE_VERSIONS]
    if any(w != wire[-1] for w in wire):
        raise SystemExit(
            "gen_tools_list: the tool list differs between protocol revisions; the early answer "
            "in codemode.server.handshake would need one per revision"
        )
    return wire[-1]


def generate() -> str:
    with tempfile.TemporaryDirectory() as home:  # no audit file or login state of this user
        os.environ.update(CODEMODE_AUDIT_DB="off", HOME=home)
        os.environ.pop("KLAVIYO_API_KEY", None)
        variants = {
            "read_write": anyio.run(_listed, False),
            "read_only": anyio.run(_listed, True),
        }
    return json.dumps(variants, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    check = parser.parse_args().check
    text = generate()
    if check:
        if not OUTPUT.is_file() or OUTPUT.read_text(encoding="utf-8") != text:
            print(
                f"gen_tools_list: {OUTPUT.relative_to(ROOT)} is stale; run `make generate`",
                file=sys.stderr,
            )
            return 1
        print("gen_tools_list: the early tools/list answer is current")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"gen_tools_list: wrote {OUTPUT.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
