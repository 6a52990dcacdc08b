"""The shape of one language's phrase bank (see ``phrases_europe.py``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FRAMINGS", "INTENTS", "Bank"]

INTENTS = (
    "exfiltrate",
    "change_data",
    "send_messages",
    "create_discount",
    "escalate",
    "redirect_tool",
    "reveal_secrets",
)
FRAMINGS = ("direct", "polite", "authority", "roleplay", "hypothetical", "quoted_mail")


@dataclass(frozen=True, slots=True)
class Bank:
    """One language: an imperative per intent, a wrapper per framing, and benign sentences.

    A value may be one phrase or a list of variants; ``options`` reads either.
    """

    acts: dict[str, str | list[str]]
    frames: dict[str, str | list[str]]
    benign: list[str]

    def options(self, part: str, key: str) -> list[str]:
        """Return the variants of ``acts[key]`` or ``frames[key]``."""
        value = (self.acts if part == "acts" else self.frames)[key]
        return [value] if isinstance(value, str) else list(value)
