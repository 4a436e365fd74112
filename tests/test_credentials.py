"""Credentials of the hall: enrolment codes cannot be guessed at leisure, PINs are peppered and never need the
command line, secrets never begin with a dash, and every file that holds data or secrets is the service's own
(0700 folders, 0600 files) whatever the umask."""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from kiosk.contract.requests import Login
from kiosk.hall import enrolment
from kiosk.hall.context import Call, Device, HallContext
from kiosk.hall.outcomes import Done
from kiosk.passwords import check_secret, hash_secret
from kiosk.store.db import Store
from tests.helpers import KIOSK_BIN, MONDAY_10, ROOT, Hall, HallProcess, example_config, person
from tests.test_sync import LedgerProcess


def redeem(hall: Hall, code: str, client: str, role: str | None = None) -> str:
    from kiosk.contract.requests import RedeemCode

    status, body = hall.run(Call(Device(0, "phone", "phone"), hall.now, client=client), RedeemCode(code=code, role=role))
    return "OK" if status == 201 else str(body["error"]["code"])


def test_wrong_enrolment_codes_are_limited_and_the_duty_desk_is_told(hall: Hall) -> None:
    good = enrolment.enroll_code(hall.svc, "kiosk", "kiosk-9", hall.now)
    assert [redeem(hall, f"WRONG-{i:05d}", "10.0.0.7") for i in range(5)] == ["ENROLL_CODE_INVALID"] * 5
    assert redeem(hall, good, "10.0.0.7") == "ENROLL_LOCKED"  # even the right code, from this client, for a while
    alerts = [e for e in hall.events() if e["type"] == "enroll.attempts_exceeded"]
    assert len(alerts) == 1 and alerts[0]["payload"]["client"] == "10.0.0.7"
    assert redeem(hall, good, "10.0.0.8") == "OK"  # the technician at another terminal is not stopped
    hall.tick(16)
    later = enrolment.enroll_code(hall.svc, "kiosk", "kiosk-10", hall.now)
    assert redeem(hall, later, "10.0.0.7") == "OK"


def test_wrong_codes_from_many_clients_stop_enrolment_hall_wide(hall: Hall) -> None:
    good = enrolment.enroll_code(hall.svc, "kiosk", "kiosk-9", hall.now)
    for i in range(20):
        assert redeem(hall, f"WRONG-{i:05d}", f"10.0.1.{i}") == "ENROLL_CODE_INVALID"
    assert redeem(hall, good, "10.0.2.1") == "ENROLL_LOCKED"
    assert [e["payload"]["scope"] for e in hall.events() if e["type"] == "enroll.attempts_exceeded"] == ["hall"]


def test_the_enrolment_endpoint_counts_wrong_codes_per_address(tmp_path: Path) -> None:
    server = HallProcess(tmp_path / "data")
    server.start()
    try:
        url = server.url + "/api/v1/devices/enroll"
        codes = [requests.post(url, json={"code": f"ABCDE-{i:05d}"}, timeout=10) for i in range(6)]
        assert [r.status_code for r in codes] == [403] * 5 + [429]
        assert codes[-1].json()["error"]["code"] == "ENROLL_LOCKED"
    finally:
        server.stop()


def test_pins_are_peppered_and_old_hashes_keep_working(tmp_path: Path) -> None:
    store = Store(tmp_path / "hall.db")
    # a clerk from before the pepper: an unpeppered scrypt hash, as the hall stored them
    store.write(lambda tx: tx.execute("INSERT INTO clerks (id, name, pin_hash) VALUES (?,?,?)",
                                      ("8", "王五", hash_secret("2468"))))
    service = HallContext(example_config(), store, b"k" * 32)
    try:
        stored = store.reader().execute("SELECT pin_hash FROM clerks WHERE id='8'").fetchone()[0]
        assert stored.startswith("scrypt+hmac$")  # upgraded in place when the hall opened, without the PIN
        counter = Call(Device(2, "counter-1", "counter"), MONDAY_10)
        assert isinstance(enrolment.op_login(service, counter, Login(window=1, clerk_id="8", pin="2468")),
                          Done)  # the old PIN works
        enrolment.add_clerk(service, "9", "赵六", "135790", MONDAY_10)
        new = store.reader().execute("SELECT pin_hash FROM clerks WHERE id='9'").fetchone()[0]
        unpeppered = "scrypt$" + new.split("$", 1)[1]
        assert not check_secret("135790", unpeppered)  # a copy of hall.db alone does not confirm a guessed PIN
    finally:
        store.close()


def test_a_pin_is_read_from_stdin_and_a_pin_on_the_command_line_is_warned_about(tmp_path: Path) -> None:
    server = HallProcess(tmp_path / "data")
    server.enroll("counter", "counter-1")
    base = [*KIOSK_BIN, "clerks", "add", "--config", str(server.config), "--data", str(server.data)]
    piped = subprocess.run([*base, "--id", "8", "--name", "王五"], input="864209\n", capture_output=True, text=True,
                           cwd=ROOT, timeout=60)
    assert piped.returncode == 0 and "864209" not in piped.stdout + piped.stderr, piped.stderr
    on_argv = subprocess.run([*base, "--id", "9", "--name", "赵六", "--pin", "975310"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
    assert on_argv.returncode == 0 and "--pin" in on_argv.stderr and "ps" in on_argv.stderr
    server.start()
    try:
        counter = server.client("counter-1")
        assert counter.post("/api/v1/windows/2/login", {"clerk_id": "8", "pin": "864209"}).status_code == 200
        assert counter.post("/api/v1/windows/3/login", {"clerk_id": "9", "pin": "975310"}).status_code == 200
    finally:
        server.stop()


def test_secrets_never_begin_with_a_dash(monkeypatch: pytest.MonkeyPatch, hall: Hall) -> None:
    """One token in 64 began with '-' and then `kiosk sync --token VALUE` failed ("expected one argument")."""
    from kiosk.passwords import new_secret

    made = iter(["-leading-dash-token", "_fine-token-after"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n=32: next(made))
    assert new_secret() == "_fine-token-after"
    monkeypatch.undo()
    tokens = [enrolment.enroll_device(hall.svc, "kiosk", f"k{i}", hall.now) for i in range(200)]
    assert not any(t.startswith("-") for t in tokens)


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_data_folders_and_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    server = HallProcess(tmp_path / "data")
    server.preexec = lambda: os.umask(0)  # the worst umask: everything would be world-writable
    old = os.umask(0)
    try:
        server.enroll("kiosk", "kiosk-1")
        server.start()
        assert server.client("kiosk-1").post("/api/v1/tickets", {"business": "B", "identity": person(1)}).status_code \
            == 201
        running = modes(server.data)  # with the WAL and shared memory files as they are while it runs
    finally:
        os.umask(old)
        server.stop()
    running.pop("serve.out")  # the test's own capture of the service's output
    for name, mode in running.items():
        want = 0o700 if (server.data / name).is_dir() else 0o600
        assert mode == want, (name, oct(mode))
    assert {"hall.db", "hall.db-wal", "hall.db-shm", "secrets/hall.key", "logs/hall.log"} <= set(running)


def test_a_ledgers_sqlite_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}")
        assert ledger.cli("tokens", "add", "--role", "supervisor", "--name", "省厅").returncode == 0
        ledger.start()
        files = modes(tmp_path / "ledger")
    finally:
        os.umask(old)
        ledger.stop()
    assert files.pop(".") == 0o700 and files and all(m == 0o600 for m in files.values()), files


def test_files_made_before_are_tightened_when_the_hall_opens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    store = Store(data / "hall.db")
    store.close()
    os.chmod(data / "hall.db", 0o644)
    os.chmod(data, 0o755)
    server = HallProcess(data)
    server.enroll("kiosk", "kiosk-1")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "hall.db").stat().st_mode) == 0o600
    with sqlite3.connect(data / "hall.db") as db:
        assert db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 1
