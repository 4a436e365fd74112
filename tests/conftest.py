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


def play_tour(app: str, folder: Path, *extra: str) -> Path:
    """An app's offscreen tour into ``folder`` (kept under build/ as the test's artefacts)."""
    import subprocess

    from tests.helpers import KIOSK_BIN, ROOT

    out = subprocess.run([*KIOSK_BIN, "app", app, "--tour", str(folder), *extra], capture_output=True, text=True,
                         cwd=ROOT, timeout=400)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return folder


@pytest.fixture(scope="session")
def kiosk_tour() -> Path:
    """The kiosk's tour in its usual palette, voice in elderly mode only (the default)."""
    from tests.helpers import ROOT

    return play_tour("kiosk", ROOT / "build" / "tour")


@pytest.fixture(scope="session")
def kiosk_tour_high_contrast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kiosk's tour on a kiosk set up for high contrast with voice guidance always on."""
    from tests.helpers import ROOT

    devices = tmp_path_factory.mktemp("devices") / "devices.toml"
    text = (ROOT / "config" / "devices.toml").read_text(encoding="utf-8")
    devices.write_text(text.replace('guide = "elderly"', 'guide = "on"'), encoding="utf-8")
    return play_tour("kiosk", ROOT / "build" / "tour-high-contrast", "--contrast", "high", "--devices", str(devices))
