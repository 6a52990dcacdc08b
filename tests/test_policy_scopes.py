"""The caller's Klaviyo scopes in the policy: granted (OAuth), learned from 403s (private keys)."""

from __future__ import annotations

import pytest

from codemode.catalog import load_catalog
from codemode.policy import LearnedScopes, Policy, has_scope, missing_scopes

CATALOG = load_catalog()
NARROW = frozenset({"accounts:read", "lists:read", "profiles:read"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_write_scope_covers_the_read_scope_of_its_area_only() -> None:
    assert has_scope(frozenset({"lists:write"}), "lists:read")
    assert has_scope(frozenset({"lists:read"}), "lists:read")
    assert not has_scope(frozenset({"lists:read"}), "lists:write")
    assert not has_scope(frozenset({"lists:write"}), "profiles:read")


def test_an_oauth_caller_is_refused_what_its_scopes_do_not_cover() -> None:
    policy = Policy().for_caller(NARROW)
    assert policy.check(CATALOG["get_lists"]) is None
    assert policy.check(CATALOG["get_profiles_for_list"]) is None  # lists:read + profiles:read
    refusal = policy.check(CATALOG["get_tags_for_list"])  # lists:read + tags:read
    assert refusal is not None and refusal.rule == "scope" and refusal.missing == ("tags:read",)
    assert refusal.message == (
        "get_tags_for_list refused before calling Klaviyo: needs scope tags:read, which this "
        "OAuth sign-in was not granted; ask the user to reconnect granting it. Only the user can "
        "change this, not the agent"
    )
    mark = policy.mark(CATALOG["create_list"])
    assert (mark.status, mark.text) == (
        "refused",
        "refused: needs scope lists:write; ask the user to reconnect granting it",
    )
    both = policy.check(CATALOG["add_profiles_to_list"])
    assert both is not None and both.missing == ("lists:write", "profiles:write")
    assert "needs scope lists:write and profiles:write" in both.message


def test_the_scope_refusal_is_a_permission_denied_error_naming_the_scope() -> None:
    refusal = Policy().for_caller(NARROW).check(CATALOG["create_list"])
    assert refusal is not None
    error = refusal.to_error()
    assert error["class"] == "PermissionDeniedError" and error["status"] == 0
    assert error["code"] == "missing_scope" and "lists:write" in error["message"]
    other = Policy(read_only=True).check(CATALOG["create_list"])
    assert other is not None and other.to_error()["class"] == "PolicyError"


def test_the_servers_own_rules_come_before_the_scopes() -> None:
    refusal = Policy(read_only=True).for_caller(NARROW).check(CATALOG["create_list"])
    assert refusal is not None and refusal.rule == "read-only"


def test_client_actions_need_no_scope_of_the_credential() -> None:
    action = CATALOG["create_client_event"]
    assert action.scopes and missing_scopes(action, frozenset()) == ()
    policy = Policy(allow_destructive=True, confirm_destructive=False)
    assert policy.for_caller(frozenset()).check(action) is None
    assert policy.for_caller(None, {"events:write"}).check(action) is None


def test_unknown_scopes_refuse_nothing_and_learned_gaps_refuse_only_their_scope() -> None:
    unknown = Policy().for_caller(None)
    assert all(unknown.check(CATALOG[a]) is None for a in ("create_list", "get_campaigns"))
    learned = Policy().for_caller(None, {"lists:write"})
    refusal = learned.check(CATALOG["create_list"])
    assert refusal is not None and refusal.rule == "scope"
    assert "which Klaviyo answered this private key lacks (403)" in refusal.reason
    assert learned.mark(CATALOG["create_list"]).text == (
        "refused: needs scope lists:write; ask the user for a key with it"
    )
    assert learned.check(CATALOG["get_lists"]) is None


def test_a_403_is_learned_only_where_it_tells_which_scope_is_missing() -> None:
    memory = LearnedScopes(clock=Clock())
    assert memory.learn("key:a", CATALOG["create_list"]) == ("lists:write",)
    # Two scopes, no detail: either may be missing; nothing is invented.
    assert memory.learn("key:a", CATALOG["get_tags_for_list"]) == ()
    # A detail naming one of them tells which.
    assert memory.learn(
        "key:a", CATALOG["get_tags_for_list"], "get_tags_for_list needs the scope tags:read"
    ) == ("tags:read",)
    # A detail naming both may list what the key has, too: still nothing.
    assert (
        memory.learn(
            "key:a",
            CATALOG["get_flows_triggered_by_list"],
            "needs the scope flows:read; this credential has lists:read",
        )
        == ()
    )
    assert memory.lacking("key:a") == {"lists:write", "tags:read"}
    assert memory.lacking("key:b") == frozenset()


def test_learned_gaps_expire_and_the_memory_is_bounded() -> None:
    clock = Clock()
    memory = LearnedScopes(ttl_s=60, max_principals=2, clock=clock)
    memory.learn("key:a", CATALOG["create_list"])
    clock.now += 59
    assert memory.lacking("key:a") == {"lists:write"}
    clock.now += 1
    assert memory.lacking("key:a") == frozenset()
    for principal in ("key:a", "key:b", "key:c"):
        memory.learn(principal, CATALOG["create_list"])
    assert memory.lacking("key:a") == frozenset()  # the oldest was dropped
    assert memory.lacking("key:c") == {"lists:write"}


@pytest.mark.parametrize("action_id", ["create_list", "get_lists", "delete_list"])
def test_marks_keep_to_a_few_words(action_id: str) -> None:
    text = Policy().for_caller(frozenset()).mark(CATALOG[action_id]).text
    assert text.startswith("refused: ") and len(text.split()) <= 12
