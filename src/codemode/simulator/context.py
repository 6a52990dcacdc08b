"""What a handler receives: the action, the caller's account, the parsed request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from codemode.catalog import Action
from codemode.simulator.errors import bad_body, bad_param
from codemode.simulator.store import Account

if TYPE_CHECKING:
    from codemode.simulator.state import SimState

__all__ = ["MAX_LINKS", "Ctx", "Reply"]

MAX_LINKS = 1000
"""Most resource identifiers one relationship request may carry (Klaviyo caps list adds at 1,000)."""


@dataclass(slots=True)
class Reply:
    """A handler's answer: status and JSON body (None for 204/202 without content)."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Ctx:
    """One request as a handler sees it.

    Attributes:
        action: the catalog action being served.
        sim: the simulator (all accounts, stats, jobs, config).
        account: the caller's account.
        path: path parameters by name.
        query: query parameters (last value wins), wire names.
        body: the parsed JSON body, or None.
        base_url: scheme and host of the request, for absolute links.
        path_url: the request path (no query).
    """

    action: Action
    sim: SimState
    account: Account
    path: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str
    path_url: str

    def param(self, wire: str) -> str | None:
        """A query parameter by its wire name."""
        return self.query.get(wire)

    def url(self, replace: dict[str, str | None] | None = None) -> str:
        """The request's absolute URL with some query parameters replaced (None removes one)."""
        query = dict(self.query)
        for wire, value in (replace or {}).items():
            if value is None:
                query.pop(wire, None)
            else:
                query[wire] = value
        text = urlencode(query, safe="[],:$")
        return f"{self.base_url}{self.path_url}" + (f"?{text}" if text else "")

    def data(self) -> dict[str, Any]:
        """The body's ``data`` object (400 when missing or not an object)."""
        if not isinstance(self.body, dict) or not isinstance(self.body.get("data"), dict):
            raise bad_body(
                "/data", "The request body must be a JSON:API document with a 'data' object."
            )
        data: dict[str, Any] = self.body["data"]
        return data

    def attributes(self) -> dict[str, Any]:
        """The body's ``data.attributes`` (an empty dict when absent)."""
        attrs = self.data().get("attributes") or {}
        if not isinstance(attrs, dict):
            raise bad_body("/data/attributes", "'attributes' must be an object.")
        return attrs

    def data_list(self) -> list[dict[str, Any]]:
        """The body's ``data`` as a list of resource identifiers (relationship endpoints)."""
        if not isinstance(self.body, dict) or not isinstance(self.body.get("data"), list):
            raise bad_body(
                "/data", "The request body must be {'data': [{'type': ..., 'id': ...}, ...]}."
            )
        items: list[dict[str, Any]] = self.body["data"]
        if len(items) > MAX_LINKS:
            raise bad_body(
                "/data",
                f"At most {MAX_LINKS} ids per request; got {len(items)}. Split the request.",
            )
        for n, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("id"):
                raise bad_body(f"/data/{n}/id", "Each item needs a 'type' and an 'id'.")
        return items

    def rel_ids(self, name: str) -> list[str]:
        """Ids named in ``data.relationships[name].data`` (one or many)."""
        rels = self.data().get("relationships") or {}
        data = (rels.get(name) or {}).get("data") if isinstance(rels, dict) else None
        if data is None:
            return []
        items = data if isinstance(data, list) else [data]
        return [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]

    def page_size(self) -> int:
        """``page[size]`` checked against the action's bounds (its default when absent)."""
        bounds = self.action.page_size
        raw = self.param("page[size]")
        if bounds is None:
            return 200 if self.action.paginated else 1_000_000
        if raw is None:
            return bounds.default
        try:
            size = int(raw)
        except ValueError:
            raise bad_param(
                "page[size]", f"page[size] must be an integer from {bounds.min} to {bounds.max}."
            ) from None
        if not bounds.min <= size <= bounds.max:
            raise bad_param(
                "page[size]",
                f"page[size] must be from {bounds.min} to {bounds.max} for {self.action.id}; got {size}.",
            )
        return size
