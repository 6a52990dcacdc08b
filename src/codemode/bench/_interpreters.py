"""Find a Python interpreter that really runs, for a peer that needs a newer Python than ours.

A name on ``PATH`` proves nothing: ``python3.13`` may be a pyenv shim that exits 127 because no
3.13 is selected, or a stale link. Every candidate is therefore run once (``-c`` printing its
version) and kept only when it answers with a version that is new enough and can make a virtual
environment. Candidates, in order: this interpreter (when new enough), ``python3.N`` names on
``PATH`` (newest first), pyenv's installed versions (bypassing its shims), and the interpreters
``uv`` manages (``uv python find``; nothing is downloaded). The reasons the others were refused are
kept, so a peer that cannot run can say exactly why.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Found", "candidates", "find_python"]

_PROBE = "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"
_NEWEST_MINOR = 16


@dataclass(frozen=True)
class Found:
    """The first working interpreter (or None), and why each earlier candidate was refused."""

    python: str | None
    version: str | None = None
    refused: tuple[str, ...] = field(default_factory=tuple)

    def reason(self, need: tuple[int, int]) -> str:
        """One line for a report: what was tried and why nothing fits."""
        tried = "; ".join(self.refused) or "no candidate found"
        return (
            f"found no working Python >= {need[0]}.{need[1]} ({tried}); install one "
            f"(e.g. `uv python install {need[0]}.{need[1]}` or pyenv) and rerun"
        )


def candidates(minimum: tuple[int, int], home: Path | None = None) -> list[str]:
    """Interpreters worth probing, most preferred first, without duplicates."""
    found: list[str] = []
    if _own_version() >= minimum:
        found.append(sys.executable)
    for minor in range(_NEWEST_MINOR, minimum[1] - 1, -1):
        path = shutil.which(f"python{minimum[0]}.{minor}")
        if path:
            found.append(path)
    root = (home or Path.home()) / ".pyenv" / "versions"
    versions = sorted(glob.glob(str(root / f"{minimum[0]}.*" / "bin" / "python3")), reverse=True)
    found.extend(v for v in versions if _minor_of(Path(v).parents[1].name) >= minimum[1])
    uv = shutil.which("uv")
    if uv:
        found.extend(_uv_pythons(uv, minimum))
    return list(dict.fromkeys(found))


def _own_version() -> tuple[int, int]:
    return (sys.version_info[0], sys.version_info[1])


def _minor_of(version: str) -> int:
    parts = version.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1


def _uv_pythons(uv: str, minimum: tuple[int, int]) -> list[str]:
    try:
        done = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", f">={minimum[0]}.{minimum[1]}"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
    except (OSError, subprocess.SubprocessError):
        return []
    line = done.stdout.strip()
    return [line] if done.returncode == 0 and line else []


def _probe(python: str) -> tuple[str | None, str]:
    """(version, "") when ``python`` runs and can make a venv, else (None, why not)."""
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return None, "did not answer within 30 s"
    except OSError as exc:
        return None, f"cannot be run ({exc.strerror or exc})"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()
        return None, f"exits {done.returncode}" + (f": {tail[0][:120]}" if tail else "")
    return done.stdout.strip(), ""


def find_python(minimum: tuple[int, int], home: Path | None = None) -> Found:
    """The first candidate that runs and is at least ``minimum``."""
    refused: list[str] = []
    for python in candidates(minimum, home):
        version, why = _probe(python)
        if version is None:
            refused.append(f"{python} {why}")
            continue
        major, minor = (int(x) for x in version.split("."))
        if (major, minor) < minimum:
            refused.append(f"{python} is {version}")
            continue
        return Found(python=python, version=version, refused=tuple(refused))
    return Found(python=None, refused=tuple(refused))
