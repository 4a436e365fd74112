from datetime import date, datetime

import pytest

from kiosk.domain.catalog import quote_fee
from kiosk.domain.errors import DomainError
from tests.helpers import TZ, example_config

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
