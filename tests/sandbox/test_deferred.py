"""A one-shot run builds the SDK side only when a call or outside text needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codemode.sandbox import Bridge, Sandbox
from codemode.sandbox.deferred import DeferredBridge
from codemode.sandbox.spawn import SandboxError, ZygoteClient

from .conftest import TEST_LIMITS, FakeBridge, check_invariants

NAMES = {"profiles": ("get_profiles", "get_profile"), "webhooks": ("create_webhook",)}


class Factory:
    """Counts the bridges it builds; fails the first ``failures`` times."""

    def __init__(self, failures: int = 0) -> None:
        self.built = 0
        self.failures = failures

    async def __call__(self) -> Bridge:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the SDK could not load")
        self.built += 1
        return SecretBridge()


class SecretBridge(FakeBridge):
    def scrub(self, text: str) -> str:
        return text.replace("pk_secret", "[redacted by the real bridge]")


def deferred(factory: Factory, **kwargs: Any) -> DeferredBridge:
    return DeferredBridge(names=NAMES, build=factory, **kwargs)


async def test_a_script_without_calls_never_builds_the_bridge() -> None:
    factory = Factory()
    bridge = deferred(factory, secrets=["pk_secret"])
    async with Sandbox(limits=TEST_LIMITS) as box:
        result = await box.execute("print(1)", bridge=bridge)
    check_invariants(result)
    assert result.output == "1\n" and result.error is None
    assert result.output_scan == "clean" and factory.built == 0 and bridge.built is None


async def test_the_first_call_builds_the_bridge_once_and_is_served_by_it() -> None:
    factory = Factory()
    bridge = deferred(factory)
    code = "print(len(klaviyo.profiles.get_profiles().data))\nprint(len(klaviyo.profiles.get_profiles().data))"
    async with Sandbox(limits=TEST_LIMITS) as box:
        result = await box.execute(code, bridge=bridge)
    check_invariants(result)
    assert result.output == "2\n2\n" and factory.built == 1
    assert isinstance(bridge.built, FakeBridge) and len(bridge.built.calls) == 2


async def test_the_worker_is_offered_the_names_given_up_front() -> None:
    bridge = deferred(Factory())
    async with Sandbox(limits=TEST_LIMITS) as box:
        result = await box.execute("klaviyo.profiles.get_profilez()", bridge=bridge)
    assert result.error is not None and "get_profiles" in result.error.message
    assert bridge.operations() == NAMES


async def test_secrets_are_scrubbed_before_and_after_the_build() -> None:
    bridge = deferred(Factory(), secrets=["pk_secret", ""])
    assert bridge.scrub("key pk_secret") == "key [redacted]"
    await bridge.ensure()
    assert bridge.scrub("key pk_secret") == "key [redacted by the real bridge]"


async def test_outside_text_to_scan_builds_the_bridge_and_nothing_to_scan_does_not() -> None:
    factory = Factory()
    bridge = deferred(factory)
    assert (await bridge.scan_output({})).verdict == "clean" and factory.built == 0
    assert (await bridge.scan_output({"p0": "text"})).verdict == "unscanned"
    assert factory.built == 1
    assert (await bridge.scan_output({})).verdict == "unscanned"  # the real bridge's answer now


async def test_a_failed_prefetch_is_retried_by_the_first_call() -> None:
    factory = Factory(failures=1)
    bridge = deferred(factory, dry_run=True)
    await bridge.prefetch()
    assert bridge.built is None and bridge.dry_run
    reply = await bridge.call("get_profiles", [], {})
    assert reply.status == 200 and factory.built == 1


async def test_a_call_whose_bridge_cannot_be_built_is_refused_and_the_run_goes_on() -> None:
    factory = Factory(failures=2)
    bridge = deferred(factory)
    reply = await bridge.call("get_profiles", [], {})
    assert reply.error is not None and "failed on the host" in reply.error["message"]
    assert "could not load" not in str(reply.error)  # the host's reason stays in its log
    code = (
        "print('before')\n"
        "try:\n    klaviyo.profiles.get_profiles()\n"
        "except Exception as exc:\n    print(type(exc).__name__)\n"
    )
    async with Sandbox(limits=TEST_LIMITS) as box:
        result = await box.execute(code, bridge=bridge)
    check_invariants(result)
    assert result.output == "before\nKlaviyoError\n" and result.error is None
    assert bridge.built is None


async def test_a_sandbox_adopts_a_zygote_launched_before_the_event_loop() -> None:
    zygote = ZygoteClient.launch(sys.executable)
    box = Sandbox(limits=TEST_LIMITS)
    box.adopt(zygote)
    async with box:
        result = await box.execute("print('warm')", bridge=FakeBridge())
        assert box._zygote is zygote and zygote.started and await zygote.ready() is zygote
        extra = ZygoteClient.launch(sys.executable)
        with pytest.raises(SandboxError, match="adopt only once"):
            box.adopt(extra)
        await extra.close()
    assert result.output == "warm\n"


async def test_a_launched_zygote_that_fails_is_replaced_on_the_next_use(tmp_path: Path) -> None:
    # Run as `python -I -c BOOTSTRAP SRC FD`: says it failed, then waits for the host to hang up.
    fake = tmp_path / "python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import socket, sys\n"
        "ctrl = socket.socket(fileno=int(sys.argv[-1]))\n"
        'ctrl.send(b\'{"t": "failed", "reason": "broken"}\')\n'
        "ctrl.recv(1)\n"
    )
    fake.chmod(0o755)
    box = Sandbox(limits=TEST_LIMITS)
    box.adopt(ZygoteClient.launch(str(fake)))
    failed = await box.execute("pass", bridge=FakeBridge())
    assert failed.error is not None and failed.error.type == "SandboxError"
    again = await box.execute("print(2)", bridge=FakeBridge())
    assert again.output == "2\n"
    await box.aclose()


def test_exec_of_a_script_without_calls_imports_no_sdk_http_or_scanner() -> None:
    probe = (
        "import io, sys\n"
        "from codemode.commands.exec import run_exec\n"
        "sys.stdin = io.StringIO('print(1)')\n"
        "assert run_exec('-', demo=True) == 0\n"
        "heavy = [m for m in ('httpx', 'codemode.klaviyo._client', 'codemode.scanner._scanner',"
        " 'codemode.simulator.app', 'mcp', 'typer') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={"CODEMODE_AUDIT_DB": "off", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "1\n[]\n"


def test_a_zygote_that_cannot_even_be_launched_raises_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ZygoteClient.launch(str(tmp_path / "no-python"))
