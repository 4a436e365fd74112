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
