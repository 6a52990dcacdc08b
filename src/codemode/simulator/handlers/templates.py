"""Templates (clone, render), images uploaded from a URL, and tags with their groups."""

from __future__ import annotations

import re
from typing import Any

from codemode.simulator.context import Ctx, Reply
from codemode.simulator.documents import single
from codemode.simulator.errors import ApiError
from codemode.simulator.handlers._registry import handler
from codemode.simulator.handlers.generic import stamp_dates, store_attributes
from codemode.simulator.store import Record

VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][\w.]*)\s*(?:\|\s*default:\s*'([^']*)')?\s*\}\}")
TAG = re.compile(r"\{%.*?%\}")


# Characters a rendered template may have. Each variable can repeat a large context value, so
# without a cap one request renders gigabytes (the simulator runs in the demo server's process).
RENDER_MAX = 1024 * 1024


def _render(text: str | None, context: dict[str, Any]) -> str | None:
    if text is None:
        return None
    size = [len(text)]

    def value(match: re.Match[str]) -> str:
        node: Any = context
        for part in match.group(1).split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out = str(node) if node not in (None, "") else (match.group(2) or "")
        size[0] += len(out) - len(match.group())
        if size[0] > RENDER_MAX:
            raise ApiError(
                400,
                "invalid",
                f"The rendered template would be over {RENDER_MAX} characters; render with "
                "shorter context values or fewer variables.",
                pointer="/data/attributes/context",
            )
        return out

    return TAG.sub("", VARIABLE.sub(value, text))


# The editors a new template can be made for; Klaviyo answers 400 to any other editor_type.
EDITOR_TYPES = ("CODE", "USER_DRAGGABLE", "SYSTEM_DRAGGABLE")


@handler
def create_template(ctx: Ctx) -> Reply:
    """Create an HTML (CODE) or drag-and-drop template (201)."""
    attrs = ctx.attributes()
    editor = attrs.get("editor_type")
    if editor is not None and editor not in EDITOR_TYPES:
        raise ApiError(
            400,
            "invalid",
            f"editor_type {str(editor)[:40]!r} is not one of {', '.join(EDITOR_TYPES)} "
            "(CODE for a template written in html).",
            pointer="/data/attributes/editor_type",
        )
    stored = store_attributes("template", attrs)
    stored.setdefault("html", "")
    stored.setdefault("editor_type", attrs.get("editor_type") or "CODE")
    record = ctx.account.add("template", stored)
    stamp_dates(record)
    return Reply(201, single(ctx, record))


@handler
def clone_template(ctx: Ctx) -> Reply:
    """Copy a template under a new name (201; 404 when the source is absent)."""
    data = ctx.data()
    source = ctx.account.get("template", str(data.get("id")))
    attrs = dict(source.attributes)
    attrs["name"] = ctx.attributes().get("name") or f"Clone of {attrs.get('name')}"
    attrs.pop("created", None)
    attrs.pop("updated", None)
    record = ctx.account.add("template", attrs)
    stamp_dates(record)
    return Reply(201, single(ctx, record))


@handler
def render_template(ctx: Ctx) -> Reply:
    """Render a template's html and text with ``context`` variables (``{{ first_name }}``).

    Differs: only variable lookups with an optional ``default`` filter are rendered; other
    template tags are removed; a render over 1 MiB of characters answers 400.
    """
    data = ctx.data()
    source = ctx.account.get("template", str(data.get("id")))
    context = ctx.attributes().get("context") or {}
    attrs = dict(source.attributes)
    attrs["html"] = _render(attrs.get("html"), context) or ""
    attrs["text"] = _render(attrs.get("text"), context)
    view = Record("template", source.id, attrs, {}, source.created)
    return Reply(201, single(ctx, view))


@handler
def upload_image_from_url(ctx: Ctx) -> Reply:
    """Import an image from a URL (201); the simulator records the URL without downloading it.

    Differs: the image is not fetched; size is estimated from the URL and the format from its suffix.
    """
    attrs = ctx.attributes()
    url = str(attrs["import_from_url"])
    if not url.startswith(("http://", "https://", "data:")):
        raise ApiError(
            400,
            "invalid",
            "import_from_url must be an http(s) URL or a data URI.",
            pointer="/data/attributes/import_from_url",
        )
    name = attrs.get("name") or url.rstrip("/").rsplit("/", 1)[-1] or "image"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "jpeg"
    fmt = {"jpg": "jpeg"}.get(suffix, suffix)
    record = ctx.account.add(
        "image",
        {
            "name": name,
            "format": fmt,
            "hidden": bool(attrs.get("hidden") or False),
            "image_url": url,
            "size": 1000 + 37 * len(url),
        },
    )
    record.attributes["updated_at"] = record.created
    return Reply(201, single(ctx, record))


@handler
def create_tag(ctx: Ctx) -> Reply:
    """Create a tag in a tag group (the default group when none is named); 404 for an unknown group."""
    groups = ctx.rel_ids("tag-group")
    if groups:
        group = ctx.account.get("tag-group", groups[0])
    else:
        found = next(
            (g for g in ctx.account.records("tag-group") if g.attributes.get("default")), None
        )
        group = found or ctx.account.add(
            "tag-group", {"name": "Uncategorized", "exclusive": False, "default": True}
        )
    name = str(ctx.attributes()["name"])
    record = ctx.account.add(
        "tag",
        {"name": name},
        {"tag-group": group.id, "campaigns": [], "flows": [], "lists": [], "segments": []},
    )
    return Reply(201, single(ctx, record))


@handler
def delete_tag_group(ctx: Ctx) -> Reply:
    """Delete a tag group and its tags (204); the default group cannot be deleted (409)."""
    group = ctx.account.get("tag-group", ctx.path["id"])
    if group.attributes.get("default"):
        raise ApiError(
            409, "conflict", "The default tag group cannot be deleted.", pointer="/data/id"
        )
    for tag in list(ctx.account.records("tag")):
        if tag.rels.get("tag-group") == group.id:
            ctx.account.remove("tag", tag.id)
    ctx.account.remove("tag-group", group.id)
    return Reply(204)
