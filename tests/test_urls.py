"""One check of the addresses the product connects to (sync, the apps, provisioning), parsed once: what is
checked is what is connected to. And what provisioning writes from the hall's answer is escaped, not pasted.
Every connection goes to loopback; 127.0.0.2 is the "other host" a trick would send the token to."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.helpers import KIOSK_BIN, ROOT, HallProcess


class Trap:
    """A listener on the other host: records whether anything connected, and what it sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.2", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(2)
            try:
                self.received.append(conn.recv(65536))
            except OSError:
                self.received.append(b"")
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    t = Trap()
    yield t
    t.close()


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.2:9000\\@127.0.0.1:8800", "反斜杠"),
    ("http://127.0.0.2:9000@127.0.0.1:8800", "用户名"),
    ("http://user:pw@127.0.0.1:8800", "用户名"),
    ("http://127.0.0.1:8800#@127.0.0.2:9000", "用户名"),
    ("http://127.0.0.1:8800?@127.0.0.2", "用户名"),
    ("http://127.1:8800", "歧义"),
    ("http://2130706433:8800", "歧义"),
    ("http://0x7f.0.0.1:8800", "歧义"),
    ("http://127.0.0.1%2f@127.0.0.2", "用户名"),
    ("http://127.0.0.1:8800 /", "空白"),
    ("http://ledger.example.gov.cn", "明文"),
    ("http://198.51.100.7:8800", "明文"),
    ("ftp://127.0.0.1", "https://"),
    ("https://ledger.example.gov.cn:0", "端口"),
    ("http://大厅.example", "ASCII"),
])
def test_addresses_read_two_ways_or_in_clear_off_this_machine_are_refused(url: str, why: str) -> None:
    from kiosk.urls import UrlRefused, check_url

    with pytest.raises(UrlRefused) as refused:
        check_url(url)
    assert why in refused.value.message


def test_a_checked_address_is_rebuilt_from_what_was_checked() -> None:
    from kiosk.urls import check_url

    assert check_url("HTTPS://Ledger.Example.gov.cn:443/").base() == "https://ledger.example.gov.cn"
    assert check_url("http://127.0.0.1:8800/").base() == "http://127.0.0.1:8800"
    assert check_url("http://[::1]:8700").base() == "http://[::1]:8700"
    assert check_url("http://localhost:8700/prefix/").base() == "http://localhost:8700/prefix"
    assert check_url("http://198.51.100.7:8800", insecure=True).base() == "http://198.51.100.7:8800"  # the operator's


def test_sync_sends_nothing_to_the_host_hidden_behind_a_backslash(tmp_path: Path, trap: Trap) -> None:
    """The loopback check saw 127.0.0.1; requests connected to 127.0.0.2 and sent the hall's token there."""
    hall = HallProcess(tmp_path / "data")
    hall.enroll("kiosk", "kiosk-1")
    token = "hall-ledger-token-that-must-stay-home"
    out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", f"http://127.0.0.2:{trap.port}\\@127.0.0.1:8800",
                          "--token", token, "--data", str(hall.data)], capture_output=True, text=True, cwd=ROOT,
                         timeout=30)
    assert out.returncode == 2 and "反斜杠" in out.stderr
    assert trap.received == []
    assert not (hall.data / "secrets" / "ledger.json").exists()  # nothing remembered either


def test_sync_reads_its_token_from_a_file(tmp_path: Path, trap: Trap) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("-a-token-with-a-leading-dash\n")  # a file: no option parsing to trip over
    out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", f"http://user@127.0.0.2:{trap.port}",
                          "--token-file", str(token_file), "--data", str(tmp_path / "data")],
                         capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert out.returncode == 2 and "用户名" in out.stderr and trap.received == []
    missing = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", "http://127.0.0.1:9", "--token-file",
                              str(tmp_path / "nowhere"), "--data", str(tmp_path / "data")],
                             capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert missing.returncode == 2 and "令牌文件" in missing.stderr


def test_an_app_refuses_the_same_trick_before_connecting(tmp_path: Path, trap: Trap) -> None:
    out = subprocess.run([*KIOSK_BIN, "app", "display", "--hall", f"http://127.0.0.2:{trap.port}\\@127.0.0.1:8700",
                          "--token", "display-token", "--tour", str(tmp_path / "tour"), "--voice", "off"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and "反斜杠" in out.stderr
    assert trap.received == []


def test_provisioning_sends_its_code_in_clear_only_to_this_machine() -> None:
    from kiosk.provision import ProvisionFailed, checked_hall

    with pytest.raises(ProvisionFailed) as refused:
        checked_hall("http://hall.lan:8700", insecure=False)
    assert "--insecure" in refused.value.message
    assert checked_hall("https://hall.lan:8700/", insecure=False) == "https://hall.lan:8700"
    assert checked_hall("http://127.0.0.1:8700", insecure=False) == "http://127.0.0.1:8700"


class FakeHall(BaseHTTPRequestHandler):
    """A hall (or something posing as one) that answers the enrolment with whatever the test puts in it."""

    answer: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.dumps(self.answer).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


def provision_against(answer: dict[str, Any], root: Path) -> subprocess.CompletedProcess[str]:
    FakeHall.answer = answer
    server = HTTPServer(("127.0.0.1", 0), FakeHall)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return subprocess.run([*KIOSK_BIN, "provision", "--root", str(root), "--role", "kiosk", "--hall",
                               f"http://127.0.0.1:{server.server_port}", "--enroll", "ABCDE-FGHJK"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        server.shutdown()
        thread.join(5)


def test_the_halls_answer_is_written_escaped_into_terminal_toml(tmp_path: Path) -> None:
    name = 'kiosk-1"\nrole = "supervisor"\n[evil]\nx = "y'
    out = provision_against({"token": "A" * 43, "name": "kiosk-1", "hall": 'demo"\n[hall]', "role": "kiosk"},
                            tmp_path / "r1")
    assert out.returncode == 1 and "控制字符" in out.stderr  # a newline is refused outright
    out = provision_against({"token": "A" * 43, "name": name.replace("\n", " "), "hall": 'demo"hall\\', "role": "kiosk"},
                            tmp_path / "r2")
    assert out.returncode == 0, out.stderr
    written = tomllib.loads((tmp_path / "r2/etc/kiosk/terminal.toml").read_text(encoding="utf-8"))
    assert written == {"name": name.replace("\n", " "), "role": "kiosk", "hall": written["hall"],
                       "hall_id": 'demo"hall\\'}
    assert written["hall"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("token", ["abc\x1b[2J" + "A" * 40, "A" * 20 + "\nB" * 10, "-" + "A" * 42, "A" * 10 + " " + "A" * 30])
def test_a_token_with_control_characters_or_a_leading_dash_is_refused(tmp_path: Path, token: str) -> None:
    out = provision_against({"token": token, "name": "kiosk-1", "hall": "demo-hall", "role": "kiosk"}, tmp_path)
    assert out.returncode == 1 and "令牌" in out.stderr
    assert not (tmp_path / "etc").exists()  # nothing written


def test_the_unit_files_use_https_and_a_token_file() -> None:
    unit = (ROOT / "docs" / "kiosk.service").read_text(encoding="utf-8")
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "--hall https://" in start and "--token-file /etc/kiosk/token" in start and "--token " not in start
