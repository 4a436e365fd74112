"""Who is called before a ticket, business by business: the calling rule (oldest first, priority holders
first but no more than ``max_consecutive`` of them for each normal ticket, over a window's businesses together)
turned into counts. Pure arithmetic on waiting counts; kiosk/domain/waits.py turns the counts into a wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ahead:
    """One ticket's place: for each business, how many tickets are called before it."""

    business: str
    priority: bool
    counts: Mapping[str, float]
    normal: Mapping[str, float] = field(default_factory=dict)  # of those, the normal tickets
    people: int = 0  # "前面等候 N 人": people ahead in its own business, as the calling rule orders them


def ahead_by_business(business: str, priority: bool, before: Mapping[str, tuple[int, int]],
                 waiting: Mapping[str, tuple[int, int]], max_consecutive: int) -> Ahead:
    """Who is called before a ticket, per business: ``before`` (normal, priority) tickets older than it,
    ``waiting`` (normal, priority) all waiting, for every business that may matter.

    A normal ticket waits for the older normal tickets and the waiting priority tickets (as many as the
    interleaving rule lets pass); a priority ticket for the older priority tickets and the normal ones the rule
    lets through meanwhile."""
    counts: dict[str, float] = {}
    normal: dict[str, float] = {}
    codes = set(before) | set(waiting)
    # a priority ticket: for every max_consecutive priority calls before it, one waiting normal ticket is called
    # (the rule holds at each window across its businesses: counted over them all, shared as the normal ones wait)
    passes = sum(before.get(code, (0, 0))[1] for code in codes) / max(1, max_consecutive)
    normal_waiting = sum(waiting.get(code, (0, 0))[0] for code in codes)
    # a normal ticket: the waiting priority tickets go first, but no more than max_consecutive for each normal
    # ticket before it (and it), over its windows' businesses together
    priority_waiting = sum(waiting.get(code, (0, 0))[1] for code in codes)
    room = max_consecutive * (sum(before.get(code, (0, 0))[0] for code in codes) + 1)
    scale = min(1.0, room / priority_waiting) if priority_waiting else 1.0
    for code in codes:
        nb, pb = before.get(code, (0, 0))
        nw, pw = waiting.get(code, (0, 0))
        if priority:
            normal[code] = min(float(nw), passes * nw / normal_waiting) if normal_waiting else 0.0
            counts[code] = pb + normal[code]
        else:
            normal[code] = nb
            counts[code] = nb + pw * scale
    nb, pb = before.get(business, (0, 0))
    nw, pw = waiting.get(business, (0, 0))
    people = pb + min(nw, pb // max(1, max_consecutive)) if priority else nb + min(pw, max_consecutive * (nb + 1))
    return Ahead(business, priority, counts, normal, people)
