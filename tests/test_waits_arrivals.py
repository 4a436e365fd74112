"""The priority holders a wait estimate expects to come and pass a normal ticket (kiosk/domain/arrivals.py),
learned from the day per business: tables of the day's counts with the rates they must give, and the same
learned through the hall's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain import arrivals
from kiosk.hall import wait_facts
from tests.helpers import Hall, person

CODES = ("D", "Q", "X")


@pytest.mark.parametrize(("name", "walk_ins", "priority", "check"), [
    ("nothing seen yet: the usual share, spread evenly", {}, {},
     lambda r: r["D"] == r["Q"] == r["X"] and abs(sum(r.values()) - arrivals.PRIORITY_SHARE) < 1e-9),
    ("as many walk-ins, but the elderly came for Q: Q expects them, D hardly",
     {"D": 12, "Q": 12}, {"Q": 8},
     lambda r: r["Q"] > 3 * r["D"]),
    ("a business whose walk-ins brought no priority holder expects fewer than the hall's share of its walk-ins",
     {"D": 30, "Q": 30}, {"Q": 10},
     lambda r: r["D"] < 0.5 * r["Q"] and r["D"] > 0),
    ("one elderly holder among one walk-in is not taken for 'everyone here has priority'",
     {"D": 1, "Q": 1}, {"Q": 1},
     lambda r: r["Q"] < 3 * r["D"]),
])
def test_priority_holders_expected_per_business(name: str, walk_ins: dict[str, int], priority: dict[str, int],
                                                check: object) -> None:
    rates = arrivals.priority_per_minute(1.0, walk_ins, priority, CODES)
    assert check(rates), (name, rates)  # type: ignore[operator]


def test_the_hall_learns_which_businesses_the_priority_holders_come_for(tmp_path: Path) -> None:
    """Ten elderly holders took query (Q) tickets and ten younger ones mortgage (D) tickets: the hall expects
    the next priority holders at the query window, not spread over the businesses by their ticket counts, so a
    normal query ticket is told that more of them will pass it than a mortgage ticket is."""
    hall = Hall(tmp_path)
    try:
        for i in range(10):
            hall.number("Q", person(i, birth="19400101"))
            hall.number("D", person(100 + i))
        hall.tick(1)
        facts = wait_facts.wait_facts(hall.svc, hall.store.reader(), hall.now)
        rates = facts.priority_per_minute
        assert rates["Q"] > 3 * rates["D"], rates
    finally:
        hall.close()
