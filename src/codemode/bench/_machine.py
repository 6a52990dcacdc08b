"""Where and when a benchmark ran: the facts a reader needs to judge its times."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

__all__ = ["describe_machine", "load_now", "machine_info"]


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not every platform has a load average
        return None


def machine_info(load_before: float | None = None) -> dict[str, Any]:
    """Date (UTC), core count, 1-minute load average before and after the run, Python version."""
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": _load(),
        "python": platform.python_version(),
    }


def load_now() -> float | None:
    """The 1-minute load average now (None where the platform has none)."""
    return _load()


def describe_machine(info: dict[str, Any]) -> str:
    """One line: ``2026-12-05, 2 cores, load 1.9 -> 2.4``."""
    load = f"load {info.get('load_before')} -> {info.get('load_after')}"
    return f"{info.get('date')}, {info.get('cores')} cores, {load} (1-minute average)"
