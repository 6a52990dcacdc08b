"""Lazy pagination: ``result.all()`` follows ``links.next`` (sync and async)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

BASE = "https://a.klaviyo.com/api/profiles"


def pages(total: int, size: int) -> Callable[[httpx.Request], httpx.Response]:
    """A handler serving ``total`` profiles ``size`` at a time, with full-URL ``links.next``."""

    def handler(request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())
        start = int(query.get("page[cursor]", ["0"])[0])
        items = [
            {"type": "profile", "id": f"P{i}", "attributes": {"email": f"p{i}@x.co"}}
            for i in range(start, min(start + size, total))
        ]
        nxt = start + size
        links = {
            "self": str(request.url),
            "next": f"{BASE}?page%5Bcursor%5D={nxt}&page%5Bsize%5D={size}" if nxt < total else None,
        }
        return httpx.Response(200, json={"data": items, "links": links})

    return handler


def test_all_follows_next_cursor_until_exhausted(make_client: Callable[..., Any]) -> None:
    client, script = make_client(pages(total=7, size=3))
    result = client.profiles.get_profiles(page_size=3, filter='equals(email,"x")')
    assert len(script.requests) == 1, "the first page only; the rest is lazy"
    ids = [r["id"] for r in result.all()]
    assert ids == [f"P{i}" for i in range(7)]
    assert len(script.requests) == 3
    later = parse_qs(script.requests[2].url.query.decode())
    assert later["page[cursor]"] == ["6"]
    assert later["filter"] == ['equals(email,"x")'], "the other parameters are kept on every page"


def test_all_honours_max_items_without_fetching_more_pages(make_client: Callable[..., Any]) -> None:
    client, script = make_client(pages(total=100, size=5))
    records = list(client.profiles.get_profiles(page_size=5).all(max_items=10))
    assert [r["id"] for r in records] == [f"P{i}" for i in range(10)]
    assert len(script.requests) == 2
    assert list(client.profiles.get_profiles(page_size=5).all(max_items=0)) == []


def test_pages_and_next_cursor(make_client: Callable[..., Any]) -> None:
    client, _ = make_client(pages(total=4, size=2))
    first = client.profiles.get_profiles(page_size=2)
    assert first.next_cursor == "2"
    assert [len(p) for p in first.pages()] == [2, 2]
    assert [len(p) for p in first.pages(max_pages=1)] == [2]


def test_next_link_can_be_passed_back_as_page_cursor(make_client: Callable[..., Any]) -> None:
    client, script = make_client(pages(total=4, size=2))
    first = client.profiles.get_profiles(page_size=2)
    second = client.profiles.get_profiles(page_size=2, page_cursor=first.links["next"])
    assert [r["id"] for r in second] == ["P2", "P3"]
    assert parse_qs(script.last.url.query.decode())["page[cursor]"] == ["2"]


async def test_async_all_follows_next_cursor_and_honours_max_items(
    make_async_client: Callable[..., Any],
) -> None:
    client, script = make_async_client(pages(total=7, size=3))
    result = await client.profiles.get_profiles(page_size=3)
    assert [r["id"] async for r in result.aall()] == [f"P{i}" for i in range(7)]
    capped = await client.profiles.get_profiles(page_size=3)
    assert len([r async for r in capped.aall(max_items=4)]) == 4
    assert len(script.requests) == 3 + 2


async def test_sync_iteration_of_an_async_result_says_what_to_use(
    make_async_client: Callable[..., Any],
) -> None:
    client, _ = make_async_client(pages(total=7, size=3))
    result = await client.profiles.get_profiles(page_size=3)
    with pytest.raises(TypeError, match=r"aall|apages"):
        list(result.all())
