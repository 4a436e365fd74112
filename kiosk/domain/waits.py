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

Each window's work is measured in minutes of the hall's learned service times (:func:`learn`): call to
finish per business, blended with the catalog's figure while few are seen, robust to an outlier, with
no-shows counted at what they cost the window. The range comes from the spread of those times over the
tickets ahead, and a model error calibrated on drill days to hold about 8 in 10 actual waits.

No simulation: the time T is reached is where a piecewise-linear function of time (the work the windows can
do by then) crosses the work before T. Cheap enough to run for every ticket issued. Time is passed in.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

INF = math.inf
RECENT = 30             # the durations kept per business: the estimate follows the day, not the morning
PRIOR_WEIGHT = 5.0      # the catalog's figure counts as this many observed services
PRIOR_CV = 0.5          # spread assumed around the catalog's figure before the hall has its own
NO_SHOW_PRIOR = 0.04    # share of called tickets whose holder does not come, before the hall has seen any
NO_SHOW_WEIGHT = 20.0
NO_SHOW_MINUTES = 3.0   # what calling a holder who does not come costs a window, before any is seen
SPEED_WEIGHT = 8.0      # services a window must do before its own pace moves the estimate
PAUSE_MINUTES = 30.0    # how long a paused window is expected to stay away
GRACE_MINUTES = 10.0    # at the start of a period, windows that will open are still logging in
BREAK_MINUTES = 15.0    # a window closed this close to a period's end went for the break, and comes back
APPOINTMENT_SHOWS = 0.9  # share of booked appointments that check in
APPOINTMENT_EARLY = 10.0  # minutes before its slot an appointment typically checks in
MAX_FLOW = 0.5          # later priority tickets never take more than this share of the windows' time
# the range: the model's own error (proportional and fixed, in minutes of work) and the quantiles, calibrated
# on the shipped drill days (bench/wait_estimates.py) so that the range holds about 8 in 10 waits
MODEL_ERROR = 0.18
MODEL_FLOOR = 2.0
Z_LOW = 1.2
Z_HIGH = 1.35


@dataclass(frozen=True)
class Durations:
    """What one ticket of a business costs a window, as learned today."""

    mean: float              # minutes from call to finish, for a holder who comes
    sd: float
    no_show_rate: float = NO_SHOW_PRIOR
    no_show_minutes: float = NO_SHOW_MINUTES
    seen: int = 0

    @property
    def per_ticket(self) -> float:
        p = self.no_show_rate
        return (1 - p) * self.mean + p * self.no_show_minutes

    @property
    def variance(self) -> float:
        p, m = self.no_show_rate, self.per_ticket
        return (1 - p) * (self.sd ** 2 + self.mean ** 2) + p * self.no_show_minutes ** 2 - m * m


def prior(minutes: float) -> Durations:
    return Durations(minutes, minutes * PRIOR_CV)


def robust_mean_sd(samples: Sequence[float]) -> tuple[float, float]:
    """Mean and spread with every sample winsorised at median ± 3 robust standard deviations (from the MAD):
    one service left open over the lunch break moves the estimate by a few seconds, not by an hour."""
    ordered = sorted(samples)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    deviations = sorted(abs(x - median) for x in ordered)
    mad = deviations[n // 2] if n % 2 else (deviations[n // 2 - 1] + deviations[n // 2]) / 2
    scale = max(1.4826 * mad, 0.1 * median, 0.1)
    lo, hi = median - 3 * scale, median + 3 * scale
    clipped = [min(hi, max(lo, x)) for x in ordered]
    mean = sum(clipped) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in clipped) / (n - 1)) if n > 1 else scale
    return mean, sd


def learn(catalog_minutes: float, served: Sequence[float], no_shows: Sequence[float] = (), served_total: int = 0,
          no_show_total: int = 0) -> Durations:
    """Today's durations of one business, blended with the catalog's figure while few are seen (shrinkage).

    ``served``/``no_shows``: the most recent durations (call to finish, call to no-show) in minutes;
    ``served_total``/``no_show_total``: how many of each the day has seen (the recent lists are capped)."""
    base = prior(catalog_minutes)
    served_total = max(served_total, len(served))
    no_show_total = max(no_show_total, len(no_shows))
    mean, sd = base.mean, base.sd
    if served:
        # the recent durations say what a ticket costs now; how many the day has seen says how far to trust them
        m, s = robust_mean_sd(served)
        n = served_total
        mean = (PRIOR_WEIGHT * base.mean + n * m) / (PRIOR_WEIGHT + n)
        sd = math.sqrt((PRIOR_WEIGHT * base.sd ** 2 + n * s ** 2) / (PRIOR_WEIGHT + n))
    ns_minutes = NO_SHOW_MINUTES
    if no_shows:
        ns_minutes = (2 * NO_SHOW_MINUTES + sum(no_shows)) / (2 + len(no_shows))
    called = served_total + no_show_total
    rate = (NO_SHOW_WEIGHT * NO_SHOW_PRIOR + no_show_total) / (NO_SHOW_WEIGHT + called)
    return Durations(mean, sd, rate, ns_minutes, served_total)


def window_speeds(by_window: Mapping[tuple[str, int], tuple[int, float]]) -> dict[int, float]:
    """Each window's pace against the hall's on the same businesses: (business, window) → (services, total
    minutes). A window that alone serves its businesses has nothing to be compared with and keeps 1.0, so a
    business slower than its catalog figure is learned once (in :func:`learn`), not twice."""
    per_business: dict[str, tuple[int, float]] = {}
    for (business, _w), (n, total) in by_window.items():
        a, b = per_business.get(business, (0, 0.0))
        per_business[business] = (a + n, b + total)
    weight: dict[int, float] = {}
    ratio: dict[int, float] = {}
    for (business, w), (n, total) in by_window.items():
        all_n, all_total = per_business[business]
        if n <= 0 or all_n <= n or all_total <= 0:
            continue
        others = (all_total - total) / (all_n - n)
        if others <= 0:
            continue
        weight[w] = weight.get(w, 0.0) + n
        ratio[w] = ratio.get(w, 0.0) + n * min(4.0, max(0.25, (total / n) / others))
    return {w: (SPEED_WEIGHT + ratio[w]) / (SPEED_WEIGHT + weight[w]) for w in weight}


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


@dataclass(frozen=True)
class Ahead:
    """One ticket's place: for each business, how many tickets are called before it."""

    business: str
    priority: bool
    counts: Mapping[str, float]


@dataclass(frozen=True)
class Estimate:
    minutes: int
    low: int
    high: int
    call_at: datetime          # when the ticket is expected to be called
    high_at: datetime          # the range's end as a time of day (the booking offer and the drill read it)

    @property
    def range(self) -> list[int]:
        return [self.low, self.high]


def ahead_by_business(business: str, priority: bool, before: Mapping[str, tuple[int, int]],
                 waiting: Mapping[str, tuple[int, int]], max_consecutive: int) -> Ahead:
    """Who is called before a ticket, per business: ``before`` (normal, priority) tickets older than it,
    ``waiting`` (normal, priority) all waiting, for every business that may matter.

    A normal ticket waits for the older normal tickets and every waiting priority ticket; a priority ticket
    for the older priority tickets and the normal ones the interleaving rule lets through meanwhile."""
    counts: dict[str, float] = {}
    for code in set(before) | set(waiting):
        nb, pb = before.get(code, (0, 0))
        nw, pw = waiting.get(code, (0, 0))
        if priority:
            counts[code] = pb + min(nw, pb // max(1, max_consecutive))
        elif code == business:
            counts[code] = nb + min(pw, max_consecutive * (nb + 1))
        else:
            counts[code] = nb + pw
    return Ahead(business, priority, counts)


# -- time as working minutes -------------------------------------------------------------------------------
def _spans(facts: HallFacts) -> list[tuple[float, float]]:
    """The working spans from now, in minutes from now; the last runs on (the queue is finished after closing)."""
    now = facts.now
    out = [(max(0.0, (a - now).total_seconds() / 60), (b - now).total_seconds() / 60)
           for a, b in facts.periods if b > now]
    if not out:
        return [(0.0, INF)]
    out[-1] = (out[-1][0], INF)
    return out


def _worked(spans: list[tuple[float, float]], start: float, t: float) -> float:
    """Working minutes between ``start`` and ``t``."""
    total = 0.0
    for a, b in spans:
        lo, hi = max(a, start), min(b, t)
        if hi > lo:
            total += hi - lo
    return total


def _when(spans: list[tuple[float, float]], start: float, minutes: float) -> float:
    """The time by which ``minutes`` of work have been done since ``start``."""
    left = minutes
    for a, b in spans:
        lo = max(a, start)
        if b <= lo:
            continue
        if lo + left <= b:
            return lo + left
        left -= b - lo
    return INF


def _period_index(facts: HallFacts, at: datetime) -> int | None:
    for i, (a, b) in enumerate(facts.periods):
        if a <= at < b:
            return i
    return None


def _start(facts: HallFacts, w: Window) -> float | None:
    """When a window works for the queue, in minutes from now; None when it is not expected back today."""
    now, periods = facts.now, facts.periods
    if w.state == "open":
        return 0.0
    if w.state == "paused":
        back = (w.since + timedelta(minutes=PAUSE_MINUTES)) if w.since else now
        return max(0.0, (back - now).total_seconds() / 60)
    if not periods or now >= periods[-1][1]:
        return None  # after closing only the windows still open finish the queue
    current = _period_index(facts, now)
    if current is not None:
        started = periods[current][0]
        if now - started > timedelta(minutes=GRACE_MINUTES):
            return None  # closed in the middle of opening hours: short-staffed for the rest of the day
        # the first minutes of a period: clerks are logging in
        return 0.0 if not w.worked_today or w.since is None or w.since < started else None
    nxt = min((a - now).total_seconds() / 60 for a, _ in periods if a > now)
    if not w.worked_today or w.since is None:
        # before anyone has worked today every window is expected; later, one that never came is not
        return nxt if not any(x.worked_today for x in facts.windows) else None
    for a, b in periods:  # closed in a period: back after the break only if it closed for the break
        if a <= w.since < b:
            return nxt if b - w.since <= timedelta(minutes=BREAK_MINUTES) else None
    return nxt


# -- the estimate ---------------------------------------------------------------------------------------------
@dataclass
class _Line:
    """One window as a supplier of work: from ``start`` it works at ``rate`` during the spans, its first
    ``preload`` minutes go to its current ticket, and of the rest it gives ``share`` to the work before the
    ticket, up to ``limit`` (helpers only)."""

    start: float
    rate: float
    preload: float
    share: float = 1.0
    limit: float = INF

    def done(self, spans: list[tuple[float, float]], t: float) -> float:
        if t <= self.start:
            return 0.0
        free = self.rate * _worked(spans, self.start, t) - self.preload
        return 0.0 if free <= 0 else min(self.limit, self.share * free)

    def kinks(self, spans: list[tuple[float, float]]) -> list[float]:
        out = [self.start, _when(spans, self.start, self.preload / self.rate)]
        if self.limit < INF:
            out.append(_when(spans, self.start, (self.preload + self.limit / self.share) / self.rate))
        return out


def _residual(d: Durations, minutes_in: float) -> float:
    """What is left of a ticket at a window ``minutes_in`` after it was called."""
    return max(d.mean - minutes_in, 0.2 * d.mean)


def _first_reach(points: list[float], value: Callable[[float, bool], float], need: float) -> float:
    """The first time the work done reaches ``need``. ``value(t, at)`` is piecewise linear between ``points``;
    with ``at`` False it is the limit from the left (an appointment checking in at t is not yet counted)."""
    if need <= 0:
        return 0.0
    v0 = value(points[0], True)
    if v0 >= need:
        return points[0]
    for t0, t1 in itertools.pairwise(points):
        v0 = value(t0, True)
        v1 = value(t1, False)
        if v1 >= need and v1 > v0:
            return t0 + (t1 - t0) * (need - v0) / (v1 - v0)
        if value(t1, True) >= need:
            return t1
    return INF


def estimate(facts: HallFacts, ahead: Ahead) -> Estimate:
    """How long the ticket waits from ``facts.now`` until it is called, and the range around it."""
    spans = _spans(facts)
    durations = facts.durations

    def of(code: str) -> Durations:
        return durations.get(code) or prior(15.0)

    work = {code: n * of(code).per_ticket for code, n in ahead.counts.items() if n > 0}
    starts = {w.number: _start(facts, w) for w in facts.windows}
    mine = [w for w in facts.windows if ahead.business in w.businesses]
    if mine and all(starts[w.number] is None for w in mine):  # nobody expected: the hall must staff one
        for w in mine:
            starts[w.number] = spans[0][0]
    closing = _closing_minutes(facts)
    best: tuple[float, float, float] | None = None
    for w in mine:
        start = starts[w.number]
        if start is None:
            continue
        served = set(w.businesses)
        need = sum(work.get(code, 0.0) for code in served)
        var = sum(ahead.counts.get(code, 0.0) * of(code).variance for code in served)
        lines = [_Line(start, 1.0 / w.speed, _preload(facts, w))]
        correction = 0.0
        for u in facts.windows:
            begins = starts[u.number]
            if u is w or begins is None or not served.intersection(u.businesses):
                continue
            overlap = sum(work.get(code, 0.0) for code in u.businesses if code in served)
            total = sum(work.get(code, 0.0) for code in u.businesses)
            if overlap <= 0:
                continue
            share = overlap / total
            lines.append(_Line(begins, 1.0 / u.speed, _preload(facts, u), share, overlap))
            # when the ticket is called, a helper is on average half-way through its last older ticket
            count = sum(ahead.counts.get(code, 0.0) for code in u.businesses if code in served)
            correction += 0.5 * share * overlap / max(1.0, count)
        flow = 0.0   # work per minute of priority tickets that will come and pass this one, until closing
        steps: list[tuple[float, float]] = []  # (at, work) of appointments that will check in and pass it
        if not ahead.priority:
            flow = sum(facts.priority_per_minute.get(code, 0.0) * of(code).per_ticket for code in served)
            for code, slot in facts.appointments:
                at = (slot - facts.now).total_seconds() / 60 - APPOINTMENT_EARLY
                if code in served and at > 0:
                    steps.append((at, APPOINTMENT_SHOWS * of(code).per_ticket))
        need = max(0.0, need - correction)
        flow = min(flow, MAX_FLOW * sum(line.rate * line.share for line in lines))
        # the ticket cannot be called before its window works again and is done with the ticket it has
        opens = _when(spans, start, 0.0)
        ready = max(opens, lines[0].kinks(spans)[1])

        def value(t: float, at: bool, lines: list[_Line] = lines, flow: float = flow,
                  steps: list[tuple[float, float]] = steps) -> float:
            # priority walk-ins come while the hall is open (few over the lunch break), until closing
            done = sum(line.done(spans, t) for line in lines) - flow * _worked(spans, 0.0, min(t, closing))
            return done - sum(x for s, x in steps if s < t or (at and s == t))

        marks = {0.0, closing, *[k for line in lines for k in line.kinks(spans)], *[s for s, _ in steps]}
        marks |= {a for a, _ in spans} | {b for _, b in spans}
        points = sorted(p for p in marks if 0.0 <= p < INF)
        points.append(points[-1] + 48 * 60.0)  # past the last mark every line works on: linear from here
        mid = _first_reach(points, value, need)
        if mid < INF:  # the priority tickets that will come meanwhile: their number is uncertain too
            horizon = _worked(spans, 0.0, min(mid, closing))
            var += sum(facts.priority_per_minute.get(code, 0.0) * horizon * (of(code).variance + of(code).per_ticket ** 2)
                       for code in served)
            need_seen = need + flow * horizon
        else:
            need_seen = need
        sd = math.sqrt(var + (MODEL_ERROR * need_seen) ** 2 + MODEL_FLOOR ** 2)
        low = max(opens, _first_reach(points, value, need - Z_LOW * sd))
        high = max(ready, _first_reach(points, value, need + Z_HIGH * sd))
        mid = max(ready, mid)
        if best is None or mid < best[1]:
            best = (low, mid, high)
    if best is None:  # no window serves this business today
        return Estimate(0, 0, 0, facts.now, facts.now)
    low, mid, high = (min(x, 24 * 60.0) for x in best)
    minutes = max(0, round(mid))
    lo, hi = _rounded(low, high)
    lo, hi = min(lo, minutes), max(hi, minutes)
    return Estimate(minutes, lo, hi, facts.now + timedelta(minutes=mid), facts.now + timedelta(minutes=hi))


def _closing_minutes(facts: HallFacts) -> float:
    """When tickets stop being issued (priority arrivals end), in minutes from now."""
    end = facts.closing or (facts.periods[-1][1] if facts.periods else None)
    return max(0.0, (end - facts.now).total_seconds() / 60) if end else 0.0


def _preload(facts: HallFacts, w: Window) -> float:
    """What is left of the ticket at the window, in work minutes."""
    if w.current is None or w.current_since is None:
        return 0.0
    d = facts.durations.get(w.current) or prior(15.0)
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


# -- what the citizen reads and hears -------------------------------------------------------------------------
def range_of(view: Mapping[str, object]) -> tuple[int, int]:
    """The range a hall answer carries (a ticket, a business of the queue), or its single figure (an older hall)."""
    told = view.get("expected_wait_range_min")
    if isinstance(told, list | tuple) and len(told) == 2 and all(isinstance(x, int) for x in told):
        return int(told[0]), int(told[1])
    minutes = view.get("expected_wait_min")
    return (minutes, minutes) if isinstance(minutes, int) else (0, 0)


def range_text(low: int, high: int) -> str:
    """"约 25–40 分钟" on the slip, the kiosk and the phone page."""
    return f"约 {low} 分钟" if low == high else f"约 {low}–{high} 分钟"


def range_text_en(low: int, high: int) -> str:
    return f"about {low} min" if low == high else f"about {low}–{high} min"


DIGITS = "零一二三四五六七八九"


def number_words(n: int) -> str:
    """A count as it is said in Mandarin (0–9999): 25 → 二十五, 105 → 一百零五, 12 → 十二."""
    if n < 0 or n > 9999:
        return str(n)
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero and out:
                out += "零"
            out += ("两" if digit == 2 and value >= 1000 else DIGITS[digit]) + unit
            zero = False
        elif out:
            zero = True
    return out


def spoken_range(low: int, high: int) -> str:
    """The range in words for voice guidance: "大约二十五到四十分钟"."""
    if low == high:
        return f"大约{number_words(low)}分钟"
    return f"大约{number_words(low)}到{number_words(high)}分钟"
