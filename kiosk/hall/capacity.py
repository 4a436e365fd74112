"""The day's shape: which windows serve what today (with the duty desk's decisions), how long the hall stays
open, and a ticket as the hall shows it, with its wait (kiosk/hall/waits.py)."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from kiosk.domain import codes, waits
from kiosk.domain.errors import fail
from kiosk.hall.core import WAITING
from kiosk.hall.waits import Waits
from kiosk.store.db import Tx


class Capacity(Waits):
    # -- the day's shape: configured windows and hours, plus the duty desk's decisions for a surge --
    def served_by(self, conn: sqlite3.Connection, window: int, day: str) -> tuple[str, ...]:
        return self.served_map(conn, day).get(window, ())

    def windows_serving(self, conn: sqlite3.Connection, code: str, day: str) -> list[int]:
        return [w.number for w in self.config.windows if code in self.served_by(conn, w.number, day)]

    def extended_until(self, conn: sqlite3.Connection, day: str, decisions: int | None = None) -> datetime | None:
        """Today's closing as the duty desk extended it; cached like :meth:`served_map` (``decisions``: their
        count, when the caller has just read it)."""
        if decisions is None:
            decisions = conn.execute("SELECT COUNT(*) FROM decisions WHERE day=?", (day,)).fetchone()[0]
        key = (day, decisions)
        if key in self._extended:
            return self._extended[key]
        row = conn.execute("SELECT MAX(until_epoch) FROM decisions WHERE day=? AND kind='extend_hours'",
                           (day,)).fetchone()
        until = datetime.fromtimestamp(row[0], self.config.calendar.tz) if row and row[0] else None
        self._extended = {key: until}
        return until

    def served_map(self, conn: sqlite3.Connection, day: str, decisions: int | None = None
                   ) -> dict[int, tuple[str, ...]]:
        """Which businesses each window serves today: configured, plus the duty desk's temporary decisions.
        Issuing reads it for every ticket: cached, keyed by the day and how many decisions it has, so that any
        connection (writer or reader) sees a new decision at once."""
        count = decisions if decisions is not None else conn.execute(
            "SELECT COUNT(*) FROM decisions WHERE day=?", (day,)).fetchone()[0]
        cached = self._served.get((day, count))
        if cached is not None:
            return cached
        decided: dict[int, list[str]] = defaultdict(list)
        for row in conn.execute("SELECT window, businesses FROM decisions WHERE day=? AND kind='temporary_window' "
                                "ORDER BY id", (day,)):
            decided[int(row[0])] += json.loads(row[1])
        served = {w.number: tuple(dict.fromkeys([*w.businesses, *decided.get(w.number, [])]))
                  for w in self.config.windows}
        self._served = {(day, count): served}
        return served

    def waiting_counts(self, conn: sqlite3.Connection, day: str, code: str) -> tuple[int, int]:
        """(normal, priority) tickets waiting in one business, as the store's triggers keep them."""
        counts = [0, 0]
        for r in conn.execute("SELECT prio, n FROM waiting WHERE day=? AND business=?", (day, code)):
            counts[int(r[0])] = int(r[1])
        return counts[0], counts[1]

    def ticket_view(self, conn: sqlite3.Connection, row: sqlite3.Row, now: datetime,
                    estimate: tuple[int, waits.Estimate] | None = None) -> dict[str, Any]:
        """``estimate`` is (people ahead, the estimate) when the caller already has them (issuing: the same
        figure that decided on the booking offer)."""
        business = self.config.business(row["business"])
        wait: dict[str, Any] = {"ahead": 0, "position": None, "expected_wait_min": 0, "expected_wait_range_min": [0, 0]}
        if row["state"] in WAITING and business is not None:
            wait = self.wait_view(*(estimate or self.wait_of(conn, row, now)))
        return {
            "number": row["number"],
            "business": row["business"],
            "business_name": business.name if business else row["business"],
            "holder_masked": row["holder_masked"],
            "name_masked": row["name_masked"],
            "issued_at": row["issued_at"],
            "day": row["day"],
            "channel": row["channel"],
            "priority": row["priority"],
            "state": row["state"],
            **wait,
            "window": row["target_window"] if row["state"] in WAITING else row["window"],
            "calls": row["calls"],
            "agent": bool(row["is_agent"]),
            "qr": self.ticket_qr(row["day"], row["number"]),
        }

    def ticket_qr(self, day: str, number: str) -> str:
        """The slip's QR: the signed code, inside the queue page's address when the hall has a public one."""
        code = codes.ticket_qr(self.code_key, self.config.hall_id, date.fromisoformat(day), number)
        return codes.follow_url(self.config.public_url, code) if self.config.public_url else code

    def view_of(self, tx: Tx, ticket_id: int | None, now: datetime,
                estimate: tuple[int, waits.Estimate] | None = None) -> dict[str, Any]:
        """A ticket as it now stands, after a change: the one reload-and-build-its-view every operation ends with."""
        row = tx.one("SELECT * FROM tickets WHERE id=?", (ticket_id,))
        assert row is not None
        return self.ticket_view(tx.conn, row, now, estimate)

    def todays_code(self, now: datetime, scanned: object) -> codes.TicketCode:
        """A slip's signed code, if it is this hall's and today's: an earlier day's ticket is spent."""
        code = codes.read_ticket_qr(self.code_key, self.config.hall_id, scanned)
        if code.day != self.day(now):
            raise codes.qr_invalid("这是以前日期的小票，已失效", "the ticket is from an earlier day", "expired")
        return code

    def scanned_ticket(self, now: datetime, scanned: object) -> tuple[sqlite3.Connection, sqlite3.Row]:
        """The ticket a scanned slip stands for (a reader and its row), or QR_INVALID saying why not."""
        code = self.todays_code(now, scanned)
        conn = self.store.reader()
        row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                           (code.day.isoformat(), code.number)).fetchone()
        if row is None:
            raise codes.qr_invalid("查无此票", "no such ticket", "unknown")
        return conn, row

    def _ticket_row(self, conn: sqlite3.Connection, day: str, number: object) -> sqlite3.Row:
        row: sqlite3.Row | None = None
        if isinstance(number, str) and len(number) <= 12:
            row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                               (day, number.strip().upper())).fetchone()
        if row is None:
            raise fail("TICKET_NOT_FOUND")
        return row
