"""The scanner's three policies inside a running sandbox: real scanner, real SDK, the demo simulator.

The demo account's profile ``morgan.reyes@example.com`` carries an injection in
``properties.notes`` (see ``codemode.simulator.seed_data``); a script that reads it meets the
policy the host was configured with.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.sandbox import Sandbox, SdkBridge

from .conftest import execute

simulator = pytest.importorskip("codemode.simulator")
scanner_module = pytest.importorskip("codemode.scanner")

pytestmark = pytest.mark.asyncio(loop_scope="module")

READ_NOTE = """
found = klaviyo.profiles.get_profiles(filter=F.equals("email", "morgan.reyes@example.com"))
note = found.records[0]["properties"].get("notes", "")
print("NOTE:", note)
"""


async def _run(
    sandbox: Sandbox, http: httpx.AsyncClient, policy: Any, code: str = READ_NOTE
) -> Any:
    client = AsyncKlaviyo(
        api_key=simulator.DEMO_PRIVATE_KEY, base_url="http://sim", http_client=http, max_retries=0
    )
    bridge = SdkBridge(
        client=client,
        catalog=load_catalog(),
        scanner=scanner_module.Scanner.default(),
        scan_policy=policy,
        secrets=[simulator.DEMO_PRIVATE_KEY],
    )
    return await execute(sandbox, code, bridge=bridge)


async def test_redact_replaces_the_flagged_field_and_reports_the_call_as_flagged(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await _run(sandbox, http, "redact")
    assert result.error is None, result.error
    assert [c.scan for c in result.calls] == ["flagged"]
    assert (
        "exfil.example" not in result.output and "ignore previous instructions" not in result.output
    )
    assert scanner_module.REDACTED in result.output


async def test_block_raises_injection_detected_in_the_script_which_can_catch_it(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    uncaught = await _run(sandbox, http, "block")
    assert uncaught.error is not None and uncaught.error.type == "InjectionDetected"
    # Names where the withheld text was; a key the data chose ("notes" is a custom property, not
    # a field Klaviyo documents) is not repeated, since a key can carry an instruction too.
    assert "/data/0/attributes/properties/(a key)" in uncaught.error.message
    assert [c.scan for c in uncaught.calls] == ["blocked"]
    assert "exfil.example" not in uncaught.output + uncaught.error.message
    caught = await _run(
        sandbox,
        http,
        "block",
        "try:\n"
        + "".join(f"    {line}\n" for line in READ_NOTE.strip().splitlines())
        + "except InjectionDetected:\n    print('withheld')\n",
    )
    assert caught.error is None and caught.output.strip() == "withheld"


async def test_annotate_passes_the_text_through_between_markers_and_the_output_is_rescanned(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    result = await _run(sandbox, http, "annotate")
    assert result.error is None and [c.scan for c in result.calls] == ["flagged"]
    # The script saw the field wrapped in markers; printing it flags that piece of the output
    # too, which reaches the model the same way: between the markers, never unmarked.
    assert result.output_scan == "flagged"
    assert result.output.startswith("NOTE: " + scanner_module.ANNOTATE_START)
    assert result.output.count(scanner_module.ANNOTATE_START) == 1  # never marked twice
    assert "exfil.example" in result.output and scanner_module.ANNOTATE_END in result.output


async def test_clean_data_passes_untouched_under_every_policy(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    code = "lists = klaviyo.lists.get_lists()\nprint(sorted(r['name'] for r in lists)[:2])"
    for policy in ("redact", "block", "annotate"):
        result = await _run(sandbox, http, policy, code)
        assert result.error is None and [c.scan for c in result.calls] == ["clean"], policy
        assert result.output_scan == "clean" and result.output.startswith("["), policy
