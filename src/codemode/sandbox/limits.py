"""Per-execution limits of the sandbox (defaults and reasons: ``sandbox/policy.toml``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from codemode.config import Settings

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What one execution may use; every value is configurable (``CODEMODE_*`` settings).

    Attributes:
        wall_s: wall-clock seconds before the worker's process group is killed.
        cpu_s: CPU seconds (``RLIMIT_CPU``).
        memory_mb: address space above the worker's pre-imported baseline (``RLIMIT_AS``).
        output_bytes: printed text kept; the rest is dropped and counted.
        max_calls: SDK calls per execution, pages included.
        code_bytes: largest script accepted (UTF-8 bytes), checked before anything runs.
        store_bytes: largest session store (JSON bytes).
        open_files: ``RLIMIT_NOFILE`` of the worker.
        call_bytes: largest JSON of one SDK call's arguments, refused before the host decodes,
            validates or sends anything (bulk jobs fit; a megabyte filter does not).
        planned_bytes: JSON of the dry-run planned writes kept in the result; past it a planned
            write keeps its id and size only.
    """

    wall_s: float = 30.0
    cpu_s: float = 20.0
    memory_mb: int = 256
    output_bytes: int = 16 * 1024
    max_calls: int = 200
    code_bytes: int = 64 * 1024
    store_bytes: int = 256 * 1024
    open_files: int = 16
    call_bytes: int = 1024 * 1024
    planned_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive (got {value})")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits an operator configured."""
        return cls(
            wall_s=settings.timeout_s,
            cpu_s=settings.cpu_s,
            memory_mb=settings.memory_mb,
            output_bytes=settings.output_bytes,
            max_calls=settings.max_calls,
            code_bytes=settings.code_bytes,
        )

    def for_worker(self) -> dict[str, Any]:
        """The part the worker applies to itself (rlimits)."""  # the rest travels in the request
        return {"cpu_s": self.cpu_s, "memory_mb": self.memory_mb, "open_files": self.open_files}
