"""Sync over real processes and a misbehaving network: every event the hall committed reaches the
ledger once, in order, with every chain intact, through dropped, delayed, duplicated and truncated
requests and kill -9 of either side at random moments; registration as the README describes it."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain.identity import check_char
from tests.faulty_proxy import Faults, FaultyProxy
from tests.helpers import KIOSK_BIN, ROOT, HallProcess, free_port


class LedgerProcess:
    def __init__(self, db: str) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []  # more ``ledger serve`` options, such as --workers

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KIOSK_BIN, "ledger", *args, "--db", self.db], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)

    def start(self) -> None:
        self.proc = subprocess.Popen([*KIOSK_BIN, "ledger", "serve", "--db", self.db, "--port", str(self.port),
                                      "--now", "2026-11-23T18:00:00+08:00", *self.extra_args], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("ledger did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def last_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip().splitlines()[-1]


def all_events(url: str, path: str, token: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = requests.get(f"{url}{path}?after={events[-1]['seq'] if events else 0}&limit=1000",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["events"]
        if not page:
            return events
        events += page


def busy_config(tmp: Path) -> Path:
    """The example hall, with kiosks operated by staff (no burst limit) so that a burst is possible."""
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    hall_toml = config / "hall.toml"
    text = hall_toml.read_text().replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    hall_toml.write_text(text.replace("per_person_per_day = 3", "per_person_per_day = 50"))
    return hall_toml


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}")
    yield ledger
    ledger.stop()


def register(hall: HallProcess, ledger: LedgerProcess) -> tuple[str, str]:
    """The README's registration: the hall prints its public key; the province registers it."""
    key = last_line(hall.cli("hall", "public-key"))
    assert key.startswith("ed25519:")
    assert last_line(hall.cli("hall", "public-key")) == key  # the same key every time
    token = last_line(ledger.cli("halls", "add", "--hall", "demo-hall", "--public-key", key, "--name",
                                 "示范市不动产登记中心", "--region", "370000"))
    supervisor = last_line(ledger.cli("tokens", "add", "--role", "supervisor", "--name", "省厅"))
    return token, supervisor


def burst(hall: HallProcess, people: int, stop: threading.Event, start: int = 0) -> int:
    kiosk = hall.client("kiosk-1")
    issued = 0
    for i in range(start, start + people):
        if stop.is_set():
            break
        first17 = f"370102198{i // 10000 % 10}{(i // 100) % 100 + 1:02d}{(i % 100) + 1:02d}{i % 1000:03d}"[:17]
        identity = {"id_number": first17 + check_char(first17), "name": ""}
        try:
            r = kiosk.post("/api/v1/tickets", {"business": "BCDEFG"[i % 6], "identity": identity, "accept_wait": True})
            issued += r.status_code == 201
        except requests.RequestException:
            time.sleep(0.2)  # the hall is being restarted
    return issued


def test_registered_hall_syncs_with_progress_and_the_ledger_serves_the_chain(tmp_path: Path, ledger: LedgerProcess
                                                                             ) -> None:
    hall = HallProcess(tmp_path / "hall")
    hall.enroll("kiosk", "kiosk-1")
    hall.enroll("supervisor", "duty")
    ledger.start()
    token, supervisor = register(hall, ledger)
    hall.start()
    try:
        burst(hall, 5, threading.Event())
        out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", ledger.url, "--token", token,
                              "--data", str(hall.data), "--batch", "7"], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert "同步中 syncing" in out.stdout and "the ledger holds all" in out.stdout
        hall_events = all_events(hall.url, "/api/v1/events", hall.tokens["duty"])
        stored = all_events(ledger.url, "/api/v1/halls/demo-hall/events", supervisor)
        assert [{k: e[k] for k in hall_events[0]} for e in stored] == hall_events
        head = requests.get(f"{ledger.url}/api/v1/halls/demo-hall/head",
                            headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        assert head == {"seq": hall_events[-1]["seq"], "hash": hall_events[-1]["hash"]}
        # a hall's token reads only its own hall; no token reads nothing
        assert requests.get(f"{ledger.url}/api/v1/halls/other/head", headers={"Authorization": f"Bearer {token}"},
                            timeout=5).status_code == 403
        assert requests.get(f"{ledger.url}/api/v1/halls/demo-hall/head", timeout=5).status_code == 401
        # the health of the hall now says nothing is waiting to be sent
        assert requests.get(hall.url + "/health", timeout=5).json()["outbox_pending"] == 0
    finally:
        hall.stop()


def test_nothing_lost_or_doubled_through_faults_and_kills(tmp_path: Path, ledger: LedgerProcess) -> None:
    rng = random.Random(23)
    hall = HallProcess(tmp_path / "hall", config=busy_config(tmp_path))
    hall.enroll("kiosk", "kiosk-1")
    hall.enroll("supervisor", "duty")
    ledger.start()
    token, supervisor = register(hall, ledger)
    faults = Faults(drop=0.15, delay=0.2, max_delay=0.3, duplicate=0.2, truncate=0.15, cut_request=0.1)
    proxy = FaultyProxy(ledger.port, faults, seed=5)
    # the first sync remembers the ledger (through the bad network) in the hall's data directory
    out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", proxy.url, "--token", token, "--config",
                          str(hall.config), "--data", str(hall.data), "--batch", "15"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    hall.start()  # now with its background sync worker
    try:
        stop = threading.Event()
        issued = [0]
        worker = threading.Thread(target=lambda: issued.__setitem__(0, burst(hall, 400, stop)))
        worker.start()
        for _ in range(3):  # kill -9 either side at random moments during the burst, then bring it back
            time.sleep(rng.uniform(0.5, 2.0))
            ledger.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            ledger.start()
            time.sleep(rng.uniform(0.5, 2.0))
            hall.kill()
            hall.start()
        worker.join(timeout=300)
        assert issued[0] > 50
        faults.off()
        out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--config", str(hall.config), "--data", str(hall.data)],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr
        hall_events = all_events(hall.url, "/api/v1/events", hall.tokens["duty"])
        stored = all_events(ledger.url, "/api/v1/halls/demo-hall/events", supervisor)
        assert len(stored) == len(hall_events) and len({e["id"] for e in stored}) == len(stored)
        assert [{k: e[k] for k in hall_events[0]} for e in stored] == hall_events
        assert sum(proxy.counts[k] for k in ("drop", "duplicate", "truncate", "cut_request")) > 5, proxy.counts
        assert ledger.cli("verify").returncode == 0
    finally:
        proxy.close()
        hall.stop()
    # tampering with one stored event is found, and named
    ledger.stop()
    import sqlite3

    db = sqlite3.connect(ledger.db.removeprefix("sqlite:///"))
    with db:
        db.execute("UPDATE events SET payload=? WHERE hall='demo-hall' AND seq=42", (json.dumps({"level": 5}),))
    db.close()
    out = ledger.cli("verify")
    assert out.returncode == 1 and "42" in out.stdout, out.stdout
