"""The package's public surface is exactly its sorted ``__all__`` (the contract other parts use)."""

from __future__ import annotations

import types

import codemode.scanner as scanner


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(scanner).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    # Names load lazily (``Scanner`` on first use): each exported name resolves, and nothing
    # public is left out of ``__all__``.
    assert public <= set(scanner.__all__)
    assert all(getattr(scanner, name, None) is not None for name in scanner.__all__)
    assert list(scanner.__all__) == sorted(scanner.__all__, key=lambda n: (not n.isupper(), n))


def test_contract_names_are_exported() -> None:
    for name in (
        "Scanner",
        "scan",
        "Verdict",
        "Finding",
        "ResponseScan",
        "InjectionDetected",
        "ScanPolicy",
    ):
        assert name in scanner.__all__
