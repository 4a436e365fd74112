"""A keypad press is never lost: kill -9 the window PC's rating process between the press and the store,
and after a restart the rating is stored exactly once (issue: the press was acknowledged before it was
stored, and kept only in memory)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from drivers.keypad.simulator import KeypadBusSimulator
from tests.helpers import ROOT, HallProcess, person


def start_child(hall: HallProcess, state: Path, pty: str, *ticket: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.relay_child", hall.url, hall.tokens["window-2"], str(state),
                             pty, *ticket], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def wait_line(proc: subprocess.Popen[str], wanted: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:  # bounded by the child: it prints as soon as the press is on disk
        if line.strip() == wanted:
            return
    raise AssertionError(f"the child ended without {wanted!r}")


def ratings_of(hall: HallProcess, number: str) -> list[dict[str, object]]:
    events = hall.client("duty").get("/api/v1/events?after=0&limit=1000").json()["events"]
    return [e for e in events if e["type"] == "rating.recorded" and e["payload"]["number"] == number]


def test_kill_9_between_press_and_store_loses_nothing_and_counts_once(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "hall")
    for role, name in (("kiosk", "kiosk-1"), ("counter", "window-2"), ("supervisor", "duty")):
        hall.enroll(role, name)
    assert hall.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    hall.start()
    number = hall.client("kiosk-1").post("/api/v1/tickets", {"business": "B", "identity": person(1)}).json()["ticket"][
        "number"]
    session = hall.client("window-2").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"}).json()[
        "session"]
    clerk = hall.client("window-2", session)
    assert clerk.post("/api/v1/windows/2/call-next").status_code == 200
    assert clerk.post("/api/v1/windows/2/finish", {"accepted": False}).status_code == 200
    hall.stop()  # the hall cannot be reached when the citizen presses

    state = tmp_path / "window-pc"
    with KeypadBusSimulator([1]) as sim:
        child = start_child(hall, state, sim.path, number)
        deadline = time.monotonic() + 20
        while sim.keypad(1).mode.name != "PLEASE_RATE" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.press(1, 2)
        wait_line(child, f"pending {number}")
        child.send_signal(signal.SIGKILL)  # the window PC dies before the hall has the rating
        child.wait(10)
        assert list(sim.keypad(1).queue) == [(1, 2)]  # not acknowledged: the keypad still holds the press

        hall.start()
        child = start_child(hall, state, sim.path)
        try:
            wait_line(child, f"stored {number}")
            deadline = time.monotonic() + 20
            while sim.keypad(1).queue and time.monotonic() < deadline:
                time.sleep(0.02)
            assert list(sim.keypad(1).queue) == []  # acknowledged once the hall had it
        finally:
            child.kill()
            child.wait(10)
    stored = ratings_of(hall, number)
    hall.stop()
    assert len(stored) == 1 and stored[0]["payload"]["level"] == 2


def test_a_press_rates_the_ticket_the_keypad_was_last_armed_for(tmp_path: Path) -> None:
    """Arming the keypad again ends an earlier ask that got no press; a press seen again after a restart
    is the same rating; a press nobody asked for is not a rating. (A fake transport stands in for the hall.)"""
    from kiosk.ui.client import HallClient
    from kiosk.ui.rating_relay import RatingRelay

    sent: list[dict[str, object]] = []
    acked: list[tuple[int, int]] = []

    def hall(method: str, path: str, body: dict[str, object] | None, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
        assert body is not None and headers["Idempotency-Key"] == f"keypad-rating-{body['ticket']}"
        sent.append(body)
        return 201, {"rating": {}}

    relay = RatingRelay(tmp_path / "r.db", HallClient(hall, "t"), lambda a, s: acked.append((a, s)))
    relay.asked(1, "B001")  # the citizen walked away: the keypad timed out unnoticed
    relay.asked(1, "B002")
    pending = relay.pressed(1, 7, 4)
    assert pending is not None and pending.ticket == "B002"
    assert relay.pressed(1, 7, 4) == pending  # the same press shown again: the same row
    assert relay.deliver(pending)[0] == "stored" and acked == [(1, 7)]
    assert [b["ticket"] for b in sent] == ["B002"]
    assert relay.unsent() == []
    assert relay.pressed(1, 8, 5) is None  # nobody asked
    relay.close()
