"""Registration cases (受理后的办件): the stages a citizen can follow at the kiosk.

The registration system itself (不动产登记系统) owns the case file; the hall keeps only what a citizen
needs to follow progress — the stage, its time and the statutory due date — so that an enquiry by case
number never needs the registration system to be reachable from the hall's LAN.
"""

from __future__ import annotations

# in order; a case only moves forward
STAGES: dict[str, tuple[str, str]] = {
    "accepted": ("已受理", "Accepted"),
    "reviewing": ("审核中", "Under review"),
    "registered": ("已登簿", "Registered"),
    "certificate_ready": ("可领证", "Certificate ready to collect"),
    "collected": ("已领证，办结", "Collected, closed"),
}


def stage_index(stage: str) -> int:
    return list(STAGES).index(stage)


def case_number(day_compact: str, seq: int) -> str:
    """Digits only (date + serial), so that a citizen can type it on the kiosk's number keys."""
    return f"{day_compact}{seq:04d}"


def valid_case_number(text: str) -> bool:
    return len(text) == 12 and text.isdigit()
