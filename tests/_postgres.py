"""A real PostgreSQL server for the tests, from the binaries the ``pgserver`` package ships.

Started once per test session in a temporary folder (a Unix socket, no TCP port) and stopped at
the end; where it cannot run here, the tests that need it skip with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a private PostgreSQL server for this test session."""
    # pgserver asks platformdirs for a runtime folder, which warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgserver  # type: ignore[import-untyped]
        except ImportError:
            pytest.skip("pgserver is not installed: install the dev extra for the PostgreSQL tests")
        try:
            server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
        except Exception as exc:  # the shipped binaries cannot run on this machine
            pytest.skip(f"the PostgreSQL server from pgserver could not start here: {exc}")
    try:
        yield str(server.get_uri())
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


@pytest.fixture
def clean_postgres(postgres_url: str) -> str:
    """The URL, with the audit table dropped first."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS executions")
    return postgres_url
