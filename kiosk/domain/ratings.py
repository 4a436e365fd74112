"""What a rating means (R6): one place for the threshold every part of the product acts on.

A bad rating (不满意, 非常不满意) opens a follow-up with a working-day deadline, asks the citizen for
reasons at the kiosk, is shown to the clerk in red and is counted as such by the ledger.
"""

from __future__ import annotations

BAD_AT_MOST = 2  # levels 1 and 2 are bad ratings (差评)


def is_bad(level: int) -> bool:
    return level <= BAD_AT_MOST
