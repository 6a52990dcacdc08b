"""Answers a principal had scanned clean are not scanned again; anything else always is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from codemode.catalog import load_catalog
from codemode.sandbox import SdkBridge
from codemode.sandbox.seen import CleanAnswers
from codemode.scanner import Finding

CATALOG = load_catalog()
PAGE = {"data": [{"type": "profile", "id": "P1", "attributes": {"email": "a@b.co"}}]}


@dataclass
class Answer:
    raw: dict[str, Any] | None
    status: int = 200


class Client:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    async def call(self, operation_id: str, /, **params: Any) -> Answer:
        return Answer(self.raw)

    def prepare(self, operation_id: str, /, **params: Any) -> object:
        return object()


@dataclass
class Scan:
    verdict: str
    document: Any
    findings: list[Finding] = field(default_factory=list)
    tier2_available: bool = True


class CountingScanner:
    """Clean unless told otherwise; counts what it reads."""

    def __init__(self, verdict: str = "clean", *, tier2: bool = True, copy: bool = False) -> None:
        self.verdict, self.tier2, self.copy = verdict, tier2, copy
        self.reads = 0

    def scan_response(self, document: Any, policy: str = "redact", principal: str = "") -> Scan:
        self.reads += 1
        findings = [Finding("/data/0/id", 1, "x", 1.0, "x")] if self.verdict != "clean" else []
        out = dict(document) if self.copy else document
        return Scan(self.verdict, out, findings, self.tier2)


async def read(
    scanner: CountingScanner,
    seen: CleanAnswers,
    principal: str = "alice",
    raw: dict[str, Any] | None = None,
    secrets: tuple[str, ...] = (),
) -> Any:
    bridge = SdkBridge(
        client=Client(raw if raw is not None else PAGE),
        catalog=CATALOG,
        scanner=scanner,
        principal=principal,
        seen=seen,
        secrets=secrets,
    )
    return await bridge.call("get_profiles", [], {})


async def test_the_same_answer_for_the_same_principal_is_scanned_once() -> None:
    scanner, seen = CountingScanner(), CleanAnswers()
    first = await read(scanner, seen)
    again = await read(scanner, seen)
    assert scanner.reads == 1
    assert first.scan == again.scan == "clean" and again.raw == PAGE
    assert again.raw_json == first.raw_json is not None


async def test_another_principal_or_other_bytes_are_scanned() -> None:
    scanner, seen = CountingScanner(), CleanAnswers()
    await read(scanner, seen)
    await read(scanner, seen, principal="bob")
    await read(scanner, seen, raw={"data": [{"type": "profile", "id": "P2"}]})
    assert scanner.reads == 3


@pytest.mark.parametrize(
    "scanner",
    [
        CountingScanner("flagged"),  # a finding: scanned every time
        CountingScanner(tier2=False),  # the classifier could not run: not a full verdict
        CountingScanner(copy=True),  # the scan changed the document
    ],
)
async def test_only_a_full_clean_verdict_on_an_unchanged_answer_is_remembered(
    scanner: CountingScanner,
) -> None:
    seen = CleanAnswers()
    await read(scanner, seen)
    await read(scanner, seen)
    assert scanner.reads == 2


async def test_an_answer_holding_a_secret_is_scanned_and_scrubbed_every_time() -> None:
    scanner, seen = CountingScanner(), CleanAnswers()
    raw = {"data": {"type": "profile", "id": "P1", "attributes": {"note": "pk_secret_1"}}}
    for _ in range(2):
        reply = await read(scanner, seen, raw=raw, secrets=("pk_secret_1",))
        assert "pk_secret_1" not in str(reply.raw)
    assert scanner.reads == 2


async def test_without_a_record_every_answer_is_scanned() -> None:
    scanner = CountingScanner()
    for _ in range(2):
        bridge = SdkBridge(client=Client(PAGE), catalog=CATALOG, scanner=scanner)
        await bridge.call("get_profiles", [], {})
    assert scanner.reads == 2


def test_digests_depend_on_the_context_and_every_byte() -> None:
    a = CleanAnswers.digest("1|redact", '{"a":1}')
    assert a == CleanAnswers.digest("1|redact", '{"a":1}')
    assert a != CleanAnswers.digest("1|block", '{"a":1}')
    assert a != CleanAnswers.digest("1|redact", '{"a":2}')
    assert len(a) == 32
    # No pair passes for another by moving bytes across the boundary, a NUL included.
    assert CleanAnswers.digest("ctx", "\0x") != CleanAnswers.digest("ctx\0", "x")
    assert CleanAnswers.digest("ab", "c") != CleanAnswers.digest("a", "bc")


def test_the_record_keeps_a_few_answers_of_the_principals_seen_last() -> None:
    seen = CleanAnswers(per_principal=2, principals=2)
    keys = [CleanAnswers.digest("c", str(i)) for i in range(3)]
    for key in keys:
        seen.add("alice", key)
    assert not seen.known("alice", keys[0])
    assert seen.known("alice", keys[1]) and seen.known("alice", keys[2])
    seen.add("bob", keys[0])
    assert seen.known("alice", keys[2])  # alice is now the most recently seen
    seen.add("carol", keys[0])  # bob, the least recently seen, is dropped
    assert not seen.known("bob", keys[0]) and seen.known("carol", keys[0])
    seen.add("carol", keys[1])
    assert seen.known("carol", keys[1])
    seen.clear()
    assert not seen.known("carol", keys[0])


def test_a_record_must_keep_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        CleanAnswers(per_principal=0)


def test_more_principals_than_a_count_would_keep_keep_their_answers() -> None:
    # 256 sessions served in turn: a bound of 64 principals dropped each one's digests before
    # its next run, and every answer it read again was scanned again.
    seen = CleanAnswers()
    key = CleanAnswers.digest("c", "page")
    for p in range(256):
        seen.add(f"p{p}", key)
    assert all(seen.known(f"p{p}", key) for p in range(256))


def test_past_the_bound_in_all_the_principals_seen_least_recently_are_dropped() -> None:
    seen = CleanAnswers(per_principal=4, principals=10, total=3)
    keys = [CleanAnswers.digest("c", str(i)) for i in range(4)]
    seen.add("alice", keys[0])
    seen.add("alice", keys[1])
    seen.add("bob", keys[0])
    seen.add("bob", keys[1])  # 4 in all: alice, seen least recently, goes
    assert not seen.known("alice", keys[0]) and seen.known("bob", keys[0])
    for key in keys:  # one principal alone keeps its own, up to per_principal
        seen.add("bob", key)
    assert all(seen.known("bob", key) for key in keys)
    with pytest.raises(ValueError, match="at least one"):
        CleanAnswers(total=0)
