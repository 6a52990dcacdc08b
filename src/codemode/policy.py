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
   (Klaviyo fetches the URL, which can carry data in itself), web feed writes (Klaviyo requests
   the feed's URL, by GET or POST, whenever a template shows it), a flow write whose parameters
   define a ``send-webhook`` flow action (the flow posts each profile it reaches to that URL) or a
   ``send-internal-alert`` (it e-mails each profile to the addresses it names),
   and the ``client`` actions (they write into whichever Klaviyo account ``company_id`` names).
   The flow rule depends on the parameters, so it is applied by ``check(action, params)``.
6. ``scope``: the caller's Klaviyo credential lacks a scope the action needs. An OAuth sign-in's
   scopes are known (``granted_scopes``); a private key's are not until Klaviyo answers 403, so
   only the scopes Klaviyo refused are known missing (``lacking_scopes``, from
   :class:`LearnedScopes`). A write scope covers the read scope of the same area, as in
   Klaviyo's key settings (the simulator checks the same way). Client actions take the public
   company id, not the credential, so no scope is checked for them. The refusal is a
   ``PermissionDeniedError`` (what Klaviyo would have answered), raised before anything is sent.

Rate limiting and learned scopes need a clock, so they live in :class:`CallRateLimiter` and
:class:`LearnedScopes` (the clock is injected).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from codemode.catalog import KINDS, Action, Catalog
from codemode.errors import CodemodeError, ConfigError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from codemode.config import Settings

__all__ = [
    "CallRateLimiter",
    "LearnedScopes",
    "Mark",
    "Policy",
    "PolicyError",
    "Refusal",
    "Rule",
    "egress_reason",
    "has_scope",
    "is_webhook_write",
    "missing_scopes",
]

Rule = Literal[
    "read-only", "deny", "allow", "destructive", "webhook", "egress", "rate", "confirm", "scope"
]


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
    fix: str = ""
    """What the user can do, when it is not the rule's usual fix (scope refusals)."""
    missing: tuple[str, ...] = ()
    """The scopes the credential lacks (scope refusals)."""

    @property
    def message(self) -> str:
        """One line for the agent: what was refused, why, and who can allow it (the user)."""
        if self.rule == "scope":
            return (
                f"{self.operation_id} refused before calling Klaviyo: {self.reason}; {self.fix}. "
                "Only the user can change this, not the agent"
            )
        fix = _USER_FIX.get(self.rule)
        ask = (
            f". Only the user can change this, not the agent: ask the user whether to {fix}"
            if fix
            else ""
        )
        return f"{self.operation_id} refused by policy: {self.reason}{ask}"

    @property
    def short(self) -> str:
        """A few words for search results and signatures."""
        if self.rule == "scope":
            return f"needs scope {' '.join(self.missing)}; {self.fix}"
        return _SHORT.get(self.rule, self.rule)

    def to_error(self) -> dict[str, Any]:
        """The exception the script gets, as the sandbox pipe carries it.

        A scope refusal is the ``PermissionDeniedError`` Klaviyo would have answered (status 0:
        nothing was sent); every other rule is a ``PolicyError``.
        """
        if self.rule == "scope":
            return {
                "class": "PermissionDeniedError",
                "message": self.message,
                "status": 0,
                "operation_id": self.operation_id,
                "code": "missing_scope",
                "detail": self.reason,
                "rule": self.rule,
            }
        return {
            "class": "PolicyError",
            "message": self.message,
            "rule": self.rule,
            "operation_id": self.operation_id,
        }


# What the user (the person running the server, never the agent) can change, per rule.
_USER_FIX: dict[Rule, str] = {
    "read-only": "restart the server without --read-only (CODEMODE_READ_ONLY)",
    "deny": "remove the entry from CODEMODE_DENY",
    "allow": "add the action or its group to CODEMODE_ALLOW",
    "destructive": "restart the server with --allow-destructive",
    "webhook": "restart the server with --allow-destructive",
    "egress": "restart the server with --allow-destructive",
}
_SHORT: dict[Rule, str] = {
    "read-only": "server is read-only",
    "deny": "denied by CODEMODE_DENY",
    "allow": "not in CODEMODE_ALLOW",
    "destructive": "destructive actions are off",
    "webhook": "webhook writes are off",
    "egress": "outside addresses are off",
}


@dataclass(frozen=True, slots=True)
class Mark:
    """What the policy will do with an action, for the lookup tools (from ``Policy.check``).

    Attributes:
        status: ``allowed``, ``confirm`` (runs after the user confirms) or ``refused``.
        text: a few words for the model, empty when allowed.
    """

    status: Literal["allowed", "confirm", "refused"]
    text: str = ""


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


_WEBHOOK_REASON = "webhook writes send data to a URL you choose: gated like destructive actions"


_WEB_FEED_REASON = (
    "web feed writes make Klaviyo request the feed's URL (GET or POST) whenever a template shows "
    "it, and the URL can carry data in itself: gated like destructive actions"
)
# Flow action types that send what the flow knows of a profile to an address the definition
# names (a URL, or any e-mail address for an internal alert), and the rule each falls under.
_FLOW_EGRESS: dict[str, tuple[Rule, str]] = {
    "send-webhook": (
        "webhook",
        "this flow defines a send-webhook action, which posts every profile the flow reaches to a "
        "URL you choose: gated like webhook writes",
    ),
    "send-internal-alert": (
        "egress",
        "this flow defines a send-internal-alert action, which e-mails every profile the flow "
        "reaches to addresses you choose: gated like destructive actions",
    ),
}


def _flow_egress(params: Mapping[str, Any]) -> tuple[Rule, str] | None:
    """The rule and reason of the first flow action in ``params`` that sends data out, at any
    depth (every node is looked at, iteratively: a definition cannot hide one among many)."""
    stack: list[Any] = [params]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            kind = node.get("type")
            # Compared loosely: a spelling Klaviyo might still take must not pass as another type.
            if isinstance(kind, str):
                found = _FLOW_EGRESS.get(kind.strip().casefold().replace("_", "-"))
                if found is not None:
                    return found
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return None


def egress_reason(
    action: Action, params: Mapping[str, Any] | None = None
) -> tuple[Rule, str] | None:
    """The rule and reason when ``action`` sends data to an address the caller picks.

    ``params`` (when known) are looked at for what only they can tell: a flow write that defines
    a ``send-webhook`` action is a webhook write, one with a ``send-internal-alert`` egress.
    """
    if is_webhook_write(action):
        return "webhook", _WEBHOOK_REASON
    if action.group == "web_feeds" and action.kind == "write":
        return "egress", _WEB_FEED_REASON
    if params is not None and action.group == "flows" and action.kind == "write":
        found = _flow_egress(params)
        if found is not None:
            return found
    if action.id == "upload_image_from_url":
        return "egress", (
            "upload_image_from_url makes Klaviyo fetch a URL you choose (the URL itself can carry "
            "data): gated like destructive actions"
        )
    if action.kind == "client":
        return "egress", (
            f"{action.id} writes into the Klaviyo account that company_id names, which the script "
            "chooses: gated like destructive actions"
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
        granted_scopes: the Klaviyo scopes the caller's OAuth sign-in was granted; ``None`` when
            they are unknown (a private key: Klaviyo does not say until it refuses a call).
        lacking_scopes: scopes Klaviyo refused this caller (403) recently; see
            :class:`LearnedScopes`.
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
    granted_scopes: frozenset[str] | None = None
    lacking_scopes: frozenset[str] = frozenset()

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

    def check_entries(self, catalog: Catalog) -> None:
        """Refuse allow and deny entries that name no action, group or kind of ``catalog``.

        A misspelt deny entry (``delete_lists``, ``Delete_List``, ``lists.delete_list``) used to
        be kept and match nothing: the operator believed an action was denied while it ran. An
        entry is an action id or a group, exactly as ``codemode actions`` lists them.

        Raises:
            ConfigError: naming each unknown entry, its setting and the closest ids.
        """
        known = set(catalog) | set(catalog.groups)
        for setting, entries in (("CODEMODE_ALLOW", self.allow), ("CODEMODE_DENY", self.deny)):
            for entry in entries:
                if entry.startswith("kind:") or entry in known:
                    continue
                close = catalog.closest(entry.rsplit(".", 1)[-1].lower().replace("-", "_"))
                raise ConfigError(
                    f"{setting} entry {entry!r} names no action, group or kind:KIND; "
                    f"did you mean {', '.join(close) or 'a group from `codemode actions`'}?"
                )

    def for_caller(self, granted: Iterable[str] | None, lacking: Iterable[str] = ()) -> Policy:
        """This policy for one caller: its granted scopes (None: unknown) and learned gaps."""
        return replace(
            self,
            granted_scopes=frozenset(granted) if granted is not None else None,
            lacking_scopes=frozenset(lacking),
        )

    def check(self, action: Action, params: Mapping[str, Any] | None = None) -> Refusal | None:
        """None when ``action`` may run (with ``params``, when known), else the first rule that
        refuses it."""
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
                "destructive actions are disabled",
                action.id,
            )
        egress = egress_reason(action, params)
        if egress is not None and not self.allow_destructive:
            return Refusal(egress[0], egress[1], action.id)
        return self._scope_refusal(action)

    def _scope_refusal(self, action: Action) -> Refusal | None:
        if self.granted_scopes is not None:
            missing = missing_scopes(action, self.granted_scopes)
            if missing:
                return Refusal(
                    "scope",
                    f"needs scope {' and '.join(missing)}, which this OAuth sign-in was not granted",
                    action.id,
                    fix="ask the user to reconnect granting it",
                    missing=missing,
                )
            return None
        if self.lacking_scopes and action.kind != "client":
            known = tuple(s for s in action.scopes if s in self.lacking_scopes)
            if known:
                return Refusal(
                    "scope",
                    f"needs scope {' and '.join(known)}, which Klaviyo answered this private key "
                    "lacks (403)",
                    action.id,
                    fix="ask the user for a key with it",
                    missing=known,
                )
        return None

    def mark(self, action: Action) -> Mark:
        """What ``check`` and ``needs_confirmation`` will decide for ``action``, in a few words."""
        refusal = self.check(action)
        if refusal is not None and refusal.rule == "scope":
            return Mark("refused", f"refused: {refusal.short}")
        if refusal is not None:
            return Mark("refused", f"refused: {refusal.short}; only the user can enable it")
        if self.needs_confirmation(action):
            return Mark("confirm", "asks the user to confirm")
        return Mark("allowed")

    def mark_text(
        self, action: Action, *, can_ask: bool, waived: bool, plan: str = "dry_run=true"
    ) -> str:
        """``mark``'s words for a caller that can (or cannot) show the user a confirmation form.

        Where the caller cannot ask, an action that needs the user's confirmation is refused
        unless the operator waived confirmation (``waived``); the words say which, and that a dry
        run (``plan``: how this caller asks for one) plans it.
        """
        mark = self.mark(action)
        if mark.status == "confirm" and not can_ask:
            return (
                "runs without asking the user: the operator waived confirmation"
                if waived
                else "refused: needs the user's confirmation, which this client cannot show; "
                f"{plan} plans it"
            )
        return mark.text or "allowed"

    def needs_confirmation(self, action: Action, params: Mapping[str, Any] | None = None) -> bool:
        """True when the action (with ``params``, when known) must be confirmed by the user."""
        return self.confirm_destructive and (
            action.kind == "destructive" or egress_reason(action, params) is not None
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


def has_scope(granted: frozenset[str], needed: str) -> bool:
    """True when ``granted`` covers ``needed``; ``area:write`` covers ``area:read``."""
    if needed in granted:
        return True
    area, _, level = needed.partition(":")
    return level == "read" and f"{area}:write" in granted


def missing_scopes(action: Action, granted: frozenset[str]) -> tuple[str, ...]:
    """The scopes ``action`` needs that ``granted`` lacks (none for client actions: they take
    the public company id, not the credential)."""
    if action.kind == "client":
        return ()
    return tuple(s for s in action.scopes if not has_scope(granted, s))


class LearnedScopes:
    """Scopes Klaviyo refused a principal whose scopes are unknown (a private key), for a while.

    A 403 names the gap only when it can be told: the answer's detail names some but not all
    of the action's scopes, or the action needs exactly one scope. Anything else is not recorded
    (nothing is invented). Bounded: at most ``max_principals`` principals (least recently
    refused dropped first), each entry forgotten after ``ttl_s`` seconds, so a key whose scopes
    the user widened is tried against Klaviyo again.
    """

    def __init__(
        self,
        *,
        ttl_s: float = 3600.0,
        max_principals: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_principals = max_principals
        self._clock = clock
        self._gaps: OrderedDict[str, dict[str, float]] = OrderedDict()

    def lacking(self, principal: str) -> frozenset[str]:
        """The scopes Klaviyo refused ``principal`` within the last ``ttl_s`` seconds."""
        gaps = self._gaps.get(principal)
        if not gaps:
            return frozenset()
        now = self._clock()
        for scope in [s for s, until in gaps.items() if until <= now]:
            del gaps[scope]
        if not gaps:
            del self._gaps[principal]
        return frozenset(gaps)

    def learn(self, principal: str, action: Action, detail: str | None = None) -> tuple[str, ...]:
        """Record Klaviyo's 403 for ``action``; returns the scopes recorded (maybe none)."""
        if action.kind == "client" or not action.scopes:
            return ()
        # A detail naming every scope the action needs may be listing what the key does have
        # as well: only a strict part of them tells which is missing.
        named = tuple(s for s in action.scopes if detail and s in detail)
        if len(named) == len(action.scopes):
            named = ()
        found = named or (action.scopes if len(action.scopes) == 1 else ())
        if not found:
            return ()
        until = self._clock() + self.ttl_s
        gaps = self._gaps.pop(principal, {})
        gaps.update(dict.fromkeys(found, until))
        self._gaps[principal] = gaps
        while len(self._gaps) > self.max_principals:
            self._gaps.popitem(last=False)
        return found


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
