"""The console entry point: a plain ``exec`` or ``serve`` starts without typer, the rest with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codemode import cli
from codemode.commands import exec as exec_command
from codemode.commands import serve as serve_command


def _typer_options(name: str) -> dict[str, bool]:
    """The typer command's options: each flag -> whether it takes no value."""
    import typer.main

    group: Any = typer.main.get_command(cli.app)
    command = group.commands[name]
    found: dict[str, bool] = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        for opt in param.opts:
            found[opt] = bool(param.is_flag)
    return found


@pytest.mark.parametrize("module", [exec_command, serve_command], ids=["exec", "serve"])
def test_the_fast_parser_knows_exactly_the_typer_commands_options(module: Any) -> None:
    name = "exec" if module is exec_command else "serve"
    typer_options = _typer_options(name)

    assert set(module.OPTIONS) == set(typer_options)
    for flag, (_, kind) in module.OPTIONS.items():
        assert (kind == "flag") == typer_options[flag], flag


def test_the_fast_parser_reads_values_lists_and_flags() -> None:
    parsed = cli._parse(
        ["--demo", "--allow", "a", "--allow=b", "--port", "9", "--slot-expiry=2.5"],
        serve_command.OPTIONS,
        (),
    )

    assert parsed == {"demo": True, "allow": ["a", "b"], "port": 9, "slot_expiry": 2.5}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--nope"],
        ["--port"],
        ["--port", "x"],
        ["--demo=1"],
        ["extra"],
    ],
)
def test_the_fast_parser_leaves_to_typer_what_it_does_not_fully_understand(
    args: list[str],
) -> None:
    assert cli._parse(args, serve_command.OPTIONS, ()) is None


def test_exec_needs_exactly_one_file_for_the_fast_path() -> None:
    assert cli._parse([], exec_command.OPTIONS, ("file",)) is None
    assert cli._parse(["a", "b"], exec_command.OPTIONS, ("file",)) is None
    assert cli._parse(["-", "--json"], exec_command.OPTIONS, ("file",)) == {
        "file": "-",
        "as_json": True,
    }


def test_serve_values_out_of_typers_bounds_go_to_typer_for_its_error() -> None:
    assert not serve_command.fast_parse_ok({"principal_workers": 0})
    assert not serve_command.fast_parse_ok({"slot_expiry": 0.5})
    assert serve_command.fast_parse_ok({"principal_workers": 2, "slot_expiry": 1.0})


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KLAVIYO_API_KEY"}
    env["CODEMODE_AUDIT_DB"] = "off"
    probe = (
        "import sys\n"
        "from codemode.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    print('typer' in sys.modules, 'mcp' in sys.modules, 'numpy' in sys.modules,"
        " file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_plain_exec_runs_without_typer_mcp_or_numpy() -> None:
    done = _run(["exec", "-", "--demo"], "print(1)\n")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "1\n"
    assert done.stderr.strip().splitlines()[-1] == "False False False"


def test_exec_help_still_comes_from_typer() -> None:
    done = _run(["exec", "--help"])

    assert done.returncode == 0, done.stderr
    assert "--dry-run" in done.stdout and "--store" in done.stdout
    assert done.stderr.strip().splitlines()[-1].startswith("True")


def test_exec_with_a_missing_file_says_so_and_exits_2(tmp_path: Path) -> None:
    done = _run(["exec", str(tmp_path / "nope.py"), "--demo"])

    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_exec_without_a_key_or_demo_names_the_fix() -> None:
    done = _run(["exec", "-"], "print(1)\n")

    assert done.returncode == 2
    assert "KLAVIYO_API_KEY" in done.stderr and "--demo" in done.stderr


def test_serve_rejects_an_unknown_transport_on_the_fast_path_too() -> None:
    done = _run(["serve", "--transport", "sse"])

    assert done.returncode == 2 and "stdio or http" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("False")


def test_the_app_attribute_is_built_once() -> None:
    assert cli.app is cli.app
    with pytest.raises(AttributeError):
        _ = cli.nothing  # type: ignore[attr-defined]


def test_exec_shows_bidirectional_marks_and_controls_as_escapes() -> None:
    shown = exec_command.visible("ok\u200f 1.50\u061c\u200e \u202e\x1b[2J\r\x9b tab\tend\n")
    assert shown == "ok\\u200f 1.50\\u061c\\u200e \\u202e\\x1b[2J\\x0d\\x9b tab\tend\n"
