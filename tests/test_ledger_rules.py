"""The ledger's chain rules, pure and table-driven (kiosk/domain/ledger_rules.py): every way a body can fail
to be a batch, every place a batch can take in the chain, each with its code, status, both messages and the
details a hall's technician needs. Written against the mutation report: each row kills a planted bug."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kiosk.domain.events import GENESIS, event_hash
from kiosk.domain.ledger_rules import MAX_BATCH, MAX_SEQ, Verdict, check_batch, parse_batch


def chain(n: int, first: int = 1, prev: str = GENESIS) -> list[dict[str, Any]]:
    events = []
    for seq in range(first, first + n):
        e = {"seq": seq, "id": f"e{seq}", "type": "ticket.issued", "at": "2026-11-23T10:00:00+08:00",
             "device": "kiosk-1", "payload": {"n": seq}, "prev_hash": prev}
        e["hash"] = prev = event_hash(prev, seq, e["id"], e["type"], e["at"], e["device"], e["payload"])
        events.append(e)
    return events


def refusal(verdict: object, code: str, status: int, **details: Any) -> Verdict:
    assert isinstance(verdict, Verdict), verdict
    assert (verdict.code, verdict.status) == (code, status)
    assert verdict.message and verdict.message_en and verdict.message != verdict.message_en  # 中文 and English
    for key, value in details.items():
        assert verdict.details[key] == value, (key, verdict.details)
    return verdict


def with_field(name: str, value: Any) -> dict[str, Any]:
    e = chain(2)
    e[1] = {**e[1], name: value}
    return {"events": e, "signature": "s"}


def without(name: str) -> dict[str, Any]:
    e = chain(2)
    del e[1][name]
    return {"events": e, "signature": "s"}


@pytest.mark.parametrize(("body", "field", "where"), [
    (None, None, None), ([1, 2], None, None), ({"events": []}, None, None), ({"events": "x"}, None, None),
    ({"signature": "s"}, None, None),
    ({"events": [1], "signature": "s"}, None, "1"),
    ({"events": [chain(1)[0], "x"], "signature": "s"}, None, "2"),
    *[(without(name), name, "2") for name in ("seq", "id", "type", "at", "payload", "prev_hash", "hash")],
    (with_field("seq", "2"), "seq", "2"), (with_field("seq", True), "seq", "2"), (with_field("payload", []), "payload", "2"),
    (with_field("hash", 5), "hash", "2"), (with_field("device", 7), "device", "2"),
    (with_field("seq", 0), "seq", "2"), (with_field("seq", -(10**20)), "seq", "2"), (with_field("seq", MAX_SEQ + 1), "seq", "2"),
])
def test_what_is_not_a_batch(body: object, field: str | None, where: str | None) -> None:
    verdict = refusal(parse_batch(body), "BATCH_INVALID", 422)
    if field is not None:
        assert verdict.details["field"] == field
    if where is not None:  # the message says which event, counting from 1 as a person does
        assert f"第 {where} 个" in verdict.message and f"Event {where}" in verdict.message_en


def test_the_largest_batch_and_one_more() -> None:
    largest = [{**chain(1)[0], "seq": i} for i in range(1, MAX_BATCH + 1)]
    assert parse_batch({"events": largest, "signature": "s"}) == (largest, "s")  # exactly the limit: a batch
    events = [{"seq": 1}] * (MAX_BATCH + 1)
    refusal(parse_batch({"events": events, "signature": "s"}), "BATCH_INVALID", 422)
    assert str(MAX_BATCH) in parse_batch({"events": events}).message  # type: ignore[union-attr]
    ok = chain(3)
    assert parse_batch({"events": ok, "signature": "sig"}) == (ok, "sig")
    assert parse_batch({"events": [{**chain(1)[0], "seq": MAX_SEQ}], "signature": None})[0][0]["seq"] == MAX_SEQ  # type: ignore[index]


def stored_of(events: list[dict[str, Any]]) -> Any:
    hashes = {e["seq"]: e["hash"] for e in events}
    return hashes.get


def test_a_new_chain_and_a_continued_one_are_accepted_with_their_payload_texts() -> None:
    events = chain(5)
    first = check_batch(events[:3], 0, GENESIS, stored_of([]))
    assert first.code is None and [e["seq"] for e in first.new] == [1, 2, 3]
    assert first.payloads == ['{"n":1}', '{"n":2}', '{"n":3}']
    again = check_batch(events[:3], 3, events[2]["hash"], stored_of(events[:3]))
    assert again.code is None and again.new == []  # a retry: accepted 0
    overlap = check_batch(events[1:5], 3, events[2]["hash"], stored_of(events[:3]))
    assert [e["seq"] for e in overlap.new] == [4, 5] and overlap.payloads == ['{"n":4}', '{"n":5}']


def test_an_altered_event_is_a_bad_hash_naming_its_seq() -> None:
    events = chain(4)
    events[2] = {**events[2], "payload": {"n": 99}}
    verdict = refusal(check_batch(events, 0, GENESIS, stored_of([])), "BAD_HASH", 422, seq=3)
    assert "3" in verdict.message and "3" in verdict.message_en


def test_events_of_a_batch_must_chain_among_themselves() -> None:
    skipped = [*chain(2), *chain(2, first=4, prev=chain(3)[-1]["hash"])]  # 1, 2, then 4: seq not consecutive
    refusal(check_batch(skipped, 0, GENESIS, stored_of([])), "BATCH_INVALID", 422, seq=4)
    other = chain(2) + chain(1, first=3, prev="a" * 64)  # 3 does not point at 2
    refusal(check_batch(other, 0, GENESIS, stored_of([])), "BATCH_INVALID", 422, seq=3)


def test_a_gap_says_where_to_continue() -> None:
    events = chain(8)
    for start in (6, 7):  # a gap of one event (5 missing) and of two
        verdict = refusal(check_batch(events[start:], 4, events[3]["hash"], stored_of(events[:4])), "CHAIN_GAP", 409,
                          expected_seq=5, head={"seq": 4, "hash": events[3]["hash"]})
        assert "5" in verdict.message and "5" in verdict.message_en
    assert check_batch(events[4:], 4, events[3]["hash"], stored_of(events[:4])).code is None  # exactly head+1


def test_forks_at_a_stored_seq_and_at_head_plus_one() -> None:
    events = chain(6)
    changed = copy.deepcopy(events[:4])
    changed[3]["payload"] = {"n": 40}
    changed[3]["hash"] = event_hash(changed[2]["hash"], 4, "e4", "ticket.issued", changed[3]["at"], "kiosk-1",
                                    changed[3]["payload"])
    refusal(check_batch(changed, 4, events[3]["hash"], stored_of(events[:4])), "CHAIN_FORK", 409, seq=4,
            head={"seq": 4, "hash": events[3]["hash"]})
    elsewhere = chain(2, first=5, prev="b" * 64)  # seq 5 = head+1, valid hashes, but not after the stored head
    refusal(check_batch(elsewhere, 4, events[3]["hash"], stored_of(events[:4])), "CHAIN_FORK", 409, seq=5)
    first_ever = chain(1, first=1, prev="c" * 64)  # the first event of a hall must follow the genesis
    refusal(check_batch(first_ever, 0, GENESIS, stored_of([])), "CHAIN_FORK", 409, seq=1)


def test_an_unencodable_payload_is_not_a_batch() -> None:
    events = chain(1)
    events[0]["payload"] = {"t": "\ud800"}
    refusal(check_batch(events, 0, GENESIS, stored_of([])), "BATCH_INVALID", 422, seq=1)
