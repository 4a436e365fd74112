"""The accelerated hall clock (``kiosk hall serve --speed``): every rule that reads the clock follows it.

A hall service on real HTTP whose clock runs 600 times faster than real time; the test owns the
real-time source, so one real second is ten hall minutes and nothing depends on the machine's
pace. One test runs ``kiosk hall serve --speed`` as a real process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from kiosk.clock import HallClock
from kiosk.hall import enrolment
from kiosk.hall.api import create_app
from kiosk.hall.datadir import open_hall
from tests.helpers import TZ, HallProcess, example_config, person

SPEED = 600.0


class SteppedHall:
    """A real HTTP hall whose clock runs at SPEED over a real-time source the test advances."""

    def __init__(self, data: Path, start: datetime) -> None:
        self.real = 0.0
        self.service = open_hall(example_config(), data)
        self.clock = HallClock(TZ, start, SPEED, monotonic=lambda: self.real)
        self.tokens = {role: enrolment.enroll_device(self.service, role, f"{role}-1", start)
                       for role in ("kiosk", "counter", "supervisor")}
        enrolment.add_clerk(self.service, "7", "李四", "1234", start)
        app = create_app(self.service, self.clock, escalate_every=0)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"
        self.session: str | None = None

    def advance(self, hall_minutes: float) -> None:
        """Let ``hall_minutes`` pass on the hall clock: hall_minutes * 60 / SPEED real seconds."""
        self.real += hall_minutes * 60 / SPEED

    def post(self, role: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if self.session:
            headers["X-Clerk-Session"] = self.session
        return requests.post(self.url + path, json=body or {}, headers=headers, timeout=10)

    def hall_now(self) -> datetime:
        return datetime.fromisoformat(requests.get(self.url + "/health", timeout=10).json()["now"])

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.service.store.close()


@pytest.fixture
def stepped(tmp_path: Path) -> Iterator[SteppedHall]:
    hall = SteppedHall(tmp_path, datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    yield hall
    hall.close()


def card(i: int) -> dict[str, str]:
    return person(i, source="card")


def code(r: requests.Response) -> str:
    return str(r.json()["error"]["code"]) if r.status_code >= 400 else str(r.status_code)


def test_one_real_second_is_ten_hall_minutes() -> None:
    real = [100.0]
    clock = HallClock(TZ, datetime(2026, 11, 23, 9, 0, tzinfo=TZ), 600, monotonic=lambda: real[0])
    real[0] += 1.0
    assert clock.now() == datetime(2026, 11, 23, 9, 10, tzinfo=TZ)
    assert clock.real_seconds(600) == 1.0
    with pytest.raises(ValueError):
        HallClock(TZ, None, 0)


def test_hall_time_rules_follow_the_accelerated_clock(stepped: SteppedHall) -> None:
    # the no-show cool-down (30 hall minutes) ends after 3 real seconds
    assert stepped.post("kiosk", "/api/v1/tickets", {"business": "A", "identity": card(1)}).status_code == 201
    r = stepped.post("counter", "/api/v1/windows/1/login", {"clerk_id": "7", "pin": "1234"})
    stepped.session = r.json()["session"]
    assert stepped.post("counter", "/api/v1/windows/1/call-next").status_code == 200
    assert stepped.post("counter", "/api/v1/windows/1/no-show").status_code == 200
    stepped.advance(10)
    r = stepped.post("kiosk", "/api/v1/tickets", {"business": "B", "identity": card(1)})
    assert code(r) == "NO_SHOW_COOLDOWN" and r.json()["error"]["retry_after_min"] == 20
    stepped.advance(21)
    assert stepped.post("kiosk", "/api/v1/tickets", {"business": "B", "identity": card(1)}).status_code == 201

    # the kiosk-burst window (10 hall minutes) slides with the hall clock
    burst = stepped.service.config.limits.kiosk_burst
    assert burst is not None
    for i in range(burst.identities):
        typed = person(100 + i, source="typed")
        assert stepped.post("kiosk", "/api/v1/tickets", {"business": "D", "identity": typed}).status_code == 201
    late = person(200, source="typed")
    assert code(stepped.post("kiosk", "/api/v1/tickets", {"business": "D", "identity": late})) == "KIOSK_BURST"
    stepped.advance(burst.minutes + 1)
    assert stepped.post("kiosk", "/api/v1/tickets", {"business": "D", "identity": late}).status_code == 201

    # closing time: issuing stops at 17:30 hall time, and the next business day starts numbering again
    stepped.advance((stepped.hall_now().replace(hour=17, minute=31) - stepped.hall_now()).total_seconds() / 60)
    r = stepped.post("kiosk", "/api/v1/tickets", {"business": "A", "identity": person(300)})
    assert code(r) == "HALL_CLOSED" and r.json()["error"]["opens_at"].startswith("2026-11-24T09:00")
    # the clerk's session (12 hall hours) has run out by the next morning
    stepped.advance(16 * 60)
    assert stepped.hall_now().date().isoformat() == "2026-11-24"
    assert code(stepped.post("counter", "/api/v1/windows/1/call-next")) == "SESSION_INVALID"
    r = stepped.post("kiosk", "/api/v1/tickets", {"business": "A", "identity": person(301)})
    assert r.status_code == 201 and r.json()["ticket"]["number"] == "A001"


def test_booking_check_in_window_follows_the_accelerated_clock(stepped: SteppedHall) -> None:
    now = stepped.hall_now()
    slot = now + timedelta(minutes=60)
    r = stepped.post("supervisor", "/api/v1/appointments", {
        "business": "D", "slot_start": slot.isoformat(), "slot_end": (slot + timedelta(minutes=30)).isoformat(),
        "identity": person(5)})
    assert r.status_code == 201, r.text
    qr = r.json()["appointment"]["code"]
    r = stepped.post("kiosk", "/api/v1/appointments/check-in", {"code": qr, "identity": person(5)})
    assert r.status_code >= 400  # an hour early: outside the check-in window
    stepped.advance(40)  # 20 minutes before the slot: inside [slot-30, slot+15]
    r = stepped.post("kiosk", "/api/v1/appointments/check-in", {"code": qr, "identity": person(5)})
    assert r.status_code == 201, r.text


def test_hall_serve_speed_runs_the_clock_faster(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "data", now="2026-11-23T09:00:00+08:00")
    hall.extra_args = ["--speed", "3600"]
    hall.start()
    try:
        first = requests.get(hall.url + "/health", timeout=5).json()
        assert first["speed"] == 3600
        deadline = time.monotonic() + 30
        later = datetime.fromisoformat(first["now"])
        while later - datetime.fromisoformat(first["now"]) < timedelta(hours=1) and time.monotonic() < deadline:
            later = datetime.fromisoformat(requests.get(hall.url + "/health", timeout=5).json()["now"])
        assert later - datetime.fromisoformat(first["now"]) >= timedelta(hours=1)  # one hall hour in about a second
    finally:
        hall.stop()


def test_hall_serve_refuses_a_bad_speed(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "data")
    out = hall.cli("hall", "serve", "--speed", "-3")
    assert out.returncode == 2 and "--speed" in out.stderr
