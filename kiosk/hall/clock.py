"""The hall clock. Drills and acceptance tests start it at a chosen instant (``--now``);
it then runs on at the real pace, so time-based rules behave as they would that day."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class HallClock:
    def __init__(self, tz: ZoneInfo, start: datetime | None = None) -> None:
        self.tz = tz
        self._start = start
        self._mono = time.monotonic()

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(self.tz)
        return self._start + timedelta(seconds=time.monotonic() - self._mono)


def parse_now(text: str, tz: ZoneInfo) -> datetime:
    """``--now`` accepts ISO 8601; a time without an offset is the hall's local time."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=tz)
