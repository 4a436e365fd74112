"""The province's indicators on SQLite and on a real PostgreSQL, from signed batches as halls push them: what a
rating counts once followed up, appealed or overturned; 办不成事 closure; waits from issue to call; the rollups
the same whatever the batches' sizes and order, and as the migration would rebuild them; booking hoarding and
the holders seen in several halls, recounted when a late hall syncs."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.events import _scalar_json, canonical_json
from kiosk.ledger import hoarding, migrations, rollups
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.indicators import Indicators, long_share, percentile, ranking, trends, wait_days, wait_histograms
from kiosk.ledger.service import LedgerService, Viewer
from tests.helpers import TZ
from tests.ledger_chain import Chain

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)
TODAY = "2026-11-23"
PROVINCE = Viewer("shengting", "province", "")
DAY = "2026-11-02"


def a_month(chain: Chain) -> Chain:
    """One hall's November, every case the indicators distinguish (see the expected figures below)."""
    levels = {"B001": 5, "B002": 5, "B003": 4, "B004": 1, "B005": 2, "B006": 1, "B007": 2, "B008": 3, "B009": None,
              "B010": None, "B011": 1}
    for i, (number, level) in enumerate(levels.items()):
        window, clerk = (2, "7") if i < 5 else (3, "8")
        chain.serve(DAY, number, window=window, clerk=clerk, level=level, deadline="2026-11-09", waited=5.0 * (i + 1),
                    at=f"{9 + i // 4:02d}:{i % 4 * 15:02d}", reasons=["等候时间长"] if level == 1 else None)
    chain.close_followup(DAY, "B004", "2026-11-05T16:00:00.000+08:00", "2026-11-09")  # on time
    chain.close_followup(DAY, "B005", "2026-11-12T09:00:00.000+08:00", "2026-11-09")  # late
    # B006 stays open past its deadline: overdue as of today
    chain.appeal(DAY, "B007", "2026-11-03T09:00:00.000+08:00")
    chain.appeal(DAY, "B007", "2026-11-04T09:00:00.000+08:00", "overturned")  # stays on record, leaves the figures
    chain.appeal(DAY, "B011", "2026-11-03T09:30:00.000+08:00")
    chain.appeal(DAY, "B011", "2026-11-04T09:30:00.000+08:00", "upheld")  # still a bad rating
    chain.close_followup(DAY, "B011", "2026-11-06T09:00:00.000+08:00", "2026-11-09")
    chain.matter("M20261102-001", "2026-11-02T10:00:00.000+08:00", "2026-11-05T10:00:00.000+08:00")  # 3 days
    chain.matter("M20261103-001", "2026-11-03T10:00:00.000+08:00", "2026-11-04T22:00:00.000+08:00")  # 1.5 days
    chain.matter("M20261120-001", "2026-11-20T10:00:00.000+08:00")  # still open
    return chain


@pytest.fixture
def ledger(ledger_url: str) -> LedgerService:
    return LedgerService(LedgerDB(ledger_url))


def register(ledger: LedgerService, chain: Chain, region: str = "370100", name: str = "") -> Chain:
    ledger.add_hall(chain.hall, chain.public_key, NOW, name or chain.hall, region)
    return chain


def only(rows: list[Indicators]) -> Indicators:
    assert len(rows) == 1, rows
    return rows[0]


def test_the_indicators_count_what_stands(ledger: LedgerService) -> None:
    chain = a_month(register(ledger, Chain("jinan-hall")))
    ledger.ingest("jinan-hall", chain.batch(), NOW)
    hall = only(ranking(ledger.db, PROVINCE, "2026-11-01", "2026-11-30", "hall", TODAY))
    assert (hall.services, hall.rated, hall.level_sum, hall.bad) == (11, 8, 22, 4)  # B007's 2 is out
    assert round(hall.per10k or 0, 1) == 3636.4 and hall.average == 22 / 8
    assert (hall.ontime, hall.late, hall.open_overdue, hall.overdue) == (2, 1, 1, 2)
    assert (hall.rectified_rate, hall.callback_rate, hall.overturned) == (3 / 4, 2 / 4, 1)
    assert (hall.matters_opened, hall.matters_closed, hall.median_close_days) == (3, 2, 2.25)
    windows = {r.key[1]: r for r in ranking(ledger.db, PROVINCE, "2026-11-01", "2026-11-30", "window", TODAY)}
    assert (windows[2].services, windows[2].bad, windows[2].overdue, windows[3].bad, windows[3].overturned) == \
        (5, 2, 1, 2, 1)
    assert windows[3].label == "jinan-hall 3号窗口" and windows[3].matters_opened is None  # not a window's
    # the period is the rating's day: nothing of November 2 counts in a period starting on the 3rd
    later = only(ranking(ledger.db, PROVINCE, "2026-11-03", "2026-11-30", "hall", TODAY))
    assert (later.services, later.bad, later.overturned, later.matters_opened) == (0, 0, 0, 2)
    # the rating stays on record, marked
    assert ledger.db.one("SELECT appeal, followup FROM ratings WHERE number='B007'") == ("overturned", "opened")
    assert ledger.db.all("SELECT state FROM appeals WHERE number='B011' ORDER BY seq") == [("appealed",), ("upheld",)]
    assert ledger.db.one("SELECT reasons FROM ratings WHERE number='B004'") == ('["等候时间长"]',)


def test_rollups_are_the_same_whatever_the_batches_and_as_the_migration_rebuilds_them(ledger: LedgerService,
                                                                                      ledger_url: str) -> None:
    """One batch, one event a batch, or random cuts (a rating, its follow-up and its appeal in different batches):
    the same rows. And the migration's rebuild from the stored events and facts gives them too."""
    chains = [a_month(register(ledger, Chain(f"hall-{i}"), region=f"3701{i:02d}")) for i in range(3)]
    ledger.ingest("hall-0", chains[0].batch(), NOW)
    for e in chains[1].events:
        ledger.ingest("hall-1", chains[1].batch([e]), NOW)
    cuts, rng = [0], random.Random(7)
    while cuts[-1] < len(chains[2].events):
        cuts.append(cuts[-1] + rng.randint(1, 9))
    for a, b in itertools.pairwise(cuts):
        ledger.ingest("hall-2", chains[2].batch(chains[2].events[a:b]), NOW)
        ledger.ingest("hall-2", chains[2].batch(chains[2].events[max(0, a - 3):b]), NOW)  # retries overlap: no change
    made = [rollups.stored(ledger.db, f"hall-{i}") for i in range(3)]
    assert made[0] == made[1] == made[2]
    assert made[0]["roll_units"] and made[0]["roll_days"] and made[0]["roll_waits"]

    with ledger.db.transaction() as conn:
        for table in ("roll_units", "roll_days", "roll_waits", "issue_marks"):
            conn.execute(f"DELETE FROM {table}")
        migrations.backfill(ledger.db, conn)
    assert [rollups.stored(ledger.db, f"hall-{i}") for i in range(3)] == made


def test_a_rating_a_hall_sends_twice_counts_once(ledger: LedgerService) -> None:
    chain = register(ledger, Chain("jinan-hall"))
    chain.serve(DAY, "B001", level=1)
    ledger.ingest("jinan-hall", chain.next_batch(), NOW)
    rating = dict(chain.events[-1])
    chain.add("rating.recorded", rating["at"], {**rating["payload"], "level": 2})  # a buggy hall's second rating
    ledger.ingest("jinan-hall", chain.next_batch(), NOW)
    hall = only(ranking(ledger.db, PROVINCE, DAY, DAY, "hall", TODAY))
    assert (hall.rated, hall.level_sum, hall.bad) == (1, 1, 1)


def test_waits_from_issue_to_call(ledger: LedgerService) -> None:
    chain = register(ledger, Chain("jinan-hall"))
    waits = {"B": [5, 10, 15, 20, 70], "C": [1.5, 2.5, 3.5, 4.5, 5.5, 61, 62, 63, 64, 65]}
    for business, minutes in waits.items():
        for i, waited in enumerate(minutes):
            chain.serve("2026-11-03", f"{business}{i:03d}", business=business, waited=waited, level=None)
    chain.serve("2026-11-04", "B100", waited=90, level=None)
    ledger.ingest("jinan-hall", chain.batch(), NOW)
    hist = wait_histograms(ledger.db, PROVINCE, "2026-11-03", "2026-11-03")
    b, c = hist[("jinan-hall", "B")], hist[("jinan-hall", "C")]
    # interpolated within buckets: 14–16 (2 min) for the median of B, 70–80 for its p90; 5–6 and 60–70 for C
    assert (percentile(b, 0.5), percentile(b, 0.9), long_share(b)) == (15.0, 75.0, 0.2)
    assert (percentile(c, 0.5), percentile(c, 0.9), long_share(c)) == (6.0, 68.0, 0.5)
    assert wait_days(ledger.db, PROVINCE, "2026-11-01", "2026-11-30") == [
        ("2026-11-03", 15, pytest.approx(sum(waits["B"] + waits["C"]) / 15), 6 / 15), ("2026-11-04", 1, 90.0, 1.0)]


def test_trends_by_week_and_month(ledger: LedgerService) -> None:
    chain = register(ledger, Chain("jinan-hall"))
    for day, level in (("2026-10-30", 1), ("2026-11-02", 5), ("2026-11-03", 1), ("2026-11-10", 5)):
        chain.serve(day, f"B{day[-2:]}", level=level)
    ledger.ingest("jinan-hall", chain.batch(), NOW)
    weeks, series = trends(ledger.db, PROVINCE, "week", "2026-10-01", "2026-11-30")
    assert weeks[:2] == ["2026-W40", "2026-W41"] and weeks[-1] == "2026-W49" and len(weeks) == 10  # gaps too
    weeks = weeks[4:7]
    assert weeks == ["2026-W44", "2026-W45", "2026-W46"]
    assert [series["jinan-hall"][w].figures()["per10k"] for w in weeks] == [10000.0, 5000.0, 0.0]
    months, series = trends(ledger.db, PROVINCE, "month", "2026-10-01", "2026-11-30")
    assert months == ["2026-10", "2026-11"] and series["jinan-hall"]["2026-11"].services == 3


def test_booking_hoarding_and_holders_across_halls(ledger: LedgerService) -> None:
    jinan = register(ledger, Chain("jinan-hall"), "370100")
    qingdao = register(ledger, Chain("qingdao-hall"), "370200")
    for i in range(4):  # one kiosk, four typed ID numbers, four of tomorrow's slots
        jinan.book(f"2026-11-20T09:0{i}:00.000+08:00", f"typed-{i}".ljust(64, "0"))
    jinan.book("2026-11-20T09:05:00.000+08:00", "typed-0".ljust(64, "0"), refused="BOOKING_EXISTS")
    jinan.burst("2026-11-20T09:06:00.000+08:00")
    jinan.book("2026-11-20T11:00:00.000+08:00", "card-1".ljust(64, "0"), kiosk="kiosk-2", entry="card")
    qingdao.book("2026-11-21T09:00:00.000+08:00", "typed-0".ljust(64, "0"), entry="card")  # the same person, elsewhere
    ledger.ingest("jinan-hall", jinan.batch(), NOW)
    ledger.ingest("qingdao-hall", qingdao.batch(), NOW)
    db, period = ledger.db, ("2026-11-01", "2026-11-30")
    assert hoarding.typed_bookings(db, PROVINCE, *period, 3) == [("jinan-hall", "kiosk-1", "2026-11-20", 4, 4)]
    assert hoarding.booking_holders(db, PROVINCE, *period, 2) == [("typed-0".ljust(64, "0"), 2, 2, 1, 1)]
    assert hoarding.refusals(db, PROVINCE, *period) == [("jinan-hall", "kiosk-1", "BOOKING_EXISTS", 1)]
    assert [b[2:] for b in hoarding.bursts(db, PROVINCE, *period)] == [("kiosk-1", "booking")]
    jinan_only = Viewer("jinan", "region", "3701")
    # Qingdao's booking is not Jinan's to see: in Jinan, one booking and one refusal
    assert hoarding.booking_holders(db, jinan_only, *period, 2) == [("typed-0".ljust(64, "0"), 1, 1, 1, 1)]


def test_holders_in_several_halls_are_recounted_when_a_late_hall_syncs(ledger: LedgerService) -> None:
    jinan = register(ledger, Chain("jinan-hall"), "370100")
    qingdao = register(ledger, Chain("qingdao-hall"), "370200")
    person = "p".ljust(64, "0")
    jinan.serve("2026-11-20", "B001", holder=person, level=None)
    ledger.ingest("jinan-hall", jinan.next_batch(), NOW)
    db, period = ledger.db, ("2026-11-01", "2026-11-30")
    assert hoarding.holders(db, PROVINCE, *period, 4) == []  # one ticket in one hall: nothing
    qingdao.serve("2026-11-20", "C001", holder=person, level=None)  # Qingdao was offline; it syncs days later
    ledger.ingest("qingdao-hall", qingdao.next_batch(), NOW)
    assert hoarding.holders(db, PROVINCE, *period, 4) == [(person, "2026-11-20", 2, 2)]
    assert db.all("SELECT * FROM issue_marks") == []  # counted: nothing left to recount
    assert hoarding.holders(db, Viewer("jinan", "region", "3701"), *period, 4) == []  # within Jinan: one ticket
    for i in range(2, 5):
        jinan.serve("2026-11-20", f"B00{i}", holder=person, level=None)
    ledger.ingest("jinan-hall", jinan.next_batch(), NOW)
    assert hoarding.holders(db, PROVINCE, *period, 4) == [(person, "2026-11-20", 2, 5)]
    assert hoarding.holders(db, Viewer("jinan", "region", "3701"), *period, 4) == [(person, "2026-11-20", 1, 4)]


@given(st.one_of(st.text(), st.integers(min_value=-(2**70), max_value=2**70), st.none()))
def test_plain_fields_are_hashed_as_the_json_encoder_writes_them(value: Any) -> None:
    assert _scalar_json(value) == canonical_json(value)


def test_the_year_bench_fills_the_rollups_as_ingest_leaves_them(ledger: LedgerService) -> None:
    """bench/ledger_dashboard.py sums a year of generated ratings into roll_units in SQL; on what ingest stored for
    a month of every case, its sums are exactly ingest's own (services aside: the bench has no service events)."""
    from bench.ledger_dashboard import RATING_SUMS

    chain = a_month(register(ledger, Chain("jinan-hall")))
    ledger.ingest("jinan-hall", chain.batch(), NOW)
    by_sql = ledger.db.all(f"SELECT day, COALESCE(win, -1), COALESCE(clerk_id, ''), COALESCE(business, ''), {RATING_SUMS} "
                           "FROM ratings GROUP BY day, COALESCE(win, -1), COALESCE(clerk_id, ''), COALESCE(business, '')")
    by_ingest = ledger.db.all("SELECT day, win, clerk, business, rated, level_sum, bad, ontime, late, overturned "
                              "FROM roll_units WHERE rated > 0 OR overturned > 0")
    assert sorted(tuple(r) for r in by_sql) == sorted(tuple(r) for r in by_ingest)


def test_a_contract_event_the_ledger_cannot_read_is_kept_and_quarantined(ledger: LedgerService) -> None:
    """An appeal with an outcome the contract does not name, a booking without its holder: the events are stored
    (the chain goes on), their facts are quarantined with an alert, and nothing is counted from them."""
    chain = register(ledger, Chain("jinan-hall"))
    chain.serve(DAY, "B001", level=1)
    chain.add("rating.appeal_decided", "2026-11-03T09:00:00.000+08:00", {"number": "B001", "day": DAY,
                                                                         "outcome": "maybe", "reason": "", "by": "x"})
    chain.add("booking.created", "2026-11-03T10:00:00.000+08:00", {"booking": "B1", "business": "B", "entry": "typed"})
    chain.add("ticket.called", "2026-11-03T10:05:00.000+08:00", {"number": "B002", "day": DAY, "waited_min": "long"})
    assert ledger.ingest("jinan-hall", chain.batch(), NOW)["accepted"] == len(chain.events)
    alerts = [r[0] for r in ledger.db.all("SELECT detail FROM alerts WHERE code='FACT_QUARANTINED' ORDER BY id")]
    assert [a.split('"field": "')[1].split('"')[0] for a in alerts] == ["outcome", "holder", "waited_min"]
    hall = only(ranking(ledger.db, PROVINCE, DAY, DAY, "hall", TODAY))
    assert (hall.bad, hall.overturned) == (1, 0) and ledger.db.all("SELECT * FROM bookings") == []
