"""The scoping policy: each rule refuses what it should and names itself."""

from __future__ import annotations

import pytest

from codemode.catalog import load_catalog
from codemode.config import Settings
from codemode.policy import CallRateLimiter, Policy, PolicyError, Refusal, is_webhook_write

CATALOG = load_catalog()
READ = CATALOG["get_profiles"]
WRITE = CATALOG["create_list"]
DESTRUCTIVE = CATALOG["delete_list"]
WEBHOOK = CATALOG["create_webhook"]


def test_default_policy_allows_reads_and_writes_but_not_destructive_actions() -> None:
    policy = Policy()
    assert policy.check(READ) is None
    assert policy.check(WRITE) is None
    refusal = policy.check(DESTRUCTIVE)
    assert refusal is not None and refusal.rule == "destructive"
    assert "start the server with --allow-destructive" in refusal.message
    assert refusal.message.startswith("delete_list refused by policy: ")


def test_read_only_session_refuses_everything_but_reads() -> None:
    policy = Policy(read_only=True, allow_destructive=True)
    assert policy.check(READ) is None
    for action in (WRITE, DESTRUCTIVE, WEBHOOK, CATALOG["create_client_event"]):
        refusal = policy.check(action)
        assert refusal is not None and refusal.rule == "read-only"
        assert "read-only session" in refusal.reason


@pytest.mark.parametrize("entry", ["profiles", "get_profiles", "kind:read"])
def test_deny_entries_match_group_id_or_kind(entry: str) -> None:
    refusal = Policy(deny=(entry,)).check(READ)
    assert refusal is not None and refusal.rule == "deny"
    assert refusal.reason == f"denied by CODEMODE_DENY entry '{entry}'"


def test_allow_list_admits_only_matching_actions_and_deny_wins() -> None:
    policy = Policy(allow=("profiles", "kind:write"))
    assert policy.check(READ) is None
    assert policy.check(WRITE) is None
    refusal = policy.check(CATALOG["get_lists"])
    assert refusal is not None and refusal.rule == "allow" and "'profiles'" in refusal.reason
    denied = Policy(allow=("profiles",), deny=("get_profiles",)).check(READ)
    assert denied is not None and denied.rule == "deny"


def test_webhook_writes_are_gated_like_destructive_actions() -> None:
    assert is_webhook_write(WEBHOOK) and is_webhook_write(CATALOG["update_webhook"])
    assert not is_webhook_write(CATALOG["get_webhooks"])
    refusal = Policy().check(WEBHOOK)
    assert refusal is not None and refusal.rule == "webhook"
    assert (
        "webhook writes send data to a URL you choose: gated like destructive actions"
        in refusal.reason
    )
    assert Policy(allow_destructive=True).check(WEBHOOK) is None


@pytest.mark.parametrize(
    ("action_id", "fragment"),
    [
        ("upload_image_from_url", "makes Klaviyo fetch a URL you choose"),
        ("create_client_event", "company_id names"),
        ("create_client_profile", "company_id names"),
    ],
)
def test_other_egress_actions_are_gated_too(action_id: str, fragment: str) -> None:
    refusal = Policy().check(CATALOG[action_id])
    assert refusal is not None and refusal.rule == "egress" and fragment in refusal.reason
    assert Policy(allow_destructive=True).check(CATALOG[action_id]) is None
    assert Policy(allow_destructive=True).needs_confirmation(CATALOG[action_id])


def test_confirmation_is_wanted_for_destructive_and_webhook_writes_only() -> None:
    policy = Policy(allow_destructive=True)
    assert policy.needs_confirmation(DESTRUCTIVE) and policy.needs_confirmation(WEBHOOK)
    assert not policy.needs_confirmation(WRITE)
    assert not Policy(allow_destructive=True, confirm_destructive=False).needs_confirmation(
        DESTRUCTIVE
    )


def test_bad_entries_and_rates_are_rejected_with_the_fix() -> None:
    with pytest.raises(ValueError, match="kind:read"):
        Policy(deny=("kind:nope",))
    with pytest.raises(ValueError, match="use None"):
        Policy(calls_per_minute=0)


def test_from_settings_reads_the_operator_switches() -> None:
    settings = Settings(
        read_only=True, allow=("profiles",), deny=("kind:destructive",), allow_destructive=True
    )
    policy = Policy.from_settings(settings)
    assert policy == Policy(
        read_only=True, allow=("profiles",), deny=("kind:destructive",), allow_destructive=True
    )
    assert policy.describe() == [
        "read-only",
        "deny kind:destructive",
        "allow profiles",
        "destructive enabled",
    ]
    assert Policy().describe() == ["reads and writes", "destructive disabled"]


def test_rate_limiter_counts_a_sliding_minute() -> None:
    now = [1000.0]
    limiter = Policy(calls_per_minute=2).rate_limiter(clock=lambda: now[0])
    assert isinstance(limiter, CallRateLimiter)
    assert limiter.acquire(READ) is None
    assert limiter.acquire(READ) is None
    refusal = limiter.acquire(READ)
    assert (
        refusal is not None
        and refusal.rule == "rate"
        and "at most 2 SDK calls per minute" in refusal.reason
    )
    now[0] += 60.0
    assert limiter.acquire(READ) is None
    assert Policy().rate_limiter() is None


def test_policy_error_carries_the_rule() -> None:
    error = PolicyError.from_refusal(
        Refusal("deny", "denied by CODEMODE_DENY entry 'x'", "get_profiles")
    )
    assert (error.rule, error.operation_id) == ("deny", "get_profiles")
    assert str(error) == (
        "get_profiles refused by policy: denied by CODEMODE_DENY entry 'x'. Only the user can "
        "change this, not the agent: ask the user whether to remove the entry from CODEMODE_DENY"
    )


def test_deny_entries_are_all_checked() -> None:
    policy = Policy(deny=("lists", "kind:destructive", "get_profiles"))
    refusal = policy.check(READ)
    assert refusal is not None and "'get_profiles'" in refusal.reason
    assert Policy(deny=("lists", "campaigns")).check(READ) is None


def test_confirmation_is_waived_only_by_the_separate_operator_switch() -> None:
    enabled = Policy.from_settings(Settings(allow_destructive=True))
    waived = Policy.from_settings(Settings(allow_destructive=True, destructive_unconfirmed=True))
    delete = CATALOG["delete_list"]
    assert enabled.check(delete) is None and enabled.needs_confirmation(delete)
    assert waived.check(delete) is None and not waived.needs_confirmation(delete)
    # The waiver does not enable anything by itself.
    alone = Policy.from_settings(Settings(destructive_unconfirmed=True))
    refusal = alone.check(delete)
    assert refusal is not None and refusal.rule == "destructive"


def test_a_flow_action_update_that_defines_a_webhook_is_gated_and_any_other_is_not() -> None:
    catalog = load_catalog()
    update = catalog.get("update_flow_action")
    feed = catalog.get("update_web_feed")
    assert update is not None and feed is not None
    webhook = {"definition": {"type": "send-webhook", "data": {"message": {"url": "https://e.x"}}}}
    email = {"definition": {"type": "send-email", "data": {"message": {}}}}
    refusal = Policy().check(update, webhook)
    assert refusal is not None and refusal.rule == "webhook"
    assert Policy().check(update, email) is None and Policy().check(update) is None
    assert Policy(allow_destructive=True).needs_confirmation(update, webhook)
    assert not Policy(allow_destructive=True).needs_confirmation(update, email)
    assert Policy().mark(feed).status == "refused"
