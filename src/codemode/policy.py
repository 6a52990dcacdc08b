"""The scoping policy: which Klaviyo actions a session may run (pure, no I/O).

A :class:`Policy` answers one question per call, ``check(action)``: ``None`` when the action may
run, or a :class:`Refusal` naming the rule that refused it, in words an agent can act on. The
rules, in the order they are checked:

1. ``read_only``: anything but a read is refused ("read-only session").
2. ``deny``: an entry matching the action refuses it (entries are operation ids, groups such as
   ``profiles``, or kinds such as ``kind:write``).
3. ``allow``: when not empty, the action must match one entry.
4. destructive actions (``kind == "destructive"``) need ``allow_destructive``.
5. actions that send data to an address the script chooses are gated exactly like destructive
   actions: webhook writes (Klaviyo posts events to the webhook's URL), ``upload_image_from_url``
   (Klaviyo fetches the URL, which can carry data in itself) and the ``client`` actions (they
   write into whichever Klaviyo account ``company_id`` names).

Rate limiting needs a clock, so it lives in :class:`CallRateLimiter` (the clock is injected).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from codemode.catalog import KINDS, Action
from codemode.errors import CodemodeError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from codemode.config import Settings

__all__ = [
    "CallRateLimiter",
    "Policy",
    "PolicyError",
    "Refusal",
    "Rule",
    "egress_reason",
    "is_webhook_write",
]

Rule = Literal["read-only", "deny", "allow", "destructive", "webhook", "egress", "rate", "confirm"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action may not run.

    Attributes:
        rule: the rule that refused it (a closed set, for logs and tests).
        reason: the rule in words, e.g. ``denied by CODEMODE_DENY entry 'profiles'``.
        operation_id: the refused action.
    """

    rule: Rule
    reason: str
    operation_id: str

    @property
    def message(self) -> str:
        """One line for the agent: what was refused, why, and what would allow it."""
        return f"{self.operation_id} refused by policy: {self.reason}"


class PolicyError(CodemodeError):
    """An action was refused by the session's policy (raised inside scripts, too).

    Deliberately not a ``KlaviyoError``: a script's ``except KlaviyoError`` must not swallow a
    refusal that the agent has to see.
    """

    def __init__(self, message: str, *, rule: str, operation_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.operation_id = operation_id

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> PolicyError:
        """The exception that carries ``refusal``."""
        return cls(refusal.message, rule=refusal.rule, operation_id=refusal.operation_id)


def _valid_entry(entry: str) -> str:
    if entry.startswith("kind:") and entry[5:] not in KINDS:
        raise ValueError(
            f"policy entry {entry!r} names no kind; use one of {', '.join('kind:' + k for k in KINDS)}"
        )
    return entry


def _matches(entry: str, action: Action) -> bool:
    if entry.startswith("kind:"):
        return action.kind == entry[5:]
    return entry in (action.id, action.group)


def is_webhook_write(action: Action) -> bool:
    """True for creating or updating a webhook (Klaviyo then posts data to its URL)."""
    return action.group == "webhooks" and action.kind == "write"


_WEBHOOK_REASON = (
    "webhook writes send data to a URL you choose: gated like destructive actions; "
    "start the server with --allow-destructive"
)


def egress_reason(action: Action) -> tuple[Rule, str] | None:
    """The rule and reason when ``action`` sends data to an address the caller picks."""
    if is_webhook_write(action):
        return "webhook", _WEBHOOK_REASON
    if action.id == "upload_image_from_url":
        return "egress", (
            "upload_image_from_url makes Klaviyo fetch a URL you choose (the URL itself can carry "
            "data): gated like destructive actions; start the server with --allow-destructive"
        )
    if action.kind == "client":
        return "egress", (
            f"{action.id} writes into the Klaviyo account that company_id names, which the script "
            "chooses: gated like destructive actions; start the server with --allow-destructive"
        )
    return None


@dataclass(frozen=True, slots=True)
class Policy:
    """What a session may call. Immutable; build one per server or per session.

    Attributes:
        read_only: refuse every action that is not a read.
        allow: when not empty, only actions matching an entry may run.
        deny: actions matching an entry never run (wins over ``allow``).
        allow_destructive: enable destructive actions and webhook writes.
        confirm_destructive: when destructive actions are enabled, ask the bridge's ``confirm``
            hook (MCP elicitation in the server) before each one; with no hook, or a hook that
            cannot ask, the action is refused. Only the operator's separate
            ``--destructive-unconfirmed`` turns this off.
        calls_per_minute: cap on SDK calls per minute across the bridge (None: no cap).
    """

    read_only: bool = False
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    allow_destructive: bool = False
    confirm_destructive: bool = True
    calls_per_minute: int | None = None

    def __post_init__(self) -> None:
        for entry in (*self.allow, *self.deny):
            _valid_entry(entry)
        if self.calls_per_minute is not None and self.calls_per_minute <= 0:
            raise ValueError(
                f"calls_per_minute must be positive (got {self.calls_per_minute}); use None for no cap"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy the operator configured (``CODEMODE_READ_ONLY``, ``_ALLOW``, ``_DENY``...)."""
        return cls(
            read_only=settings.read_only,
            allow=tuple(settings.allow),
            deny=tuple(settings.deny),
            allow_destructive=settings.allow_destructive,
            confirm_destructive=not settings.destructive_unconfirmed,
        )

    def check(self, action: Action) -> Refusal | None:
        """None when ``action`` may run, else the first rule that refuses it."""
        if self.read_only and action.kind != "read":
            return Refusal(
                "read-only", f"read-only session: {action.kind} actions are disabled", action.id
            )
        for entry in self.deny:
            if _matches(entry, action):
                return Refusal("deny", f"denied by CODEMODE_DENY entry {entry!r}", action.id)
        if self.allow and not any(_matches(entry, action) for entry in self.allow):
            shown = ", ".join(repr(e) for e in self.allow)
            return Refusal("allow", f"not matched by any CODEMODE_ALLOW entry ({shown})", action.id)
        if action.kind == "destructive" and not self.allow_destructive:
            return Refusal(
                "destructive",
                "destructive actions are disabled; start the server with --allow-destructive",
                action.id,
            )
        egress = egress_reason(action)
        if egress is not None and not self.allow_destructive:
            return Refusal(egress[0], egress[1], action.id)
        return None

    def needs_confirmation(self, action: Action) -> bool:
        """True when the action must be confirmed by the user before it runs."""
        return self.confirm_destructive and (
            action.kind == "destructive" or egress_reason(action) is not None
        )

    def rate_limiter(self, clock: Callable[[], float] = time.monotonic) -> CallRateLimiter | None:
        """A sliding-minute limiter for ``calls_per_minute``, or None when there is no cap."""
        if self.calls_per_minute is None:
            return None
        return CallRateLimiter(self.calls_per_minute, clock=clock)

    def describe(self) -> list[str]:
        """The active rules as short lines (for ``codemode exec`` and logs)."""
        lines = ["read-only" if self.read_only else "reads and writes"]
        lines += [f"deny {e}" for e in self.deny] + [f"allow {e}" for e in self.allow]
        lines.append("destructive enabled" if self.allow_destructive else "destructive disabled")
        return lines


class CallRateLimiter:
    """At most ``per_minute`` calls in any sliding 60-second window."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._times: deque[float] = deque()

    def acquire(self, action: Action) -> Refusal | None:
        """Count one call of ``action``; a Refusal when the minute's budget is spent."""
        now = self._clock()
        while self._times and now - self._times[0] >= 60.0:
            self._times.popleft()
        if len(self._times) >= self.per_minute:
            wait = 60.0 - (now - self._times[0])
            return Refusal(
                "rate",
                f"at most {self.per_minute} SDK calls per minute; retry in {wait:.0f} s or fetch "
                "fewer pages (larger page_size, filters)",
                action.id,
            )
        self._times.append(now)
        return None
