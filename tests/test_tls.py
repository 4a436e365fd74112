"""TLS on every hop, with real certificates made in the test: the hall's own CA (kiosk hall tls init), a
device that receives it at enrolment and trusts only it, a ledger on https that sync checks against a CA,
and sync refusing plain http to a ledger that is not on this machine."""

from __future__ import annotations

import ssl
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import requests

from kiosk.contract.client import HallClient, HallUnreachable, http_transport
from kiosk.contract.requests import GetCatalog, IssueTicket
from kiosk.tls import PlainHttpRefused, check_transport, init_ca
from tests.helpers import KIOSK_BIN, ROOT, TZ, HallProcess, person
from tests.test_sync import LedgerProcess, last_line


def test_a_device_trusts_the_hall_it_was_enrolled_with_and_nothing_else(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "hall")
    out = hall.cli("hall", "tls", "init", "--name", "hall.local", "--name", "127.0.0.1")
    ca = Path(last_line(out))
    assert ca.exists() and (ca.parent / "tls-server.key").stat().st_mode & 0o077 == 0  # the key is the hall's alone
    device_ca = tmp_path / "kiosk-1-ca.pem"
    out = hall.cli("devices", "enroll", "--role", "kiosk", "--name", "kiosk-1", "--ca-out", str(device_ca))
    token = last_line(out)
    assert device_ca.read_bytes() == ca.read_bytes()
    hall.extra_args = ["--tls-cert", str(ca.parent / "tls-server.pem"), "--tls-key", str(ca.parent / "tls-server.key")]
    hall.url = hall.url.replace("http://", "https://")
    try:
        start_tls(hall, device_ca)
        client = HallClient(http_transport(hall.url, verify=str(device_ca)), token)
        reply = client.send(IssueTicket(business="B", identity=person(1)))
        assert reply.status == 201
        # another CA (a laptop posing as the hall would have one) is not trusted; nor is the system's
        other = init_ca(tmp_path / "other", "别处", ["127.0.0.1"], datetime.now(TZ)).ca_cert
        with pytest.raises(HallUnreachable):
            HallClient(http_transport(hall.url, verify=str(other)), token).send(GetCatalog())
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(hall.url + "/health", timeout=10)
    finally:
        hall.stop()


def start_tls(hall: HallProcess, ca: Path) -> None:
    import time

    hall.data.mkdir(parents=True, exist_ok=True)
    log = (hall.data / "serve.out").open("ab")
    hall.proc = subprocess.Popen([*KIOSK_BIN, "hall", "serve", "--config", str(hall.config), "--data", str(hall.data),
                                  "--port", str(hall.port), "--now", hall.now, *hall.extra_args],
                                 stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(hall.url + "/health", timeout=1, verify=str(ca)).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError((hall.data / "serve.out").read_text())


def test_sync_to_a_ledger_on_https_checks_its_certificate(tmp_path: Path) -> None:
    province = init_ca(tmp_path / "province", "省厅", ["127.0.0.1"], datetime.now(TZ))
    ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger.db'}")
    hall = HallProcess(tmp_path / "hall")
    hall.enroll("kiosk", "kiosk-1")
    key = last_line(hall.cli("hall", "public-key"))
    token = last_line(ledger.cli("halls", "add", "--hall", "demo-hall", "--public-key", key))
    proc = subprocess.Popen([*KIOSK_BIN, "ledger", "serve", "--db", ledger.db, "--port", str(ledger.port),
                             "--tls-cert", str(province.cert), "--tls-key", str(province.key)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{ledger.port}"
    try:
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url + "/health", timeout=1, verify=str(province.ca_cert))
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        sync = hall.cli("sync", "--once", "--ledger", url, "--token", token, "--ca", str(province.ca_cert))
        assert sync.returncode == 0, sync.stderr
        assert "账本已持有全部" in sync.stdout
        head = requests.get(f"{url}/api/v1/halls/demo-hall/head", headers={"Authorization": f"Bearer {token}"},
                            timeout=10, verify=str(province.ca_cert)).json()
        assert head["seq"] >= 1
        # without the CA the ledger's own certificate is trusted by nobody
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/health", timeout=10)
    finally:
        proc.terminate()
        proc.wait(10)


def test_sync_refuses_plain_http_to_a_ledger_elsewhere(tmp_path: Path) -> None:
    check_transport("http://127.0.0.1:8800", insecure=False)  # on this machine: fine
    check_transport("https://ledger.example.gov.cn", insecure=False)
    with pytest.raises(PlainHttpRefused):
        check_transport("http://198.51.100.7:8800", insecure=False)
    check_transport("http://198.51.100.7:8800", insecure=True)  # the operator's explicit choice
    hall = HallProcess(tmp_path / "hall")
    hall.enroll("kiosk", "kiosk-1")
    out = hall.cli("sync", "--once", "--ledger", "http://198.51.100.7:8800", "--token", "t")  # refused before any I/O
    assert out.returncode == 2 and "--insecure" in out.stderr and "Traceback" not in out.stderr
    assert not (hall.data / "secrets" / "ledger.json").exists()  # nothing remembered


def test_certificates_name_the_hall_and_chain_to_its_ca(tmp_path: Path) -> None:
    files = init_ca(tmp_path, "示范大厅", ["hall.local", "10.1.2.3"], datetime.now(TZ))
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.cert), str(files.key))  # the pair matches
    text = subprocess.run(["openssl", "x509", "-in", str(files.cert), "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout
    assert "DNS:hall.local" in text and "IP Address:10.1.2.3" in text and "IP Address:127.0.0.1" in text
    again = init_ca(tmp_path, "示范大厅", ["hall.local"], datetime.now(TZ))
    assert again.ca_cert.read_bytes() == files.ca_cert.read_bytes()  # the CA is kept; devices need not change
