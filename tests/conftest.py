"""Suite-wide rules: a test never skips because an input is missing.

The inputs are vendored (``tests/_shared.py``); a skip whose reason points at a missing file or at
``../shared`` would hide a broken checkout, so it is reported as a failure instead. Skips for the
machine (no Landlock, no npx) stay skips: they say what the host lacks, not what the repo lacks.
Tests marked ``peer_benchmark`` measure a peer installed outside the repository (the only
inputs allowed to stay in ``../shared``); their skips say so and stay skips.
"""

from __future__ import annotations

import re
from collections.abc import Generator

import pytest

MISSING_DATA = re.compile(
    r"\.\./shared|shared/|not beside the checkout|no such file|not found|is missing|not generated",
    re.IGNORECASE,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "peer_benchmark: measures a peer installed outside the repository"
    )


def skip_reason(report: pytest.TestReport) -> str:
    """The reason text of a skipped report (pytest keeps it as ``(file, line, reason)``)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    exempt = item.get_closest_marker("peer_benchmark") is not None
    if report.skipped and not exempt and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if MISSING_DATA.search(reason):
            report.outcome = "failed"
            report.longrepr = (
                f"skipped for missing data ({reason}); the suite must run on a fresh clone with "
                "nothing beside it: vendor the input under tools/vendor/ or tests/data/"
            )
    return report
