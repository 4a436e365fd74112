"""The indicators that move, read from the rollups: per hall, region, window or clerk for a period — services,
差评 per 10,000 services, bad-rating follow-ups on time and overdue, 整改率 and 回访率, 办不成事 opened, closed and
the median days to close, overturned appeals, and the average score last; waits (issued → called) as p50/p90
and the share of an hour or more; weekly and monthly series for the trends.

Definitions (the hall closes a follow-up in one step that records the check, the rectification and the call
back to the citizen, ``followup.closed``):
- 每万件差评: bad ratings (不满意, 非常不满意) that stand, per 10,000 services finished;
- 按期 / 逾期: follow-ups closed by their deadline / closed after it or still open past it;
- 整改率: bad ratings whose follow-up is closed, of all bad ratings that stand;
- 回访率: bad ratings called back (closed) by their deadline, of all bad ratings that stand;
- an overturned appeal takes a rating out of all of these and is counted on its own.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.ledger.db import LedgerDB
from kiosk.ledger.rollups import CALLS, UNIT, WAIT_COLUMNS, WAIT_EDGES, bucket_width, week_of
from kiosk.ledger.service import Viewer

GROUPINGS = {"hall": "大厅", "region": "地区", "window": "窗口", "clerk": "工作人员"}


@dataclass
class Indicators:
    """One object's figures for a period."""

    key: tuple[Any, ...]
    label: str
    hall: str | None = None  # the hall to click through to
    services: int = 0
    rated: int = 0
    level_sum: int = 0
    bad: int = 0
    ontime: int = 0
    late: int = 0
    overturned: int = 0
    open_overdue: int = 0  # still open past the deadline, as of today
    matters_opened: int | None = None  # None: not attributable (a window or clerk)
    matters_closed: int | None = None
    close_days: list[float] = field(default_factory=list)

    def add(self, values: Iterable[Any]) -> None:
        for name, value in zip(UNIT, values, strict=False):
            setattr(self, name, getattr(self, name) + int(value or 0))

    @property
    def per10k(self) -> float | None:
        return None if not self.services else 10000 * self.bad / self.services

    @property
    def overdue(self) -> int:
        return self.late + self.open_overdue

    @property
    def rectified_rate(self) -> float | None:
        return None if not self.bad else (self.ontime + self.late) / self.bad

    @property
    def callback_rate(self) -> float | None:
        return None if not self.bad else self.ontime / self.bad

    @property
    def average(self) -> float | None:
        return None if not self.rated else self.level_sum / self.rated

    @property
    def median_close_days(self) -> float | None:
        return statistics.median(self.close_days) if self.close_days else None


def next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def halls_in_scope(db: LedgerDB, viewer: Viewer, region: str | None = None) -> list[tuple[str, str, str]]:
    where, args = viewer.scope("id")
    extra, more = (" AND region LIKE ?", (region + "%",)) if region else ("", ())
    return [(str(r[0]), str(r[1]), str(r[2])) for r in
            db.all(f"SELECT id, name, region FROM halls WHERE {where}{extra} ORDER BY id", (*args, *more))]


def ranking(db: LedgerDB, viewer: Viewer, start: str, end: str, by: str, today: str,
            region: str | None = None, hall: str | None = None) -> list[Indicators]:
    """Every object of the grouping in the viewer's scope (a hall without a rating still shows, with its zeros:
    a hall that stopped syncing needs attention too)."""
    halls = halls_in_scope(db, viewer, region)
    if hall is not None:
        halls = [h for h in halls if h[0] == hall]
    names = {h[0]: h[1] for h in halls}
    regions = {h[0]: h[2] for h in halls}
    ids = list(names)
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    sums = ", ".join(f"SUM({c})" for c in UNIT)
    out: dict[tuple[Any, ...], Indicators] = {}

    def row(key: tuple[Any, ...], label: str, hall_id: str | None) -> Indicators:
        if key not in out:
            out[key] = Indicators(key, label, hall_id)
        return out[key]

    if by in ("hall", "region"):
        for h in halls:
            row((h[0],) if by == "hall" else (h[2],), h[1] if by == "hall" else (h[2] or "（未填地区）"),
                h[0] if by == "hall" else None)
        for r in db.all(f"SELECT hall, {sums} FROM roll_days WHERE day BETWEEN ? AND ? AND hall IN ({marks}) "
                        "GROUP BY hall", (start, end, *ids)):
            hall_id = str(r[0])
            out[(hall_id,) if by == "hall" else (regions[hall_id],)].add(r[1:])
    else:
        column = {"window": "win", "clerk": "clerk", "business": "business"}[by]
        for r in db.all(f"SELECT hall, {column}, {sums} FROM roll_units WHERE day BETWEEN ? AND ? AND hall IN ({marks}) "
                        f"GROUP BY hall, {column}", (start, end, *ids)):
            hall_id, unit = str(r[0]), r[1]
            row((hall_id, unit), unit_label(names[hall_id], by, unit), hall_id).add(r[2:])
    # follow-ups still open past their deadline (a few rows: the partial index holds open follow-ups only)
    for r in db.all(f"SELECT hall, win, clerk_id, business FROM ratings WHERE followup='opened' AND deadline < ? AND day "
                    f"BETWEEN ? AND ? AND (appeal IS NULL OR appeal <> 'overturned') AND hall IN ({marks})",
                    (today, start, end, *ids)):
        hall_id = str(r[0])
        key: tuple[Any, ...] = {"hall": (hall_id,), "region": (regions[hall_id],), "business": (hall_id, r[3] or ""),
               "window": (hall_id, -1 if r[1] is None else r[1]), "clerk": (hall_id, r[2] or "")}[by]
        if key not in out:
            row(key, unit_label(names[hall_id], by, key[-1]), hall_id)
        out[key].open_overdue += 1
    if by in ("hall", "region"):
        for item in out.values():
            item.matters_opened, item.matters_closed = 0, 0
        for hall_id, opened, closed in matters(db, ids, start, end):
            item = out[(hall_id,) if by == "hall" else (regions[hall_id],)]
            if start <= opened[:10] <= end:
                item.matters_opened = (item.matters_opened or 0) + 1
            if closed and start <= closed[:10] <= end:
                item.matters_closed = (item.matters_closed or 0) + 1
                item.close_days.append(days_between(opened, closed))
    return list(out.values())


def unit_label(hall_name: str, by: str, unit: Any) -> str:
    if by == "window":
        return f"{hall_name} " + ("窗口未知" if unit == -1 else f"{unit}号窗口")
    if by == "clerk":
        return f"{hall_name} " + ("工号未知" if unit == "" else f"工号{unit}")
    return str(unit)  # a business code: the page names it


def matters(db: LedgerDB, halls: list[str], start: str, end: str) -> list[tuple[str, str, str | None]]:
    """Matters opened or closed in the period: (hall, opened_at, closed_at)."""
    marks = ",".join("?" * len(halls))
    after = next_day(end)
    return [(str(r[0]), str(r[1]), r[2]) for r in db.all(
        f"SELECT hall, opened_at, closed_at FROM matters WHERE ((opened_at >= ? AND opened_at < ?) OR (closed_at >= ? "
        f"AND closed_at < ?)) AND hall IN ({marks})", (start, after, start, after, *halls))]


def days_between(opened: str, closed: str) -> float:
    """Calendar days from a report to its closing (销号), to a tenth."""
    return round((datetime.fromisoformat(closed) - datetime.fromisoformat(opened)).total_seconds() / 86400, 1)


# -- waits ---------------------------------------------------------------------------------------------------
def percentile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of a wait histogram (bucket index → count), interpolated within its bucket."""
    total = sum(histogram.values())
    if not total:
        return None
    target = q * total
    seen = 0
    for index in sorted(histogram):
        n = histogram[index]
        if n and seen + n >= target:
            return round(WAIT_EDGES[index] + bucket_width(index) * (target - seen) / n, 1)
        seen += n
    return float(WAIT_EDGES[max(histogram)])


def long_share(histogram: dict[int, int]) -> float | None:
    """The share of waits of an hour or more (60 minutes is a bucket edge)."""
    total = sum(histogram.values())
    hour = WAIT_EDGES.index(60)
    return None if not total else sum(n for index, n in histogram.items() if index >= hour) / total


def wait_histograms(db: LedgerDB, viewer: Viewer, start: str, end: str,
                    hall: str | None = None) -> dict[tuple[str, str], dict[int, int]]:
    """(hall, business) → histogram of waits from issue to call, for the period."""
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    sums = ", ".join(f"SUM({c})" for c in WAIT_COLUMNS)
    out: dict[tuple[str, str], dict[int, int]] = {}
    for r in db.all(f"SELECT hall, business, {sums} FROM roll_waits WHERE day BETWEEN ? AND ? AND {where}{extra} "
                    "GROUP BY hall, business", (start, end, *args, *more)):
        out[(str(r[0]), str(r[1]))] = {i: int(n) for i, n in enumerate(r[2:]) if n}
    return out


def wait_days(db: LedgerDB, viewer: Viewer, start: str, end: str, hall: str | None = None) -> list[tuple[str, int, float,
                                                                                                         float]]:
    """Per day: calls, mean wait in minutes, share of waits of an hour or more."""
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    rows = db.all(f"SELECT day, SUM(called), SUM(wait_tenths), SUM(over60) FROM roll_days WHERE day BETWEEN ? AND ? AND "
                  f"{where}{extra} GROUP BY day ORDER BY day", (start, end, *args, *more))
    return [(str(d), int(c), int(w) / 10 / int(c), int(o) / int(c)) for d, c, w, o in rows if c]


# -- trends --------------------------------------------------------------------------------------------------
@dataclass
class Point:
    services: int = 0
    rated: int = 0
    level_sum: int = 0
    bad: int = 0
    overturned: int = 0
    called: int = 0
    wait_tenths: int = 0
    over60: int = 0

    def add(self, values: Iterable[Any]) -> None:
        for name, value in zip(("services", "rated", "level_sum", "bad", "overturned", "called", "wait_tenths", "over60"),
                               values, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))

    def figures(self) -> dict[str, float | None]:
        return {"services": self.services,
                "per10k": round(10000 * self.bad / self.services, 1) if self.services else None,
                "average": round(self.level_sum / self.rated, 3) if self.rated else None,
                "wait": round(self.wait_tenths / 10 / self.called, 1) if self.called else None,
                "long": round(100 * self.over60 / self.called, 1) if self.called else None}


def trends(db: LedgerDB, viewer: Viewer, grain: str, start: str, end: str,
           hall: str | None = None) -> tuple[list[str], dict[str, dict[str, Point]]]:
    """(the periods in order, hall → period → point); the province is the sum of the halls in scope."""
    column = "week" if grain == "week" else "month"
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    series: dict[str, dict[str, Point]] = defaultdict(lambda: defaultdict(Point))
    fields = ("services", "rated", "level_sum", "bad", "overturned", *CALLS)
    for r in db.all(f"SELECT hall, {column}, {', '.join(f'SUM({c})' for c in fields)} FROM roll_days WHERE day BETWEEN ? "
                    f"AND ? AND {where}{extra} GROUP BY hall, {column}", (start, end, *args, *more)):
        series[str(r[0])][str(r[1])].add(r[2:])
    return every_period(grain, start, end), series


def every_period(grain: str, start: str, end: str) -> list[str]:
    """Each week (ISO, e.g. 2026-W48) or month of the range, those without data too: a gap is seen as a gap."""
    out: list[str] = []
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    while day <= last:
        label = week_of(day.isoformat()) if grain == "week" else day.isoformat()[:7]
        if not out or out[-1] != label:
            out.append(label)
        day += timedelta(days=7 if grain == "week" else 1)
    if grain == "week" and out[-1] != week_of(end):
        out.append(week_of(end))
    return out
