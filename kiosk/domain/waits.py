"""How long a ticket will wait: one estimate and a range, the same on the slip, the screens, the phone page,
the counter and in the booking-offer decision.

A citizen decides on the wait they are shown (stay, book another day, go out and come back), so the figure
must be true on a hard day, not only on a quiet one. The hall is a set of windows, each serving some
businesses, each calling the oldest ticket of its businesses (priority first, within the interleaving rule).
A ticket T of business b is called when one of b's windows comes free and no older ticket of that window's
businesses still waits. In a fluid view, window w reaches T once the work older than T in w's businesses
is done: by w itself, and by every other window that shares some of those businesses, each helping with the
share of its own queue that lies there and never with more than that work. The windows work only in the
day's opening periods (the lunch break stops them), a paused window comes back, a closed one does not, and
after closing the windows finish the queue of those holding a ticket. Later priority tickets and
appointments that will check in pass a normal ticket and add work before it.

Each window's work is measured in minutes of the hall's learned service times
(:mod:`kiosk.domain.durations`): call to finish per business, blended with the catalog's figure while few are
seen, robust to an outlier, with no-shows counted at what they cost the window. The range comes from the
spread of those times over the tickets ahead, and a model error calibrated on drill days to hold about 8 in 10
actual waits.

No simulation: the time T is reached is where a piecewise-linear function of time (the work the windows can
do by then) crosses the work before T, at its median (as often early as late). Cheap enough to run for every
ticket issued. Time is passed in.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.domain.ahead import Ahead
from kiosk.domain.durations import DEFAULT, Durations
from kiosk.domain.window_times import Away, away_spans, start_of, worked_away
from kiosk.domain.window_times import Window as Window  # the window facts an estimate reads, kept importable here
from kiosk.domain.working_time import INF, first_reach, memo, spans_from, when, worked_at, worked_between

APPOINTMENT_SHOWS = 0.9  # share of booked appointments that check in
APPOINTMENT_EARLY = 10.0  # minutes before its slot an appointment typically checks in
MAX_FLOW = 0.5          # later priority tickets never take more than this share of the windows' time
FLOW_HORIZON = 90.0     # working minutes over which the recent rate of priority walk-ins is carried forward
# the range: the model's own error (proportional and fixed, in minutes of work) and the quantiles of the
# work's log-normal spread, calibrated on the shipped drill days (bench/wait_estimates.py) so that the range
# holds about 8 in 10 waits, the misses falling about as often below it as above
MODEL_ERROR = 0.18
MODEL_FLOOR = 2.0
Z_LOW = 1.28
Z_HIGH = 1.5


@dataclass(frozen=True)
class HallFacts:
    """Everything about the hall an estimate needs, gathered up front (no store, no clock inside)."""

    now: datetime
    periods: tuple[tuple[datetime, datetime], ...]     # today's opening periods
    windows: tuple[Window, ...]
    durations: Mapping[str, Durations]
    priority_per_minute: Mapping[str, float] = field(default_factory=dict)  # walk-in priority tickets lately
    appointments: tuple[tuple[str, datetime], ...] = ()  # (business, slot start) still to check in today
    closing: datetime | None = None                    # today's closing, with any extension
    max_consecutive: int = 2                           # priority calls in a row while a normal ticket waits

    @property
    def frame(self) -> _Frame:
        """The facts in minutes from now, computed once (one set of facts serves many estimates: the queue
        screen's twelve businesses). Kept in the instance's own dict: functools.cached_property takes a lock."""
        found: _Frame | None = self.__dict__.get("_frame")
        if found is None:
            found = self.__dict__["_frame"] = _frame(self)
        return found


@dataclass(frozen=True)
class Estimate:
    minutes: int
    low: int
    high: int
    call_at: datetime          # when the ticket is expected to be called
    high_at: datetime          # the range's end as a time of day (the booking offer and the drill read it)
    # False when no window that serves the ticket is expected to work for the queue again today: its clerks have
    # gone home (or the day is over and nobody came), so no figure inside the day is true. The minutes then
    # count as if they came back at closing, which only says "not before closing"; screens say "not today"
    today: bool = True

    @property
    def range(self) -> list[int]:
        return [self.low, self.high]


def near(facts: HallFacts, business: str) -> list[str]:
    """The businesses whose queues bear on a ticket's wait: those of its windows, and of the windows that share
    any of them (a window helping with a shared business is busy with its own too)."""
    mine = {b for w in facts.windows if business in w.businesses for b in w.businesses}
    return sorted({b for w in facts.windows if not mine.isdisjoint(w.businesses) for b in w.businesses} | {business})


@dataclass
class _Frame:
    """The facts in minutes from now, computed once per set of facts (the queue screen asks twelve times)."""

    spans: list[tuple[float, float]]       # working spans from now; the last runs on
    periods: list[tuple[float, float]]     # today's opening periods
    closing: float                          # tickets stop being issued
    until: float                            # working minutes until closing
    fixed: frozenset[float]                 # the points every estimate's work function bends at
    starts: dict[int, float | None]         # when each window works for the queue (None: not today)
    cost: dict[str, float]                  # window minutes per ticket, per business
    spread: dict[str, float]                # their variance
    preload: tuple[float, ...]              # what is left of each window's current ticket (as facts.windows)
    away: tuple[Away, ...]                 # each window's planned absences (the roster); leaving: back INF
    layout: _Layout                         # who helps whom: the same while the windows' rows are
    lazy: dict[str, object] = field(default_factory=dict)  # the appointments to come, read once when asked


@dataclass(frozen=True)
class _Layout:
    """Which windows share work with which, per window (in the order of ``facts.windows``): it changes only
    when the windows' rows do, and the hall hands the same tuple of windows from one request to the next, so
    it is worked out once for many tickets, not once per ticket for every pair of windows."""

    served: tuple[tuple[str, ...], ...]     # each window's businesses, in the order a set of them iterates
    sets: tuple[frozenset[str], ...]
    rates: tuple[float, ...]                # tickets' work minutes per minute (1 / its speed)
    # per window, the others that serve any of its businesses: (their index, those businesses of theirs)
    helpers: tuple[tuple[tuple[int, tuple[str, ...]], ...], ...]


def _layout(windows: tuple[Window, ...]) -> _Layout:
    sets = tuple(frozenset(w.businesses) for w in windows)
    helpers = tuple(tuple((j, tuple(code for code in u.businesses if code in sets[i]))
                          for j, u in enumerate(windows) if u is not w and not sets[i].isdisjoint(u.businesses))
                    for i, w in enumerate(windows))
    return _Layout(tuple(tuple(set(w.businesses)) for w in windows), sets, tuple(1.0 / w.speed for w in windows),
                   helpers)


def _frame(facts: HallFacts) -> _Frame:
    now = facts.now.timestamp()
    bounds: list[float] = memo(facts.periods, "epochs", lambda: [at.timestamp() for span in facts.periods
                                                                   for at in span])
    periods = [(a - now) / 60 for a in bounds]
    periods_ = list(zip(periods[::2], periods[1::2], strict=True))
    spans = spans_from(periods_)
    closing = periods_[-1][1] if periods_ else 0.0
    if facts.closing is not None and (not facts.periods or facts.closing != facts.periods[-1][1]):
        closing = (facts.closing.timestamp() - now) / 60  # hours extended today
    closing = max(0.0, closing)  # tickets stop being issued
    fixed = {0.0, closing, when(spans, 0.0, FLOW_HORIZON)} | {a for a, _ in spans} | {b for _, b in spans}
    worked = any(w.worked_today for w in facts.windows)
    marks: list[tuple[float | None, float | None]]  # each window's (since, back_at) as epoch seconds
    marks, layout = memo(facts.windows, "windows", lambda: (
        [(w.since.timestamp() if w.since is not None else None, w.back_at.timestamp() if w.back_at else None)
         for w in facts.windows], _layout(facts.windows)))
    starts = {w.number: start_of(periods_, w, (at - now) / 60 if at is not None else None,
                               (back - now) / 60 if back is not None else None, worked)
              for w, (at, back) in zip(facts.windows, marks, strict=True)}
    cost, spread = memo(facts.durations, "costs", lambda: (
        {code: d.per_ticket for code, d in facts.durations.items()},
        {code: d.variance for code, d in facts.durations.items()}))
    preload = tuple(_preload(facts, w) for w in facts.windows)
    away = tuple(away_spans(facts.now, facts.closing, w, spans, starts) for w in facts.windows)
    return _Frame(spans, periods_, closing, worked_between(spans, 0.0, closing), frozenset(fixed), starts, cost, spread,
                  preload, away, layout)


# -- the estimate ---------------------------------------------------------------------------------------------
# A window as a supplier of work is a line: from ``start`` it works at ``rate`` during the spans, its first
# ``preload`` minutes go to its current ticket, and of the rest it gives ``share`` to the work before the
# ticket, up to ``limit`` (helpers only), less the working minutes it is ``away`` by the roster.
# Plain tuples: an estimate makes a few for every ticket issued.
_Line = tuple[float, float, float, float, float, tuple[tuple[float, float], ...]]
# (start, rate, preload, share, limit, away: the working minutes it is absent, as (from, back))
_COST, _SPREAD = DEFAULT.per_ticket, DEFAULT.variance  # a business the learned durations do not know


def _residual(d: Durations, minutes_in: float) -> float:
    """What is left of a ticket at a window ``minutes_in`` after it was called."""
    return max(d.mean - minutes_in, 0.2 * d.mean)


@dataclass
class _Reach:
    """When one window of the ticket's business reaches it: the work it needs done and the work done by each of
    ``points`` (``before``: the same, not counting an appointment checking in at that very point)."""

    points: list[float]
    done: list[float]
    before: list[float]
    need: float           # the work before the ticket, on average
    median: float         # … and its median (the work leans right: a service that drags on, priority at once)
    variance: float       # of the work before the ticket (service times, the priority tickets still to come)
    opens: float          # the window works again (after a break or pause)
    ready: float          # … and is done with the ticket it has
    mid: float


class _Hall:
    """One estimate's view of the hall: time in working minutes from now, each ticket's cost per business.
    The sums add the same terms in the same order as before (with ``sum``, which on Python 3.12 compensates),
    so that every figure is the same to the last bit: what is faster is what is no longer done per ticket."""

    def __init__(self, facts: HallFacts, ahead: Ahead) -> None:
        self.facts, self.ahead = facts, ahead
        self.frame = frame = facts.frame
        self.spans, self.closing, self.until, self.fixed = frame.spans, frame.closing, frame.until, frame.fixed
        self.starts = dict(frame.starts)
        self.cost, self.spread = cost, _ = frame.cost, frame.spread
        self.work = {code: n * cost.get(code, _COST) for code, n in ahead.counts.items() if n > 0}
        self.paces: dict[str, float] = {}  # filled as asked, after estimate() has settled the starts
        self.away = frame.away

    def per(self, code: str) -> float:
        return self.cost.get(code, _COST)

    def pace(self, code: str, least: float) -> float:
        """How fast the windows expected today serve ``code`` together (at least ``least``: the one asking)."""
        total = self.paces.get(code)
        if total is None:
            starts = self.starts
            total = self.paces[code] = sum([rate for w, rate in zip(self.facts.windows, self.frame.layout.rates,
                                                                        strict=True)
                                            if code in w.businesses and starts.get(w.number) is not None])
        return max(total, least)

    def due(self) -> list[tuple[str, float]]:
        """The appointments still to check in, in minutes from now, as they check in (before their slot)."""
        frame, facts = self.frame, self.facts
        found = frame.lazy.get("due")
        if found is None:
            found = frame.lazy["due"] = [(code, (slot - facts.now).total_seconds() / 60 - APPOINTMENT_EARLY)
                                         for code, slot in facts.appointments]
        return found  # type: ignore[return-value]

    def reach(self, index: int, start: float) -> _Reach:
        """When window ``index`` of ``facts.windows``, working for the queue from ``start``, reaches the ticket."""
        facts, ahead, spans, work, counts = self.facts, self.ahead, self.spans, self.work, self.ahead.counts
        layout, preloads, starts, spread, windows = (self.frame.layout, self.frame.preload, self.starts, self.spread,
                                                     facts.windows)
        served, rates = layout.served[index], layout.rates
        need = sum([work.get(code, 0.0) for code in served])
        variance = sum([counts.get(code, 0.0) * spread.get(code, _SPREAD) for code in served])
        away = self.away
        lines: list[_Line] = [(start, rates[index], preloads[index], 1.0, INF, worked_away(away[index]))]
        correction = 0.0
        for j, shared in layout.helpers[index]:
            begins = starts[windows[j].number]
            if begins is None:
                continue
            overlap = sum([work.get(code, 0.0) for code in shared])
            if overlap <= 0:
                continue
            share = overlap / sum([work.get(code, 0.0) for code in windows[j].businesses])
            lines.append((begins, rates[j], preloads[j], share, overlap, worked_away(away[j])))
            # when the ticket is called, a helper is on average half-way through its last older ticket
            count = sum([counts.get(code, 0.0) for code in shared])
            correction += 0.5 * share * overlap / max(1.0, count)
        need = max(0.0, need - correction)
        flow = 0.0  # work per minute of priority tickets that will come and pass this one
        steps: list[tuple[float, float]] = []  # (at, work) of appointments that will check in and pass it
        budget = 0.0
        if not ahead.priority:
            # a business served at several windows brings its priority tickets to each: this one takes its share
            mine, per, pace, arriving = rates[index], self.per, self.pace, facts.priority_per_minute
            # (a business with no priority walk-ins adds exactly 0.0: its pace is not worked out)
            flow = sum([arrive * per(code) * mine / pace(code, mine) if (arrive := arriving.get(code, 0.0)) else 0.0
                        for code in served])
            flow = min(flow, MAX_FLOW * sum([rate * share for _, rate, _, share, _, _ in lines]))
            if facts.appointments:
                mine_set = layout.sets[index]
                for code, at in self.due():
                    if code in mine_set and at > 0:
                        steps.append((at, APPOINTMENT_SHOWS * per(code) * mine / pace(code, mine)))
                steps.sort()
            # the interleaving rule lets at most max_consecutive priority tickets pass for each normal one called
            normals = sum([ahead.normal.get(code, counts.get(code, 0.0)) for code in served])
            passing = sum([counts.get(code, 0.0) for code in served]) - normals
            typical = sum([per(code) for code in served]) / len(served)
            budget = max(0.0, facts.max_consecutive * (normals + 1) - passing) * typical
        kinks: list[float] = []
        for s, rate, preload, share, limit, _ in lines:
            kinks.append(s)
            kinks.append(when(spans, s, preload / rate))
            if limit < INF:
                kinks.append(when(spans, s, (preload + limit / share) / rate))
        for j in (index, *(j for j, _ in layout.helpers[index])):
            for a, b, _, _ in away[j]:
                kinks += (a, b)  # the absences' ends and starts (INF for leaving: dropped below)
        points = sorted([p for p in self.fixed.union(kinks, [s for s, _ in steps]) if 0.0 <= p < INF])
        points.append(points[-1] + 48 * 60.0)  # past the last mark every line works on: linear from here
        # the work the windows can do by each point, less the priority tickets that come and pass meanwhile:
        # walk-ins while the hall is open (few over the lunch break), until closing, at the recent rate for the
        # next hour at most (a surge does not last all day); appointments at their slots
        worked = worked_at(spans, points)  # working minutes from now
        n_points = len(points)
        done = [0.0] * n_points
        for s, rate, preload, share, limit, absent in lines:
            begun = worked_between(spans, 0.0, s)
            begun -= sum([(begun if begun < b else b) - a for a, b in absent if begun > a])  # away before it starts
            for k in range(bisect_right(points, s), n_points):  # the points after it starts
                at = here = worked[k]
                for a, b in absent:  # the minutes it is away do not count
                    if here > a:
                        at -= (here if here < b else b) - a
                free = share * (rate * (at - begun) - preload)
                if free > 0:
                    done[k] += free if free < limit else limit
        before = done
        cap = min(FLOW_HORIZON, self.until)
        if steps:
            before = list(done)
            k, came, n = 0, 0.0, len(steps)
            for i, t in enumerate(points):
                arrived = flow * (worked[i] if worked[i] < cap else cap)
                while k < n and steps[k][0] < t:
                    came += steps[k][1]
                    k += 1
                j, now_in = k, came
                while j < n and steps[j][0] == t:
                    now_in += steps[j][1]
                    j += 1
                before[i] -= min(budget, arrived + came)
                done[i] -= min(budget, arrived + now_in)
        elif flow:
            for i in range(n_points):
                arrived = flow * (worked[i] if worked[i] < cap else cap)
                done[i] -= arrived if arrived < budget else budget
        mid = first_reach(points, done, before, need)
        # the figure told is when the median of that work is done, not its mean: as often early as late, which
        # makes the error a citizen meets smallest; next to a lunch break, where a little more work means an hour
        # and a half more wait, a mean leaning right would send tickets past the break that are more likely
        # called before it. The work ahead alone sets it (log-normal of that mean and variance), not the priority
        # holders still to come: more doubt about who may come never makes a wait shorter.
        own = variance + (MODEL_ERROR * need) ** 2 + MODEL_FLOOR ** 2
        median = need * need / math.sqrt(need * need + own) if need > 0 else 0.0
        if flow and mid < INF:  # the priority tickets that will come meanwhile: their number is uncertain too
            horizon = min(FLOW_HORIZON, worked_between(spans, 0.0, min(mid, self.closing)))
            variance += sum(facts.priority_per_minute.get(code, 0.0) * horizon * (
                spread.get(code, _SPREAD) + self.per(code) ** 2) for code in served)
            need_seen = need + min(budget, flow * horizon)
        else:
            need_seen = need
        variance += (MODEL_ERROR * need_seen) ** 2 + MODEL_FLOOR ** 2
        if median < need:
            mid = first_reach(points, done, before, median)
        # the ticket cannot be called before its window works again and is done with the ticket it has
        opens = when(spans, start, 0.0)
        ready = max(opens, kinks[1])
        return _Reach(points, done, before, need, median, variance, opens, ready, max(ready, mid))

    def range(self, r: _Reach) -> tuple[float, float]:
        """The work before the ticket, at its low and high quantiles, turned into times. The work is a sum of
        service times and of priority holders still to come, both leaning right (a service that drags on, a
        handful of priority holders at once; never less than nothing): taken as log-normal of that mean and
        variance, so that the range reaches further above its median, the estimate, than below, as the waits
        that happen do."""
        if r.need <= 0:
            low, high = 0.0, Z_HIGH * math.sqrt(r.variance)
        else:
            s = math.sqrt(math.log(1 + r.variance / r.need ** 2))
            low, high = r.median * math.exp(-Z_LOW * s), r.median * math.exp(Z_HIGH * s)
        return (max(r.opens, first_reach(r.points, r.done, r.before, low)),
                max(r.ready, first_reach(r.points, r.done, r.before, high)))


def estimate(facts: HallFacts, ahead: Ahead) -> Estimate:
    """How long the ticket waits from ``facts.now`` until it is called, and the range around it: the earliest
    of its windows to reach it, and the range around that one."""
    hall = _Hall(facts, ahead)
    mine = [(i, w) for i, w in enumerate(facts.windows) if ahead.business in w.businesses]
    today = True
    if mine and all(hall.starts[w.number] is None for _, w in mine):
        # no window of this business is expected: if none has worked today, one will be staffed (a hall whose
        # clerks have not logged in yet); if they worked and left, or the day is over, nobody can say when it is
        # served, only that it is not before closing, which is what the ticket is told (and why it is offered a
        # booking)
        left = any(w.worked_today for _, w in mine) or hall.closing <= 0
        today = not left
        for _, w in mine:
            hall.starts[w.number] = max(hall.spans[0][0], hall.closing) if left else hall.spans[0][0]
    best = _best(hall, mine)
    if best is None:  # no window serves this business today
        return Estimate(0, 0, 0, facts.now, facts.now, today=False)
    low, high = hall.range(best)
    if math.isinf(high) and any(b == INF for i, _ in mine for _, b, _, _ in hall.away[i]):
        # its windows all leave (the roster) before they could reach it, or may: like windows that worked and
        # left, nobody can say when it is served, only that it is not before closing
        own = {i for i, _ in mine}
        hall.away = tuple(() if i in own else spans_ for i, spans_ in enumerate(hall.away))
        for _, w in mine:
            hall.starts[w.number] = max(hall.spans[0][0], hall.closing)
        after = _best(hall, mine)
        assert after is not None
        if math.isinf(best.mid):  # reached only after they leave: all of it after closing
            best = after
            low, high = hall.range(after)
            today = False
        else:  # reached before they leave, perhaps: the range's end says it may not be today
            high = hall.range(after)[1]
    low, mid, high = (min(x, 24 * 60.0) for x in (low, best.mid, high))
    minutes = max(0, round(mid))
    lo, hi = _rounded(low, high)
    lo, hi = min(lo, minutes), max(hi, minutes)
    return Estimate(minutes, lo, hi, facts.now + timedelta(minutes=mid), facts.now + timedelta(minutes=hi),
                    today)


def _best(hall: _Hall, mine: list[tuple[int, Window]]) -> _Reach | None:
    """The earliest of the business's windows to reach the ticket."""
    best: _Reach | None = None
    for i, w in mine:
        start = hall.starts[w.number]
        if start is not None:
            reach = hall.reach(i, start)
            if best is None or reach.mid < best.mid:
                best = reach
    return best


def _preload(facts: HallFacts, w: Window) -> float:
    """What is left of the ticket at the window, in work minutes."""
    if w.current is None or w.current_since is None:
        return 0.0
    d = facts.durations.get(w.current) or DEFAULT
    return _residual(d, (facts.now - w.current_since).total_seconds() / 60) / w.speed


def _rounded(low: float, high: float) -> tuple[int, int]:
    """The range as a citizen reads it: whole minutes, and from 20 minutes on, outward to fives ("约 25–40
    分钟"); a range is never a single point."""
    lo, hi = max(0, math.floor(low)), max(0, math.ceil(high))
    if hi >= 20:
        lo, hi = 5 * (lo // 5), 5 * math.ceil(hi / 5)
    if hi <= lo:
        hi = lo + 1
    return lo, hi
