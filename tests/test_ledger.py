"""The central ledger, on SQLite and on a real PostgreSQL: a batch is stored once, only if it continues the
hall's chain and carries the hall's signature; every refusal has its precise code and raises an alert."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain import signing
from kiosk.domain.errors import DomainError
from kiosk.domain.signing import derive_key
from kiosk.hall import supervision
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.service import LedgerService
from tests.helpers import TZ, Hall

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)
KEY = signing.private_key(derive_key(b"k" * 32, "event-signing"))  # the key the test Hall's master key gives


def busy_hall(hall: Hall, people: int = 6) -> list[dict[str, Any]]:
    hall.login(2)
    for i in range(people):
        hall.tick(3)  # a kiosk serves five people in ten minutes
        hall.number("B", i + 1)
    for _ in range(3):
        hall.at(2, "call-next")
        number = supervision.window_summary(hall.svc, hall.now, 2)["current"]["number"]
        hall.at(2, "finish")
        hall.do("rate", {"ticket": number, "level": 1 if _ == 0 else 5, "source": "keypad"}, device=hall.counter)
    hall.do("report_matter", {"category": "waiting", "description": "等太久"})
    return hall.events()


def batch(events: list[dict[str, Any]], key: Any = KEY, hall: str = "demo-hall") -> dict[str, Any]:
    return {"hall": hall, "events": events, "signature": signing.sign_batch(key, hall, events)}


@pytest.fixture
def ledger(ledger_url: str) -> LedgerService:
    service = LedgerService(LedgerDB(ledger_url))
    service.add_hall("demo-hall", signing.public_key_text(KEY), NOW, "示范市不动产登记中心", "370000")
    return service


def refused(ledger: LedgerService, body: object) -> tuple[int, str]:
    with pytest.raises(DomainError) as caught:
        ledger.ingest("demo-hall", body, NOW)
    return caught.value.status, caught.value.code


def test_batches_continue_the_chain_and_are_stored_once(ledger: LedgerService, hall: Hall) -> None:
    events = busy_hall(hall)
    assert ledger.ingest("demo-hall", batch(events[:10]), NOW) == {"accepted": 10, "head_seq": 10}
    assert ledger.ingest("demo-hall", batch(events[:10]), NOW) == {"accepted": 0, "head_seq": 10}  # a retry
    assert ledger.ingest("demo-hall", batch(events[5:]), NOW) == {"accepted": len(events) - 10,
                                                                  "head_seq": len(events)}  # overlapping
    stored = ledger.events("demo-hall", 0, 1000)["events"]
    assert [e["seq"] for e in stored] == list(range(1, len(events) + 1))
    assert [{k: e[k] for k in events[0]} for e in stored] == events  # exactly as the hall had them
    assert all(e["received_at"].startswith("2026-11-23T18:00") for e in stored)
    assert ledger.head("demo-hall") == {"seq": len(events), "hash": events[-1]["hash"]}
    assert ledger.verify() == [("demo-hall", None)]


def test_every_refusal_has_its_code(ledger: LedgerService, hall: Hall) -> None:
    events = busy_hall(hall)
    ledger.ingest("demo-hall", batch(events[:5]), NOW)
    assert refused(ledger, batch(events[7:9])) == (409, "CHAIN_GAP")
    altered = copy.deepcopy(events[5:8])
    altered[1]["payload"]["level"] = 5
    assert refused(ledger, batch(altered)) == (422, "BAD_HASH")
    forged = copy.deepcopy(events[:6])
    forged[4]["at"] = "2026-11-23T10:00:00.000+08:00"
    from kiosk.domain.events import event_hash

    prev = forged[3]["hash"]
    for e in forged[4:]:
        e["prev_hash"] = prev
        e["hash"] = prev = event_hash(prev, e["seq"], e["id"], e["type"], e["at"], e["device"], e["payload"])
    assert refused(ledger, batch(forged)) == (409, "CHAIN_FORK")
    intruder = signing.private_key(b"x" * 32)
    assert refused(ledger, batch(events[5:8], key=intruder)) == (422, "BAD_SIGNATURE")
    assert refused(ledger, {"events": []}) == (422, "BATCH_INVALID")
    assert refused(ledger, [1, 2]) == (422, "BATCH_INVALID")
    assert refused(ledger, {"events": [{"seq": "6"}]}) == (422, "BATCH_INVALID")
    assert ledger.head("demo-hall")["seq"] == 5  # nothing refused was stored
    codes = [r[0] for r in ledger.db.all("SELECT code FROM alerts ORDER BY id")]
    assert codes == ["CHAIN_GAP", "BAD_HASH", "CHAIN_FORK", "BAD_SIGNATURE", "BATCH_INVALID", "BATCH_INVALID",
                     "BATCH_INVALID"]


def test_tampering_with_a_stored_event_is_found(ledger: LedgerService, hall: Hall) -> None:
    events = busy_hall(hall)
    ledger.ingest("demo-hall", batch(events), NOW)
    with ledger.db.transaction() as conn:
        ledger.db.execute(conn, "UPDATE events SET payload=? WHERE hall=? AND seq=?",
                          ('{"level":5}', "demo-hall", 7))
    assert ledger.verify("demo-hall") == [("demo-hall", 7)]


def test_supervisors_facts_come_with_the_events(ledger: LedgerService, hall: Hall) -> None:
    ledger.ingest("demo-hall", batch(busy_hall(hall)), NOW)
    ratings = ledger.db.all("SELECT number, level, bad, deadline FROM ratings ORDER BY number")
    assert [(r[0], r[1], r[2]) for r in ratings] == [("B001", 1, 1), ("B002", 5, 0), ("B003", 5, 0)]
    assert ratings[0][3] == "2026-11-30"
    assert ledger.db.one("SELECT status, category FROM matters") == ("opened", "waiting")
    assert len(ledger.db.all("SELECT * FROM issues")) == 6


def test_registration_and_tokens(ledger: LedgerService) -> None:
    with pytest.raises(DomainError) as dup:
        ledger.add_hall("demo-hall", signing.public_key_text(KEY), NOW)
    assert dup.value.code == "HALL_EXISTS"
    with pytest.raises(DomainError) as bad:
        ledger.add_hall("other-hall", "not a key", NOW)
    assert bad.value.code == "PUBLIC_KEY_INVALID"
    token = ledger.add_token("supervisor", "省厅监管", NOW)
    assert ledger.who(token) == ("supervisor", "省厅监管") and ledger.who("nope") is None


def test_a_ledger_from_before_versioning_is_migrated_with_its_data(ledger_url: str, hall: Hall,
                                                                   tmp_path: Path) -> None:
    """The first schema, holding a hall's events and facts, as the province ran it before the schema had a
    version; then today's ledger starts on it: every migration runs once, forward, nothing is lost, and the
    indicators' rollups come out exactly as today's ingest leaves them for the same events."""
    from kiosk.ledger import rollups
    from kiosk.ledger.migrations import MIGRATIONS, migrate

    events = busy_hall(hall)
    hall.do("close_followup", {"note": "已核实并回访"}, device=hall.supervisor, number="1")
    for step in ("claimed", "resolved", "called_back", "closed"):
        hall.tick(60)
        hall.do("transition_matter", {"to": step, "note": step}, device=hall.supervisor, number=events[-1]["payload"]
                ["matter"])
    events = hall.events()
    fresh = LedgerService(LedgerDB(f"sqlite:///{tmp_path / 'fresh.db'}"))  # what today's ingest leaves
    fresh.add_hall("demo-hall", signing.public_key_text(KEY), NOW)
    assert fresh.ingest("demo-hall", batch(events), NOW)["accepted"] == len(events)

    old = LedgerDB(ledger_url)
    assert migrate(old, upto=1) == 1
    with old.transaction() as conn:
        conn.execute("DROP TABLE schema_version")  # wave one had no version table at all
        old.add_partition(conn, "demo-hall")
        for table in ("halls", "events", "ratings", "matters", "exceptions", "issues", "cases"):
            columns = [d[0] for d in old.execute(conn, f"SELECT * FROM {table} LIMIT 0").description]
            rows = fresh.db.all(f"SELECT {', '.join(columns)} FROM {table}")
            old.executemany(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                  f"({','.join('?' * len(columns))})", rows)
    assert old.version() == 1
    old.close()

    current = LedgerService(LedgerDB(ledger_url))  # migrates on start
    assert current.db.version() == len(MIGRATIONS) > 1
    assert [e["seq"] for e in current.events("demo-hall", 0, 1000)["events"]] == list(range(1, len(events) + 1))
    assert current.verify() == [("demo-hall", None)]
    assert current.db.all("SELECT COUNT(*) FROM ratings")[0][0] == 3
    made = rollups.stored(current.db, "demo-hall")
    assert made == rollups.stored(fresh.db, "demo-hall")
    # one window, clerk and business: 3 services, 3 rated (1+5+5), 1 bad, its follow-up closed on time
    assert made["roll_units"] == {("2026-11-23", 2, "7", "B", 3, 3, 11, 1, 1, 0, 0)}
    assert current.db.one("SELECT closed_at FROM matters") == fresh.db.one("SELECT closed_at FROM matters") != (None,)
    current.add_user("shengting", "province", "", "a-long-password", NOW)  # a table of version 2
    assert current.sign_in("shengting", "a-long-password", NOW)[0]
    assert migrate(LedgerDB(ledger_url)) == len(MIGRATIONS)  # again: nothing to do, nothing broken


def test_a_gap_of_one_event_is_a_gap(ledger: LedgerService, hall: Hall) -> None:
    """The smallest gap: the next batch starts two past the head (seq head+1 is missing)."""
    events = busy_hall(hall)
    ledger.ingest("demo-hall", batch(events[:5]), NOW)
    assert refused(ledger, batch(events[6:9])) == (409, "CHAIN_GAP")
    assert ledger.ingest("demo-hall", batch(events[5:9]), NOW)["accepted"] == 4  # the right one goes on


def test_a_batch_at_head_plus_one_that_does_not_continue_the_head_is_a_fork(ledger: LedgerService,
                                                                              hall: Hall) -> None:
    """Self-consistent hashes, a valid signature, the right seq: but its first prev_hash is not the stored head's."""
    from kiosk.domain.events import event_hash

    events = busy_hall(hall)
    ledger.ingest("demo-hall", batch(events[:5]), NOW)
    other = copy.deepcopy(events[5:8])
    prev = "f" * 64  # another history's event 5
    for e in other:
        e["prev_hash"] = prev
        e["hash"] = prev = event_hash(prev, e["seq"], e["id"], e["type"], e["at"], e["device"], e["payload"])
    assert refused(ledger, batch(other)) == (409, "CHAIN_FORK")
    assert ledger.head("demo-hall")["seq"] == 5
