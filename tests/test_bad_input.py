"""Inputs an API fuzzer and an outside check sent to the hall service: each gets a clear 4xx with the
error shape, never a 500, and nothing odd is stored (issue: "Bad input never gets a 500")."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.helpers import HallProcess, person


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallProcess]:
    server = HallProcess(tmp_path_factory.mktemp("bad-input") / "data")
    server.extra_args = ["--header-timeout", "2"]
    for role, name in (("kiosk", "kiosk-1"), ("counter", "window-2"), ("supervisor", "duty"), ("display", "board")):
        server.enroll(role, name)
    assert server.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    server.start()
    yield server
    server.stop()


def error_code(r: requests.Response) -> str:
    assert r.status_code < 500, r.text
    return str(r.json()["error"]["code"])


@pytest.mark.parametrize("window", ["%C2%B9", "%D9%A3", "%EF%BC%93", "-1", "1e3", "99999"])
def test_window_numbers_only_in_ascii_digits(hall: HallProcess, window: str) -> None:
    """'¹' gave a 500 on every window route; '٣' (Arabic-Indic three) was silently read as window 3."""
    duty = hall.client("duty")
    r = duty.get(f"/api/v1/windows/{window}/summary")
    assert r.status_code == 404 and error_code(r) == "WINDOW_UNKNOWN"
    r = hall.client("window-2").post(f"/api/v1/windows/{window}/login", {"clerk_id": "7", "pin": "1234"})
    assert r.status_code == 404 and error_code(r) == "WINDOW_UNKNOWN"


def test_deeply_nested_json_is_refused(hall: HallProcess) -> None:
    body = '{"business": "B", "identity": ' + "[" * 2000 + "]" * 2000 + "}"
    r = hall.client("kiosk-1").post("/api/v1/tickets", body)
    assert r.status_code == 422 and error_code(r) == "BAD_JSON"
    r = hall.client("duty").post("/api/v1/blocklist", '{"reason": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}")
    assert r.status_code == 422 and error_code(r) == "BAD_JSON"


@pytest.mark.parametrize(("role", "path", "body"), [
    ("kiosk-1", "/api/v1/tickets", {"business": "B", "identity": {**person(3), "name": "张\ud800三"}}),
    ("kiosk-1", "/api/v1/matters", {"category": "other", "description": "排队\ud800太久"}),
    ("kiosk-1", "/api/v1/help", {"screen": "home\udfff"}),
    ("duty", "/api/v1/blocklist", {"identity": person(4), "reason": "倒号\ud83d"}),
])
def test_a_lone_surrogate_in_text_is_refused(hall: HallProcess, role: str, path: str, body: dict[str, object]) -> None:
    raw = json.dumps(body)  # ensure_ascii keeps the lone surrogate as \\ud800: valid JSON, not valid text
    r = hall.client(role).post(path, raw)
    assert r.status_code == 422 and error_code(r) == "BAD_TEXT"
    assert "无法识别" in r.json()["error"]["message"]


def test_405_says_what_is_allowed_and_verify_is_not_a_ticket_number(hall: HallProcess) -> None:
    kiosk = hall.client("kiosk-1")
    r = kiosk.http.delete(hall.url + "/api/v1/tickets", timeout=10)
    assert r.status_code == 405 and "POST" in r.headers.get("Allow", "")
    assert error_code(r) == "METHOD_NOT_ALLOWED"
    for path in ("/api/v1/tickets/verify", "/api/v1/matters/verify"):
        r = kiosk.get(path)
        assert r.status_code == 405 and r.headers.get("Allow") == "POST", path


def test_a_temporary_window_lists_a_business_once(hall: HallProcess) -> None:
    r = hall.client("duty").post("/api/v1/windows/5/open-temporary", {"businesses": ["B", "B", "C", "B"],
                                                                        "reason": "转移登记排队超过40人"})
    assert r.status_code == 200
    assert r.json()["decision"]["businesses"] == ["B", "C"]
    assert r.json()["decision"]["serves"].count("B") == 1


@pytest.mark.parametrize(("path", "body", "code"), [
    ("/api/v1/fees/quote", {"business": "B", "reductions": {}}, "BAD_REQUEST"),
    ("/api/v1/fees/quote", {"business": "B", "reductions": "small_micro"}, "BAD_REQUEST"),
    ("/api/v1/tickets", {"business": "B", "identity": {**person(5), "name": {}}}, "NAME_INVALID"),
    ("/api/v1/tickets", {"business": "B", "identity": {**person(6), "name": []}}, "NAME_INVALID"),
])
def test_objects_where_text_or_lists_belong_are_refused(hall: HallProcess, path: str, body: dict[str, object],
                                                        code: str) -> None:
    r = hall.client("kiosk-1").post(path, body)
    assert r.status_code == 422 and error_code(r) == code


def test_fee_quotes_are_for_kiosks_as_the_contract_says(hall: HallProcess) -> None:
    body = {"business": "B", "property_kind": "residential", "certificates": 1}
    assert hall.client("kiosk-1").post("/api/v1/fees/quote", body).status_code == 200
    for role in ("window-2", "duty", "board"):
        r = hall.client(role).post("/api/v1/fees/quote", body)
        assert r.status_code == 403 and error_code(r) == "FORBIDDEN"


def test_an_oversized_body_is_refused_without_reading_it_all(hall: HallProcess) -> None:
    """A 100 MB body used to be read whole and then refused with 422: now 413 as soon as it is announced."""
    with socket.create_connection(("127.0.0.1", hall.port), timeout=10) as s:
        s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + hall.tokens["kiosk-1"].encode()
                  + b"\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n" + b"{" * 1000)
        reply = s.recv(65536).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413")
    assert '"code":"BODY_TOO_LARGE"' in reply


def test_health_answers_while_slow_clients_dribble_headers(hall: HallProcess) -> None:
    slow = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", hall.port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and then nothing more, ever
            slow.append(s)
        t0 = time.monotonic()
        r = requests.get(hall.url + "/health", timeout=10)
        assert r.status_code == 200 and time.monotonic() - t0 < 5
        # the hall does not wait for them for ever: after the header timeout (2 s here) they are closed
        slow[0].settimeout(15)
        assert slow[0].recv(100) == b""
        assert time.monotonic() - t0 < 15
    finally:
        for s in slow:
            s.close()
