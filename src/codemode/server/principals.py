"""Which principals may run code over HTTP: a ``pk_`` string is not a login until it is judged.

``CODEMODE_API_KEYS`` picks the rule for ``Authorization: Klaviyo-API-Key pk_...`` callers:

- ``verify`` (default): Klaviyo judges the key with one cheap call (``get_accounts``, one page)
  the first time it is seen; the answer is cached (``ok`` for ten minutes, ``rejected`` for one),
  concurrent first requests with the same key share that one call, and a source address that
  keeps presenting keys Klaviyo rejects is slowed down (it cannot use this server to probe keys
  or to make it call Klaviyo without end). A 403 (a real key without the accounts scope) counts
  as a real key: Klaviyo recognised it.
- ``allowlist``: only the keys in ``CODEMODE_ALLOWED_PRINCIPALS``. An entry ``sha256:<64 hex>``
  (the key's whole SHA-256) admits that key with no call to Klaviyo. An entry ``key:<12 hex>``
  (a principal, as ``codemode audit`` shows it) names 48 bits of the hash, which a made-up key
  can be ground to share, so a key matching it is admitted only once Klaviyo has judged it as
  ``verify`` does.
- ``off``: no key logins at all; OAuth only.

Nothing here ever logs or stores a key: the verdict cache is keyed by the key's whole SHA-256
(not the principal, a 48-bit prefix that a made-up key could be ground to share).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import httpx

from codemode.catalog import Catalog
from codemode.config import KeyAuth
from codemode.klaviyo import AsyncKlaviyo, KlaviyoError
from codemode.klaviyo._errors import AuthenticationError, PermissionDeniedError
from codemode.server.credentials import key_principal
from codemode.server.limits import Bucket, LimitStore, MemoryLimitStore

__all__ = ["KeyGate"]

_OK_TTL_S = 600.0
_REJECTED_TTL_S = 60.0
_MAX_CACHED = 10_000
_VERIFY_TIMEOUT_S = 10.0
# Keys Klaviyo rejected, per source address per minute, before that source is refused unheard.
_REJECTIONS_PER_MIN = 10


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    until: float


class KeyGate:
    """Admits or refuses an API-key caller; :meth:`admit` returns ``None`` or the reason."""

    def __init__(
        self,
        mode: KeyAuth,
        *,
        allowed: tuple[str, ...] = (),
        http_client: httpx.AsyncClient | None = None,
        base_url: str = "",
        catalog: Catalog | None = None,
        store: LimitStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Set the rule.

        Args:
            mode: ``verify``, ``allowlist`` or ``off`` (see the module docstring).
            allowed: Principals admitted under ``allowlist``.
            http_client: The shared connection pool the verification call uses.
            base_url: Klaviyo's (or the simulator's) base URL.
            catalog: The actions the SDK client knows (``get_accounts`` must be one).
            store: Where the per-source rejection budget lives.
            clock: Monotonic time source (tests pass a fake one).
        """
        self.mode = mode
        self.allowed = frozenset(allowed)
        self._http = http_client
        self._base_url = base_url
        self._catalog = catalog
        self._store: LimitStore = store or MemoryLimitStore(clock=clock)
        self._clock = clock
        self._cache: OrderedDict[str, _Verdict] = OrderedDict()
        self._inflight: dict[str, anyio.Event] = {}
        self.verifications = 0
        """How many times Klaviyo was asked (for tests and metrics)."""

    async def admit(self, api_key: str, source: str) -> str | None:
        """``None`` when the key may log in, else a one-line reason for the 401."""
        principal = key_principal(api_key)
        if self.mode == "off":
            return (
                "API-key logins are off on this server (CODEMODE_API_KEYS=off): sign in with OAuth"
            )
        # Verdicts are kept under the whole key's SHA-256, never the 48-bit principal: a made-up
        # key ground to share a real key's principal must still be judged by Klaviyo itself.
        digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
        if self.mode == "allowlist":
            if f"sha256:{digest}" in self.allowed:
                return None
            if principal not in self.allowed:
                return (
                    f"principal {principal} is not on this server's allow-list; ask the operator "
                    "to add it to CODEMODE_ALLOWED_PRINCIPALS"
                )
            # Listed by its 48-bit principal only: Klaviyo judges the key, as under ``verify``.
        verdict = self._cached(digest)
        if verdict is None:
            # Only keys Klaviyo has not judged yet cost a call; a source presenting many that it
            # then rejects is slowed down before it can make us ask again.
            budget = Bucket.per_minute(_REJECTIONS_PER_MIN)
            wait = await self._store.take("key-rejections", source, 0.0, budget)
            if wait > 0:
                return (
                    f"too many rejected API keys from your address; retry after {int(wait) + 1} s "
                    "with a valid Klaviyo private key"
                )
            verdict = await self._verify(digest, api_key)
            if verdict is not None and not verdict.ok:
                await self._store.charge("key-rejections", source, 1.0, budget)
        if verdict is None:
            return "Klaviyo could not be reached to check your API key; retry in a minute"
        if not verdict.ok:
            return "Klaviyo rejected this API key (401); check the private key (pk_...) you sent"
        return None

    def _cached(self, digest: str) -> _Verdict | None:
        verdict = self._cache.get(digest)
        if verdict is None:
            return None
        if verdict.until <= self._clock():
            del self._cache[digest]
            return None
        return verdict

    async def _verify(self, digest: str, api_key: str) -> _Verdict | None:
        pending = self._inflight.get(digest)
        if pending is not None:  # someone is asking Klaviyo about this key right now
            with anyio.move_on_after(_VERIFY_TIMEOUT_S + 1):
                await pending.wait()
            return self._cached(digest)
        event = self._inflight[digest] = anyio.Event()
        try:
            ok = await self._ask_klaviyo(api_key)
        finally:
            del self._inflight[digest]
            event.set()
        if ok is None:
            return None
        verdict = _Verdict(ok, self._clock() + (_OK_TTL_S if ok else _REJECTED_TTL_S))
        self._cache[digest] = verdict
        self._cache.move_to_end(digest)
        while len(self._cache) > _MAX_CACHED:
            self._cache.popitem(last=False)
        return verdict

    async def _ask_klaviyo(self, api_key: str) -> bool | None:
        """True: a real key; False: Klaviyo said 401; None: no answer (not cached)."""
        self.verifications += 1
        client = AsyncKlaviyo(
            api_key=api_key,
            base_url=self._base_url,
            http_client=self._http,
            catalog=self._catalog,
            max_retries=0,
            timeout=_VERIFY_TIMEOUT_S,
        )
        try:
            await client.call("get_accounts")
        except AuthenticationError:
            return False
        except PermissionDeniedError:
            return True
        except KlaviyoError:
            return None
        return True
