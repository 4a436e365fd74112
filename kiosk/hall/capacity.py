"""The day's shape: which windows serve what today (with the duty desk's decisions), how long the hall stays
open, and a ticket as the hall shows it, with its wait (kiosk/hall/wait_facts.py)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

from kiosk.domain import codes, waits
from kiosk.domain.errors import fail
from kiosk.hall import wait_facts
from kiosk.hall.context import WAITING, HallContext
from kiosk.store.db import Tx


def waiting_counts(ctx: HallContext, conn: sqlite3.Connection, day: str, code: str) -> tuple[int, int]:
    """(normal, priority) tickets waiting in one business, as the store's triggers keep them."""
    counts = [0, 0]
    for r in conn.execute("SELECT prio, n FROM waiting WHERE day=? AND business=?", (day, code)):
        counts[int(r[0])] = int(r[1])
    return counts[0], counts[1]


def ticket_view(ctx: HallContext, conn: sqlite3.Connection, row: wait_facts.TicketRow, now: datetime,
                estimate: tuple[int, waits.Estimate] | None = None) -> dict[str, Any]:
    """``estimate`` is (people ahead, the estimate) when the caller already has them (issuing: the same
    figure that decided on the booking offer)."""
    business = ctx.config.business(row["business"])
    if row["state"] in WAITING and business is not None:
        return shown(ctx, row, wait_facts.wait_view(ctx, *(estimate or wait_facts.wait_of(ctx, conn, row, now))))
    return shown(ctx, row, {"ahead": 0, "position": None, "expected_wait_min": 0, "expected_wait_range_min": [0, 0],
                           "expected_today": True})


def shown(ctx: HallContext, row: wait_facts.TicketRow, wait: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the hall shows it, with its wait (wait_facts.wait_view) already made."""
    business = ctx.config.business(row["business"])
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
        "qr": ticket_qr(ctx, row["day"], row["number"]),
    }


def ticket_qr(ctx: HallContext, day: str, number: str) -> str:
    """The slip's QR: the signed code, inside the queue page's address when the hall has a public one."""
    code = codes.ticket_qr(ctx.code_key, ctx.config.hall_id, date.fromisoformat(day), number)
    return codes.follow_url(ctx.config.public_url, code) if ctx.config.public_url else code


def view_of(ctx: HallContext, tx: Tx, ticket_id: int | None, now: datetime,
            estimate: tuple[int, waits.Estimate] | None = None) -> dict[str, Any]:
    """A ticket as it now stands, after a change: the one reload-and-build-its-view every operation ends with."""
    row = tx.one("SELECT * FROM tickets WHERE id=?", (ticket_id,))
    assert row is not None
    return ticket_view(ctx, tx.conn, row, now, estimate)


def todays_code(ctx: HallContext, now: datetime, scanned: object) -> codes.TicketCode:
    """A slip's signed code, if it is this hall's and today's: an earlier day's ticket is spent."""
    code = codes.read_ticket_qr(ctx.code_key, ctx.config.hall_id, scanned)
    if code.day != ctx.day(now):
        raise codes.qr_invalid("这是以前日期的小票，已失效", "the ticket is from an earlier day", "expired")
    return code


def scanned_ticket(ctx: HallContext, now: datetime, scanned: object) -> tuple[sqlite3.Connection, sqlite3.Row]:
    """The ticket a scanned slip stands for (a reader and its row), or QR_INVALID saying why not."""
    code = todays_code(ctx, now, scanned)
    conn = ctx.store.reader()
    row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                       (code.day.isoformat(), code.number)).fetchone()
    if row is None:
        raise codes.qr_invalid("查无此票", "no such ticket", "unknown")
    return conn, row


def _ticket_row(ctx: HallContext, conn: sqlite3.Connection, day: str, number: object) -> sqlite3.Row:
    row: sqlite3.Row | None = None
    if isinstance(number, str) and len(number) <= 12:
        row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                           (day, number.strip().upper())).fetchone()
    if row is None:
        raise fail("TICKET_NOT_FOUND")
    return row


