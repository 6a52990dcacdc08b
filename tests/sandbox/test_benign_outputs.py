"""Issue #22: the benign-output corpus comes back intact through a real sandbox and the real scanner.

Over a thousand distinct outputs that agent scripts print about the demo account (see
``_benign_corpus``), many per sandbox run. Each run is made twice: with no scanner at all, and
with the real scanner on the answers and on the output. The outside text in them (names, emails,
subjects, product copy, dates, ids) is scanned; not one piece may be removed, so both runs must
print exactly the same text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from codemode.sandbox import Limits, OutputScan, Sandbox, SdkBridge

from ._benign_corpus import outputs as split_outputs
from ._benign_corpus import scripts
from ._simulated import make_bridge, simulator_client
from .conftest import execute

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(wall_s=20.0, cpu_s=10.0, memory_mb=128, output_bytes=256 * 1024, max_calls=5)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(canary_env: str) -> AsyncIterator[Sandbox]:
    """A sandbox whose output cap holds a whole batch of outputs."""
    async with Sandbox(limits=LIMITS) as box:
        yield box


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with simulator_client() as client:
        yield client


class Counting(SdkBridge):
    """The real bridge, counting the pieces of outside text it scans."""

    pieces = 0

    async def scan_output(self, pieces: dict[str, str]) -> OutputScan:
        self.pieces += len(pieces)
        return await super().scan_output(pieces)


async def test_over_a_thousand_benign_outputs_come_back_intact_with_outside_text_scanned(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    distinct: set[str] = set()
    scanned = 0
    for collection, code in scripts():
        reference = await execute(sandbox, code, bridge=make_bridge(http, scanner=None))
        bridge = make_bridge(http, Counting)
        result = await execute(sandbox, code, bridge=bridge)
        assert reference.error is None and not reference.truncated, (collection, reference.error)
        assert result.redactions == [], (collection, result.redactions[:3])
        assert result.output_scan == "clean", collection
        assert result.output == reference.output, collection
        assert isinstance(bridge, Counting) and bridge.pieces > 0, collection
        scanned += bridge.pieces
        distinct.update(split_outputs(result.output))
    assert len(distinct) >= 1000, len(distinct)
    assert scanned >= 1000  # the outside text was really read by the scanner, not skipped


async def test_store_fed_data_printed_back_in_its_first_form_is_scanned_and_kept(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A session keeps names and emails rewritten (each character shifted by one) in one run
    and prints them back in the next: the session's sketch places them, so they are scanned as
    the data they are; none is removed, and the run prints exactly what it prints with no
    scanner at all. (Kept reversed, the screen's backward readings of the store would place
    them without the sketch: the shift is a rewriting no reading undoes.)"""
    first = (
        "ps = klaviyo.profiles.get_profiles(page_size=100).records\n"
        "store['r'] = [''.join(chr(ord(c) + 1) for c in str(p.get('first_name')) + ' ' "
        "+ str(p.get('last_name')) + ' | ' + str(p.get('email'))) for p in ps]\nprint(len(ps))"
    )
    ran = await execute(sandbox, first, bridge=make_bridge(http, scanner=None))
    assert ran.error is None and ran.output == "100\n" and ran.sketch is not None
    second = (
        "for line in store['r']:\n"
        "    print('customer:', ''.join(chr(ord(c) - 1) for c in line))\n"
        "print('that is all')"
    )
    reference = await execute(
        sandbox, second, bridge=make_bridge(http, scanner=None), store=ran.store
    )
    placed = make_bridge(http, Counting)
    result = await execute(sandbox, second, bridge=placed, store=ran.store, sketch=ran.sketch)
    assert result.redactions == [] and result.output_scan == "clean"
    assert result.output == reference.output and len(result.output.splitlines()) == 101
    assert isinstance(placed, Counting) and placed.pieces >= 100  # the sketch placed each line
    unplaced = make_bridge(http, Counting)
    await execute(sandbox, second, bridge=unplaced, store=ran.store)
    assert isinstance(unplaced, Counting) and unplaced.pieces == 0  # without it, none was
