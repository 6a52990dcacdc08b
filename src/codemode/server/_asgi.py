"""One helper for the ASGI guards in front of ``/mcp``: answer with a small JSON body."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

__all__ = ["send_json"]


async def send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send ``body`` as the whole response, with ``extra`` headers (e.g. ``Retry-After``)."""
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": data})
