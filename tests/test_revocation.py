"""Every credential can be withdrawn, at once, with the service running: a device's token, a ledger token, a
dashboard account; and a changed password, role or PIN ends the sessions opened with the old one."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import requests

from tests.helpers import KIOSK_BIN, ROOT, HallProcess, person
from tests.test_sync import LedgerProcess, last_line


def test_a_revoked_device_token_stops_working_at_once_with_the_hall_running(server: HallProcess) -> None:
    kiosk, board = server.client("kiosk-1"), server.client("display-1")
    assert kiosk.get("/api/v1/catalog").status_code == 200  # known, and remembered by the running hall
    assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": person(1)}).status_code == 201
    out = server.cli("devices", "revoke", "--name", "kiosk-1")
    assert out.returncode == 0, out.stderr
    r = kiosk.get("/api/v1/catalog")  # the very next request
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": person(2)}).status_code == 401
    assert board.get("/api/v1/queue").status_code == 200  # the others are untouched
    listing = server.cli("devices", "list")
    assert listing.returncode == 0
    line = next(ln for ln in listing.stdout.splitlines() if ln.startswith("kiosk-1 "))
    assert "revoked" in line and server.tokens["kiosk-1"] not in listing.stdout
    assert "active" in next(ln for ln in listing.stdout.splitlines() if ln.startswith("display-1 "))
    again = server.cli("devices", "revoke", "--name", "kiosk-1")
    assert again.returncode == 1 and "kiosk-1" in again.stderr  # nothing live of that name is left
    events = server.client("supervisor-1").get("/api/v1/events?after=0&limit=1000").json()["events"]
    assert any(e["type"] == "device.revoked" and e["payload"]["name"] == "kiosk-1" for e in events)


def test_a_token_revoked_by_hand_in_the_database_stops_working_too(server: HallProcess) -> None:
    """A technician's UPDATE of hall.db (no command) is seen by the running hall within its next check."""
    board = server.client("display-1")
    assert board.get("/api/v1/queue").status_code == 200
    with sqlite3.connect(server.data / "hall.db") as db:
        db.execute("UPDATE devices SET revoked=1 WHERE name='display-1'")
    deadline = time.monotonic() + 10
    while board.get("/api/v1/queue").status_code == 200:
        assert time.monotonic() < deadline, "a revocation made by hand was never seen"
        time.sleep(0.1)
    assert board.get("/api/v1/queue").status_code == 401


def test_revoking_a_name_also_spends_its_unused_enrolment_code(server: HallProcess) -> None:
    out = server.cli("devices", "enroll", "--role", "kiosk", "--name", "kiosk-7", "--code")
    code = out.stdout.strip().splitlines()[-1]
    assert server.cli("devices", "revoke", "--name", "kiosk-7").returncode == 0
    r = requests.post(server.url + "/api/v1/devices/enroll", json={"code": code}, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "ENROLL_CODE_INVALID"


def test_a_device_revoked_while_the_hall_is_down_is_refused_when_it_starts(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "data")
    hall.enroll("kiosk", "kiosk-1")
    assert hall.cli("devices", "revoke", "--name", "kiosk-1").returncode == 0
    hall.start()
    try:
        assert hall.client("kiosk-1").get("/api/v1/catalog").status_code == 401
    finally:
        hall.stop()


def test_a_new_pin_ends_the_clerks_open_window_session(server: HallProcess) -> None:
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
    clerk = server.client("counter-1", session.json()["session"])
    assert clerk.post("/api/v1/windows/2/pause", {"reason": "午休"}).status_code == 200
    out = subprocess.run([*KIOSK_BIN, "clerks", "add", "--id", "7", "--name", "李四", "--config", str(server.config),
                          "--data", str(server.data)], input="864209\n", capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    r = clerk.post("/api/v1/windows/2/resume", {"reason": "回来了"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "SESSION_INVALID"


def sign_in(ledger: LedgerProcess, login: str, password: str) -> requests.Session:
    web = requests.Session()
    csrf = web.get(f"{ledger.url}/login", timeout=10).text.split('name="csrf" value="')[1].split('"')[0]
    r = web.post(f"{ledger.url}/login", data={"login": login, "password": password, "csrf": csrf},
                 allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text
    return web


def add_user(ledger: LedgerProcess, login: str, password: str, role: str, region: str = "") -> None:
    out = subprocess.run([*KIOSK_BIN, "ledger", "users", "add", "--login", login, "--role", role,
                          *(["--region", region] if region else []), "--db", ledger.db],
                         input=password + "\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def signed_in(web: requests.Session, ledger: LedgerProcess, page: str = "/dashboard") -> bool:
    return "登录 监管账本" not in web.get(f"{ledger.url}{page}", allow_redirects=False, timeout=10).text


def test_ledger_credentials_are_withdrawn_at_once_with_the_ledger_running(tmp_path: Path) -> None:
    ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}")
    supervisor = last_line(ledger.cli("tokens", "add", "--role", "supervisor", "--name", "省厅"))
    other = last_line(ledger.cli("tokens", "add", "--role", "supervisor", "--name", "审计"))
    add_user(ledger, "jinan", "济南监管-2026!", "region", "3701")
    add_user(ledger, "shengting", "省厅监管-2026!", "province")
    ledger.start()
    try:
        head = f"{ledger.url}/api/v1/export/ratings"
        assert requests.get(head, headers={"Authorization": f"Bearer {supervisor}"}, timeout=10).status_code == 200
        out = ledger.cli("tokens", "revoke", "--name", "省厅")
        assert out.returncode == 0, out.stderr
        assert requests.get(head, headers={"Authorization": f"Bearer {supervisor}"}, timeout=10).status_code == 401
        assert requests.get(head, headers={"Authorization": f"Bearer {other}"}, timeout=10).status_code == 200
        assert ledger.cli("tokens", "revoke", "--name", "省厅").returncode == 1

        # a changed role ends the session (it would otherwise widen a region's session to the whole province)
        region = sign_in(ledger, "jinan", "济南监管-2026!")
        assert region.get(f"{ledger.url}/dashboard/reads", timeout=10).status_code == 403  # the province's page
        add_user(ledger, "jinan", "济南监管-2026!", "province")
        assert not signed_in(region, ledger)
        # a changed password ends the session
        province = sign_in(ledger, "shengting", "省厅监管-2026!")
        assert signed_in(province, ledger)
        add_user(ledger, "shengting", "新的省厅密码-2027!", "province")
        assert not signed_in(province, ledger)
        # a removed account: its session ends and it cannot sign in again
        province = sign_in(ledger, "shengting", "新的省厅密码-2027!")
        out = ledger.cli("users", "remove", "--login", "shengting")
        assert out.returncode == 0, out.stderr
        assert not signed_in(province, ledger)
        assert ledger.cli("users", "remove", "--login", "shengting").returncode == 1
    finally:
        ledger.stop()


def test_a_halls_ledger_token_is_replaced_and_the_old_one_refused(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "hall")
    ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}")
    key = last_line(hall.cli("hall", "public-key"))
    old = last_line(ledger.cli("halls", "add", "--hall", "demo-hall", "--public-key", key))
    ledger.start()
    try:
        url = f"{ledger.url}/api/v1/halls/demo-hall/head"
        assert requests.get(url, headers={"Authorization": f"Bearer {old}"}, timeout=10).status_code == 200
        new = last_line(ledger.cli("tokens", "revoke", "--hall", "demo-hall"))
        assert requests.get(url, headers={"Authorization": f"Bearer {old}"}, timeout=10).status_code == 401
        assert requests.get(url, headers={"Authorization": f"Bearer {new}"}, timeout=10).status_code == 200
    finally:
        ledger.stop()
