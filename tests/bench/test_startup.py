"""``codemode bench startup`` times real starts: each probe checks the answer it timed."""

from __future__ import annotations

from codemode.bench import startup


def test_serve_is_timed_to_initialize_then_tools_list_then_the_first_tools_call() -> None:
    marks = startup._serve(startup._codemode())
    assert 0 < marks["wall"] < marks["tools_list"] < marks["tools_call"]


def test_exec_is_timed_to_the_exit_of_a_run_that_printed_1() -> None:
    marks = startup._exec(startup._codemode())
    assert marks["wall"] > 0
