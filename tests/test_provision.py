"""`kiosk provision` on a throwaway root: the files a new terminal needs, written from one command with a
short one-time code the hall printed; the token it gets works at the hall, and the code works once."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
import requests

from drivers.devices_config import load_devices_config
from kiosk.provision import Plan, activate
from tests.helpers import KIOSK_BIN, ROOT, HallProcess


@pytest.fixture
def hall(tmp_path: Path) -> HallProcess:
    h = HallProcess(tmp_path / "data")
    h.start()
    yield h
    h.stop()


def enroll_code(hall: HallProcess, role: str = "kiosk", name: str = "kiosk-9") -> str:
    out = hall.cli("devices", "enroll", "--role", role, "--name", name, "--code")
    assert out.returncode == 0, out.stderr
    code = out.stdout.strip().splitlines()[-1]
    assert len(code) == 11 and code[5] == "-"  # ten characters a technician types, not a 43-character token
    return code


def provision(root: Path, hall: HallProcess, code: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KIOSK_BIN, "provision", "--root", str(root), "--role", "kiosk", "--hall", hall.url,
                           "--enroll", code, "--kiosk-bin", "/opt/kiosk/.venv/bin/kiosk", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_one_command_makes_a_kiosk_terminal(tmp_path: Path, hall: HallProcess) -> None:
    root = tmp_path / "root"
    code = enroll_code(hall)
    out = provision(root, hall, code.lower().replace("-", " "),  # typed loosely: still the same code
                    "--device", "printer=0fe6:811e", "--device", "idcard=10c4:ea60", "--device", "scanner=1eab:8003")
    assert out.returncode == 0, out.stderr
    etc = root / "etc"
    unit = (etc / "systemd/system/kiosk-terminal.service").read_text()
    assert "User=kiosk" in unit and "Restart=always" in unit and "WantedBy=graphical.target" in unit
    assert "ExecStart=/usr/bin/cage -s -- /opt/kiosk/.venv/bin/kiosk app kiosk" in unit
    assert "--token-file /etc/kiosk/token" in unit and "--fullscreen" in unit
    link = etc / "systemd/system/graphical.target.wants/kiosk-terminal.service"
    assert link.is_symlink() and str(link.readlink()) == "/etc/systemd/system/kiosk-terminal.service"
    assert "u kiosk -" in (etc / "sysusers.d/kiosk.conf").read_text()
    assert "m kiosk dialout" in (etc / "sysusers.d/kiosk.conf").read_text()
    rules = (etc / "udev/rules.d/70-kiosk-devices.rules").read_text()
    assert 'ATTRS{idVendor}=="0fe6", ATTRS{idProduct}=="811e", SYMLINK+="kiosk/printer"' in rules
    assert 'SYMLINK+="kiosk/idcard"' in rules and 'SYMLINK+="kiosk/scanner"' in rules
    devices = load_devices_config(etc / "kiosk/devices.toml")
    assert devices.printer_url == "serial:///dev/kiosk/printer?baud=9600"
    assert (devices.idcard_port, devices.scanner_port) == ("/dev/kiosk/idcard", "/dev/kiosk/scanner")
    assert devices.keypad_port == "simulator://"  # not provisioned: a kiosk has no keypad
    token_file = etc / "kiosk/token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    answer = requests.get(hall.url + "/api/v1/catalog", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200  # the terminal is enrolled as a kiosk
    assert token not in unit and token not in out.stdout  # never on a command line or a screen
    assert "apt-get install -y cage xwayland" in out.stdout  # the session, with the Xwayland the app draws through


def test_a_code_works_once_and_a_wrong_one_says_what_to_do(tmp_path: Path, hall: HallProcess) -> None:
    code = enroll_code(hall)
    assert provision(tmp_path / "first", hall, code).returncode == 0
    again = provision(tmp_path / "second", hall, code)
    assert again.returncode == 1 and "登记码无效、已用过或已过期" in again.stderr
    assert not (tmp_path / "second").exists()  # nothing written when the hall says no
    wrong = provision(tmp_path / "third", hall, "ABCDE-FGHJK")
    assert wrong.returncode == 1 and "重新获取" in wrong.stderr
    away = subprocess.run([*KIOSK_BIN, "provision", "--root", str(tmp_path / "4"), "--role", "kiosk", "--hall",
                           "http://127.0.0.1:9", "--enroll", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert away.returncode == 1 and "连不上大厅服务" in away.stderr


def test_a_counter_on_a_bare_x_server(tmp_path: Path, hall: HallProcess) -> None:
    code = enroll_code(hall, "counter", "counter-4")
    out = subprocess.run([*KIOSK_BIN, "provision", "--root", str(tmp_path / "root"), "--role", "counter", "--hall",
                          hall.url, "--enroll", code, "--window", "4", "--session", "x",
                          "--device", "keypad=1a86:7523"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    unit = (tmp_path / "root/etc/systemd/system/kiosk-terminal.service").read_text()
    assert "ExecStart=/usr/bin/xinit" in unit and "app counter" in unit and "--window 4" in unit
    assert "-nocursor" in unit and "-noreset" in unit  # an X server resetting refuses the app's connection
    assert "apt-get install -y xserver-xorg xinit" in out.stdout
    board = enroll_code(hall, "display", "board-1")
    wrong_role = subprocess.run([*KIOSK_BIN, "provision", "--root", str(tmp_path / "r2"), "--role", "kiosk",
                                 "--hall", hall.url, "--enroll", board], capture_output=True, text=True, cwd=ROOT,
                                timeout=60)
    assert wrong_role.returncode == 1 and "display" in wrong_role.stderr
    right_role = subprocess.run([*KIOSK_BIN, "provision", "--root", str(tmp_path / "r3"), "--role", "display",
                                 "--hall", hall.url, "--enroll", board], capture_output=True, text=True, cwd=ROOT,
                                timeout=60)
    assert right_role.returncode == 0, right_role.stderr  # the wrong --role did not spend the code


def test_on_the_machine_a_failed_step_is_reported_not_hidden(tmp_path: Path) -> None:
    """As root on the machine itself each step runs; one that fails (here chown, which every machine has) is
    named, because the code is spent and the technician must finish by hand. Only a program the machine
    lacks (udevadm in a container) is skipped."""
    plan = Plan("kiosk", "http://hall", "kiosk", "cage", None, {}, "/opt/kiosk/.venv/bin/kiosk", None)
    ran: list[list[str]] = []

    def run(step: list[str]) -> int:
        ran.append(step)
        return 1 if step[0] == "chown" else 0

    done, failed = activate(plan, Path("/"), run=run, as_root=True)
    assert failed == ["chown kiosk /etc/kiosk/token"]
    assert "chown kiosk /etc/kiosk/token" not in done and all(" ".join(step) in done + failed for step in ran)
    assert activate(plan, tmp_path, run=run, as_root=True) == ([], [])  # a throwaway root runs nothing
    assert activate(plan, Path("/"), run=run, as_root=False) == ([], [])  # nor does a non-root user
