"""What an agent-style task is (``codemode.bench.agent`` runs them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AgentTask", "Check", "task"]

Check = Callable[[Any, str], bool]
"""``check(account, output)``: the demo account's store after the run and what the script printed
(the retry's, for a task that fails on purpose); True when the answer or the state left is right."""


@dataclass(frozen=True, slots=True)
class AgentTask:
    """One task: the user's words, the agent's query, the functions it reads and its script.

    ``check`` holds the answer (or the state a write leaves) to the simulator's store. A task
    about reading an error has ``expect_error``, a regular expression the first script's error
    must match (its message has to say what to do), and ``retry``, the script written from it.
    """

    name: str
    user: str
    query: str
    uses: tuple[str, ...]
    script: str
    dry_run: bool = False
    check: Check | None = None
    expect_error: str | None = None
    retry: str | None = None


def task(
    name: str,
    user: str,
    query: str,
    uses: str,
    script: str,
    dry: bool = False,
    *,
    check: Check | None = None,
    expect_error: str | None = None,
    retry: str | None = None,
) -> AgentTask:
    """An :class:`AgentTask` from the words of a table row (``uses`` space separated)."""
    return AgentTask(
        name,
        user,
        query,
        tuple(uses.split()),
        script.strip() + "\n",
        dry,
        check,
        expect_error,
        retry.strip() + "\n" if retry else None,
    )
