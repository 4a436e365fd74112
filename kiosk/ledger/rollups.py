"""The indicators supervisors act on, kept at ingest: what a batch adds to each hall's day, window, clerk and
business, and to its wait histogram, summed in memory and written once per key in the batch's own
transaction, so that a page reads a few thousand rollup rows instead of a year of ratings.

A rating counts by the state it is in now: an overturned appeal (申诉成立) takes it out of the rated, the
bad and the follow-up counts and into ``overturned``; a follow-up closed by its deadline is on time, after
it late. Any change to a rating is written as the difference between what it counted before and after, so
the order in which a batch brings a rating, its follow-up and its appeal does not matter.

Ticket holders seen more than once a day (the scalper patterns across halls) cannot be summed per hall: a
batch marks the days it brought tickets for, and :func:`refresh_holder_flags` recounts those days when a
supervisor looks, so no two halls' batches ever wait on one shared row.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.ledger.db import LedgerDB

UNIT = ("services", "rated", "level_sum", "bad", "ontime", "late", "overturned")
CALLS = ("called", "wait_tenths", "over60")
LONG_WAIT_MIN = 60  # the share of waits of an hour or more is what a citizen feels (the histogram splits there too)
Vector = tuple[int, int, int, int, int, int, int]
ZERO: Vector = (0, 0, 0, 0, 0, 0, 0)


# The wait histogram's buckets by their lower edge in minutes: one minute wide up to ten, then wider as waits
# grow (no bucket wider than a sixth of its start, up to eight hours; everything longer in the last). A hall's day
# of one business is one row with a column per bucket, so a month of a province is read as 22,000 rows, not a
# million; p50 and p90 are interpolated within a bucket. 60 is an edge: the share of an hour or more is exact.
WAIT_EDGES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 100,
              110, 120, 140, 160, 180, 210, 240, 300, 360, 420, 480)
WAIT_COLUMNS = tuple(f"w{i}" for i in range(len(WAIT_EDGES)))
WAIT_COLUMNS_SQL = ", ".join(f"{c} BIGINT NOT NULL" for c in WAIT_COLUMNS)


def bucket(minutes: float) -> int:
    """The index of the bucket a wait falls in."""
    return max(0, bisect.bisect_right(WAIT_EDGES, max(0.0, minutes)) - 1)


def bucket_width(index: int) -> int:
    """A bucket's width in minutes (the last, open-ended one is given an hour for interpolation)."""
    return WAIT_EDGES[index + 1] - WAIT_EDGES[index] if index + 1 < len(WAIT_EDGES) else 60


def rating_vector(level: int, bad: int, followup: str | None, on_time: bool | None, appeal: str | None) -> Vector:
    """What one rating adds to its unit's row, in the order of UNIT."""
    if appeal == "overturned":
        return (0, 0, 0, 0, 0, 0, 1)
    closed = bool(bad) and followup == "closed"
    return (0, 1, int(level), int(bool(bad)), int(closed and bool(on_time)), int(closed and not on_time), 0)


def closed_on_time(closed_at: str | None, deadline: str | None) -> bool | None:
    """A follow-up closed on or before its deadline's day (both in the hall's local time); None while open."""
    if not closed_at:
        return None
    return deadline is None or closed_at[:10] <= deadline


def unit_key(day: str, window: int | None, clerk: str | None, business: str | None) -> tuple[str, int, str, str]:
    """Primary keys hold no NULL: an unknown window is -1, an unknown clerk or business is ''."""
    return (day, -1 if window is None else window, clerk or "", business or "")


def week_of(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Tally:
    """One batch's additions to the rollups (and the days it brought ticket holders for)."""

    units: dict[tuple[str, int, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * 7))
    calls: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    waits: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0] * len(WAIT_EDGES)))
    issue_days: set[str] = field(default_factory=set)

    def service(self, day: str, window: int | None, clerk: str | None, business: str | None) -> None:
        self.units[unit_key(day, window, clerk, business)][0] += 1

    def called(self, day: str, business: str | None, minutes: float) -> None:
        row = self.calls[day]
        row[0] += 1
        row[1] += round(minutes * 10)
        row[2] += int(minutes >= LONG_WAIT_MIN)
        self.waits[(day, business or "")][bucket(minutes)] += 1

    def rating(self, key: tuple[str, int, str, str], before: Vector, after: Vector) -> None:
        if before != after:
            row = self.units[key]
            for i in range(7):
                row[i] += after[i] - before[i]

    def issued(self, day: str) -> None:
        self.issue_days.add(day)

    def write(self, db: LedgerDB, conn: Any, hall: str, seq: int) -> None:
        """Every key once, added to what is stored: an upsert per table, all in the ingest's pipeline."""
        days: dict[str, list[int]] = defaultdict(lambda: [0] * 10)
        for (day, *_rest), v in self.units.items():
            days[day][:7] = [a + b for a, b in zip(days[day][:7], v, strict=True)]
        for day, c in self.calls.items():
            days[day][7:] = [a + b for a, b in zip(days[day][7:], c, strict=True)]
        upsert(db, conn, "roll_units", ("day", "hall", "win", "clerk", "business"), UNIT,
               [(k[0], hall, k[1], k[2], k[3], *v) for k, v in self.units.items() if any(v)])
        upsert(db, conn, "roll_days", ("day", "hall"), (*UNIT, *CALLS),
               [(d, hall, *v) for d, v in days.items() if any(v)], extra={"week": week_of, "month": lambda d: d[:7]})
        upsert(db, conn, "roll_waits", ("day", "hall", "business"), WAIT_COLUMNS,
               [(d, hall, b, *counts) for (d, b), counts in self.waits.items()])
        if self.issue_days:
            db.executemany(conn, "INSERT INTO issue_marks (day, hall, seq) VALUES (?,?,?) ON CONFLICT (day, hall) "
                                 "DO UPDATE SET seq=excluded.seq", [(d, hall, seq) for d in sorted(self.issue_days)])


def upsert(db: LedgerDB, conn: Any, table: str, keys: Sequence[str], sums: Sequence[str], rows: list[tuple[Any, ...]],
           extra: dict[str, Any] | None = None) -> None:
    """Add ``rows`` (keys then sums) to ``table``; ``extra`` columns are derived from the first key when a row
    is new (a day's week and month)."""
    if not rows:
        return
    extra = extra or {}
    columns = [*keys, *extra, *sums]
    rows = [(*r[:len(keys)], *(f(r[0]) for f in extra.values()), *r[len(keys):]) for r in rows]
    added = ", ".join(f"{s}={table}.{s}+excluded.{s}" for s in sums)
    db.executemany(conn, (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))}) "
                                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"), rows)


def rating_row(db: LedgerDB, conn: Any, hall: str, day: str, number: str) -> tuple[tuple[str, int, str, str], Vector,
                                                                                      dict[str, Any]] | None:
    """A stored rating's unit key, what it counts now, and its fields (for the state after a change)."""
    row = db.execute(conn, "SELECT win, clerk_id, business, level, bad, followup, closed_at, deadline, appeal FROM "
                           "ratings WHERE hall=? AND day=? AND number=?", (hall, day, number)).fetchone()
    if row is None:
        return None
    fields = dict(zip(("win", "clerk_id", "business", "level", "bad", "followup", "closed_at", "deadline", "appeal"),
                      row, strict=True))
    return unit_key(day, row[0], row[1], row[2]), vector_of(fields), fields


def vector_of(f: dict[str, Any]) -> Vector:
    return rating_vector(f["level"], f["bad"], f["followup"], closed_on_time(f["closed_at"], f["deadline"]), f["appeal"])


# -- holder patterns across halls, refreshed from marked days ---------------------------------------------------
def refresh_holder_flags(db: LedgerDB) -> int:
    """Recount the ticket holders of every day a batch has brought tickets for since the last count; returns the
    number of days recounted. A mark is cleared only if no batch moved it meanwhile (its seq is unchanged), so a
    day that keeps receiving tickets is simply recounted next time."""
    marks = db.all("SELECT day, hall, seq FROM issue_marks ORDER BY day")
    by_day: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for day, hall, seq in marks:
        by_day[str(day)].append((str(hall), int(seq)))
    for day, seen in by_day.items():
        with db.transaction() as conn:
            if db.kind == "postgres":
                conn.execute("SELECT pg_advisory_xact_lock(87001)")  # one recount at a time
            db.execute(conn, "DELETE FROM holder_flags WHERE day=?", (day,))
            db.execute(conn, "INSERT INTO holder_flags (day, holder, hall, tickets, agent_tickets, principals) "
                             "SELECT day, holder, hall, COUNT(*), SUM(agent), SUM(principals) FROM issues WHERE day=? AND "
                             "holder IN (SELECT holder FROM issues WHERE day=? GROUP BY holder HAVING COUNT(*) >= 2 OR "
                             "SUM(principals) >= 2) GROUP BY day, holder, hall", (day, day))
            db.executemany(conn, "DELETE FROM issue_marks WHERE day=? AND hall=? AND seq=?",
                           [(day, hall, seq) for hall, seq in seen])
    return len(by_day)


def stored(db: LedgerDB, hall: str) -> dict[str, set[tuple[Any, ...]]]:
    """A hall's rollup rows without the all-zero ones, for comparing two ways of reaching them."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    for table, keys, sums in (("roll_units", ("day", "win", "clerk", "business"), UNIT),
                              ("roll_days", ("day", "week", "month"), (*UNIT, *CALLS)),
                              ("roll_waits", ("day", "business"), WAIT_COLUMNS)):
        rows = db.all(f"SELECT {', '.join((*keys, *sums))} FROM {table} WHERE hall=?", (hall,))
        out[table] = {tuple(r) for r in rows if any(r[len(keys):])}
    return out
