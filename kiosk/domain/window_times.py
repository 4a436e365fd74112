"""When each window works for the queue, as a wait estimate (:mod:`kiosk.domain.waits`) needs it: the window's
facts as the hall hands them, when an open, paused or closed window is expected to work again, and the spans
the duty desk's roster takes it away. Apart from the estimate so that what a window's state means in time
(a pause comes back, a window closed mid-period does not, one closed for the break does) reads in one place.
Pure; minutes are counted from now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.working_time import INF, worked_between

PAUSE_MINUTES = 30.0    # how long a paused window is expected to stay away
GRACE_MINUTES = 10.0    # at the start of a period, windows that will open are still logging in
BREAK_MINUTES = 15.0    # a window closed this close to a period's end went for the break, and comes back


@dataclass(frozen=True)
class Window:
    number: int
    businesses: tuple[str, ...]
    state: str                          # "open", "paused" or "closed"
    worked_today: bool = False          # a clerk was logged in here earlier today
    since: datetime | None = None       # when it entered its state (paused at, closed at)
    current: str | None = None          # the business of the ticket at the window (called or being served)
    current_since: datetime | None = None
    speed: float = 1.0                  # its minutes per ticket over the hall's (learned)
    leaves_at: datetime | None = None   # the duty desk's roster: it closes for the day at this time
    away: tuple[tuple[datetime, datetime], ...] = ()  # … and the spans it is away and back (a staggered lunch)
    back_at: datetime | None = None     # paused: when it said it would be back (else PAUSE_MINUTES after pausing)


# a window's planned absences, each (from, back) in minutes from now and (from, back) in working minutes from
# now; back is INF for leaving for the day
Away = tuple[tuple[float, float, float, float], ...]


def away_spans(now: datetime, closing: datetime | None, w: Window, spans: list[tuple[float, float]],
               starts: dict[int, float | None]) -> Away:
    """When a window is away by the duty desk's roster (a staggered lunch, a shift that ends before the hall
    closes). A window found open when the roster says it is away stayed on (a clerk finishing the queue) if it
    is idle or has called someone since: that absence is not counted. One still with the citizen it called before
    its time is finishing that one and then goes, as a clerk does at the end of a shift: like a window already
    away, it is expected back at the span's end, and one leaving for the day is not expected today (a ticket only
    it serves is then told not before closing, and offered a booking, instead of a few minutes)."""
    planned: list[tuple[datetime, datetime | None]] = [(a, b) for a, b in w.away]
    if w.leaves_at is not None and (closing is None or w.leaves_at < closing):
        planned.append((w.leaves_at, None))  # leaving with the hall is no absence: it finishes the queue too
    if not planned:
        return ()
    found: list[tuple[float, float, float, float]] = []
    for a_at, b_at in sorted(planned, key=lambda span: span[0]):
        a = (a_at - now).total_seconds() / 60
        b = (b_at - now).total_seconds() / 60 if b_at is not None else INF
        if b <= 0:
            continue
        start = starts[w.number]
        if a <= 0:  # away now by the roster
            if w.state == "open" and (w.current_since is None or w.current_since >= a_at):
                continue  # it stayed (idle and still signed in, or it called someone since)
            # closed or paused, or still with the citizen it called before its time: it finishes that one and goes
            if start is not None:
                starts[w.number] = start = None if b == INF else max(start, b)
            continue
        if start is None or (b == INF and a <= start):
            starts[w.number] = None
            return ()
        found.append((a, b, worked_between(spans, 0.0, a), worked_between(spans, 0.0, b) if b < INF else INF))
    return tuple(found)


def start_of(periods: list[tuple[float, float]], w: Window, since: float | None, back: float | None,
             anyone_worked: bool) -> float | None:
    """When a window works for the queue, in minutes from now; None when it is not expected back today.
    ``periods``, ``since`` (when it entered its state) and ``back`` (when a pause said it would end) are in
    minutes from now."""
    if w.state == "open":
        return 0.0
    if w.state == "paused":  # back when it said (now, if late), else PAUSE_MINUTES after it paused
        if back is not None:
            return max(0.0, back)
        return max(0.0, since + PAUSE_MINUTES) if since is not None else 0.0
    if not periods or periods[-1][1] <= 0:
        return None  # after closing only the windows still open finish the queue
    for a, b in periods:
        if a <= 0 < b:
            if -a > GRACE_MINUTES:
                return None  # closed in the middle of opening hours: short-staffed for the rest of the day
            # the first minutes of a period: clerks are logging in
            return 0.0 if not w.worked_today or since is None or since < a else None
    nxt = min(a for a, _ in periods if a > 0)
    if not w.worked_today or since is None:
        # before anyone has worked today every window is expected; later, one that never came is not
        return nxt if not anyone_worked else None
    for a, b in periods:  # closed in a period: back after the break only if it closed for the break
        if a <= since < b:
            return nxt if b - since <= BREAK_MINUTES else None
    return nxt


def worked_away(away: Away) -> tuple[tuple[float, float], ...]:
    """The absences in working minutes from now, as the estimate's lines count them."""
    return tuple((wa, wb) for _, _, wa, wb in away)
