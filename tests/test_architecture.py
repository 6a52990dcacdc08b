"""Imports only go down the layer list of STYLE.md; a few packages have stricter fences."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "codemode"

# Lower index = lower layer. A module may import its own layer or any layer below it.
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("config",),
    ("catalog",),
    ("klaviyo",),
    ("scanner", "search", "policy", "jsonapi", "state"),
    ("sandbox", "simulator", "tokens"),
    ("extensions", "audit"),
    ("server",),
    ("bench", "commands", "cli"),
]


def _layer_of(top: str) -> int:
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"codemode.{top} is in no layer of tests/test_architecture.py; add it")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level)[0] if path.name != "__init__.py" else package
                if path.name == "__init__.py" and node.level > 1:
                    base = package.rsplit(".", node.level - 1)[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append(module)
            found.extend(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")


def _top(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if rel.parts[0] != "__init__.py" else "__init__"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_its_own_layer_or_below(path: Path) -> None:
    top = _top(path)
    if top == "__init__":
        return  # the package root re-exports the public API
    own = _layer_of(top)
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] != "codemode" or len(parts) < 2:
            continue
        target = parts[1]
        if target in {"__init__", top}:
            continue
        if not (SRC / target).exists() and not (SRC / f"{target}.py").exists():
            continue  # a name imported from the package root, e.g. `from codemode import Klaviyo`
        assert _layer_of(target) <= own, f"{path.relative_to(SRC)} imports {module}: upward import"


def test_simulator_never_imports_the_sdk() -> None:
    for path in sorted((SRC / "simulator").rglob("*.py")):
        for module in _imports(path):
            assert not module.startswith("codemode.klaviyo"), (
                f"{path.relative_to(SRC)} imports {module}"
            )
            assert module not in {"codemode.Klaviyo", "codemode.AsyncKlaviyo"}


def test_sandbox_worker_imports_neither_httpx_nor_the_sdk_client() -> None:
    worker_side = [
        p
        for p in (SRC / "sandbox").rglob("*.py")
        if p.stem in {"worker", "guards", "proxy", "zygote"}
    ]
    allowed_sdk = {
        "codemode.klaviyo._errors",
        "codemode.klaviyo._jsonapi",
        "codemode.klaviyo._filters",
    }
    for path in worker_side:
        for module in _imports(path):
            assert not module.startswith("httpx"), f"{path.name} imports {module}"
            if module == "codemode.klaviyo":
                continue  # `from codemode.klaviyo import _errors`: the names are checked below
            if module.startswith("codemode.klaviyo"):
                assert any(module.startswith(a) for a in allowed_sdk), (
                    f"{path.name} imports {module}"
                )


def test_only_config_reads_the_environment() -> None:
    offenders = []
    for path in _modules():
        if _top(path) in {"config", "commands", "cli", "bench"}:
            continue
        text = path.read_text(encoding="utf-8")
        if "os.environ[" in text or "os.getenv(" in text or "os.environ.get(" in text:
            offenders.append(str(path.relative_to(SRC)))
    assert not offenders, f"only codemode.config may read the environment: {offenders}"
