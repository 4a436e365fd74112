"""The day's shape: which windows serve what today (the configured windows plus the duty desk's decisions for
a surge) and until when the hall issues. Issuing and every wait read it, so it is cached by the day and the
count of decisions: any connection (writer or reader) sees a new decision at once."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import datetime

from kiosk.hall.context import HallContext


def served_by(ctx: HallContext, conn: sqlite3.Connection, window: int, day: str) -> tuple[str, ...]:
    return served_map(ctx, conn, day).get(window, ())


def windows_serving(ctx: HallContext, conn: sqlite3.Connection, code: str, day: str) -> list[int]:
    return [w.number for w in ctx.config.windows if code in served_by(ctx, conn, w.number, day)]


def extended_until(ctx: HallContext, conn: sqlite3.Connection, day: str, decisions: int | None = None) -> datetime | None:
    """Today's closing as the duty desk extended it; cached like :meth:`served_map` (``decisions``: their
    count, when the caller has just read it)."""
    if decisions is None:
        decisions = conn.execute("SELECT COUNT(*) FROM decisions WHERE day=?", (day,)).fetchone()[0]
    key = (day, decisions)
    if key in ctx.caches.extended:
        return ctx.caches.extended[key]
    row = conn.execute("SELECT MAX(until_epoch) FROM decisions WHERE day=? AND kind='extend_hours'",
                       (day,)).fetchone()
    until = datetime.fromtimestamp(row[0], ctx.config.calendar.tz) if row and row[0] else None
    ctx.caches.extended = {key: until}
    return until


Roster = tuple[datetime | None, tuple[tuple[datetime, datetime], ...]]


def roster_map(ctx: HallContext, conn: sqlite3.Connection, day: str, decisions: int) -> dict[int, Roster]:
    """Per window, by the duty desk's roster: when it leaves for the day (the latest such decision), and the
    spans it is away and back (the latest from each time; one back at the time it leaves is cancelled).
    Cached like :meth:`served_map`."""
    key = (day, decisions)
    cached = ctx.caches.roster.get(key)
    if cached is not None:
        return cached
    tz = ctx.config.calendar.tz
    leaves: dict[int, datetime] = {}
    away: dict[int, dict[float, float]] = defaultdict(dict)
    for row in conn.execute("SELECT window, until_epoch, back_epoch FROM decisions WHERE day=? AND "
                            "kind='window_leaves' ORDER BY id", (day,)):
        if row[2] is None:
            leaves[int(row[0])] = datetime.fromtimestamp(row[1], tz)
        else:
            away[int(row[0])][row[1]] = row[2]
    found: dict[int, Roster] = {
        w: (leaves.get(w), tuple((datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz))
                                 for a, b in sorted(away.get(w, {}).items()) if b > a))
        for w in set(leaves) | set(away)}
    ctx.caches.roster = {key: found}
    return found


def served_map(ctx: HallContext, conn: sqlite3.Connection, day: str, decisions: int | None = None
               ) -> dict[int, tuple[str, ...]]:
    """Which businesses each window serves today: configured, plus the duty desk's temporary decisions.
    Issuing reads it for every ticket: cached, keyed by the day and how many decisions it has, so that any
    connection (writer or reader) sees a new decision at once."""
    count = decisions if decisions is not None else conn.execute(
        "SELECT COUNT(*) FROM decisions WHERE day=?", (day,)).fetchone()[0]
    cached = ctx.caches.served.get((day, count))
    if cached is not None:
        return cached
    decided: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute("SELECT window, businesses FROM decisions WHERE day=? AND kind='temporary_window' "
                            "ORDER BY id", (day,)):
        decided[int(row[0])] += json.loads(row[1])
    served = {w.number: tuple(dict.fromkeys([*w.businesses, *decided.get(w.number, [])]))
              for w in ctx.config.windows}
    ctx.caches.served = {(day, count): served}
    return served


