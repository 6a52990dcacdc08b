"""An example codemode plugin: the ``winback`` composite action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from codemode.extensions import Composite, composite

__all__ = ["composites", "winback"]

_MAX_PROFILES = 1000  # a composite is one agent call: keep its work bounded


@composite(
    name="winback",
    summary="Find profiles in a segment inactive for N days and add them to a win-back list.",
    kind="write",
    keywords=("lapsed customers", "re-engagement", "churned VIPs", "win back"),
)
async def winback(
    klaviyo: Any, segment_id: str, list_id: str, days: int = 60, limit: int = 500
) -> dict[str, Any]:
    """Add the segment's profiles whose last event is older than ``days`` to ``list_id``."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    lapsed: list[str] = []
    scanned = 0
    cursor: str | None = None
    while scanned < _MAX_PROFILES:
        page = await klaviyo.call(
            "get_profiles_for_segment",
            id=segment_id,
            fields={"profile": ["email", "last_event_date"]},
            page_size=100,
            **({"page_cursor": cursor} if cursor else {}),
        )
        for record in page.records:
            scanned += 1
            last = record.get("last_event_date")
            if last is None or datetime.fromisoformat(str(last).replace("Z", "+00:00")) < cutoff:
                lapsed.append(str(record["id"]))
        cursor = page.next_cursor
        if cursor is None:
            break
    chosen = lapsed[: max(0, min(limit, _MAX_PROFILES))]
    for start in range(0, len(chosen), 100):
        batch = chosen[start : start + 100]
        await klaviyo.call(
            "add_profiles_to_list",
            id=list_id,
            body={"data": [{"type": "profile", "id": pid} for pid in batch]},
        )
    return {
        "segment_id": segment_id,
        "list_id": list_id,
        "scanned": scanned,
        "lapsed": len(lapsed),
        "added": len(chosen),
    }


def composites() -> list[Composite]:
    """What this plugin registers (the ``codemode.actions`` entry point)."""
    return [winback]
