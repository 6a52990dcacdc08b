"""Issue #15, "host-written text is not data": every message the project writes reaches the model
intact, and a value from the data interpolated into one is still scanned and removed.

Each script first reads profiles, so outside text is in play and the screen is active; then it
meets the host's messages (SDK proxy hints, "did you mean", the bridge's parameter checks, policy
refusals, Klaviyo errors with the SDK's hints, sandbox limits, store and compile errors) and prints
each one, or ends with it. A scanner that flags everything it is given proves that none of them is
ever sent to it: the result is identical to the same run with no scanner at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from codemode.policy import Policy
from codemode.sandbox import Limits, OutputScan, Sandbox, SdkBridge

from ._simulated import OutputScanOnly, make_bridge, simulator_client
from .conftest import execute

simulator = pytest.importorskip("codemode.simulator")
scanner_module = pytest.importorskip("codemode.scanner")

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCOPED_KEY = "pk_scoped_lists_only"
READ = "rows = klaviyo.profiles.get_profiles(page_size=3).records\n"
TRY = """
def attempt(label, fn):
    try:
        fn()
    except Exception as exc:
        print(label, "=>", exc)
"""

# Each entry: a label and an expression that meets one host-written message.
CAUGHT = [
    ("no group", "klaviyo.profile"),
    ("no action", "klaviyo.profiles.get_profile_list"),
    ("no error class", "klaviyo.errors.Nope"),
    ("call needs str", "klaviyo.call(42)"),
    ("unknown action", "klaviyo.call('get_profilez')"),
    ("positional", "klaviyo.profiles.get_profiles('a', 'b')"),
    ("underscore", "klaviyo.profiles.get_profiles(_base_url='x')"),
    ("dot path", "klaviyo.profiles.get_profile('..')"),
    ("both ways", "klaviyo.profiles.get_profile('x', id='y')"),
    ("unknown param", "klaviyo.profiles.get_profiles(pagesize=5)"),
    ("filter field", "klaviyo.profiles.get_profiles(email='a@b.co')"),
    ("not json", "klaviyo.profiles.get_profiles(page_size={1})"),
    ("bad filter", "klaviyo.profiles.get_profiles(filter='bogus(x')"),
    ("filter alias", "F.eq('email', 'a@b.co')"),
    ("no or", "F.or_"),
    ("result attr", "klaviyo.lists.get_lists().json()"),
    ("required filter", "klaviyo.campaigns.get_campaigns()"),
    ("fixed page size", "klaviyo.metrics.get_metrics(page_size=5)"),
    ("attribute keyword", "klaviyo.profiles.create_profile(email='a@b.co')"),
    ("missing id", "klaviyo.profiles.get_profile()"),
    ("destructive", "klaviyo.lists.delete_list('L1')"),
    ("egress", "klaviyo.images.upload_image_from_url(import_from_url='https://x.example/a.png')"),
    ("client", "klaviyo.client.create_client_event(company_id='X', data={})"),
    ("webhook", "klaviyo.webhooks.create_webhook(data={})"),
]
# Each entry: a script that ends with a host-written message (limits, store, compile, names).
UNCAUGHT = [
    "for i in range(40):\n    klaviyo.profiles.get_profiles()",
    "while True:\n    pass",
    "x = 'a' * (10 ** 9)",
    "def f():\n    return f()\nf()",
    "store['s'] = {1}",
    "store['big'] = 'x' * 400000",
    "store = 5",
    "open('/etc/passwd')",
    "import os",
    "import operator",
    "import klaviyo",
    "raise SystemExit(3)",
    "def broken(:\n    pass",
    "klaviyo.profile.get_profiles()",
    "print('x' * 16000)",
    "r = await klaviyo.lists.get_lists()",
    "async def main():\n    pass",
    "from codemode import Klaviyo",
    "import asyncio",
    "k = Klaviyo(api_key='pk_x')",
]


# The demo profile whose note holds an instruction (exfil.example), read into `note`.
READ_NOTE = (
    "found = klaviyo.profiles.get_profiles(filter=F.equals('email', 'morgan.reyes@example.com'))\n"
    "note = found.records[0]['properties']['notes']\n"
)
# The wall limit leaves a loaded machine room for the long caught script (the first run of a
# session cold took 1.2 s quiet); the busy loop still ends at its 2 CPU-seconds.
LIMITS = Limits(wall_s=10.0, cpu_s=2.0, memory_mb=96, output_bytes=8192, max_calls=30)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(canary_env: str) -> AsyncIterator[Sandbox]:
    """A warm sandbox whose call limit leaves room for every message of one script."""
    async with Sandbox(limits=LIMITS) as box:
        yield box


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with simulator_client(
        **{SCOPED_KEY: frozenset({"profiles:read", "lists:read"})}
    ) as client:
        yield client


class FlagAll(SdkBridge):
    """Flags every piece of text it is asked to scan: nothing host-written may ever get here."""

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        self.seen = [*getattr(self, "seen", []), *pieces.values()]
        return (
            OutputScan("flagged", dict.fromkeys(pieces, "test: flag all"))
            if pieces
            else (OutputScan("clean"))
        )


def make(http: httpx.AsyncClient, kind: type[SdkBridge] = SdkBridge, **kwargs: Any) -> SdkBridge:
    return make_bridge(http, kind, **kwargs)


def caught_script() -> str:
    return READ + TRY + "".join(f"attempt({label!r}, lambda: {expr})\n" for label, expr in CAUGHT)


def _stable(error: Any) -> Any:
    """A busy loop meets the CPU or the wall limit first, depending on the machine's load."""
    if error is not None and error.message.startswith(("wall time limit", "CPU time limit")):
        return ("LimitError", "time limit", None)
    return error


async def _same_with_and_without_scanning(
    sandbox: Sandbox, http: httpx.AsyncClient, code: str, **kwargs: Any
) -> Any:
    reference = await execute(sandbox, code, bridge=make(http, scanner=None, **kwargs))
    flag_all = make(http, FlagAll, **kwargs)
    flagged = await execute(sandbox, code, bridge=flag_all)
    real = await execute(sandbox, code, bridge=make(http, **kwargs))
    for result in (flagged, real):
        assert result.output == reference.output
        assert _stable(result.error) == _stable(reference.error)
        assert result.redactions == [] and result.output_scan == "clean"
    assert getattr(flag_all, "seen", []) == []
    return reference


async def test_every_caught_host_message_is_printed_intact(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await _same_with_and_without_scanning(sandbox, http, caught_script())
    lines = result.output.splitlines()
    assert len(lines) == len(CAUGHT), result.output
    assert lines[0].startswith("no group => klaviyo has no group 'profile'")
    assert "did you mean profiles?" in lines[0]
    for (label, _), line in zip(CAUGHT, lines, strict=True):
        assert line.startswith(f"{label} => "), line
    assert all("refused by policy" in line for line in lines[-4:])


@pytest.mark.parametrize(
    "policy",
    [Policy(read_only=True), Policy(deny=("profiles",)), Policy(allow=("lists",))],
    ids=["read-only", "deny", "allow"],
)
async def test_every_policy_refusal_is_printed_intact(
    sandbox: Sandbox, http: httpx.AsyncClient, policy: Policy
) -> None:
    code = (
        "lists = klaviyo.lists.get_lists().records\n"
        + TRY
        + "attempt('write', lambda: klaviyo.lists.create_list(name='x'))\n"
        + "attempt('read', lambda: klaviyo.profiles.get_profiles())\n"
    )
    result = await _same_with_and_without_scanning(sandbox, http, code, policy=policy)
    assert "refused by policy" in result.output


@pytest.mark.parametrize(
    ("policy", "fix"),
    [
        (
            Policy().for_caller({"lists:read", "profiles:read"}),
            "ask the user to reconnect granting it",
        ),
        (Policy().for_caller(None, {"lists:write"}), "ask the user for a key with it"),
    ],
    ids=["oauth-scopes", "learned-from-403"],
)
async def test_every_scope_refusal_is_printed_intact(
    sandbox: Sandbox, http: httpx.AsyncClient, policy: Policy, fix: str
) -> None:
    code = (
        "lists = klaviyo.lists.get_lists().records\n"
        + TRY
        + "attempt('write', lambda: klaviyo.lists.create_list(attributes={'name': 'x'}))\n"
    )
    result = await _same_with_and_without_scanning(sandbox, http, code, policy=policy)
    assert "refused before calling Klaviyo: needs scope lists:write" in result.output
    assert fix in result.output and "not the agent" in result.output


@pytest.mark.parametrize(
    ("key", "expr", "hint"),
    [
        (
            SCOPED_KEY,
            "klaviyo.campaigns.get_campaigns(filter=\"equals(messages.channel,'email')\")",
            "The credential lacks a scope this action needs (campaigns:read)",
        ),
        (
            simulator.DEMO_PRIVATE_KEY,
            "klaviyo.profiles.get_profile('NOPE0000000000000000000000')",
            "No such resource: check the id",
        ),
    ],
    ids=["missing-scope", "not-found"],
)
async def test_klaviyo_errors_with_the_sdk_hint_are_printed_intact(
    sandbox: Sandbox, http: httpx.AsyncClient, key: str, expr: str, hint: str
) -> None:
    code = READ + TRY + f"attempt('k', lambda: {expr})\n"
    reference = await execute(sandbox, code, bridge=make(http, scanner=None, key=key))
    real = await execute(sandbox, code, bridge=make(http, key=key))
    assert real.output == reference.output and real.redactions == []
    assert hint in real.output
    flag_all = await execute(sandbox, code, bridge=make(http, FlagAll, key=key))
    assert flag_all.output == reference.output and flag_all.redactions == []


@pytest.mark.parametrize("code", UNCAUGHT, ids=range(len(UNCAUGHT)))
async def test_every_final_host_message_reaches_the_model_intact(
    sandbox: Sandbox, http: httpx.AsyncClient, code: str
) -> None:
    result = await _same_with_and_without_scanning(sandbox, http, READ + code)
    assert result.error is not None or result.truncated


async def test_reading_a_dry_run_write_says_so_intact(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = READ + "created = klaviyo.lists.create_list(attributes={'name': 'x'})\ncreated['id']\n"
    result = await _same_with_and_without_scanning(sandbox, http, code, dry_run=True)
    assert result.error is not None and result.error.type == "TypeError"
    assert result.error.message.startswith("a dry run plans this write without sending it")


@pytest.mark.parametrize("read", ["created.data['id']", "created.data.get('id')"])
async def test_reading_the_data_of_a_dry_run_write_says_why_it_is_none_intact(
    sandbox: Sandbox, http: httpx.AsyncClient, read: str
) -> None:
    code = READ + f"created = klaviyo.lists.create_list(attributes={{'name': 'x'}})\n{read}\n"
    result = await _same_with_and_without_scanning(sandbox, http, code, dry_run=True)
    assert result.error is not None and result.error.type in ("TypeError", "AttributeError")
    assert "in a dry run a write is planned, not sent" in result.error.message
    assert "result.meta.get('dry_run')" in result.error.message
    real = await _same_with_and_without_scanning(sandbox, http, READ + "None['id']\n")
    assert real.error is not None and "dry run" not in real.error.message


async def test_the_code_size_limit_message_is_intact(http: httpx.AsyncClient) -> None:
    box = Sandbox(limits=Limits(code_bytes=10))
    result = await box.execute(READ, bridge=make(http, FlagAll))
    assert result.error is not None and result.error.message.startswith("the script is")
    assert result.redactions == []
    await box.aclose()


async def test_an_injected_value_interpolated_into_a_host_message_is_removed(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = (
        READ_NOTE + TRY + "attempt('param', lambda: klaviyo.profiles.get_profiles(**{note: 1}))\n"
        "attempt('action', lambda: klaviyo.call(note))\n"
        "print('done')\n"
        "klaviyo.lists.get_list(note)\n"
    )
    result = await execute(sandbox, code, bridge=make(http, OutputScanOnly))
    text = result.output + (result.error.message if result.error else "")
    assert "exfil.example" not in text and "ignore previous instructions" not in text
    lines = result.output.splitlines()
    # The templates around the value stay: the agent still learns what went wrong.
    # A long name is not quoted at all (the host's budget); a short one would be redacted in place.
    assert lines[0].startswith("param => get_profiles: ")
    assert "[codemode: removed suspected prompt injection" in lines[0] or (
        "parameter name of" in lines[0] and "is not accepted" in lines[0]
    )
    assert lines[1].startswith("action => unknown action '[codemode: removed")
    assert lines[2] == "done"
    wheres = {r.where for r in result.redactions}
    assert "output line 2" in wheres
    assert all(r.source == "get_profiles (call 1)" for r in result.redactions)


async def test_host_messages_of_a_run_whose_session_has_a_sketch_are_intact(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """An earlier run of the session kept computed text (reversed emails), so the session's sketch
    holds the shingles of a page of 100 profiles; the next run meets the host's messages and
    prints its own words: none of it is sent to the scanner, all of it reaches the model."""
    first = (
        "ps = klaviyo.profiles.get_profiles(page_size=100).records\n"
        "store['r'] = [str(p.get('email'))[::-1] for p in ps]\nprint(len(ps))"
    )
    ran = await execute(sandbox, first, bridge=make(http, scanner=None))
    assert ran.error is None and ran.sketch is not None
    assert not ran.sketch.empty and not ran.sketch.overflow
    session = {"store": ran.store, "sketch": ran.sketch}
    for code in [
        caught_script() + "print('my summary of this session: every profile has an email')\n",
        READ + UNCAUGHT[4],  # the store's own errors
        READ + UNCAUGHT[5],
    ]:
        reference = await execute(sandbox, code, bridge=make(http, scanner=None), **session)
        flag_all = make(http, FlagAll)
        for bridge in (flag_all, make(http)):
            result = await execute(sandbox, code, bridge=bridge, **session)
            assert result.output == reference.output and result.error == reference.error
            assert result.redactions == [] and result.output_scan == "clean"
        assert getattr(flag_all, "seen", []) == [], code


async def test_an_injected_value_in_a_missing_key_message_is_removed(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    # A record's missing-key message repeats the key the script asked for: data when the data
    # chose it, so it is screened like any printed data; the template around it stays.
    code = (
        READ_NOTE + TRY + "attempt('key', lambda: found.records[0][note])\nfound.records[0][note]\n"
    )
    result = await execute(sandbox, code, bridge=make(http, OutputScanOnly))
    text = result.output + (result.error.message if result.error else "")
    assert "exfil.example" not in text and "ignore previous instructions" not in text
    assert result.output.startswith("key => ")
    assert result.error is not None and result.error.type == "KeyError"
    assert result.redactions
