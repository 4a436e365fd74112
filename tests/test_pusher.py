"""The sync pusher's decisions through a fake transport (the seam, as httpx has): which ledger answers are
final (hall-api.md: 409 CHAIN_FORK, 422, 401/403) and which are retried (5xx, a gap, the network), and
the one backoff with jitter."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.events import GENESIS
from kiosk.domain.signing import event_signing_key
from kiosk.sync.pusher import Backoff, Pusher, SyncRetry, SyncStopped
from tests.helpers import Hall


class FakeLedger:
    """Answers the pusher's requests from a script; a head of 0 unless told otherwise."""

    def __init__(self, answers: list[tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.posts: list[dict[str, Any]] = []
        self.heads = 0

    def __call__(self, method: str, url: str, body: dict[str, Any] | None,
                 headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "GET":
            self.heads += 1
            return 200, {"seq": 0, "hash": GENESIS}
        assert body is not None
        self.posts.append(body)
        status, reply = self.answers.pop(0)
        if status == -1:
            raise SyncRetry("network: ConnectionError")
        return status, reply


def hall_pusher(hall: Hall, url: str, token: str, **options: Any) -> Pusher:
    """As the CLI wires it: the hall's store as the outbox, its event-signing key."""
    return Pusher(hall.store, hall.config.hall_id, event_signing_key(hall.svc.master_key), url, token, **options)


def pusher(hall: Hall, answers: list[tuple[int, dict[str, Any]]]) -> tuple[Pusher, FakeLedger]:
    ledger = FakeLedger(answers)
    p = hall_pusher(hall, "http://ledger.invalid", "token", transport=ledger)
    p.backoff = lambda: Backoff(base=0.001, cap=0.004, rng=random.Random(1))
    return p, ledger


def error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": "…"}}


@pytest.mark.parametrize(("status", "code"), [(409, "CHAIN_FORK"), (422, "BAD_SIGNATURE"), (422, "BAD_HASH"),
                                              (401, "UNAUTHORIZED"), (403, "FORBIDDEN")])
def test_final_refusals_stop_the_pusher(tmp_path: Path, status: int, code: str) -> None:
    hall = Hall(tmp_path)
    hall.number("B", 1)
    p, ledger = pusher(hall, [(status, error(code))])
    with pytest.raises(SyncStopped) as stopped:
        p.catch_up()
    assert stopped.value.code == code and len(ledger.posts) == 1  # no second try of a final answer
    hall.close()


@pytest.mark.parametrize("trouble", [(500, error("INTERNAL")), (503, error("STORE_UNAVAILABLE")), (502, {}),
                                     (409, error("CHAIN_GAP")), (-1, {})])
def test_everything_else_is_retried_until_stored(tmp_path: Path, trouble: tuple[int, dict[str, Any]]) -> None:
    hall = Hall(tmp_path)
    hall.number("B", 1)
    total = len(hall.events())
    p, ledger = pusher(hall, [trouble, trouble, (200, {"accepted": total, "head_seq": total})])
    assert p.catch_up() is True
    assert len(ledger.posts) == 3 and p.synced == total
    if trouble[1].get("error", {}).get("code") == "CHAIN_GAP":
        assert ledger.heads >= 2  # a gap makes it learn the ledger's head again
    hall.close()


def test_the_background_worker_stops_on_a_final_refusal_and_says_why(tmp_path: Path) -> None:
    hall = Hall(tmp_path)
    hall.number("B", 1)
    p, _ = pusher(hall, [(503, {}), (409, error("CHAIN_FORK"))])
    p.run(threading.Event(), idle=0.01)
    assert p.stopped is not None and p.stopped.code == "CHAIN_FORK"
    hall.close()


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    waits = [Backoff(base=1, cap=60, rng=random.Random(seed)) for seed in range(50)]
    first = [b.next() for b in waits]
    assert all(0.5 <= w <= 1 for w in first)
    for _ in range(12):
        later = [b.next() for b in waits]
    assert all(30 <= w <= 60 for w in later)  # capped, never below half the cap
    assert len({round(w, 3) for w in later}) > 40  # a thousand halls do not come back in the same second
    b = waits[0]
    b.reset()
    assert b.next() <= 1


class HeadLedger(FakeLedger):
    def __init__(self, head: tuple[int, dict[str, Any]]) -> None:
        super().__init__([])
        self.head = head

    def __call__(self, method: str, url: str, body: dict[str, Any] | None,
                 headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "GET":
            assert url.endswith("/api/v1/halls/demo-hall/head") and headers["Authorization"] == "Bearer token"
            return self.head
        return super().__call__(method, url, body, headers)


@pytest.mark.parametrize(("head", "code"), [
    ((200, {"seq": 99, "hash": "x"}), "LEDGER_AHEAD"),  # the ledger holds more than this hall: data replaced?
    ((200, {"seq": 1, "hash": "f" * 64}), "CHAIN_FORK"),  # its event 1 is not ours
    ((200, {"seq": 0, "hash": "e" * 64}), "CHAIN_FORK"),  # an empty chain with a head that is not the genesis
    ((401, error("UNAUTHORIZED")), "UNAUTHORIZED"),
    ((403, error("FORBIDDEN")), "FORBIDDEN"),
])
def test_the_ledgers_head_is_checked_against_our_own_chain(tmp_path: Path, head: tuple[int, dict[str, Any]],
                                                           code: str) -> None:
    hall = Hall(tmp_path)
    hall.number("B", 1)
    p = hall_pusher(hall, "http://ledger.invalid/", "token", transport=HeadLedger(head))
    with pytest.raises(SyncStopped) as stopped:
        p.learn_head()
    assert stopped.value.code == code and stopped.value.message is not None
    hall.close()


def test_a_head_that_matches_is_where_sync_goes_on(tmp_path: Path) -> None:
    hall = Hall(tmp_path)
    hall.number("B", 1)
    hall.number("B", 2)
    events = hall.events()
    ledger = HeadLedger((200, {"seq": 1, "hash": events[0]["hash"]}))
    ledger.answers = [(200, {"accepted": len(events) - 1, "head_seq": len(events)})]
    p = hall_pusher(hall, "http://ledger.invalid", "token", batch=500, transport=ledger)
    assert p.learn_head() == 1 and p.synced == 1
    assert p.push_once() == len(events) - 1
    sent = ledger.posts[0]
    assert [e["seq"] for e in sent["events"]] == list(range(2, len(events) + 1))  # from the head on, in order
    assert sent["hall"] == "demo-hall" and sent["signature"]
    assert p.synced == len(events) and p.push_once() == 0  # nothing more to send
    stored = hall.store.reader().execute("SELECT value FROM meta WHERE key='synced_seq'").fetchone()[0]
    assert int(stored) == len(events)  # remembered across a restart
    with pytest.raises(SyncRetry):
        hall_pusher(hall, "http://ledger.invalid", "token", transport=HeadLedger((503, {}))).learn_head()
    hall.close()
