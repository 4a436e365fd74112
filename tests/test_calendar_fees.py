from datetime import date, datetime
from pathlib import Path

import pytest

from kiosk.domain.catalog import quote_fee
from kiosk.domain.errors import DomainError
from tests.helpers import TZ, Hall, example_config

CONFIG = example_config()
CAL = CONFIG.calendar


def test_opening_hours_lunch_and_weekends() -> None:
    assert CAL.is_open(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    assert not CAL.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=TZ))  # lunch
    assert not CAL.is_open(datetime(2026, 11, 23, 17, 30, tzinfo=TZ))  # closing time itself
    assert CAL.is_open(datetime(2026, 11, 28, 10, 0, tzinfo=TZ))  # Saturday morning service
    assert not CAL.is_open(datetime(2026, 11, 29, 10, 0, tzinfo=TZ))  # Sunday
    assert not CAL.is_open(datetime(2026, 10, 1, 10, 0, tzinfo=TZ))  # National Day


def test_business_day_is_local_not_utc() -> None:
    # 23:30 UTC on the 22nd is 07:30 on the 23rd in the hall
    assert CAL.business_day(datetime.fromisoformat("2026-11-22T23:30:00+00:00")) == date(2026, 11, 23)


def test_deadlines_count_statutory_working_days() -> None:
    # Monday + 5 working days = next Monday; the hall's Saturday service does not count
    assert CAL.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)
    # across National Day: 30 Sep + 1 working day skips the holidays and lands on the 8th
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # a weekend make-up day counts
    assert CAL.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_remaining_minutes() -> None:
    assert CAL.remaining_open_minutes(datetime(2026, 11, 23, 17, 0, tzinfo=TZ)) == 30
    assert CAL.remaining_open_minutes(datetime(2026, 11, 23, 11, 0, tzinfo=TZ)) == 60 + 240


def _quote(code: str, kind: str = "residential", certs: int = 1, red: list[str] | None = None) -> int:
    business = CONFIG.business(code)
    assert business is not None
    items, total = quote_fee(business, CONFIG.fees, kind, certs, red or [])
    assert sum(i.amount_fen for i in items) == total
    return total // 100


@pytest.mark.parametrize(("code", "kind", "certs", "reductions", "yuan"), [
    ("B", "residential", 1, [], 80),
    ("B", "non_residential", 1, [], 550),
    ("B", "residential", 3, [], 100),          # first certificate free, 10 yuan each extra
    ("H", "residential", 1, [], 40),           # correction: half
    ("J", "non_residential", 1, [], 275),      # objection: half
    ("E", "residential", 1, [], 0),            # mortgage release: free
    ("K", "non_residential", 1, [], 0),        # seizure: free
    ("Q", "residential", 1, [], 0),            # records enquiry: no fee at all
    ("B", "non_residential", 2, ["small_micro"], 0),
    ("A", "residential", 1, ["parking_no_certificate"], 0),
])
def test_fee_schedule(code: str, kind: str, certs: int, reductions: list[str], yuan: int) -> None:
    assert _quote(code, kind, certs, reductions) == yuan


@pytest.mark.parametrize(("kind", "certs", "red", "error"), [
    ("villa", 1, [], "PROPERTY_KIND_INVALID"),
    ("residential", -1, [], "CERTIFICATES_INVALID"),
    ("residential", 1, ["friend_of_clerk"], "REDUCTION_UNKNOWN"),
])
def test_fee_quote_refuses_bad_input(kind: str, certs: int, red: list[str], error: str) -> None:
    with pytest.raises(DomainError) as err:
        _quote("B", kind, certs, red)
    assert err.value.code == error


def test_national_holidays_come_from_the_maintained_calendar() -> None:
    """Not a hand-kept list that runs out: Mid-Autumn 2026 (a Friday) and its make-up Sunday come from
    the chinesecalendar package; the hall's file adds its own days."""
    assert not CAL.is_working_day(date(2026, 9, 25))  # 中秋节
    assert CAL.is_working_day(date(2026, 9, 20))  # a Sunday worked in lieu (调休)
    assert not CAL.periods(date(2026, 9, 25))  # the hall is closed that day
    assert date(2027, 2, 16) in CAL.holidays  # listed by the hall's own file until the package knows 2027


def test_a_deadline_in_a_year_nobody_covers_is_a_loud_error() -> None:
    from kiosk.domain.calendar import CalendarNotCovered

    assert 2026 in CAL.covered_years and 2027 not in CAL.covered_years
    with pytest.raises(CalendarNotCovered) as err:
        CAL.add_working_days(date(2026, 12, 28), 5)
    assert err.value.year == 2027 and "2027" in str(err.value)
    # told to go on anyway, it counts weekends and the hall's own listed days (2027-01-01 among them)
    assert CAL.add_working_days(date(2026, 12, 28), 5, strict=False) == date(2027, 1, 5)
    # a hall that lists the year in full covers it itself
    covered = example_config(calendar={"covered_years": CAL.covered_years | {2027}}).calendar
    assert covered.add_working_days(date(2026, 12, 28), 5) == date(2027, 1, 5)


def test_the_hall_goes_on_past_the_known_years_and_says_so(tmp_path: Path) -> None:
    hall = Hall(tmp_path, now=datetime(2026, 12, 28, 10, 0, tzinfo=TZ))
    numbers = [hall.number("B", i) for i in (1, 2)]
    hall.login(2)
    for number in numbers:
        hall.at(2, "call", number=number, reason="测试")
        hall.at(2, "finish")
        status, body = hall.do("rate", {"ticket": number, "level": 1, "source": "keypad"}, device=hall.counter)
        assert status == 201 and body["rating"]["followup"]["deadline"] == "2027-01-05"
    alerts = [e for e in hall.events() if e["type"] == "calendar.not_covered"]
    assert len(alerts) == 1 and alerts[0]["payload"]["year"] == 2027  # once, not at every deadline
    hall.close()


def test_config_check_warns_120_days_ahead_of_an_unknown_year() -> None:
    import subprocess

    from tests.helpers import KIOSK_BIN, ROOT

    soon = subprocess.run([*KIOSK_BIN, "config", "check", "config/hall.toml", "--today", "2026-11-28"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert soon.returncode == 0 and "2027" in soon.stdout and "warning" in soon.stdout
    early = subprocess.run([*KIOSK_BIN, "config", "check", "config/hall.toml", "--today", "2026-06-01"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert early.returncode == 0 and "warning" not in early.stdout
