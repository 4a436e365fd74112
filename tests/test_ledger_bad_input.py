"""What an older or buggy hall, an API fuzzer or a careless URL sends the ledger: never a 500, never a jammed
chain. An event is the record and is stored whatever its payload; a fact that cannot be derived from it
is quarantined with an alert (issue: "Incomplete payloads")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.domain import signing
from kiosk.domain.events import GENESIS, event_hash
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.service import LedgerService
from tests.test_ledger import KEY, NOW, batch
from tests.test_sync import LedgerProcess, last_line


def chained(payloads: list[tuple[str, dict[str, Any]]], first: int = 1, prev: str = GENESIS) -> list[dict[str, Any]]:
    """Correctly hashed events carrying whatever payloads the test wants."""
    events = []
    for i, (kind, payload) in enumerate(payloads):
        e = {"seq": first + i, "id": str(uuid.uuid4()), "type": kind, "at": "2026-11-23T10:00:00.000+08:00",
             "device": "kiosk-1", "payload": payload, "prev_hash": prev}
        e["hash"] = event_hash(prev, e["seq"], e["id"], kind, e["at"], e["device"], payload)
        prev = e["hash"]
        events.append(e)
    return events


ODD = [
    ("rating.recorded", {}),
    ("matter.opened", {}),
    ("case.accepted", {}),
    ("rating.recorded", {"day": "2026-11-23", "number": "B001", "level": 2**70}),
    ("rating.recorded", {"day": {"y": 2026}, "number": "B002", "level": 3}),
    ("ticket.issued", {"holder": "ab", "day": "2026-11-23", "principals": "many"}),
    ("followup.closed", {"day": "2026-11-23"}),
    ("matter.transitioned", {"to": "claimed"}),
    ("ticket.transferred", {"window": "three", "reason": "x"}),
    ("rating.recorded", {"day": "2026-11-23", "number": "B003", "level": 5, "bad": False, "window": 2}),
]


@pytest.fixture
def ledger(ledger_url: str) -> LedgerService:
    service = LedgerService(LedgerDB(ledger_url))
    service.add_hall("demo-hall", signing.public_key_text(KEY), NOW)
    return service


def test_odd_payloads_are_stored_and_their_facts_quarantined(ledger: LedgerService) -> None:
    events = chained(ODD)
    assert ledger.ingest("demo-hall", batch(events), NOW) == {"accepted": len(ODD), "head_seq": len(ODD)}
    assert [e["seq"] for e in ledger.events("demo-hall", 0, 100)["events"]] == list(range(1, len(ODD) + 1))
    quarantined = [json.loads(r[0]) for r in ledger.db.all("SELECT detail FROM alerts WHERE code='FACT_QUARANTINED' "
                                                           "ORDER BY id")]
    assert [q["seq"] for q in quarantined] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert quarantined[3]["field"] == "level" and quarantined[4]["field"] == "day"
    # the good fact in the same batch is there, and the chain goes on
    assert ledger.db.all("SELECT number, level FROM ratings") == [("B003", 5)]
    more = chained([("rating.recorded", {"day": "2026-11-23", "number": "B004", "level": 4})], len(ODD) + 1,
                   events[-1]["hash"])
    assert ledger.ingest("demo-hall", batch(more), NOW)["accepted"] == 1
    assert ledger.verify("demo-hall") == [("demo-hall", None)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LedgerProcess, str, str]]:
    folder: Path = tmp_path_factory.mktemp("ledger-bad")
    ledger = LedgerProcess(f"sqlite:///{folder / 'ledger.db'}")
    hall_token = last_line(ledger.cli("halls", "add", "--hall", "demo-hall", "--public-key",
                                      signing.public_key_text(KEY)))
    supervisor = last_line(ledger.cli("tokens", "add", "--role", "supervisor", "--name", "省厅"))
    ledger.start()
    yield ledger, hall_token, supervisor
    ledger.stop()


def post(url: str, token: str, raw: str) -> requests.Response:
    return requests.post(url, data=raw, headers={"Authorization": f"Bearer {token}",
                                                 "Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize("query", ["after=100000000000000000000", "after=-5", "after=abc", "after=%C2%B9",
                                   "limit=1e20", "limit=0"])
def test_event_queries_out_of_range_are_refused(served: tuple[LedgerProcess, str, str], query: str) -> None:
    ledger, hall_token, _ = served
    r = requests.get(f"{ledger.url}/api/v1/halls/demo-hall/events?{query}", timeout=10,
                     headers={"Authorization": f"Bearer {hall_token}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "QUERY_INVALID"


@pytest.mark.parametrize("bad", ["abc", "1e20", "-1", "99999999999999999999999"])
def test_dashboard_numbers_out_of_range_are_refused(served: tuple[LedgerProcess, str, str], bad: str) -> None:
    ledger, _, supervisor = served
    r = requests.get(f"{ledger.url}/dashboard/scalpers?min_tickets={bad}", timeout=10,
                     headers={"Authorization": f"Bearer {supervisor}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "QUERY_INVALID"


def test_odd_batches_get_a_code_not_a_500(served: tuple[LedgerProcess, str, str]) -> None:
    ledger, hall_token, supervisor = served
    url = f"{ledger.url}/api/v1/halls/demo-hall/batches"
    huge = chained([("x", {})])
    huge[0]["seq"] = -(10**20)
    r = post(url, hall_token, json.dumps({"events": huge, "signature": "x"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "BATCH_INVALID"
    deep = '{"events": ' + "[" * 3000 + "]" * 3000 + "}"
    r = post(url, hall_token, deep)
    assert r.status_code == 422 and r.json()["error"]["code"] == "BATCH_INVALID"
    surrogate = chained([("x", {"note": "a"})])
    raw = json.dumps({"events": surrogate, "signature": "x"}).replace('"a"', '"\\ud800"')
    r = post(url, hall_token, raw)
    assert r.status_code == 422 and r.json()["error"]["code"] in ("BATCH_INVALID", "BAD_HASH")
    r = post(f"{ledger.url}/api/v1/halls", supervisor, '{"hall": ' + "[" * 3000 + "]" * 3000 + "}")
    assert r.status_code == 422
