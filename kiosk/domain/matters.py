"""办不成事 reports (R5): the lifecycle a report goes through until it is closed, and the one-time notice's
repeat window. Pure rules; the hall's operations record them."""

from __future__ import annotations

from kiosk.domain.errors import fail

# a report is claimed, resolved, called back and closed, in that order; none may be skipped
FLOW = {"opened": "claimed", "claimed": "resolved", "resolved": "called_back", "called_back": "closed"}
OPEN = ("opened", "claimed")  # states whose deadline can be overdue

# a second notice for the same case within this many days means the first one was incomplete (R3)
REPEAT_NOTICE_DAYS = 90


def check_transition(current: str, to: object) -> str:
    """The next state, or TRANSITION_INVALID naming the one step allowed from ``current``."""
    allowed = FLOW.get(current)
    if allowed is None or to != allowed:
        raise fail("TRANSITION_INVALID", f"当前状态“{current}”的下一步应为“{allowed}”。",
                   f"From {current} the next step is {allowed}.", current=current, allowed=allowed)
    return allowed


def callback_sampled(digest: bytes, percent: int) -> bool:
    """Whether a rating is in the callback sample (R6: 定期电话抽样回访): a stable pick from its digest."""
    return int.from_bytes(digest[:2], "big") % 100 < percent
