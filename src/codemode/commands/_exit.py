"""How a command that runs without typer (``exec``, ``serve``) stops with an exit status."""

from __future__ import annotations

__all__ = ["Exit"]


class Exit(Exception):
    """Stop with this exit status (the message, if any, is already on stderr)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
