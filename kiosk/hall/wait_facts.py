"""The facts a wait estimate needs, gathered cheaply from the store, and what the day teaches about durations.

Issuing is the hall's hot path (thousands of tickets a second in the bench), so nothing here scans the day's
tickets per request: waiting counts come from the ``waiting`` table the store's triggers keep, durations from
``service_times``/``window_services`` (a row per business, updated in the same transaction as the finish or
no-show that taught it, and read again only when their version moves), the windows from their five rows,
and the recent priority arrivals and appointments still to come at most once per hall minute. The decision
itself is :func:`kiosk.domain.waits.estimate`, pure.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.domain import arrivals, durations, waits
from kiosk.domain.ahead import Ahead, ahead_by_business
from kiosk.hall import shape
from kiosk.hall.context import HallContext, next_serial
from kiosk.store.db import Tx

VERSION = "~waits"  # the counters row bumped with every duration learned: the cache key of what was learned
ARRIVALS_WINDOW = 60.0  # minutes of recent walk-ins that say how many more will come
PAST_DAYS = 28          # calendar days back whose services are today's starting point
TicketRow = sqlite3.Row | dict[str, Any]  # a ticket's row as read, or as just written


# -- what the day teaches ------------------------------------------------------------------------------
def learn_duration(ctx: HallContext, tx: Tx, row: sqlite3.Row, wrow: sqlite3.Row, kind: str, now: datetime) -> None:
    """A called ticket is done (``served``) or its holder did not come (``no_show``): keep how long it held
    the window, in the same transaction as the change. That is from its call (recalls included), or from
    the window's previous ticket when this one was already waiting then: the minutes between two tickets
    (calling, the next holder walking over, the clerk's notes) are the window's time too, and an estimate
    that left them out would fall behind all day."""
    called = row["called_epoch"] if row["called_epoch"] is not None else (
        datetime.fromisoformat(row["called_at"]).timestamp() if row["called_at"] else None)
    if called is None:
        return
    began = max(x for x in (wrow["done_epoch"], wrow["since_epoch"], row["issued_epoch"]) if x is not None)
    window = int(wrow["number"])
    minutes = round(max(0.0, now.timestamp() - min(called, began)) / 60, 2)
    day, business = row["day"], row["business"]
    seen = tx.one("SELECT n, recent FROM service_times WHERE day=? AND business=? AND kind=?", (day, business, kind))
    recent = [*(json.loads(seen["recent"]) if seen else []), minutes][-durations.RECENT:]
    tx.execute("INSERT INTO service_times (day, business, kind, n, recent) VALUES (?,?,?,1,?) "
               "ON CONFLICT (day, business, kind) DO UPDATE SET n=n+1, recent=excluded.recent",
               (day, business, kind, json.dumps(recent)))
    if kind == "served":
        catalog = ctx.config.business(business)
        base = catalog.service_minutes if catalog else minutes
        kept = min(4 * base, max(0.25 * base, minutes))  # a window's pace is not moved by one odd case
        tx.execute("INSERT INTO window_services (day, business, window, n, minutes) VALUES (?,?,?,1,?) "
                   "ON CONFLICT (day, business, window) DO UPDATE SET n=n+1, minutes=minutes+excluded.minutes",
                   (day, business, window, kept))
    next_serial(tx, day, VERSION)


def versions(ctx: HallContext, conn: sqlite3.Connection, day: str) -> tuple[int, int, int, int]:
    """What the caches below are keyed by, in one statement of four O(1) look-ups: durations learned today,
    the duty desk's decisions, appointments booked, check-ins."""
    row = conn.execute("SELECT (SELECT last FROM counters WHERE day=?1 AND business=?2), "
                       "(SELECT COUNT(*) FROM decisions WHERE day=?1), (SELECT MAX(rowid) FROM appointments), "
                       "(SELECT MAX(rowid) FROM checkins)", (day, VERSION)).fetchone()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)


def learned(ctx: HallContext, conn: sqlite3.Connection, day: str, version: int | None = None
            ) -> tuple[dict[str, durations.Durations], dict[int, float]]:
    """Today's durations per business and each window's pace, recomputed only when a service has ended."""
    if version is None:
        version = versions(ctx, conn, day)[0]
    cached = ctx.caches.learned.get(day)
    if cached is not None and cached[0] == version:
        return cached[1], cached[2]
    seen = _seen(ctx, conn.execute("SELECT business, kind, n, recent FROM service_times WHERE day=?", (day,)))
    found = durations.learned_from(start(ctx, conn, day), seen)
    speeds = durations.window_speeds({(r["business"], int(r["window"])): (int(r["n"]), float(r["minutes"]))
                                  for r in conn.execute("SELECT * FROM window_services WHERE day=?", (day,))})
    ctx.caches.learned = {day: (version, found, speeds)}
    return found, speeds


def start(ctx: HallContext, conn: sqlite3.Connection, day: str) -> dict[str, durations.Durations]:
    """Where ``day`` starts: what the hall's earlier days (the last PAST_DAYS calendar days) taught, worked out
    once a day, since the past does not change while today runs."""
    found = ctx.caches.start.get(day)
    if found is None:
        since = (date.fromisoformat(day) - timedelta(days=PAST_DAYS)).isoformat()
        past = _seen(ctx, conn.execute("SELECT business, kind, n, recent FROM service_times WHERE day<? AND day>=? "
                                       "ORDER BY day DESC", (day, since)), durations.PAST_SAMPLES)
        found = durations.starting({b.code: b.service_minutes for b in ctx.config.businesses}, past)
        ctx.caches.start = {day: found}
    return found


def _seen(ctx: HallContext, rows: Iterable[sqlite3.Row], keep: int = durations.RECENT) -> dict[str, durations.Seen]:
    """Durations by business from ``service_times`` rows (of one day, or of several, the latest first): the
    latest ``keep`` of each kind and how many there were in all."""
    counts: dict[tuple[str, str], int] = {}
    samples: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        key = (r["business"], r["kind"])
        counts[key] = counts.get(key, 0) + int(r["n"])
        latest = samples.setdefault(key, [])
        if len(latest) < keep:  # each row's list runs oldest to latest; rows come the latest day first
            latest[:0] = [float(x) for x in json.loads(r["recent"])][-(keep - len(latest)):]
    return {b.code: durations.Seen(samples.get((b.code, "served"), []), samples.get((b.code, "no_show"), []),
                                   counts.get((b.code, "served"), 0), counts.get((b.code, "no_show"), 0))
            for b in ctx.config.businesses}


# -- the facts ------------------------------------------------------------------------------------------
def _arrivals(ctx: HallContext, conn: sqlite3.Connection, now: datetime, day: str, booked: int, checked_in: int
              ) -> tuple[dict[str, float], tuple[tuple[str, datetime], ...]]:
    """Walk-in priority tickets per minute lately, and today's appointments not yet checked in: read at most
    once per hall minute, or when an appointment is booked or checked in."""
    key = (day, int(now.timestamp() // 60), booked, checked_in)
    cached = ctx.caches.arrivals.get(key)
    if cached is not None:
        return cached
    cal = ctx.config.calendar
    periods = cal.periods(ctx.day(now))
    since = now.timestamp() - ARRIVALS_WINDOW * 60
    opened = periods[0][0].timestamp() if periods else since
    span = max(ARRIVALS_WINDOW / 2, (now.timestamp() - max(since, opened)) / 60)
    # how many walk-ins come per minute lately, hall-wide; which business they come for and how many of each
    # business's have priority, over the whole day (a handful per business in an hour is noise)
    recent = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND channel='walk_in' AND issued_epoch>=?",
                          (day, since)).fetchone()[0]
    today: dict[str, int] = {}
    prio: dict[str, int] = {}
    for r in conn.execute("SELECT business, priority IS NOT NULL, COUNT(*) FROM tickets WHERE day=? AND "
                          "channel='walk_in' GROUP BY 1, 2", (day,)):
        today[r[0]] = today.get(r[0], 0) + int(r[2])
        if r[1]:
            prio[r[0]] = prio.get(r[0], 0) + int(r[2])
    rates = arrivals.priority_per_minute(int(recent) / span, today, prio, [b.code for b in ctx.config.businesses])
    end = periods[-1][1].timestamp() if periods else now.timestamp()
    late = ctx.config.booking.checkin_late_minutes * 60
    due = tuple((r[0], datetime.fromtimestamp(r[1], cal.tz)) for r in conn.execute(
        "SELECT business, slot_start FROM appointments a WHERE slot_start>? AND slot_start<? AND NOT EXISTS "
        "(SELECT 1 FROM checkins c WHERE c.appointment_id=a.id)", (now.timestamp() - late, end)))
    ctx.caches.arrivals = {key: (rates, due)}
    return rates, due


def wait_facts(ctx: HallContext, conn: sqlite3.Connection, now: datetime) -> waits.HallFacts:
    """The hall as an estimate sees it now. The windows' facts are rebuilt only when their rows changed."""
    today = ctx.day(now)
    day = today.isoformat()
    learned_at, decisions, booked, checked_in = versions(ctx, conn, day)
    served = shape.served_map(ctx, conn, day, decisions)
    extended = shape.extended_until(ctx, conn, day, decisions) if decisions else None
    durations, speeds = learned(ctx, conn, day, learned_at)
    rows = conn.execute(
        "SELECT w.number, w.state, w.day, w.since_epoch, w.worked_day, t.business, t.called_epoch, "
        "t.called_at, t.state AS ticket_state, w.back_epoch FROM windows w LEFT JOIN tickets t ON t.id=w.current_ticket"
    ).fetchall()
    key = (day, learned_at, decisions, tuple(tuple(r) for r in rows))
    if ctx.caches.windows[0] == key:
        windows = ctx.caches.windows[1]
    else:
        roster = shape.roster_map(ctx, conn, day, decisions) if decisions else {}
        windows = _window_facts(ctx, rows, day, served, speeds, roster)
        ctx.caches.windows = (key, windows)
    periods, closing = ctx.caches.periods.get(today) or _day_periods(ctx, today)
    if extended is not None and closing is not None and extended > closing:
        closing = extended
    rates, due = _arrivals(ctx, conn, now, day, booked, checked_in)
    # an estimate in minutes is made from the hall as it stands in this second: the facts (and the frame the
    # estimator works out from them, kiosk/domain/waits.py) serve every ticket of that second while nothing
    # else changed, rather than being worked out again for each (a busy hall issues many in a second)
    second = now.replace(microsecond=0)
    parts = (periods, windows, durations, rates, due)  # each the same object while it has not changed
    (seen_at, seen_closing, seen_parts), found = ctx.caches.facts
    if found is not None and seen_at == second and seen_closing == closing and all(
            a is b for a, b in zip(seen_parts, parts, strict=True)):
        return found
    facts = waits.HallFacts(second, periods, windows, durations, rates, due, closing, ctx.config.priority.max_consecutive)
    ctx.caches.facts = ((second, closing, parts), facts)
    return facts


def _day_periods(ctx: HallContext, today: date) -> tuple[tuple[tuple[datetime, datetime], ...], datetime | None]:
    periods = tuple(ctx.config.calendar.periods(today))
    found = (periods, periods[-1][1] if periods else None)
    ctx.caches.periods = {today: found}
    return found


def _window_facts(ctx: HallContext, rows: list[sqlite3.Row], day: str, served: dict[int, tuple[str, ...]],
                  speeds: dict[int, float], roster: dict[int, shape.Roster]) -> tuple[waits.Window, ...]:
    tz = ctx.config.calendar.tz
    windows = []
    none: shape.Roster = (None, ())
    for r in rows:
        number = int(r["number"])
        if number not in served:
            continue
        today_row = r["day"] == day
        busy = today_row and r["ticket_state"] in ("called", "serving")
        called = r["called_epoch"] if r["called_epoch"] is not None else (
            datetime.fromisoformat(r["called_at"]).timestamp() if busy and r["called_at"] else None)
        leaves_at, away = roster.get(number, none)
        windows.append(waits.Window(
            number, served[number], r["state"] if today_row else "closed", r["worked_day"] == day,
            datetime.fromtimestamp(r["since_epoch"], tz) if today_row and r["since_epoch"] else None,
            r["business"] if busy else None,
            datetime.fromtimestamp(called, tz) if busy and called is not None else None,
            speeds.get(number, 1.0), leaves_at=leaves_at, away=away,
            back_at=datetime.fromtimestamp(r["back_epoch"], tz) if today_row and r["back_epoch"] else None))
    seen = {w.number for w in windows}
    for n, bs in served.items():  # a window with no row yet: closed, as configured
        if n not in seen:
            leaves_at, away = roster.get(n, none)
            windows.append(waits.Window(n, bs, "closed", speed=speeds.get(n, 1.0), leaves_at=leaves_at, away=away))
    return tuple(sorted(windows, key=lambda w: w.number))


def waiting_all(ctx: HallContext, conn: sqlite3.Connection, day: str) -> dict[str, tuple[int, int]]:
    """(normal, priority) waiting per business, as the store's triggers keep them."""
    counts: dict[str, list[int]] = {}
    for r in conn.execute("SELECT business, prio, n FROM waiting WHERE day=?", (day,)):
        counts.setdefault(r[0], [0, 0])[int(r[1])] = int(r[2])
    return {b: (c[0], c[1]) for b, c in counts.items()}


def waiting_near(ctx: HallContext, conn: sqlite3.Connection, facts: waits.HallFacts, business: str
                 ) -> dict[str, tuple[int, int]]:
    """(normal, priority) waiting in each business that shares a window with ``business``: for a ticket about
    to be issued, the newest, everyone waiting there is older."""
    if ctx.caches.near[0] is not facts.windows:  # the windows' facts are one object while nothing changes
        ctx.caches.near = (facts.windows, {})
    near = ctx.caches.near[1].get(business)
    if near is None:
        near = ctx.caches.near[1][business] = frozenset(waits.near(facts, business))
    counts: dict[str, list[int]] = {}
    for business_, prio, n in conn.execute("SELECT business, prio, n FROM waiting WHERE day=?",
                                           (ctx.day(facts.now).isoformat(),)).fetchall():
        if business_ in near:
            counts.setdefault(business_, [0, 0])[prio] = n
    return {b: (c[0], c[1]) for b, c in counts.items()}


def ahead_of(ctx: HallContext, conn: sqlite3.Connection, row: TicketRow) -> Ahead:
    """A waiting ticket's place: the tickets older than it, in every business that shares a window with it."""
    day = row["day"]
    served = shape.served_map(ctx, conn, day)
    mine = {b for bs in served.values() if row["business"] in bs for b in bs}
    near = sorted({b for bs in served.values() if mine.intersection(bs) for b in bs} | {row["business"]})
    before: dict[str, tuple[int, int]] = {}
    waiting: dict[str, tuple[int, int]] = {}
    marks = ",".join("?" * len(near))
    for r in conn.execute(
            f"SELECT business, priority IS NOT NULL AS p, SUM(id<?), COUNT(*) FROM tickets WHERE day=? AND "
            f"business IN ({marks}) AND state IN ('waiting','transferred') GROUP BY 1, 2",
            (row["id"], day, *near)):
        p = int(r[1])
        nb, pb = before.get(r[0], (0, 0))
        nw, pw = waiting.get(r[0], (0, 0))
        before[r[0]] = (nb + int(r[2] or 0), pb) if not p else (nb, pb + int(r[2] or 0))
        waiting[r[0]] = (nw + int(r[3]), pw) if not p else (nw, pw + int(r[3]))
    return ahead_by_business(row["business"], row["priority"] is not None, before, waiting,
                                   ctx.config.priority.max_consecutive)


def wait_of(ctx: HallContext, conn: sqlite3.Connection, row: TicketRow, now: datetime) -> tuple[int, waits.Estimate]:
    """(people ahead in its business, the estimate) for a waiting ticket, now. A ticket transferred to one
    window is that window's next, after the transfers to it that came before (calling order): only that
    window and those tickets stand before it."""
    facts = wait_facts(ctx, conn, now)
    if row["target_window"] is not None:
        directed = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND target_window=? AND "
                                "state IN ('waiting','transferred') AND id<?",
                                (row["day"], row["target_window"], row["id"])).fetchone()[0]
        alone = tuple(dataclasses.replace(w, businesses=(row["business"],)) for w in facts.windows
                      if w.number == row["target_window"])
        ahead = Ahead(row["business"], True, {row["business"]: float(directed)})
        return int(directed), waits.estimate(dataclasses.replace(facts, windows=alone), ahead)
    ahead = ahead_of(ctx, conn, row)
    return ahead.people, waits.estimate(facts, ahead)


def wait_view(ctx: HallContext, ahead: int, est: waits.Estimate) -> dict[str, Any]:
    return {"ahead": ahead, "position": ahead + 1, "expected_wait_min": est.minutes,
            "expected_wait_range_min": est.range, "expected_today": est.today}


