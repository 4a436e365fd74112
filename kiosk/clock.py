"""The hall clock. Drills and acceptance tests start it at a chosen instant (``--now``)
and may run it faster than real time (``--speed``), so that a whole hall day plays in
minutes while every rule that reads the clock (opening hours, the business day,
cool-downs, kiosk-burst windows, booking slots, sessions, deadlines) sees the day as it
would unfold. The hall service reads the time only from here."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MAX_SPEED = 10_000.0


class HallClock:
    """``monotonic`` is the real-time source: tests pass their own to step time by hand."""

    def __init__(self, tz: ZoneInfo, start: datetime | None = None, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be in (0, {MAX_SPEED:g}]")
        self.tz = tz
        self.speed = speed
        self._monotonic = monotonic
        self._start = start if start is not None or speed == 1 else datetime.now(tz)
        self._mono = monotonic()

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(self.tz)
        return self._start + timedelta(seconds=(self._monotonic() - self._mono) * self.speed)

    def real_seconds(self, hall_seconds: float) -> float:
        """How long a span of hall time takes in real time (for timers such as escalation rounds)."""
        return hall_seconds / self.speed


def parse_now(text: str, tz: ZoneInfo) -> datetime:
    """``--now`` accepts ISO 8601; a time without an offset is the hall's local time."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def parse_speed(text: str | float) -> float:
    """``--speed``: a positive factor; a refusal names the range so that the technician can fix the command."""
    speed = float(text)
    if not 0 < speed <= MAX_SPEED:
        raise ValueError(f"--speed 应在 0 到 {MAX_SPEED:g} 之间 / --speed must be in (0, {MAX_SPEED:g}]: {text}")
    return speed
