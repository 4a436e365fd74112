"""What an operation answers, in the domain's words; kiosk/hall/api.py turns it into HTTP.

An operation returns ``Done`` (its answer; ``made``: it made something new, a ticket, a rating, a matter)
or ``Refused`` (a refusal that is itself a fact to keep: a limit hit, a wrong PIN, an identity mismatch;
it is committed with its event, then answered). A refusal that leaves nothing behind is raised
(kiosk.domain.errors.fail) and its transaction rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Done:
    body: dict[str, Any]
    made: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    error: DomainError


@dataclass(frozen=True, slots=True)
class Degraded:
    """The hall answers but is not well (its database): a health check says so to whoever watches it."""

    body: dict[str, Any]


Outcome = Done | Refused | Degraded


def status_of(outcome: Outcome) -> int:
    """The HTTP status the contract gives an outcome (also what an Idempotency-Key replays)."""
    if isinstance(outcome, Refused):
        return outcome.error.status
    if isinstance(outcome, Degraded):
        return 503
    return 201 if outcome.made else 200


def body_of(outcome: Outcome) -> dict[str, Any]:
    return outcome.error.body() if isinstance(outcome, Refused) else outcome.body
