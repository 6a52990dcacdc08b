"""Retries, backoff and transport failures, driven by a scripted transport (nothing sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from codemode.klaviyo import RateLimitError, RetryPolicy, ServerError, TransportError
from codemode.klaviyo._retries import parse_rate_limit, parse_retry_after

from .conftest import Sleeps, error, jsonapi

OK = jsonapi(200, {"data": [], "links": {"next": None}})
CREATED = jsonapi(201, {"data": {"type": "list", "id": "L1", "attributes": {"name": "VIP"}}})

MakeClient = Callable[..., Any]


def test_429_with_retry_after_sleeps_exactly_that_long_then_succeeds(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    throttled = error(429, "throttled", "Request was throttled.")
    throttled.headers["Retry-After"] = "7"
    client, script = make_client(throttled, OK)
    result = client.profiles.get_profiles()
    assert sleeps == [7.0]
    assert len(script.requests) == 2
    assert result.info is not None and result.info.attempts == 2 and result.info.retries == 1


def test_429_on_a_write_is_retried_because_klaviyo_rejected_it(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    throttled = error(429, "throttled", "slow down")
    throttled.headers["Retry-After"] = "1"
    client, script = make_client(throttled, CREATED)
    result = client.lists.create_list(attributes={"name": "VIP"})
    assert result.data == {"id": "L1", "type": "list", "name": "VIP"}
    assert [r.method for r in script.requests] == ["POST", "POST"]
    assert sleeps == [1.0]


def test_503_then_success_backs_off_exponentially_with_jitter(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=20, jitter=lambda: 1.0)
    unavailable = error(503, "unavailable", "try later")
    client, script = make_client(unavailable, unavailable, OK, retry_policy=policy)
    client.profiles.get_profiles()
    assert len(script.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_backoff_is_bounded_by_backoff_max() -> None:
    policy = RetryPolicy(backoff_base=1, backoff_max=4, jitter=lambda: 0.0)
    assert [policy.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    high = RetryPolicy(backoff_base=1, backoff_max=4, jitter=lambda: 0.999)
    assert max(high.backoff(n) for n in range(10)) < 4


def test_timeout_on_get_is_retried(make_client: MakeClient, sleeps: Sleeps) -> None:
    client, script = make_client(httpx.ReadTimeout("read timed out"), OK)
    client.profiles.get_profiles()
    assert len(script.requests) == 2
    assert len(sleeps) == 1


def test_connection_reset_on_get_is_retried(make_client: MakeClient) -> None:
    client, script = make_client(httpx.ReadError("[Errno 104] Connection reset by peer"), OK)
    assert client.lists.get_lists().status == 200
    assert len(script.requests) == 2


def test_post_is_not_retried_after_the_body_may_have_been_sent(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    client, script = make_client(httpx.ReadTimeout("read timed out"), CREATED)
    with pytest.raises(TransportError) as caught:
        client.lists.create_list(attributes={"name": "VIP"})
    assert len(script.requests) == 1
    assert sleeps == []
    assert "may or may not have happened" in str(caught.value)
    assert caught.value.operation_id == "create_list"


def test_post_is_not_retried_on_503(make_client: MakeClient) -> None:
    client, script = make_client(error(503, "unavailable", "try later"), CREATED)
    with pytest.raises(ServerError):
        client.lists.create_list(attributes={"name": "VIP"})
    assert len(script.requests) == 1


def test_post_is_retried_after_a_connect_error_because_nothing_was_sent(
    make_client: MakeClient,
) -> None:
    client, script = make_client(httpx.ConnectError("connection refused"), CREATED)
    assert client.lists.create_list(attributes={"name": "VIP"}).status == 201
    assert len(script.requests) == 2


def test_exhausted_retry_budget_raises_a_typed_error_that_says_what_to_do(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    client, script = make_client(error(503, "unavailable", "Service unavailable."), max_retries=2)
    with pytest.raises(ServerError) as caught:
        client.profiles.get_profiles()
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    message = str(caught.value)
    assert "get_profiles" in message and "503" in message and "after 3 attempts" in message
    assert "retry later" in message
    assert caught.value.status == 503


def test_exhausted_transport_retries_raise_transport_error(make_client: MakeClient) -> None:
    client, script = make_client(httpx.ConnectTimeout("connect timed out"), max_retries=1)
    with pytest.raises(TransportError, match=r"ConnectTimeout.*after 2 attempt"):
        client.accounts.get_accounts()
    assert len(script.requests) == 2


def test_retry_after_longer_than_allowed_fails_at_once_with_the_wait(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    throttled = error(429, "throttled", "daily cap")
    throttled.headers["Retry-After"] = "3600"
    client, script = make_client(throttled, OK)
    with pytest.raises(RateLimitError) as caught:
        client.profiles.get_profiles()
    assert sleeps == []
    assert caught.value.retry_after == 3600
    assert "wait 3600s" in str(caught.value)
    assert len(script.requests) == 1


def test_max_retries_zero_disables_retrying(make_client: MakeClient) -> None:
    client, script = make_client(error(500, "error", "boom"), OK, max_retries=0)
    with pytest.raises(ServerError):
        client.profiles.get_profiles()
    assert len(script.requests) == 1


async def test_async_client_retries_with_the_injected_async_sleep(
    make_async_client: Callable[..., Any], sleeps: Sleeps
) -> None:
    throttled = error(429, "throttled", "slow down")
    throttled.headers["Retry-After"] = "2"
    client, script = make_async_client(throttled, httpx.ReadTimeout("slow"), OK)
    result = await client.profiles.get_profiles()
    assert result.status == 200
    assert sleeps[0] == 2.0 and len(sleeps) == 2
    assert len(script.requests) == 3


async def test_async_post_is_not_retried_after_a_read_timeout(
    make_async_client: Callable[..., Any],
) -> None:
    client, script = make_async_client(httpx.ReadTimeout("slow"), CREATED)
    with pytest.raises(TransportError):
        await client.lists.create_list(attributes={"name": "VIP"})
    assert len(script.requests) == 1


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert parse_retry_after(date, now=lambda: 1445412480.0) == pytest.approx(10.0)


def test_rate_limit_headers_are_parsed_and_exposed_on_the_result(make_client: MakeClient) -> None:
    answer = jsonapi(
        200,
        {"data": []},
        {"RateLimit-Limit": "700", "RateLimit-Remaining": "699", "RateLimit-Reset": "41"},
    )
    seen: list[Any] = []
    client, _ = make_client(answer, on_call=seen.append)
    result = client.profiles.get_profiles()
    assert result.info is not None
    assert result.info.rate_limit == {"limit": 700, "remaining": 699, "reset": 41}
    assert result.info.ms >= 0 and result.info.status == 200
    assert seen == [result.info]
    assert parse_rate_limit(httpx.Headers({"ratelimit-limit": "100;w=60"})) == {"limit": 100}
