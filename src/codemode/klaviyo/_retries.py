"""When to retry a Klaviyo call and how long to wait: bounded exponential backoff with jitter.

Rules (shared by the sync and async clients):

- 429 is retried for every method: Klaviyo rejected the request, nothing happened.
- 5xx and read-side transport failures (read timeout, reset, protocol error) are retried only for
  GET: a write may already have taken effect, and repeating it could create duplicates.
- Connect errors and pool timeouts are retried for every method: the request never left.
- ``Retry-After`` is honoured exactly (seconds or an HTTP date); when it asks for longer than
  ``max_retry_after`` the call fails at once with a :class:`RateLimitError` saying how long to wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

__all__ = ["RETRY_STATUSES", "SAFE_METHODS", "RetryPolicy", "parse_rate_limit", "parse_retry_after"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 524})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Raised before any byte of the request reached the server: safe to retry for every method.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Raised after the request may have reached the server: safe to retry only for reads.
_MAYBE_SENT: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0.0, when.timestamp() - now())


def parse_rate_limit(headers: Mapping[str, str]) -> dict[str, int]:
    """``RateLimit-Limit/-Remaining/-Reset`` as ``{"limit", "remaining", "reset"}`` (present keys only)."""
    out: dict[str, int] = {}
    for key in ("limit", "remaining", "reset"):
        raw = headers.get(f"ratelimit-{key}")
        if raw is None:
            continue
        try:
            # Some servers send "100;w=60"; the number before ';' is the value.
            out[key] = int(float(raw.split(";", 1)[0].strip()))
        except (ValueError, OverflowError):  # "inf" and "1e400" overflow: every call failed
            continue
    return out


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry budget and backoff shape.

    Attributes:
        max_retries: retries after the first attempt (0 disables retrying).
        backoff_base: first backoff in seconds; doubles per retry.
        backoff_max: cap of one backoff sleep.
        max_retry_after: the longest ``Retry-After`` the client will sleep through.
        jitter: returns a float in [0, 1); injectable so tests are deterministic.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    max_retry_after: float = 60.0
    jitter: Callable[[], float] = field(default=random.random)

    def backoff(self, retry: int) -> float:
        """Sleep before retry number ``retry`` (0-based): half fixed, half random, capped."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**retry))
        return float(ceiling / 2 + self.jitter() * ceiling / 2)

    def can_retry(self, retries_done: int) -> bool:
        """True while the retry budget is not spent."""
        return retries_done < self.max_retries

    def status_delay(
        self, method: str, status: int, headers: Mapping[str, str], retries_done: int
    ) -> float | None:
        """Seconds to wait before retrying an answer with ``status``, or None to stop."""
        if status not in RETRY_STATUSES or not self.can_retry(retries_done):
            return None
        if status != 429 and method.upper() not in SAFE_METHODS:
            return None
        retry_after = parse_retry_after(headers.get("retry-after"))
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(retries_done)

    def exception_delay(self, method: str, exc: Exception, retries_done: int) -> float | None:
        """Seconds to wait before retrying after a transport failure, or None to stop."""
        if not self.can_retry(retries_done):
            return None
        if isinstance(exc, _NOT_SENT):
            return self.backoff(retries_done)
        if isinstance(exc, _MAYBE_SENT) and method.upper() in SAFE_METHODS:
            return self.backoff(retries_done)
        return None


def may_have_been_sent(exc: Exception) -> bool:
    """True when a transport failure happened after the request may have reached the server."""
    return not isinstance(exc, _NOT_SENT)
