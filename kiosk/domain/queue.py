"""Calling order and people ahead (and the wait formulas the estimator replaced, for the drill's comparison).

Order: tickets keep the place they were issued in (a transfer does not send anyone to
the back). Priority tickets go first, but never more than ``max_consecutive`` in a row
while a normal ticket waits, so priority cannot starve the normal queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    number: str
    business: str
    order: int  # the original issue sequence: a ticket's place
    priority: bool
    window: int | None  # set when transferred to one window


def next_for_window(
    waiting: list[Waiting], window: int, businesses: tuple[str, ...], priority_streak: int,
    max_consecutive: int,
) -> Waiting | None:
    """The ticket a window calls next. ``waiting`` may hold any business and window."""
    mine = [
        w for w in waiting
        if (w.window == window) or (w.window is None and w.business in businesses)
    ]
    if not mine:
        return None
    directed = [w for w in mine if w.window == window]
    if directed:  # a transfer to this window was already waiting for it
        return min(directed, key=lambda w: w.order)
    prio = [w for w in mine if w.priority]
    normal = [w for w in mine if not w.priority]
    if prio and (not normal or priority_streak < max_consecutive):
        return min(prio, key=lambda w: w.order)
    return min(normal, key=lambda w: w.order)


def people_ahead(priority: bool, normal_before: int, priority_before: int, priority_waiting: int,
                 normal_waiting: int, max_consecutive: int) -> int:
    """An estimate of how many are called before this ticket under the interleaving rule."""
    if priority:
        return priority_before + min(normal_waiting, priority_before // max_consecutive)
    return normal_before + min(priority_waiting, max_consecutive * (normal_before + 1))


def expected_wait_minutes(ahead: int, service_minutes: float, open_windows: int) -> int:
    """The per-business formula every later view used before issue 23. Superseded by
    :func:`kiosk.domain.waits.estimate`; kept so that the drill can score it beside the estimate on the same
    day (kiosk/drill/waits.py). Nothing the hall tells a citizen uses it."""
    return math.ceil(ahead * service_minutes / max(1, open_windows))


def backlog_wait_minutes(business: str, waiting: dict[str, int], minutes: dict[str, float],
                         served_by: dict[int, tuple[str, ...]], open_windows: set[int]) -> float:
    """How long a new ticket of ``business`` waits: the work queued at the windows that serve it, over them.
    The slip's formula before issue 23, superseded by :func:`kiosk.domain.waits.estimate` and kept, like
    :func:`expected_wait_minutes`, only for the drill's comparison.

    Windows are shared: window 1 may serve A, B and C while window 2 serves B and C. Counting only the
    queue of one business (as ``expected_wait_minutes`` does) then divides it over windows that are busy
    with other businesses too, and the hall under-estimates a surge, issuing tickets it cannot serve today
    instead of offering a booking. Here each waiting business's work is spread evenly over the windows
    that serve it, and the share that falls on this business's windows is what stands before the ticket.
    Windows open now count; when none of this business's windows is open, all that serve it do.
    """
    serving_all = {w: bs for w, bs in served_by.items() if bs}
    live = {w: bs for w, bs in serving_all.items() if w in open_windows}
    pool = live if any(business in bs for bs in live.values()) else serving_all
    mine = {w for w, bs in pool.items() if business in bs}
    if not mine:
        return 0.0
    work = 0.0
    for code, count in waiting.items():
        if count <= 0:
            continue
        serving = [w for w, bs in pool.items() if code in bs]
        overlap = sum(1 for w in serving if w in mine)
        if overlap:
            work += count * minutes.get(code, 0.0) * overlap / len(serving)
    return work / len(mine)
