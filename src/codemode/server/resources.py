"""MCP resources and prompts: the SDK conventions, the catalog by group, and a few task prompts.

Resources are for clients that let the user (or the model) read reference text on demand; the
prompts start common marketer tasks with the search -> signature -> script workflow spelled out.
Everything is derived from the catalog, so it covers every operation the server offers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from codemode.catalog import quote_name

if TYPE_CHECKING:
    from codemode.server.runtime import Runtime

__all__ = ["CONVENTIONS", "register_resources"]

CONVENTIONS = """# The `klaviyo` SDK inside execute_code

Every Klaviyo operation is `klaviyo.<group>.<operation_id>(...)`; search_api finds the name and
get_signature shows its parameters, shapes and an example that runs.

- A call returns a Result. `.data` is one record (a dict: `id` plus the attributes, flattened) or a
  list of them; iterating a Result yields its records; `.records` is always a list;
  `result[0]` is the first record and, for one record, `result["email"]` reads its key.
- Paging: `.all()` follows every page lazily (`.all(max_items=500)` stops early); `.next_cursor`
  is the cursor of the next page (pass it back as `page_cursor=`); `page_size=` sets the page.
- Related records: `include=["tags"]` on reads that offer it; they arrive in `.included`.
- Sparse fields: `fields={"profile": ["email"]}`; extra data: `additional_fields={"profile":
  ["subscriptions"]}` where offered.
- Filters: `filter=F.equals("email", "a@b.co")`, `F.any("id", [...])`, `F.greater_than("created",
  dt)`, `F.contains`, `F.and_(a, b)`, or the raw string `'equals(email,"a@b.co")'`. Each
  signature lists the fields and the operators each allows.
- Bodies: `attributes={...}` for the resource's attributes, `relationships={"list": "id"}` or
  `{"profiles": ["id1"]}`, `ids=[...]` on relationship endpoints, `id=` where the body names the
  resource; or the whole JSON:API document as `body={"data": ...}`.
- Errors are exceptions: NotFoundError, BadRequestError, ConflictError, RateLimitError,
  AuthenticationError, PermissionDeniedError (all KlaviyoError), PolicyError when the server's
  policy refuses a call. Catch them like any Python exception.
- `store` is a dict kept per session (JSON values); pass the last result's `session` back.
- `dry_run=true` performs reads and returns the planned writes without sending them.
- Print only the answer: raw responses stay in the sandbox and output is capped.
"""

_PROMPTS: dict[str, tuple[str, str]] = {
    "audience_overview": (
        "Summarise the account's lists and segments with their sizes",
        "List every list and segment of the Klaviyo account with how many profiles each holds, "
        "largest first. Use search_api, then get_signature, then one execute_code script that "
        "prints a short table.",
    ),
    "campaign_performance": (
        "Open, click and conversion rates of recent email campaigns",
        "Report open rate, click rate and conversions for the email campaigns of the last 30 "
        "days, one line per campaign. Find the reporting function with search_api, read its "
        "signature (it needs a conversion metric id), then run one script.",
    ),
}


def _group_text(runtime: Runtime, group: str) -> str:
    actions = runtime.catalog.groups.get(group)
    if not actions:
        names = ", ".join(sorted(runtime.catalog.groups))
        shown = quote_name(group, flagged=runtime.flagged)
        # An error, not contents: contents carry the URI as asked, text the client chose.
        raise MCPError(INVALID_PARAMS, f"No group {shown}. Groups: {names}.")
    lines = [f"# klaviyo.{group}: {len(actions)} operations", ""]
    lines += [f"- `{a.id}` [{a.kind}] {a.method} {a.path}: {a.summary}" for a in actions]
    return "\n".join(lines) + "\n"


def register_resources(server: MCPServer[Any], runtime: Runtime) -> None:
    """Add the conventions and catalog resources and the task prompts to ``server``."""

    @server.resource(
        "klaviyo://sdk/conventions",
        name="sdk-conventions",
        description="How scripts call the Klaviyo SDK: results, paging, filters, bodies, errors",
        mime_type="text/markdown",
    )
    def conventions() -> str:
        return CONVENTIONS

    @server.resource(
        "klaviyo://catalog",
        name="catalog-groups",
        description="The operation groups of the catalog with their sizes",
        mime_type="text/markdown",
    )
    def groups() -> str:
        rows = [f"- `{g}`: {len(a)} operations" for g, a in sorted(runtime.catalog.groups.items())]
        return "# Catalog groups (read klaviyo://catalog/{group})\n\n" + "\n".join(rows) + "\n"

    @server.resource(
        "klaviyo://catalog/{group}",
        name="catalog-group",
        description="Every operation of one group: id, kind, route and summary",
        mime_type="text/markdown",
    )
    def group(group: str) -> str:
        return _group_text(runtime, group)

    for name, (description, text) in _PROMPTS.items():
        server.prompt(name=name, description=description)(_prompt(text))

    @server.prompt(name="find_profile", description="Everything about one contact, by email")
    def find_profile(email: str) -> str:
        # The address becomes the user turn the model reads: only an address's shape (no space,
        # one @, at most 320 characters, as RFC 5321 bounds it) that the scanner reads as no
        # instruction goes in; other text is refused (the user can type it as a message).
        if not _EMAIL.fullmatch(email) or len(email) > 320 or runtime.flagged(email):
            raise MCPError(
                INVALID_PARAMS,
                f"find_profile needs an email address (got {len(email)} characters that are not "
                "one); type other text as a message instead",
            )
        shown = email
        return (
            f"Find the profile with email {shown!r} and print its name, the lists and segments "
            "it belongs to and its five most recent events. Search, read the signatures, then "
            "run one script."
        )


_EMAIL = re.compile(r"[^\s@'\"]+@[^\s@'\"]+\.[^\s@'\"]+")


def _prompt(text: str) -> Any:
    def render() -> str:
        return text

    return render
