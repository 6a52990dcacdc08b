"""The simulator's state: accounts, credentials, OAuth grants, counters, limiter and fault plan."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from codemode.catalog import Catalog
from codemode.simulator.config import (
    DEMO_COMPANY_ID,
    DEMO_OAUTH_CLIENT,
    DEMO_OAUTH_SECRET,
    DEMO_PRIVATE_KEY,
    DEMO_USERS,
    SimConfig,
)
from codemode.simulator.faults import FaultPlan
from codemode.simulator.operations import load_operations
from codemode.simulator.ratelimit import RateLimiter
from codemode.simulator.seed import seed_account
from codemode.simulator.store import Account, SqliteSaver

__all__ = ["Grant", "KeyGrant", "OAuthClient", "SimState", "Stats"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Stats:
    """What the simulator received, so tests can prove behaviour (e.g. no write sent twice).

    Attributes:
        requests: API requests answered (faults and errors included).
        attempts: write requests received per operation id (accepted or not, faults included).
        writes: accepted write requests per operation id.
        write_log: ``(operation id, method, path)`` of each accepted write, in order.
        statuses: responses per status code.
    """

    requests: int = 0
    attempts: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    write_log: list[tuple[str, str, str]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.requests = 0
        self.attempts.clear()
        self.writes.clear()
        self.write_log.clear()
        self.statuses.clear()


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """A private key: the account it opens and its scopes (None: full access)."""

    account_id: str
    scopes: frozenset[str] | None = None


@dataclass(slots=True)
class Grant:
    """An OAuth access or refresh token."""

    account_id: str
    user: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A registered OAuth app."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...] = ()


class SimState:
    """Everything one simulator app holds; handlers reach it through ``ctx.sim``."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.catalog: Catalog = load_operations()
        self.lock = threading.RLock()
        self.stats = Stats()
        self.limiter = RateLimiter(config.clock)
        self.faults = FaultPlan(config.faults)
        self.accounts: dict[str, Account] = {}
        self.by_company: dict[str, str] = {}
        self.keys: dict[str, KeyGrant] = {}
        self.users: dict[str, str] = {}
        self.clients: dict[str, OAuthClient] = {
            DEMO_OAUTH_CLIENT: OAuthClient(DEMO_OAUTH_CLIENT, DEMO_OAUTH_SECRET)
        }
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.saver = SqliteSaver(config.db_path) if config.db_path else None
        self._pending: dict[str, tuple[int, int, int]] = {}
        # Request-body bytes of accepted writes per account (``SimConfig.write_budget_bytes``).
        self.written: dict[str, int] = {}
        self.default_account = self.add_account(
            "Trailhead Outfitters",
            DEMO_COMPANY_ID,
            user=DEMO_USERS[0],
            profiles=config.profiles,
            events=config.events,
        ).account_id
        self.add_key(DEMO_PRIVATE_KEY, self.default_account)
        # The second demo account is seeded on first use, so startup pays for one account only.
        second = self.add_account(
            "Summit Supply Co.",
            "SuMm1T",
            user=DEMO_USERS[1],
            profiles=max(1, config.profiles // 5),
            events=config.events // 10,
            lazy=True,
        )
        self.add_key("pk_demo_summit_supply", second.account_id)

    def add_account(
        self,
        name: str,
        company_id: str,
        *,
        user: str | None = None,
        profiles: int = 200,
        events: int = 2000,
        lazy: bool = False,
    ) -> Account:
        """Create (or restore from ``--db``) a seeded account; ``user`` becomes its OAuth user.

        With ``lazy`` the data is built on the account's first use.
        """
        index = len(self.accounts)
        account = Account(
            f"acct_{company_id}",
            company_id,
            name,
            now=self.config.anchor(),
            seed=self.config.seed * 1000 + index,
            # A fixed "now" (tests) gets deterministic write times; a live simulator uses the clock.
            wall=None if self.config.now is not None else _utcnow,
        )
        self._pending[account.account_id] = (index, profiles, events)
        self.accounts[account.account_id] = account
        self.by_company[company_id] = account.account_id
        if user:
            self.users[user] = account.account_id
        if not lazy:
            self._fill(account)
        return account

    def _fill(self, account: Account) -> None:
        index, profiles, events = self._pending.pop(account.account_id)
        if self.saver is not None and self.saver.has(account):
            self.saver.restore(account)
            return
        seed_account(
            account, seed=self.config.seed + index, profiles=profiles, events=events, brand=index
        )
        if self.saver is not None:
            self.saver.save(account, everything=True)

    def add_key(self, key: str, account_id: str, scopes: frozenset[str] | None = None) -> None:
        """Register a private key for an account (with optional scopes, to test 403s)."""
        self.keys[key] = KeyGrant(account_id, scopes)

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        """Register an OAuth app."""
        self.clients[client_id] = OAuthClient(client_id, secret, redirect_uris)

    def is_seeded(self, account_id: str) -> bool:
        """True once an account's data exists (lazy accounts fill on first use)."""
        return account_id not in self._pending

    def account(self, account_id: str) -> Account:
        """An account by id (seeded now if it was added lazily)."""
        account = self.accounts[account_id]
        if account_id in self._pending:
            with self.lock:
                if account_id in self._pending:
                    self._fill(account)
        return account

    def saved(self, account: Account) -> None:
        """Persist the account's changed tables when ``--db`` is set."""
        if self.saver is not None:
            self.saver.save(account)
