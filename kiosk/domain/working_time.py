"""Time as the hall's windows see it: working minutes from now.

The wait estimate (:mod:`kiosk.domain.waits`) turns the day's opening periods into spans of working time
counted from now (the lunch break stops the windows; after closing they finish the queue), and finds where a
piecewise-linear function of time (the work the windows can do by then) reaches the work before a ticket.
Kept apart from the estimate so that each stays readable: these are plain arithmetic on spans, with no idea
of windows, businesses or tickets. Pure; time is passed in as minutes from now.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

INF = math.inf

_MEMO: dict[tuple[int, str], tuple[object, Any]] = {}


def memo(key: object, tag: str, make: Callable[[], Any]) -> Any:
    """``make()``, remembered for as long as ``key`` is the same object. The hall hands the same periods,
    windows and learned durations from one request to the next while nothing changes; converting an aware
    datetime asks its time zone each time, and these come back for every estimate."""
    found = _MEMO.get((id(key), tag))
    if found is not None and found[0] is key:
        return found[1]
    if len(_MEMO) > 64:
        _MEMO.clear()
    value = make()
    _MEMO[(id(key), tag)] = (key, value)
    return value


def spans_from(periods: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The working spans from now, in minutes from now; the last runs on (the queue is finished after closing)."""
    out = [(max(0.0, a), b) for a, b in periods if b > 0]
    if not out:
        return [(0.0, INF)]
    out[-1] = (out[-1][0], INF)
    return out


def worked_between(spans: list[tuple[float, float]], start: float, t: float) -> float:
    """Working minutes between ``start`` and ``t``."""
    total = 0.0
    for a, b in spans:
        lo, hi = max(a, start), min(b, t)
        if hi > lo:
            total += hi - lo
    return total


def worked_at(spans: list[tuple[float, float]], points: list[float]) -> list[float]:
    """Working minutes from now to each of the sorted ``points``, in one pass."""
    out = []
    i, total, n = 0, 0.0, len(spans)
    for t in points:
        while i < n and spans[i][1] <= t:
            a, b = spans[i]
            total += b - a
            i += 1
        out.append(total + (t - spans[i][0] if i < n and t > spans[i][0] else 0.0))
    return out


def when(spans: list[tuple[float, float]], start: float, minutes: float) -> float:
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


def first_reach(points: list[float], at: list[float], left: list[float], need: float) -> float:
    """The first time the work done reaches ``need``. The work done is piecewise linear between ``points``:
    ``at[i]`` its value at ``points[i]``, ``left[i]`` its limit from the left (an appointment checking in at
    that moment not yet counted)."""
    if need <= 0 or at[0] >= need:
        return 0.0 if need <= 0 else points[0]
    for i in range(1, len(points)):
        v0, v1 = at[i - 1], left[i]
        if v1 >= need and v1 > v0:
            return points[i - 1] + (points[i] - points[i - 1]) * (need - v0) / (v1 - v0)
        if at[i] >= need:
            return points[i]
    return INF
