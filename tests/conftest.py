from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import Hall, HallProcess

# The suite runs on every core (pytest-xdist, --dist loadfile): a file's tests stay on one worker, so that a
# module-scoped fixture (a tour, a hall process) is made once and two workers never write the same artefact
# folder. A session fixture that several files share (the kiosk's tours) is made once for the whole run
# (once_per_run). The longest files go first, so that no worker is left with a long one at the end.
LONGEST_FIRST = ("test_screen_sizes", "test_accessibility", "test_kiosk_ui", "test_window_apps", "test_drill",
                 "test_kiosk_session", "test_phone_page", "test_fuzz", "test_sync")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: the order within a file is kept


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[], Path]) -> Path:
    """``make()`` once for the whole run, whichever worker asks first; the others wait for it and share it."""
    import fcntl
    import json
    import os

    shared = factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else factory.getbasetemp()
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / f"{name}.json"
        if done.exists():
            return Path(json.loads(done.read_text())["path"])
        path = make()
        done.write_text(json.dumps({"path": str(path)}))
        return path


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
def kiosk_tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kiosk's tour in its usual palette, voice in elderly mode only (the default)."""
    from tests.helpers import ROOT

    return once_per_run(tmp_path_factory, "kiosk-tour", lambda: play_tour("kiosk", ROOT / "build" / "tour"))


@pytest.fixture(scope="session")
def kiosk_tour_high_contrast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kiosk's tour on a kiosk set up for high contrast with voice guidance always on."""
    from tests.helpers import ROOT

    def make() -> Path:
        devices = tmp_path_factory.mktemp("devices") / "devices.toml"
        text = (ROOT / "config" / "devices.toml").read_text(encoding="utf-8")
        devices.write_text(text.replace('guide = "elderly"', 'guide = "on"'), encoding="utf-8")
        return play_tour("kiosk", ROOT / "build" / "tour-high-contrast", "--contrast", "high", "--devices",
                         str(devices))

    return once_per_run(tmp_path_factory, "kiosk-tour-high-contrast", make)

