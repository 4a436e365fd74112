"""The citizen's rating on the window's keypad: the flow that asks for it after a finish and follows the
keypad (``RatingFlow``), and the relay that carries each press to the hall (``RatingRelay``): written to disk
on the window PC first, acknowledged to the keypad only when the hall has answered (stored, or RATING_EXISTS).
The clerk sees the rating but can neither enter nor change it (there is no control for it).

The order matters (docs/keypad-protocol.md: "the host stores a press, then acknowledges it"). If the
window PC dies between the press and the store, two things keep the citizen's rating: the row in
this small SQLite file, and the press still latched in the keypad, which shows it again after a
restart. The Idempotency-Key (one per ticket) makes a retry after a lost answer harmless.

No Kivy here: the relay runs on the counter's worker thread, the flow hears the keypad through the shell,
and tests drive the relay as a process (tests/relay_child.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.keypad import protocol as keypad_protocol
from drivers.keypad.driver import KeypadEvent, KeypadOffline, KeypadOnline, KeyPress, RatingTimedOut
from kiosk.contract.client import HallClient, HallUnreachable, Reply
from kiosk.contract.requests import CallStaff, Rate
from kiosk.domain.labels import RATING_LEVELS as LEVELS
from kiosk.domain.ratings import is_bad

if TYPE_CHECKING:
    from kiosk.ui.counter.flows.shell import Desk

SCHEMA = """
CREATE TABLE IF NOT EXISTS asks (
    id INTEGER PRIMARY KEY, address INTEGER NOT NULL, ticket TEXT NOT NULL, asked_at REAL NOT NULL,
    seq INTEGER, level INTEGER, pressed_at REAL, state TEXT NOT NULL DEFAULT 'asked', finished_at TEXT
);
CREATE INDEX IF NOT EXISTS asks_address ON asks (address, state, id);
"""
# finished_at: the hall's time of the finish (from its answer); the press is sent as that time plus the seconds
# this PC counted from the ask to the press, so that the hall judges it by when it was made, in its own time,
# whatever this PC's clock says and however long the press waited here
# asked → pressed (on disk, not yet in the hall) → stored | refused (final; the keypad is acknowledged)
#       → expired (the rating timed out without a press)
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Pending:
    id: int
    address: int
    ticket: str
    seq: int
    level: int
    state: str


class RatingRelay:
    def __init__(self, path: Path, client: HallClient, acknowledge: Callable[[int, int], None],
                 clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a press written here survives a power cut
        self._db.executescript(SCHEMA)
        if "finished_at" not in {r[1] for r in self._db.execute("PRAGMA table_info(asks)")}:
            self._db.execute("ALTER TABLE asks ADD COLUMN finished_at TEXT")  # a file from before press times
        self._lock = threading.Lock()
        self.client = client
        self.acknowledge = acknowledge
        self.clock = clock
        with self._lock:
            self._db.execute("DELETE FROM asks WHERE state IN ('stored','refused','expired') AND asked_at < ?",
                             (clock() - KEEP_SECONDS,))

    def close(self) -> None:
        self._db.close()

    def asked(self, address: int, ticket: str, finished_at: str | None = None) -> None:
        """Before the keypad is told to ask: the press that comes next belongs to this ticket. Arming the keypad
        again ends any earlier ask that got no press (the keypad takes one press per please-rate).
        ``finished_at``: the hall's time of the finish, as its answer gave it."""
        with self._lock:
            self._db.execute("UPDATE asks SET state='expired' WHERE address=? AND state='asked'", (address,))
            self._db.execute("INSERT INTO asks (address, ticket, asked_at, finished_at) VALUES (?,?,?,?)",
                             (address, ticket, self.clock(), finished_at))

    def timed_out(self, address: int) -> None:
        with self._lock:
            self._db.execute("UPDATE asks SET state='expired' WHERE id = (SELECT MIN(id) FROM asks WHERE address=? "
                             "AND state='asked')", (address,))

    def pressed(self, address: int, seq: int, level: int) -> Pending | None:
        """Bind a press to the ticket it rates, on disk. None: nobody was asked (the press is acknowledged
        and dropped). A press seen again after a restart is the same row, not a second rating."""
        with self._lock:
            row = self._db.execute("SELECT id, address, ticket, seq, level, state FROM asks WHERE address=? AND seq=? "
                                   "AND state IN ('pressed','stored','refused') ORDER BY id DESC LIMIT 1",
                                   (address, seq)).fetchone()
            newer_ask = self._db.execute("SELECT MIN(id) FROM asks WHERE address=? AND state='asked'",
                                         (address,)).fetchone()[0]
            if row is not None and (row[5] == "pressed" or newer_ask is None or newer_ask < row[0]):
                return Pending(*row)
            if newer_ask is None:
                return None
            self._db.execute("UPDATE asks SET seq=?, level=?, pressed_at=?, state='pressed' WHERE id=?",
                             (seq, level, self.clock(), newer_ask))
            found = self._db.execute("SELECT id, address, ticket, seq, level, state FROM asks WHERE id=?",
                                     (newer_ask,)).fetchone()
        return Pending(*found)

    def pressed_at(self, p: Pending) -> str | None:
        """The press in the hall's time: the finish the hall reported, plus what this PC counted since."""
        with self._lock:
            row = self._db.execute("SELECT finished_at, pressed_at - asked_at FROM asks WHERE id=?", (p.id,)).fetchone()
        if row is None or not row[0] or row[1] is None:
            return None
        finished = datetime.fromisoformat(row[0])
        return (finished + timedelta(seconds=max(0.0, float(row[1])))).isoformat(timespec="milliseconds")

    def unsent(self) -> list[Pending]:
        with self._lock:
            rows = self._db.execute("SELECT id, address, ticket, seq, level, state FROM asks WHERE state='pressed' "
                                    "ORDER BY id").fetchall()
        return [Pending(*r) for r in rows]

    def deliver(self, p: Pending) -> tuple[str, Reply | None]:
        """Send one press to the hall. ``stored``/``refused`` are final (the keypad is acknowledged);
        ``retry`` means the hall could not be reached and the press waits on disk."""
        if p.state in ("stored", "refused"):
            self.acknowledge(p.address, p.seq)  # stored before a restart; the acknowledgement was lost
            return p.state, None
        rate = Rate(ticket=p.ticket, level=p.level, source="keypad", pressed_at=self.pressed_at(p))
        try:
            reply = self.client.send(rate, idempotency_key=f"keypad-rating-{p.ticket}")
        except HallUnreachable:
            return "retry", None
        if reply.status >= 500:
            return "retry", reply
        state = "stored" if reply.ok or reply.error.get("code") == "RATING_EXISTS" else "refused"
        with self._lock:
            self._db.execute("UPDATE asks SET state=? WHERE id=?", (state, p.id))
        self.acknowledge(p.address, p.seq)
        return state, reply


class RatingFlow:
    """After a finish the keypad asks the citizen; each press goes through the relay, and what the hall made of
    it is said on the desk. Without a keypad (none, or offline) the citizen is sent to a kiosk to rate, and
    staff are called to the keypad."""

    def __init__(self, desk: Desk, relay: RatingRelay) -> None:
        self.desk = desk
        self.relay = relay
        keypad = desk.devices.keypad
        self.address = keypad.addresses[0] if keypad is not None else None
        self.online = keypad is not None
        self.asking: dict[str, Any] = {}  # the rating the keypad was asked for

    def start(self) -> None:
        """Ratings pressed before a restart and not yet in the hall go now."""
        for pending in self.relay.unsent():
            self.store(pending, time.monotonic())

    def reset(self) -> None:
        self.asking = {}

    def clerk_number(self) -> int:
        """The clerk's id as the keypad shows it (a number up to 65535; otherwise 0)."""
        clerk_id = self.desk.clerk.get("id", "")
        return int(clerk_id) if clerk_id.isdigit() and int(clerk_id) < 65536 else 0

    # -- what the keypad shows between ratings ---------------------------------------------------------
    def welcome(self) -> None:
        keypad = self.desk.devices.keypad
        if keypad is not None and self.address is not None:
            keypad.welcome(self.address, self.desk.clerk.get("name", ""), self.clerk_number(), self.desk.window)

    def paused(self) -> None:
        keypad = self.desk.devices.keypad
        if keypad is not None and self.address is not None:
            keypad.set_mode(self.address, keypad_protocol.Mode.PAUSED)

    def idle(self) -> None:
        keypad = self.desk.devices.keypad
        if keypad is not None and self.address is not None:
            keypad.set_mode(self.address, keypad_protocol.Mode.IDLE)

    # -- the rating ------------------------------------------------------------------------------------
    def finished(self, reply: Reply) -> None:
        """The hall finished the service: the keypad asks the citizen (the hall's answer names the ticket)."""
        request = reply.body["rating_request"]
        case = reply.body.get("case")
        case_text = f"办件编号 {case['number']}，法定办结期限 {case['due_date']}。" if case else ""
        self.asking = {"ticket": request["ticket"], "asked": time.monotonic()}
        keypad = self.desk.devices.keypad
        if keypad is None or self.address is None or not self.online:
            self.keypad_down(case_text)
            return
        # before the keypad asks: the press is this ticket's, timed from the hall's finish
        self.relay.asked(self.address, request["ticket"], request.get("finished_at"))
        keypad.please_rate(self.address, request["clerk_name"], self.clerk_number(), self.desk.window)
        self.desk.back(f"{request['ticket']} 已办结。{case_text}请群众在评价器上评价……")

    def keypad_down(self, before: str = "") -> None:
        self.desk.back(f"{before}评价器离线：请引导群众到自助机“服务评价”扫码评价；已通知技术人员检修评价器。", bad=True)
        self.call_staff()

    def call_staff(self) -> None:
        self.desk.background(lambda: self.desk.client.send(CallStaff(screen="keypad")), lambda _f: None)

    def keypad_event(self, event: KeypadEvent) -> None:
        """On the UI thread: what the keypad reported."""
        if event.address != self.address:
            return
        if isinstance(event, KeyPress):
            pending = self.relay.pressed(event.address, event.seq, event.level)
            self.asking = {}
            if pending is None:  # nobody was asked to rate: not a rating, drop it from the keypad
                if self.desk.devices.keypad is not None:
                    self.desk.devices.keypad.acknowledge(event.address, event.seq)
                return
            self.store(pending, time.monotonic())
        elif isinstance(event, RatingTimedOut):
            self.relay.timed_out(event.address)
            if self.asking:
                self.desk.say(f"{self.asking['ticket']} 群众未在评价器上评价（已超时），可到自助机补评。", bad=True)
                self.asking = {}
        elif isinstance(event, KeypadOffline):
            self.online = False
            if self.asking:
                self.keypad_down()
            else:
                self.desk.say("评价器离线：已通知技术人员检修。", bad=True)
                self.call_staff()
        elif isinstance(event, KeypadOnline):
            self.online = True
            self.desk.say("评价器已恢复连接。")

    def store(self, pending: Pending, pressed: float) -> None:
        """The press is the citizen's: on disk already, it is sent until the hall has it (retried while the
        hall cannot be reached), and only then acknowledged to the keypad."""
        desk = self.desk

        def done(f: Future[Any]) -> None:
            state, reply = f.result()
            if state == "retry":
                desk.say("评价暂存本机，大厅服务恢复后自动提交。", bad=True)
                desk.later(2.0, lambda: self.store(pending, pressed))
                return
            desk.timings.took("keypad_event_to_stored_ms", pressed)
            if state == "stored":
                followup = reply.body.get("rating", {}).get("followup") if reply is not None and reply.ok else None
                extra = f"（差评，已转值班长跟进，期限 {followup['deadline']}）" if followup else ""
                desk.say(f"{pending.ticket} 群众评价：{LEVELS[pending.level]}{extra}", bad=is_bad(pending.level))
                desk.refresh()
            elif reply is not None:
                desk.say(reply.error.get("message", ""), bad=True)

        desk.background(lambda: self.relay.deliver(pending), done)
