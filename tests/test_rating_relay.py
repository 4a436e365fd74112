"""A keypad press is never lost: the window PC's rating process writes it to its own disk, sends it to the
hall with the press's own time, and acknowledges it to the keypad only once the hall has answered. Each test
runs the relay as its own process on a real pseudo-terminal keypad (tests/relay_child.py) against a real hall.

Planted bugs these catch: a press acknowledged before the hall answered (the keypad then forgets it while the
hall has nothing); presses kept in memory instead of on disk (a restart loses them when the keypad has lost its
latch too); a press judged by its delivery time instead of its own."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.keypad.simulator import KeypadBusSimulator
from tests.helpers import ROOT, HallProcess, person

LINE_TIMEOUT = 30.0  # a child that never says what it should is a failure, not a hang


class Child:
    """tests.relay_child as a process; its lines are read on a thread so that a wait can end."""

    def __init__(self, hall: HallProcess, state: Path, pty: str, *ticket: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.relay_child", hall.url, hall.tokens["window-2"],
                                      str(state), pty, *ticket], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_line("ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("<ended>")

    def wait_line(self, wanted: str) -> None:
        deadline = time.monotonic() + LINE_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line == wanted:
                return
            if line == "<ended>":
                raise AssertionError(f"the relay ended without {wanted!r}")
        raise AssertionError(f"the relay never said {wanted!r}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + LINE_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)


def ratings_of(hall: HallProcess, number: str) -> list[dict[str, object]]:
    events = hall.client("duty").get("/api/v1/events?after=0&limit=1000").json()["events"]
    return [e for e in events if e["type"] == "rating.recorded" and e["payload"]["number"] == number]


def finished_service(tmp_path: Path) -> tuple[HallProcess, str, str]:
    """A hall whose window 2 has just finished a service; the hall is then stopped (it cannot be reached when
    the citizen presses). Returns the hall, the ticket and the hall's time of the finish."""
    hall = HallProcess(tmp_path / "hall")
    for role, name in (("kiosk", "kiosk-1"), ("counter", "window-2"), ("supervisor", "duty")):
        hall.enroll(role, name)
    assert hall.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    hall.start()
    number = hall.client("kiosk-1").post("/api/v1/tickets", {"business": "B", "identity": person(1)}).json()[
        "ticket"]["number"]
    session = hall.client("window-2").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"}).json()[
        "session"]
    clerk = hall.client("window-2", session)
    assert clerk.post("/api/v1/windows/2/call-next").status_code == 200
    request = clerk.post("/api/v1/windows/2/finish", {"accepted": False}).json()["rating_request"]
    hall.stop()
    hall.now = "2026-11-23T10:05:00+08:00"  # when it comes back its clock has run on (it restarts at --now)
    return hall, number, str(request["finished_at"])


def press_when_asked(sim: KeypadBusSimulator, level: int) -> None:
    until(lambda: sim.keypad(1).mode.name == "PLEASE_RATE")
    assert sim.press(1, level)


def test_kill_9_between_press_and_store_loses_nothing_and_counts_once(tmp_path: Path) -> None:
    hall, number, finished_at = finished_service(tmp_path)
    state = tmp_path / "window-pc"
    with KeypadBusSimulator([1]) as sim:
        child = Child(hall, state, sim.path, number, finished_at)
        press_when_asked(sim, 2)
        child.wait_line(f"pending {number}")
        child.kill()  # the window PC dies before the hall has the rating
        assert list(sim.keypad(1).queue) == [(1, 2)]  # not acknowledged: the keypad still holds the press

        hall.start()
        child = Child(hall, state, sim.path)
        try:
            child.wait_line(f"stored {number}")
            until(lambda: not sim.keypad(1).queue)  # acknowledged once the hall had it
        finally:
            child.kill()
    stored = ratings_of(hall, number)
    hall.stop()
    assert len(stored) == 1 and stored[0]["payload"]["level"] == 2


def test_the_keypad_keeps_the_press_until_the_hall_has_answered(tmp_path: Path) -> None:
    """The hall cannot be reached: delivery after delivery fails, and across whole passes of the bus after a
    failed one (any acknowledgement queued by then has reached the keypad) the keypad still holds the press.
    When the hall answers, the keypad is acknowledged."""
    hall, number, finished_at = finished_service(tmp_path)
    with KeypadBusSimulator([1]) as sim:
        child = Child(hall, tmp_path / "window-pc", sim.path, number, finished_at)
        try:
            press_when_asked(sim, 4)
            child.wait_line(f"pending {number}")
            child.wait_line(f"retry {number}")  # a delivery ended without an answer from the hall
            seen = sim.requests_seen
            until(lambda: sim.requests_seen >= seen + 3)  # a queued acknowledgement would have gone out by now
            assert list(sim.keypad(1).queue) == [(1, 4)]
            hall.start()
            child.wait_line(f"stored {number}")
            until(lambda: not sim.keypad(1).queue)
        finally:
            child.kill()
    assert [e["payload"]["level"] for e in ratings_of(hall, number)] == [4]
    hall.stop()


def test_a_press_waits_on_the_window_pcs_disk_even_when_the_keypad_has_forgotten_it(tmp_path: Path) -> None:
    """The window PC dies with the press not yet in the hall, and the keypad loses its latch (power cut on
    both): the press is on the PC's disk, and the restarted relay delivers it, counted by its own time."""
    hall, number, finished_at = finished_service(tmp_path)
    state = tmp_path / "window-pc"
    with KeypadBusSimulator([1]) as sim:
        child = Child(hall, state, sim.path, number, finished_at)
        press_when_asked(sim, 1)
        child.wait_line(f"pending {number}")
        child.kill()
        sim.keypad(1).queue.clear()  # the keypad was unplugged meanwhile: nothing latched any more
        hall.start()
        child = Child(hall, state, sim.path)
        try:
            child.wait_line(f"stored {number}")
        finally:
            child.kill()
    [stored] = ratings_of(hall, number)
    hall.stop()
    assert stored["payload"]["level"] == 1 and stored["payload"]["bad"] is True


def test_a_press_rates_the_ticket_the_keypad_was_last_armed_for(tmp_path: Path) -> None:
    """Arming the keypad again ends an earlier ask that got no press; a press seen again after a restart
    is the same rating; a press nobody asked for is not a rating; the press goes with its own time in the hall's
    clock (the finish the hall reported plus the seconds this PC counted). A fake transport stands in for the hall."""
    from kiosk.contract.client import HallClient
    from kiosk.ui.counter.flows.rating import RatingRelay

    sent: list[dict[str, object]] = []
    acked: list[tuple[int, int]] = []
    now = [1000.0]

    def hall(method: str, path: str, body: dict[str, object] | None, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
        assert body is not None and headers["Idempotency-Key"] == f"keypad-rating-{body['ticket']}"
        sent.append(body)
        return 201, {"rating": {}}

    relay = RatingRelay(tmp_path / "r.db", HallClient(hall, "t"), lambda a, s: acked.append((a, s)), lambda: now[0])
    relay.asked(1, "B001")  # the citizen walked away: the keypad timed out unnoticed
    relay.asked(1, "B002", "2026-11-23T10:00:00.000+08:00")
    now[0] += 7.5
    pending = relay.pressed(1, 7, 4)
    assert pending is not None and pending.ticket == "B002"
    assert relay.pressed(1, 7, 4) == pending  # the same press shown again: the same row
    relay.close()
    again = RatingRelay(tmp_path / "r.db", HallClient(hall, "t"), lambda a, s: acked.append((a, s)),
                        lambda: now[0] + 3600)  # restarted an hour later: the press is still on disk
    assert again.unsent() == [pending]
    assert again.deliver(pending)[0] == "stored" and acked == [(1, 7)]
    assert sent == [{"ticket": "B002", "level": 4, "source": "keypad", "pressed_at": "2026-11-23T10:00:07.500+08:00"}]
    assert again.unsent() == []
    assert again.pressed(1, 8, 5) is None  # nobody asked
    again.close()
