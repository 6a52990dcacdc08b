"""The ``codemode`` command line.

Each sub-command lives in its own module under ``codemode.commands`` and registers itself on the
application; this file only assembles them, so commands stay independent and importing the CLI
stays cheap (heavy imports happen inside each command).
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    name="codemode",
    help=(
        "The whole Klaviyo API for AI agents through three MCP tools: search_api, get_signature "
        "and execute_code.\n\nStart with `codemode demo` (no account, no network needed)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Order is the order shown in --help.
_COMMAND_MODULES = (
    "demo",
    "serve",
    "sim",
    "search",
    "signature",
    "exec",
    "scan",
    "actions",
    "audit",
    "login",
    "bench",
)

for _name in _COMMAND_MODULES:
    _module_name = f"codemode.commands.{_name}"
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as exc:  # a command not built yet must not break the others
        if exc.name != _module_name:
            raise
        continue
    _module.register(app)
