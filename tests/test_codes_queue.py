from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import codes
from kiosk.domain.errors import DomainError
from kiosk.domain.queue import Waiting, backlog_wait_minutes, next_for_window

KEY = b"secret"


def test_ticket_qr_round_trip() -> None:
    text = codes.ticket_qr(KEY, "hall-1", date(2026, 11, 23), "A012")
    code = codes.read_ticket_qr(KEY, "hall-1", text)
    assert (code.day, code.number) == (date(2026, 11, 23), "A012")


@pytest.mark.parametrize("mutate", [
    lambda t: t.replace("A012", "A013"),              # altered number
    lambda t: t.replace("20261123", "20261124"),       # altered day
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered signature
    lambda t: "HT1:hall-1:20261123:A012:" + "A" * 24,  # forged signature
    lambda t: "hello",
    lambda t: "",
])
def test_forged_or_altered_ticket_codes_are_refused(mutate: object) -> None:
    text = codes.ticket_qr(KEY, "hall-1", date(2026, 11, 23), "A012")
    with pytest.raises(DomainError) as err:
        codes.read_ticket_qr(KEY, "hall-1", mutate(text))  # type: ignore[operator]
    assert err.value.code == "QR_INVALID" and err.value.status == 422


def test_foreign_hall_and_foreign_key() -> None:
    text = codes.ticket_qr(KEY, "hall-1", date(2026, 11, 23), "A012")
    with pytest.raises(DomainError) as err:
        codes.read_ticket_qr(KEY, "hall-2", text)
    assert err.value.details["reason"] == "foreign"
    with pytest.raises(DomainError):
        codes.read_ticket_qr(b"other", "hall-1", text)


def w(number: str, order: int, priority: bool = False, business: str = "A", window: int | None = None) -> Waiting:
    return Waiting(number, business, order, priority, window)


def test_next_in_order_within_the_window_businesses() -> None:
    waiting = [w("B001", 1, business="B"), w("A002", 3), w("A001", 2)]
    assert next_for_window(waiting, 1, ("A",), 0, 2).number == "A001"  # type: ignore[union-attr]
    assert next_for_window(waiting, 1, ("A", "B"), 0, 2).number == "B001"  # type: ignore[union-attr]
    assert next_for_window(waiting, 1, ("C",), 0, 2) is None


def test_priority_first_but_not_more_than_max_in_a_row() -> None:
    waiting = [w("A001", 1), w("A002", 2, True), w("A003", 3, True)]
    assert next_for_window(waiting, 1, ("A",), 0, 2).number == "A002"  # type: ignore[union-attr]
    assert next_for_window(waiting, 1, ("A",), 2, 2).number == "A001"  # type: ignore[union-attr]


def test_transfer_to_a_window_goes_to_that_window_only() -> None:
    waiting = [w("A001", 1), w("A000", 0, window=2)]
    assert next_for_window(waiting, 1, ("A",), 0, 2).number == "A001"  # type: ignore[union-attr]
    assert next_for_window(waiting, 2, ("B",), 0, 2).number == "A000"  # type: ignore[union-attr]


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8), max_size=5), st.text(max_size=20), st.one_of(st.none(), st.text(max_size=10)))
def test_the_ledgers_fast_hash_is_the_contracts_hash(payload: dict, type_: str, device: str | None) -> None:
    """hall-api.md defines the hash over canonical JSON of the whole event; the ledger assembles the same text
    from the payload's canonical JSON. They must never differ."""
    import hashlib
    import json

    from kiosk.domain.events import canonical_json, event_hash, event_hash_canonical

    # the contract's words, not the code's function: "keys sorted, separators , and : with no spaces,
    # non-ASCII characters written as themselves"
    body = json.dumps({"seq": 7, "id": "e-1", "type": type_, "at": "2026-11-23T10:00:00+08:00", "device": device,
                       "payload": payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    contract = hashlib.sha256(f"{'0' * 64}\n{body}".encode()).hexdigest()
    assert event_hash("0" * 64, 7, "e-1", type_, "2026-11-23T10:00:00+08:00", device, payload) == contract
    assert event_hash_canonical("0" * 64, 7, "e-1", type_, "2026-11-23T10:00:00+08:00", device,
                                canonical_json(payload)) == contract


def test_backlog_is_shared_by_the_windows_that_serve_a_business() -> None:
    served = {1: ("A", "B", "C"), 2: ("B", "C"), 3: ("D",)}
    minutes = {"A": 20.0, "B": 25.0, "C": 15.0, "D": 15.0}
    # nothing waits for A, but 8 C tickets (120 min) are spread over windows 1 and 2: 60 min fall on window 1
    assert backlog_wait_minutes("A", {"C": 8}, minutes, served, {1, 2, 3}) == 60.0
    # B shares both windows: all 120 min of C and 2 B (50 min) over two windows
    assert backlog_wait_minutes("B", {"C": 8, "B": 2}, minutes, served, {1, 2, 3}) == 85.0
    # a queue at another window is no part of it
    assert backlog_wait_minutes("A", {"D": 30}, minutes, served, {1, 2, 3}) == 0.0
    # window 2 closed: window 1 carries all of C
    assert backlog_wait_minutes("A", {"C": 8}, minutes, served, {1, 3}) == 120.0
    # no window of A open yet (before the clerks log in): every window that serves it counts
    assert backlog_wait_minutes("A", {"C": 8}, minutes, served, set()) == 60.0
    assert backlog_wait_minutes("Z", {"C": 8}, minutes, served, {1}) == 0.0


def test_a_matter_receipt_code_is_signed() -> None:
    key = b"k" * 32
    qr = codes.matter_qr(key, "demo-hall", "M20261123-001")
    assert codes.read_matter_qr(key, "demo-hall", qr) == "M20261123-001"
    for bad, reason in ((qr.replace("001", "002"), "signature"),  # another report's number, same signature
                        ("HM1:demo-hall:M20261123-001", "format"),  # unsigned, as printed before
                        (codes.matter_qr(key, "other-hall", "M20261123-001"), "foreign"),
                        (codes.matter_qr(b"x" * 32, "demo-hall", "M20261123-001"), "signature"),
                        (None, "format")):
        with pytest.raises(DomainError) as err:
            codes.read_matter_qr(key, "demo-hall", bad)
        assert err.value.code == "QR_INVALID" and err.value.details["reason"] == reason


def test_a_forged_code_with_any_characters_is_refused_not_crashed() -> None:
    key = b"k" * 32
    for text in ("HT1:demo-hall:20261123:B001:签名伪造", "HA1:demo-hall:x:a:B:1:2:-:签名",
                 "HM1:demo-hall:M1:签名"):
        with pytest.raises(DomainError) as err:
            (codes.read_ticket_qr if text.startswith("HT1") else codes.read_appointment_qr if text.startswith("HA1")
             else codes.read_matter_qr)(key, "demo-hall", text)
        assert err.value.code == "QR_INVALID"


def test_an_event_id_is_a_random_uuids_text() -> None:
    """Events carry ``str(uuid.uuid4())`` as their id (hall-api.md); the store writes that text directly."""
    import uuid

    from kiosk.store.db import event_id

    ids = {event_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=64), st.text(max_size=80))
def test_a_codes_signature_is_the_hmacs_base32(key: bytes, body: str) -> None:
    """Every code printed so far carries the first 15 bytes of the HMAC as base64.b32encode writes them."""
    import base64
    import hashlib
    import hmac

    expected = base64.b32encode(hmac.new(key, body.encode(), hashlib.sha256).digest()[:15]).decode().rstrip("=")
    assert codes._sig(key, body) == expected


@given(st.dates(min_value=date(1000, 1, 1)), st.from_regex(r"[A-Z][0-9]{3}", fullmatch=True))
def test_a_tickets_code_writes_its_day_as_yyyymmdd(day: date, number: str) -> None:
    text = codes.ticket_qr(KEY, "hall-1", day, number)
    assert text.split(":")[2] == f"{day:%Y%m%d}"
    assert codes.read_ticket_qr(KEY, "hall-1", text).day == day


@settings(max_examples=300)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_the_keyed_hash_is_rfc2104s(key: bytes, message: bytes) -> None:
    import hashlib
    import hmac

    from kiosk.domain.keyed import hmac_sha256

    assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()
    assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()  # from the kept states


@settings(max_examples=500)
@given(st.one_of(st.integers(), st.booleans()), st.text(max_size=12), st.text(max_size=12), st.text(max_size=12),
       st.one_of(st.none(), st.text(max_size=12)))
def test_every_field_of_an_event_is_hashed_as_the_contract_writes_it(seq: int, event_id: str, type_: str, at: str,
                                                                      device: str | None) -> None:
    import hashlib
    import json

    from kiosk.domain.events import event_hash

    payload = {"number": "A001", "note": at}
    body = json.dumps({"seq": seq, "id": event_id, "type": type_, "at": at, "device": device, "payload": payload},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    contract = hashlib.sha256(f"{'0' * 64}\n{body}".encode()).hexdigest()
    assert event_hash("0" * 64, seq, event_id, type_, at, device, payload) == contract
