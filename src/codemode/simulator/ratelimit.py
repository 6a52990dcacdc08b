"""Klaviyo's fixed-window rate limits: burst (1 s), steady (1 min) and daily caps, per account."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from codemode.simulator.errors import ApiError

__all__ = ["RateLimiter"]

WINDOWS = (("burst", 1.0), ("steady", 60.0), ("daily", 86400.0))


@dataclass(slots=True)
class _Window:
    start: float
    used: int


class RateLimiter:
    """Counts requests per (bucket, tier, window) and answers 429 with ``Retry-After`` when full.

    A bucket is an account (private keys share it) or an OAuth app installation; a tier is the
    action's ``(burst, steady, daily)`` triple, so actions of the same tier share their windows as
    Klaviyo's do.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, tuple[int, ...], str], _Window] = {}

    def hit(self, bucket: str, limits: Mapping[str, int]) -> dict[str, str]:
        """Count one request; the ``RateLimit-*`` headers for the steady window.

        Raises:
            ApiError: 429 with ``Retry-After`` when a window is exhausted (the request is not counted).
        """
        now = self._clock()
        tier = tuple(limits.get(name, 0) for name, _ in WINDOWS)
        states: list[tuple[str, float, int, _Window]] = []
        for name, length in WINDOWS:
            limit = limits.get(name)
            if not limit:
                continue
            key = (bucket, tier, name)
            window = self._windows.get(key)
            if window is None or now - window.start >= length:
                window = _Window(now, 0)
                self._windows[key] = window
            if window.used >= limit:
                retry = max(1, int(window.start + length - now + 0.999))
                raise ApiError(
                    429,
                    "throttled",
                    f"Request was throttled ({name} limit {limit}). Expected available in {retry} second{'s' if retry != 1 else ''}.",
                    headers={"Retry-After": str(retry)},
                )
            states.append((name, length, limit, window))
        for _, _, _, window in states:
            window.used += 1
        steady = next((s for s in states if s[0] == "steady"), None) or (
            states[0] if states else None
        )
        if steady is None:
            return {}
        _, length, limit, window = steady
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - window.used)),
            "RateLimit-Reset": str(max(0, int(window.start + length - now))),
        }
