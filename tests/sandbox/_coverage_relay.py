"""Carry coverage data out of a confined child (test helper).

A confined worker cannot write coverage's data file (Landlock refuses every open, and it runs as
nobody), so code that only runs after the fork would never be measured. When the tests run under
coverage, the child snapshots what its tracer recorded for ``codemode/sandbox`` and sends it up
the same pipe as its report; the parent adds it to its own data. Best effort: without coverage,
or if coverage's internals change, nothing is relayed and nothing fails.
"""

from __future__ import annotations

from typing import Any

_PREFIX = "/codemode/sandbox/"


def snapshot() -> dict[str, Any]:
    """In the child: the arcs (or lines) recorded for sandbox modules, JSON-ready."""
    try:
        import coverage

        cov = coverage.Coverage.current()
        if cov is None:
            return {}
        collector = cov._collector
        data = {k: set(v) for k, v in collector.data.items() if _PREFIX in k}
        if not collector.branch:
            return {"lines": {k: sorted(v) for k, v in data.items()}}
        arcs: dict[str, list[list[int]]] = {}
        for name, values in data.items():
            pairs = []
            for value in values:
                if collector.core.packed_arcs:
                    first, second = value & 0xFFFFFFF, (value >> 28) & 0xFFFFFFF
                    first = -first if value & (1 << 56) else first
                    second = -second if value & (1 << 57) else second
                    pairs.append([first, second])
                else:
                    pairs.append(list(value))
            arcs[name] = pairs
        return {"arcs": arcs}
    except Exception:
        return {}


def merge(payload: dict[str, Any]) -> None:
    """In the parent: add what a child recorded to this process's coverage data."""
    try:
        import coverage

        cov = coverage.Coverage.current()
        if cov is None or not payload:
            return
        data = cov.get_data()
        if "arcs" in payload:
            data.add_arcs({k: [tuple(p) for p in v] for k, v in payload["arcs"].items()})
        else:
            data.add_lines(payload["lines"])
    except Exception:
        return
