"""``codemode sim`` builds the simulator from its options and hands it to uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from codemode.cli import app as cli
from codemode.server.listener import ReadDeadline


def test_sim_command_serves_the_seeded_app_with_its_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served: dict[str, Any] = {}

    def fake_run(asgi: Any, **kwargs: Any) -> None:
        served.update(kwargs, app=asgi)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    db = tmp_path / "state.sqlite"
    result = CliRunner().invoke(
        cli, ["sim", "--port", "8799", "--seed", "4", "--no-rate-limits", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "ready in" in result.output and "TrA1lH" in result.output
    assert served["port"] == 8799 and served["host"] == "127.0.0.1"
    assert issubclass(served["http"], ReadDeadline)  # a slow client cannot hold it either
    config = served["app"].state.sim.config
    assert (config.seed, config.rate_limits, config.db_path) == (4, False, db)
    assert db.exists()


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_sim_refuses_a_port_it_could_not_bind_as_named(
    monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    result = CliRunner().invoke(cli, ["sim", "--port", port])
    assert result.exit_code == 2
    assert "--port" in result.output and "ready in" not in result.output
