"""The hall's calendar: opening hours per weekday, holidays and adjusted working days.

Everything works on the hall's local time (its configured zone), so a business day
starts at local midnight whatever the server's zone is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.domain.errors import KioskError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Period = tuple[time, time]


class CalendarNotCovered(KioskError):
    """A statutory deadline reaches a year whose national holidays nobody has told the hall: counting on
    would silently treat holidays as working days. The caller decides how loudly to go on."""

    def __init__(self, year: int) -> None:
        super().__init__(f"{year} 年的法定节假日安排未知 / the statutory holidays of {year} are not known")
        self.year = year


@dataclass(frozen=True)
class HallCalendar:
    tz: ZoneInfo
    hours: dict[str, tuple[Period, ...]]
    holidays: frozenset[date]
    working_days: frozenset[date]  # weekend days worked (调休); they use Monday's hours
    # years whose national holidays and make-up days are known (the chinesecalendar package, plus years the
    # hall's config lists itself); an empty set means "not checked" (a calendar made by hand in a test)
    covered_years: frozenset[int] = frozenset()

    def uncovered_years(self, start: date, days: int) -> list[int]:
        """The years in [start, start + days] that nothing covers (for config check's look-ahead)."""
        if not self.covered_years:
            return []
        end = start + timedelta(days=days)
        return [y for y in range(start.year, end.year + 1) if y not in self.covered_years]

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)

    def business_day(self, now: datetime) -> date:
        return self.local(now).date()

    def is_working_day(self, day: date) -> bool:
        """A statutory working day (Mon–Fri, less holidays, plus make-up days): deadlines count these."""
        if day in self.holidays:
            return False
        return day in self.working_days or day.weekday() < 5

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """Opening periods; a hall may also open on days that are not working days (Saturday service)."""
        if day in self.holidays:
            return []
        spans = self.hours.get("mon", ()) if day in self.working_days else self.hours.get(WEEKDAYS[day.weekday()], ())
        return [
            (datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz)) for a, b in spans
        ]

    def is_open(self, now: datetime) -> bool:
        local = self.local(now)
        return any(a <= local < b for a, b in self.periods(local.date()))

    def closing_time(self, now: datetime) -> datetime | None:
        periods = self.periods(self.business_day(now))
        return periods[-1][1] if periods else None

    def remaining_open_minutes(self, now: datetime) -> float:
        local = self.local(now)
        total = 0.0
        for a, b in self.periods(local.date()):
            start = max(a, local)
            if b > start:
                total += (b - start).total_seconds() / 60
        return total

    def next_opening(self, now: datetime) -> datetime | None:
        local = self.local(now)
        for offset in range(0, 60):
            day = local.date() + timedelta(days=offset)
            for a, _b in self.periods(day):
                if a > local:
                    return a
        return None

    def add_working_days(self, start: date, days: int, strict: bool = True) -> date:
        """The date ``days`` working days after ``start`` (statutory deadlines). ``strict``: a day in a year the
        calendar does not cover raises CalendarNotCovered instead of being guessed."""
        day = start
        counted = 0
        for _ in range(days * 7 + 400):
            if counted >= days:
                break
            day += timedelta(days=1)
            if strict and self.covered_years and day.year not in self.covered_years:
                raise CalendarNotCovered(day.year)
            if self.is_working_day(day):
                counted += 1
        return day

    def open_days_after(self, day: date, limit: int = 60) -> list[date]:
        return [d for d in (day + timedelta(days=i) for i in range(1, limit + 1)) if self.periods(d)]
