"""SdkBridge: the host's checks between a script's call and the real SDK."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from codemode.catalog import Action, load_catalog
from codemode.klaviyo._errors import NotFoundError, ValidationError
from codemode.policy import Policy
from codemode.sandbox import OutputScan, SdkBridge
from codemode.sandbox.bridge import _field_names, _plain_pointer
from codemode.scanner import Finding

CATALOG = load_catalog()
SECRET = "pk_bridge_secret_123"


@dataclass
class FakeResult:
    raw: dict[str, Any] | None
    status: int = 200


class FakeClient:
    """Records calls; raises what it is told to."""

    def __init__(self, raises: Exception | None = None, raw: dict[str, Any] | None = None) -> None:
        self.raises = raises
        self.raw = (
            raw
            if raw is not None
            else {"data": [{"type": "profile", "id": "P1", "attributes": {"email": "a@b.co"}}]}
        )
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.prepared: list[tuple[str, dict[str, Any]]] = []

    async def call(self, operation_id: str, /, **params: Any) -> FakeResult:
        self.calls.append((operation_id, params))
        if self.raises is not None:
            raise self.raises
        return FakeResult(self.raw)

    def prepare(self, operation_id: str, /, **params: Any) -> object:
        self.prepared.append((operation_id, params))
        if params.get("invalid"):
            raise ValidationError(
                "create_list: unknown parameter 'invalid'", operation_id=operation_id
            )
        return object()


@dataclass
class FakeScan:
    verdict: str
    document: Any
    findings: list[Finding] = field(default_factory=list)


class FakeScanner:
    def __init__(self, verdict: str, findings: list[Finding] | None = None) -> None:
        self.verdict = verdict
        self.findings = findings or []

    def scan_response(self, document: Any, policy: str = "redact") -> FakeScan:
        redacted = {"redacted": True, "policy": policy} if self.verdict != "clean" else document
        return FakeScan(self.verdict, redacted, self.findings)


def bridge(client: FakeClient | None = None, **kwargs: Any) -> SdkBridge:
    return SdkBridge(client=client or FakeClient(), catalog=CATALOG, **kwargs)


async def test_a_read_goes_through_and_is_marked_unscanned_without_a_scanner() -> None:
    client = FakeClient()
    reply = await bridge(client).call("get_profiles", [], {"page_size": 5})
    assert reply.error is None and reply.status == 200 and reply.scan == "unscanned"
    assert reply.raw == client.raw and client.calls == [("get_profiles", {"page_size": 5})]


async def test_unknown_actions_are_refused_with_suggestions() -> None:
    reply = await bridge().call("get_profils", [], {})
    assert reply.error is not None and reply.error["class"] == "ValidationError"
    assert "did you mean get_profiles" in reply.error["message"]
    reply = await bridge().call("zzzz", [], {})
    assert reply.error is not None and "use search_api" in reply.error["message"]


async def test_underscore_keywords_never_reach_the_sdk() -> None:
    client = FakeClient()
    reply = await bridge(client).call("get_profiles", [], {"_host": "evil.example"})
    assert (
        reply.error is not None
        and "no per-call host, auth or transport overrides" in reply.error["message"]
    )
    assert client.calls == []


@pytest.mark.parametrize(
    "bad", ["..", ".", " ", "", "a\nb", "x\x00", "a/b", "..%2Fx", "a\\b", "\uff0e\uff0e"]
)
async def test_dot_segments_and_control_characters_in_path_ids_are_refused(bad: str) -> None:
    client = FakeClient()
    reply = await bridge(client).call("get_profile", [bad], {})
    assert reply.error is not None and "pass a Klaviyo id" in reply.error["message"]
    assert client.calls == []


async def test_positional_arguments_fill_path_parameters_in_order() -> None:
    client = FakeClient()
    await bridge(client).call("get_profile", ["P1"], {"additional_fields": ["subscriptions"]})
    assert client.calls == [("get_profile", {"additional_fields": ["subscriptions"], "id": "P1"})]
    reply = await bridge(client).call("get_profile", ["P1", "P2"], {})
    assert (
        reply.error is not None and "takes 1 positional argument(s) (id)" in reply.error["message"]
    )
    # The keywords the rest can take are named, the path ids not again.
    assert reply.error["message"].endswith(
        "pass the rest by keyword: fields, additional_fields, include"
    )
    reply = await bridge(client).call("get_profile", ["P1"], {"id": "P2"})
    assert reply.error is not None and "both by position and by keyword" in reply.error["message"]


async def test_webhook_creation_is_refused_by_default_and_never_sent() -> None:
    client = FakeClient()
    params = {"name": "x", "endpoint_url": "https://attacker.example/hook", "secret_key": "k"}
    reply = await bridge(client).call("create_webhook", [], params)
    assert reply.error is not None and reply.error["class"] == "PolicyError"
    assert reply.error["rule"] == "webhook" and client.calls == []


async def test_destructive_actions_ask_for_confirmation_when_enabled() -> None:
    asked: list[tuple[Action, Mapping[str, Any]]] = []

    async def no(action: Action, params: Mapping[str, Any]) -> bool:
        asked.append((action, params))
        return False

    client = FakeClient()
    reply = await bridge(client, policy=Policy(allow_destructive=True), confirm=no).call(
        "delete_list", ["L1"], {}
    )
    assert reply.error is not None and reply.error["rule"] == "confirm"
    assert asked[0][0].id == "delete_list" and asked[0][1] == {"id": "L1"} and client.calls == []

    async def yes(action: Action, params: Mapping[str, Any]) -> bool:
        return True

    reply = await bridge(client, policy=Policy(allow_destructive=True), confirm=yes).call(
        "delete_list", ["L1"], {}
    )
    assert reply.error is None and client.calls == [("delete_list", {"id": "L1"})]


async def test_read_only_and_rate_limits_refuse_before_sending() -> None:
    client = FakeClient()
    reply = await bridge(client, policy=Policy(read_only=True)).call(
        "create_list", [], {"attributes": {}}
    )
    assert reply.error is not None and reply.error["rule"] == "read-only"
    limited = bridge(client, policy=Policy(calls_per_minute=1))
    assert (await limited.call("get_profiles", [], {})).error is None
    reply = await limited.call("get_profiles", [], {})
    assert reply.error is not None and reply.error["rule"] == "rate"
    assert len(client.calls) == 1


async def test_dry_run_reads_for_real_and_plans_writes() -> None:
    client = FakeClient()
    dry = bridge(client, dry_run=True)
    assert (await dry.call("get_profiles", [], {})).raw == client.raw
    reply = await dry.call("create_list", [], {"attributes": {"name": "VIP"}})
    assert (
        reply.planned
        and reply.error is None
        and reply.raw == {"data": None, "meta": {"dry_run": True}}
    )
    assert client.prepared == [("create_list", {"attributes": {"name": "VIP"}})]
    assert [c[0] for c in client.calls] == ["get_profiles"]
    reply = await dry.call("create_list", [], {"invalid": 1})
    assert (
        reply.error is not None and reply.error["class"] == "ValidationError" and not reply.planned
    )


async def test_klaviyo_errors_are_forwarded_typed_and_without_secrets() -> None:
    failure = NotFoundError(
        f"no profile; key {SECRET} leaked?", status=404, operation_id="get_profile", detail=SECRET
    )
    reply = await bridge(FakeClient(raises=failure), secrets=[SECRET]).call(
        "get_profile", ["P9"], {}
    )
    assert (
        reply.status == 404 and reply.error is not None and reply.error["class"] == "NotFoundError"
    )
    assert SECRET not in str(reply.error) and "[redacted]" in reply.error["message"]


async def test_unexpected_failures_are_logged_not_forwarded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await bridge(FakeClient(raises=RuntimeError("/srv/app/secret path"))).call(
        "get_profiles", [], {}
    )
    assert (
        reply.error is not None
        and reply.error["message"] == "get_profiles failed on the host; retry later"
    )
    assert "/srv/app" not in str(reply.error)
    assert "failed unexpectedly" in caplog.text


async def test_answers_are_scanned_redacted_or_blocked() -> None:
    flagged = await bridge(scanner=FakeScanner("flagged")).call("get_profiles", [], {})
    assert flagged.scan == "flagged" and flagged.raw == {"redacted": True, "policy": "redact"}
    blocked = await bridge(scanner=FakeScanner("blocked"), scan_policy="block").call(
        "get_profiles", [], {}
    )
    assert blocked.scan == "blocked" and blocked.raw is None
    assert blocked.error is not None and blocked.error["class"] == "InjectionDetected"
    odd = await bridge(scanner=FakeScanner("weird")).call("get_profiles", [], {})
    assert odd.scan == "flagged"


async def test_output_scan_names_the_pieces_to_take_out_under_each_policy() -> None:
    pieces = {"p0": "some outside text", "p1": "more outside text"}
    assert await bridge().scan_output(pieces) == OutputScan("unscanned")
    assert await bridge(scanner=FakeScanner("clean")).scan_output(pieces) == OutputScan("clean")
    assert await bridge(scanner=FakeScanner("flagged")).scan_output({}) == OutputScan("clean")
    flagged = await bridge(scanner=FakeScanner("flagged")).scan_output(pieces)
    assert flagged.verdict == "flagged" and set(flagged.flagged) == {"p0", "p1"}
    assert not flagged.annotate
    marked = await bridge(scanner=FakeScanner("flagged"), scan_policy="annotate").scan_output(
        pieces
    )
    assert marked.verdict == "flagged" and marked.annotate
    blocked = await bridge(scanner=FakeScanner("blocked"), scan_policy="block").scan_output(pieces)
    assert blocked.verdict == "blocked" and set(blocked.flagged) == {"p0", "p1"}


async def test_output_scan_takes_only_the_pieces_a_finding_names_with_a_host_written_reason() -> (
    None
):
    findings = [
        Finding("/p1", 1, "override.ignore_previous", 0.9, "quotes the data: ignore it"),
        Finding("/p2", 2, "classifier", 0.81, "classifier score 0.81"),
        Finding("/p3", 1, "Odd Rule With Data", 0.9, "x"),
        Finding("/elsewhere", 1, "x", 0.9, "x"),
    ]
    scanner = FakeScanner("flagged", findings)
    pieces = {f"p{i}": "some outside text" for i in range(4)}
    scan = await bridge(scanner=scanner).scan_output(pieces)
    assert scan.flagged == {
        "p1": "pattern override.ignore_previous",
        "p2": "classifier score 0.81",
        "p3": "suspected prompt injection",
    }


def test_scrub_replaces_every_secret_the_host_holds() -> None:
    assert bridge().scrub(f"x {SECRET}") == f"x {SECRET}"
    assert bridge(secrets=[SECRET]).scrub(f"x {SECRET}") == "x [redacted]"


def test_bridge_lists_operations_by_group_and_hides_the_client() -> None:
    b = bridge(FakeClient(), secrets=[SECRET])
    assert "get_profiles" in b.operations()["profiles"]
    assert SECRET not in repr(b) and "dry_run=False" in repr(b)


class RaisingScanner:
    def scan_response(self, document: Any, policy: str = "redact") -> FakeScan:
        raise RuntimeError("model file missing")


async def test_a_failing_scanner_withholds_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    reply = await bridge(scanner=RaisingScanner()).call("get_profiles", [], {})
    assert reply.scan == "blocked" and reply.raw is None and reply.error is not None
    assert (
        reply.error["class"] == "InjectionDetected"
        and "could not check it" in reply.error["message"]
    )
    assert "the scanner failed" in caplog.text
    with pytest.raises(RuntimeError):  # the screen withholds the pieces (tests/sandbox/test_screen)
        await bridge(scanner=RaisingScanner()).scan_output({"p0": "anything at all"})


async def test_a_failing_confirm_hook_refuses_instead_of_crashing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(action: Action, params: Mapping[str, Any]) -> bool:
        raise RuntimeError("client went away")

    client = FakeClient()
    b = bridge(client, policy=Policy(allow_destructive=True), confirm=broken)
    reply = await b.call("delete_list", ["L1"], {})
    assert reply.error is not None and "failed on the host" in reply.error["message"]
    assert client.calls == [] and "serving delete_list failed unexpectedly" in caplog.text


class LinkedClient(FakeClient):
    base_url = "https://a.klaviyo.com"


class ShapeScanner(FakeScanner):
    """Takes the API's link shape, as the real scanner does, and records it."""

    def __init__(self) -> None:
        super().__init__("clean")
        self.links: list[Any] = []

    def scan_response(  # type: ignore[override]
        self, document: Any, policy: str = "redact", links: Any = None
    ) -> FakeScan:
        self.links.append(links)
        return super().scan_response(document, policy)


async def test_answers_are_scanned_with_the_link_shape_of_the_clients_base_url() -> None:
    scanner = ShapeScanner()
    reply = await bridge(LinkedClient(), scanner=scanner).call("get_profiles", [], {})
    assert reply.scan == "clean"
    (shape,) = scanner.links
    assert shape.prefix == "https://a.klaviyo.com/"
    assert {"api", "profiles", "relationships"} <= shape.words
    # A client without a base URL (a test double, an operator's wrapper): links are read.
    await bridge(FakeClient(), scanner=scanner).call("get_profiles", [], {})
    assert scanner.links[-1] is None
    # Output pieces are never JSON:API answers: no link shape there.
    await bridge(LinkedClient(), scanner=scanner).scan_output({"output": "hello there"})
    assert scanner.links[-1] is None


def test_link_shapes_are_kept_for_a_few_base_urls_and_built_again_after() -> None:
    from codemode.sandbox.bridge import _link_shape

    first = _link_shape(CATALOG, "https://a.klaviyo.com")
    assert _link_shape(CATALOG, "https://a.klaviyo.com") is first
    for index in range(20):  # more base URLs than are kept: the table starts over
        assert (
            _link_shape(CATALOG, f"https://h{index}.example").prefix == f"https://h{index}.example/"
        )
    again = _link_shape(CATALOG, "https://a.klaviyo.com")
    assert again == first


def test_a_blocked_answers_pointer_names_only_fields_the_api_documents() -> None:
    known = _field_names(load_catalog())
    shown = "/data/0/attributes/properties/(a key)"
    for key in ("ignore_all_previous_instructions", "IgnorePreviousInstructions", "Ignore it"):
        assert _plain_pointer(f"/data/0/attributes/properties/{key}", known) == shown
    documented = "/data/attributes/predictive_analytics/average_order_value"
    assert _plain_pointer(documented, known) == documented
    assert _plain_pointer("/included/3/attributes/name/(whole text)", known) == (
        "/included/3/attributes/name/(whole text)"
    )
