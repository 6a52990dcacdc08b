"""The ``codemode`` command line.

Each sub-command lives in its own module under ``codemode.commands`` and registers itself on the
typer application; this file only assembles them. The application is built on first use
(``codemode.cli.app``), so importing this module costs nothing.

Starting fast: an MCP client may start ``codemode serve`` per conversation and a user runs
``codemode exec`` per script, so both pay the start every time. :func:`main` (the console entry
point) reads a plain ``codemode exec ...`` or ``codemode serve ...`` with a small parser of its
own and calls the command's function directly: neither typer (which builds pydantic adapters to
read its options) nor the other commands are imported. Anything that parser does not fully
understand (``--help``, an unknown or malformed option, any other command) goes to typer, which
prints the help or the error exactly as before. The fast parser reads each command's ``OPTIONS``
table, and a test checks that table against the typer command's options.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "build_app", "main"]

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
_HELP = (
    "The whole Klaviyo API for AI agents through three MCP tools: search_api, get_signature "
    "and execute_code.\n\nStart with `codemode demo` (no account, no network needed)."
)
_app: typer.Typer | None = None
app: typer.Typer  # built on first access by __getattr__ below


def build_app() -> typer.Typer:
    """The typer application with every command registered."""
    import typer

    built = typer.Typer(
        name="codemode",
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in _COMMAND_MODULES:
        module_name = f"codemode.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command not built yet must not break the others
            if exc.name != module_name:
                raise
            continue
        module.register(built)
    return built


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = build_app()
        return _app
    raise AttributeError(f"module 'codemode.cli' has no attribute {name!r}")


def _parse(
    args: list[str], options: dict[str, tuple[str, str]], positionals: tuple[str, ...]
) -> dict[str, Any] | None:
    """Read ``args`` with the command's option table, or None where typer must read them.

    Kinds: ``flag`` (True when present), ``str``, ``int``, ``float``, ``path`` (one value each,
    ``--opt value`` or ``--opt=value``) and ``list`` (repeatable). Anything else (help, an
    unknown option, a missing or malformed value, a wrong count of arguments) gives None.
    """
    values: dict[str, Any] = {}
    free: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            free.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            free.append(arg)
            continue
        flag, eq, inline = arg.partition("=")
        spec = options.get(flag)
        if spec is None:
            return None
        name, kind = spec
        if kind == "flag":
            if eq:
                return None
            values[name] = True
            continue
        if eq:
            raw = inline
        elif i < len(args):
            raw = args[i]
            i += 1
        else:
            return None
        try:
            value: Any = (
                int(raw)
                if kind == "int"
                else float(raw)
                if kind == "float"
                else Path(raw)
                if kind == "path"
                else raw
            )
        except ValueError:
            return None
        if kind == "list":
            values.setdefault(name, []).append(value)
        else:
            values[name] = value
    if len(free) != len(positionals):
        return None
    values.update(zip(positionals, free, strict=True))
    return values


def _fast(args: list[str]) -> int | None:
    """Run ``exec`` or ``serve`` without typer; None when typer must handle ``args``."""
    if not args:
        return None
    command, rest = args[0], args[1:]
    if command == "exec":
        from codemode.commands import exec as exec_command

        parsed = _parse(rest, exec_command.OPTIONS, ("file",))
        if parsed is None:
            return None
        file = parsed.pop("file")
        return exec_command.run_exec(file, **parsed)
    if command == "serve":
        from codemode.commands import serve as serve_command

        parsed = _parse(rest, serve_command.OPTIONS, ())
        if parsed is None or not serve_command.fast_parse_ok(parsed):
            return None
        return serve_command.run_serve(**parsed)
    return None


def main(argv: list[str] | None = None) -> None:
    """The ``codemode`` console entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    code = _fast(args)
    if code is not None:
        sys.exit(code)
    command = __getattr__("app")
    command(args=args, prog_name="codemode")


if __name__ == "__main__":
    main()
