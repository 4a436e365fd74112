"""What the hall reads often and keeps between requests, in ONE object that every copy of the context shares.

A change runs with a copy of the context (``HallContext.within`` gives it the change's transaction). A cache
kept as an attribute of the context itself was set on that copy and lost with it when the change ended, so
every ticket issued recomputed the day's arrivals, durations and windows (issue 22: the bench fell from
2,000 to 150 tickets/s at 32 clients). Kept here, what one request learned serves the next, on the writer
and on the readers alike. Each entry is replaced whole (one reference assignment), never edited in place, so
a reader thread sees an old entry or a new one, never half of one (``near`` gains a business at a time).
"""

from __future__ import annotations

from datetime import date, datetime

from kiosk.domain.durations import Durations
from kiosk.domain.waits import HallFacts, Window


class Caches:
    """Each entry is keyed by what makes it stale (the day, a version, a count of decisions, the hall minute)."""

    def __init__(self) -> None:
        self.served: dict[tuple[str, int], dict[int, tuple[str, ...]]] = {}
        self.extended: dict[tuple[str, int], datetime | None] = {}
        self.roster: dict[tuple[str, int], dict[int, tuple[datetime | None, tuple[tuple[datetime, datetime], ...]]]] = {}
        self.windows: tuple[object, tuple[Window, ...]] = (None, ())
        self.near: tuple[object, dict[str, frozenset[str]]] = (None, {})
        self.periods: dict[date, tuple[tuple[tuple[datetime, datetime], ...], datetime | None]] = {}
        # what the day taught about durations (by version) and the recent arrivals (by hall minute): wait_facts.py
        self.learned: dict[str, tuple[int, dict[str, Durations], dict[int, float]]] = {}
        self.start: dict[str, dict[str, Durations]] = {}  # where the day starts, from the earlier days: by day
        self.arrivals: dict[tuple[str, int, int, int], tuple[dict[str, float], tuple[tuple[str, datetime], ...]]] = {}
        # the hall as an estimate sees it in one second: wait_facts.py
        self.facts: tuple[tuple[datetime | None, datetime | None, tuple[object, ...]], HallFacts | None] = (
            (None, None, ()), None)
        # the local day as epoch seconds [start, end): every person's history is read between them (gather.py)
        self.day_bounds: tuple[str, tuple[float, float]] = ("", (0.0, 0.0))
