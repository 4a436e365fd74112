"""A keypad press on its way to the hall: written to disk on the window PC first, acknowledged to the
keypad only when the hall has answered (stored, or RATING_EXISTS).

The order matters (docs/keypad-protocol.md: "the host stores a press, then acknowledges it"). If the
window PC dies between the press and the store, two things keep the citizen's rating: the row in
this small SQLite file, and the press still latched in the keypad, which shows it again after a
restart. The Idempotency-Key (one per ticket) makes a retry after a lost answer harmless.

No Kivy here: the counter app calls this from its worker thread, and tests drive it as a process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.ui.client import HallClient, HallUnreachable, Reply

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
        body: dict[str, Any] = {"ticket": p.ticket, "level": p.level, "source": "keypad"}
        pressed = self.pressed_at(p)
        if pressed is not None:
            body["pressed_at"] = pressed
        try:
            reply = self.client.post("/api/v1/ratings", body, idempotency_key=f"keypad-rating-{p.ticket}")
        except HallUnreachable:
            return "retry", None
        if reply.status >= 500:
            return "retry", reply
        state = "stored" if reply.ok or reply.error.get("code") == "RATING_EXISTS" else "refused"
        with self._lock:
            self._db.execute("UPDATE asks SET state=? WHERE id=?", (state, p.id))
        self.acknowledge(p.address, p.seq)
        return state, reply
