"""Seeded fault injection: errors, latency, dropped connections and bursts of 429s."""

from __future__ import annotations

import random
from typing import Literal

from codemode.simulator.config import FaultConfig

__all__ = ["FaultPlan"]

Fault = Literal["error", "drop", "throttle"]


class FaultPlan:
    """Decides, request by request, which fault (if any) hits; the same seed gives the same sequence."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._count = 0
        self._burst_left = 0
        self.injected: dict[str, int] = {"error": 0, "drop": 0, "throttle": 0}

    def next(self) -> Fault | None:
        """The fault for the next API request."""
        self._count += 1
        cfg = self.config
        roll = self._rng.random()
        fault: Fault | None = None
        if self._burst_left > 0:
            self._burst_left -= 1
            fault = "throttle"
        elif cfg.burst_429_every and self._count % cfg.burst_429_every == 0:
            self._burst_left = max(0, cfg.burst_429_length - 1)
            fault = "throttle"
        elif roll < cfg.drop_rate:
            fault = "drop"
        elif roll < cfg.drop_rate + cfg.error_rate:
            fault = "error"
        if fault:
            self.injected[fault] += 1
        return fault
