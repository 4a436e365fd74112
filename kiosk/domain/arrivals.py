"""The priority holders still to come: per business, how many walk-ins with priority (elderly, disabled,
military …) to expect per minute, learned from the day.

They matter to every normal ticket: each one that comes while it waits is called before it (within the
interleaving rule), so the wait estimate (:mod:`kiosk.domain.waits`) carries them forward as work that will
pass. How many come hall-wide follows the recent walk-ins; which businesses they come for is learned from the
day too. Priority holders do not come for every business alike (the elderly come to enquire about their records
far more than to register a new home), so a business's own share of priority holders counts once it has seen a
handful of walk-ins, and until then the hall's share stands in for it (shrinkage, as for service times). Pure;
the hall counts the day's tickets and hands the counts here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PRIORITY_SHARE = 0.12    # walk-ins with priority before the day has its own
PRIORITY_WEIGHT = 30.0   # walk-ins the hall must see before its own share counts as much as that figure
BUSINESS_WEIGHT = 10.0   # walk-ins a business must see before its own share counts as much as the hall's


def priority_per_minute(per_minute: float, walk_ins: Mapping[str, int], priority: Mapping[str, int],
                        codes: Sequence[str]) -> dict[str, float]:
    """Priority walk-ins expected per minute for each business in ``codes``: ``per_minute`` walk-ins of any
    kind come lately, hall-wide; ``walk_ins`` (all of them) and ``priority`` (those with priority) are the
    day's counts per business so far. Which business a walk-in comes for follows the day's mix (from an even
    start); whether it has priority follows its business's own share, blended with the hall's."""
    total = sum(walk_ins.values())
    share = (sum(priority.values()) + PRIORITY_SHARE * PRIORITY_WEIGHT) / (total + PRIORITY_WEIGHT)
    out = {}
    for code in codes:
        n = walk_ins.get(code, 0)
        own = (priority.get(code, 0) + BUSINESS_WEIGHT * share) / (n + BUSINESS_WEIGHT)
        out[code] = own * per_minute * (n + 0.5) / (total + 0.5 * len(codes))
    return out
