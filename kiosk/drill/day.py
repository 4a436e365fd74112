"""The drill's day as its players share it: the hall clock as the drill reads it, the record of everything
observed, and what a player of the day (the insiders, the wait watch) may use of the runner. Apart from the
runner so that the players depend on this, not on each other."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.drill.scenario import Scenario, Visit

if TYPE_CHECKING:
    from kiosk.drill.link import Api, Tokens


class Scored(Protocol):
    """What the report asks of the wait watch (kiosk/drill/waits.py)."""

    def score(self) -> dict[str, Any]: ...

    def chart(self, out: Path, plt: Any) -> list[tuple[str, str]]: ...


class DrillClock:
    """The hall clock as the drill sees it: read once from /health, then run on at the same speed."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed, self._mono = start, speed, time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)

    def sleep_until(self, when: datetime, stop: threading.Event) -> bool:
        """False when the drill is stopped meanwhile."""
        while not stop.is_set():
            left = (when - self.now()).total_seconds() / self.speed
            if left <= 0:
                return True
            stop.wait(min(left, 0.5))
        return False

    def sleep(self, hall_minutes: float, stop: threading.Event) -> bool:
        return self.sleep_until(self.now() + timedelta(minutes=hall_minutes), stop)


@dataclass
class TicketLog:
    visit: Visit
    number: str
    issued_at: datetime
    called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    window: int | None = None
    outcome: str = "waiting"  # waiting, served, no_show, mismatch
    qr: str = ""  # the slip's QR (the phone page's code)
    rating_done: bool = False  # the citizen has rated, or left without


@dataclass
class Record:
    tickets: dict[str, TicketLog] = field(default_factory=dict)
    refusals: list[tuple[Visit, str]] = field(default_factory=list)
    redirected: list[Visit] = field(default_factory=list)   # typed entry paused: the citizen laid the card instead
    offered: list[Visit] = field(default_factory=list)
    booked: list[Visit] = field(default_factory=list)
    arrivals: list[datetime] = field(default_factory=list)
    queue: list[tuple[datetime, dict[str, int]]] = field(default_factory=list)
    mismatches: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    matters: int = 0
    window_busy: dict[int, float] = field(default_factory=lambda: defaultdict(float))  # minutes serving
    window_staffed: dict[int, float] = field(default_factory=lambda: defaultdict(float))  # minutes logged in
    lock: threading.Lock = field(default_factory=threading.Lock)
    waits: Scored | None = None  # what each ticket was told about its wait (kiosk/drill/waits.py)


class Day(Protocol):
    """What a player of the day (kiosk/drill/insiders.py) uses of the runner that plays it."""

    api: Api
    tokens: Tokens
    sc: Scenario
    clock: DrillClock
    stop: threading.Event
    record: Record

    def issued(self, v: Visit, ticket: dict[str, Any]) -> None: ...

    def guard(self, fn: Callable[[], None]) -> Callable[[], None]: ...
