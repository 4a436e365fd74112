from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Hall, HallProcess


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    h = Hall(tmp_path)
    yield h
    h.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[HallProcess]:
    proc = HallProcess(tmp_path / "data")
    for role in ("kiosk", "counter", "display", "supervisor"):
        proc.enroll(role, f"{role}-1")
    out = proc.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234")
    assert out.returncode == 0, out.stderr
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    from tests.pg import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A throwaway ledger database of each kind: the same tests hold for both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    server = request.getfixturevalue("postgres")
    return str(server.new_database())  # type: ignore[attr-defined]
