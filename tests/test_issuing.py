"""Issuing tickets: numbering, every limit, priority, closing time and over capacity."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.domain import codes
from kiosk.domain.errors import DomainError
from kiosk.hall import issuing, supervision
from kiosk.hall.context import Device
from tests.helpers import TZ, Hall, example_config, make_id, person


def test_numbers_per_business_per_day(hall: Hall) -> None:
    assert [hall.number("B", i) for i in range(1, 4)] == ["B001", "B002", "B003"]
    assert hall.number("D", 4) == "D001"
    body = hall.issue("B", 5)[1]["ticket"]
    assert body["ahead"] == 3 and body["position"] == 4 and body["expected_wait_min"] > 0
    assert body["holder_masked"].startswith("1101") and "*" in body["holder_masked"]


def test_numbers_restart_at_local_midnight_and_never_repeat_within_a_day(tmp_path: Path) -> None:
    config = example_config(limits={"kiosk_burst": None})
    late = Hall(tmp_path, config, now=datetime(2026, 11, 27, 17, 0, tzinfo=TZ))  # a Friday
    assert late.number("B", 1) == "B001"
    late.now = datetime(2026, 11, 28, 9, 5, tzinfo=TZ)  # Saturday service, local date changed
    assert late.number("B", 2) == "B001"
    assert late.number("B", 1) == "B002"  # yesterday's ticket does not count against today
    late.close()


def test_one_ticket_per_person_per_business(hall: Hall) -> None:
    assert hall.issue("B", 1)[0] == 201
    status, body = hall.issue("B", 1)
    assert status == 409 and body["error"]["code"] == "BUSINESS_LIMIT"
    assert "补打" in body["error"]["message"]


def test_daily_limit_across_businesses(hall: Hall) -> None:
    for business in ("A", "B", "D"):
        assert hall.issue(business, 1)[0] == 201
    status, body = hall.issue("G", 1)
    assert status == 409 and body["error"]["code"] == "DAILY_LIMIT"


def test_refusal_is_recorded_as_an_event_without_raw_identity(hall: Hall) -> None:
    hall.issue("B", 1)
    hall.issue("B", 1)
    refused = [e for e in hall.events() if e["type"] == "ticket.refused"]
    assert len(refused) == 1 and refused[0]["payload"]["code"] == "BUSINESS_LIMIT"
    assert person(1)["id_number"] not in str(refused)


def test_agent_limits(tmp_path: Path) -> None:
    hall = Hall(tmp_path, example_config(limits={"kiosk_burst": None}))
    agent = person(900)
    for i in range(5):
        status, body = hall.do("issue", {"business": "B", "agent": {"identity": agent, "principals": [person(i)]}})
        assert status == 201, body
        assert body["ticket"]["agent"] is True
    status, body = hall.do("issue", {"business": "B", "agent": {"identity": agent, "principals": [person(5)]}})
    assert status == 409 and body["error"]["code"] == "AGENT_LIMIT"
    # the principal's own limits still hold: principal 0 already has a B ticket through the agent
    status, body = hall.issue("B", 0)
    assert status == 409 and body["error"]["code"] == "BUSINESS_LIMIT"
    hall.close()


def test_agent_needs_principals(hall: Hall) -> None:
    status, body = hall.do("issue", {"business": "B", "agent": {"identity": person(1), "principals": []}})
    assert status == 422 and body["error"]["code"] == "PRINCIPALS_REQUIRED"


def test_blocklist(hall: Hall) -> None:
    status, _ = hall.do("blocklist_add", {"identity": person(3), "reason": "倒号被查实"}, device=hall.supervisor)
    assert status == 201
    status, body = hall.issue("B", 3)
    assert status == 409 and body["error"]["code"] == "BLOCKLISTED"


def test_no_show_cooldown(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(2)
    assert hall.at(2, "call-next")[1]["ticket"]["number"] == number
    assert hall.at(2, "no-show")[0] == 200
    hall.tick(5)
    status, body = hall.issue("D", 1)
    assert status == 409 and body["error"]["code"] == "NO_SHOW_COOLDOWN"
    assert body["error"]["retry_after_min"] == 25
    hall.tick(26)
    assert hall.issue("D", 1)[0] == 201


def typed(i: int) -> dict[str, str]:
    return person(i, source="typed")


def card(i: int) -> dict[str, str]:
    return person(i, source="card")


def test_kiosk_burst_stops_typed_numbers_but_never_cards(hall: Hall) -> None:
    burst = hall.config.limits.kiosk_burst
    assert burst is not None
    for i in range(burst.identities):
        assert hall.issue("B", typed(i))[0] == 201
        hall.tick(0.5)
    status, body = hall.issue("B", typed(100))
    assert status == 409 and body["error"]["code"] == "KIOSK_BURST"
    assert "读卡区" in body["error"]["message"]  # the refusal says what still works
    status, _ = hall.issue("B", typed(101))
    assert status == 409
    # one alert for the duty desk per episode, however many refusals follow
    bursts = [e for e in hall.events() if e["type"] == "kiosk.burst"]
    assert len(bursts) == 1 and bursts[0]["device"] == "kiosk-1"
    # the episode on record counts every refusal in it
    assert [tuple(r) for r in hall.store.reader().execute("SELECT device, refused FROM kiosk_bursts")] == [
        ("kiosk-1", 2)]
    # card entry at the same kiosk keeps working, and so does a typed number already seen
    assert hall.issue("B", card(100))[0] == 201
    assert hall.issue("D", typed(0))[0] == 201
    # another kiosk is not affected; typed entry here stays paused for the burst's minutes, then resumes
    assert hall.issue("B", typed(102), device=Device(9, "kiosk-2", "kiosk"))[0] == 201
    hall.tick(burst.minutes - 1)  # the first typed numbers have left the window, but the pause holds
    assert hall.issue("D", typed(104))[1]["error"]["code"] == "KIOSK_BURST"
    hall.tick(2)
    assert hall.issue("D", typed(103))[0] == 201


def test_a_morning_crowd_laying_cards_is_never_refused(hall: Hall) -> None:
    """The shipped config: a new person every 20-40 s at one kiosk for two hours, each with their own card."""
    for i in range(240):
        status, body = hall.issue("ABCDEFGHJK"[i % 10], card(i), accept_wait=True)
        assert status in (200, 201), body
        hall.tick(0.5)


def test_cards_laid_at_a_kiosk_never_count_toward_its_typed_burst(hall: Hall) -> None:
    """An honest morning of cards (a new person every 30 s) and then people who type: the typed ones are
    counted alone, so the kiosk takes as many typed numbers after the cards as the burst allows."""
    burst = hall.config.limits.kiosk_burst
    assert burst is not None
    for i in range(3 * burst.identities):
        assert hall.issue("ABCDEFGHJK"[i % 10], card(i), accept_wait=True)[0] == 201
        hall.tick(0.5)
    for i in range(burst.identities):  # within the same window of minutes as the cards
        status, body = hall.issue("ABCDEFGHJK"[i % 10], typed(500 + i), accept_wait=True)
        assert status == 201, body
    assert hall.issue("B", typed(600), accept_wait=True)[1]["error"]["code"] == "KIOSK_BURST"
    assert next(e for e in hall.events() if e["type"] == "kiosk.burst")["payload"]["identities"] == burst.identities


def test_identity_source_must_be_known(hall: Hall) -> None:
    status, body = hall.issue("B", {**person(1), "source": "fax"})
    assert status == 422 and body["error"]["code"] == "SOURCE_INVALID"


def test_priority_from_age_and_claims(hall: Hall) -> None:
    elder = {"id_number": make_id("19500101", 11), "name": "老人"}
    assert hall.issue("B", elder)[1]["ticket"]["priority"] == "elderly"
    status, body = hall.issue("D", 2, priority="elderly")
    assert status == 422 and body["error"]["code"] == "PRIORITY_NOT_ELIGIBLE"
    assert hall.issue("D", 3, priority="disabled")[1]["ticket"]["priority"] == "disabled"
    assert hall.issue("D", 4, priority="vip")[1]["error"]["code"] == "PRIORITY_INVALID"


def test_hall_closed_outside_hours_but_open_until_closing(hall: Hall) -> None:
    hall.now = datetime(2026, 11, 23, 17, 29, tzinfo=TZ)
    assert hall.issue("B", 1)[0] in (200, 201)  # one minute before closing: never "stopped early"
    hall.now = datetime(2026, 11, 23, 12, 30, tzinfo=TZ)
    assert hall.issue("D", 2)[0] == 201  # lunch break: tickets still issued
    hall.now = datetime(2026, 11, 23, 17, 31, tzinfo=TZ)
    status, body = hall.issue("G", 3)
    assert status == 409 and body["error"]["code"] == "HALL_CLOSED"
    assert body["error"]["opens_at"].startswith("2026-11-24T09:00")


def test_over_capacity_offers_a_booking_instead_of_refusing(tmp_path: Path) -> None:
    hall = Hall(tmp_path, example_config(limits={"kiosk_burst": None}),
                now=datetime(2026, 11, 23, 17, 0, tzinfo=TZ))
    # B is served by 2 windows at 25 min: 30 minutes left call about 2-3 people; from the third on, the range of
    # the wait reaches past closing (one in ten or more would not be called today), and that is offered a booking
    issued = [hall.issue("B", i) for i in range(6)]
    assert [s for s, _ in issued[:2]] == [201, 201] and issued[2][0] == 200
    status, body = issued[-1]
    assert status == 200 and body["over_capacity"] is True
    offer = body["booking_offer"]
    assert offer["slot_start"].startswith("2026-11-24T09:00")
    # asking again gives the same offer instead of reserving another slot
    again = hall.issue("B", 5)[1]["booking_offer"]
    assert again["offer_id"] == offer["offer_id"]
    # the citizen may still insist on waiting today
    assert hall.issue("B", 40, accept_wait=True)[0] == 201
    # accepting needs the same person
    status, body = hall.do("accept_booking", {"offer_id": offer["offer_id"], "identity": person(1)})
    assert status == 409 and body["error"]["code"] == "IDENTITY_MISMATCH"
    status, body = hall.do("accept_booking", {"offer_id": offer["offer_id"], "identity": person(5)})
    assert status == 201
    booking = body["booking"]
    # checking in: too early, on time, then used
    status, body = hall.do("check_in", {"code": booking["code"]})
    assert status == 409 and body["error"]["code"] == "CHECKIN_TOO_EARLY"
    hall.now = datetime(2026, 11, 24, 8, 50, tzinfo=TZ)
    status, body = hall.do("check_in", {"code": booking["code"]})
    assert status == 409 and body["error"]["code"] == "HALL_CLOSED"  # before opening the hall issues nothing
    hall.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    status, body = hall.do("check_in", {"code": booking["code"], "identity": person(5)})
    assert status == 201 and body["ticket"]["channel"] == "booking" and body["ticket"]["number"] == "B001"
    assert hall.do("check_in", {"code": booking["code"]})[1]["error"]["code"] == "CHECKIN_USED"
    hall.close()


def test_a_queue_at_a_shared_window_counts_for_every_business_it_serves(tmp_path: Path) -> None:
    """Window 1 serves A, B and C; window 2 serves B and C. A queue of C keeps window 1 busy too, so a
    late A ticket is offered a booking although nobody waits for A itself (found by the holiday drill)."""
    hall = Hall(tmp_path, example_config(limits={"kiosk_burst": None}),
                now=datetime(2026, 11, 23, 16, 45, tzinfo=TZ))
    for i in range(8):  # 8 x 15 min of C over two windows: an hour for each, with 45 minutes left today
        assert hall.issue("C", i, accept_wait=True)[0] == 201
    status, body = hall.issue("A", 100)
    assert status == 200 and body["over_capacity"] is True
    # early in the day the same queue is no reason for an offer, and the ticket says how long it is
    hall.now = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    (tmp_path / "morning").mkdir()
    hall2 = Hall(tmp_path / "morning", example_config(limits={"kiosk_burst": None}), now=hall.now)
    for i in range(8):
        assert hall2.issue("C", i)[0] == 201
    status, body = hall2.issue("A", 100)
    assert status == 201 and body["ticket"]["expected_wait_min"] >= 60
    hall.close()
    hall2.close()


def test_appointment_check_in_window_and_forgery(hall: Hall) -> None:
    status, body = hall.do("create_appointment", {
        "business": "D", "slot_start": "2026-11-23T10:30:00+08:00", "slot_end": "2026-11-23T11:00:00+08:00",
        "identity": person(8)}, device=hall.supervisor)
    assert status == 201
    code = body["appointment"]["code"]
    forged = code.replace(":D:", ":B:")
    assert hall.do("check_in", {"code": forged})[1]["error"]["code"] == "QR_INVALID"
    other = codes.appointment_qr(b"not-the-hall-key", codes.read_appointment_qr(hall.svc.code_key, "demo-hall", code))
    assert hall.do("check_in", {"code": other})[1]["error"]["code"] == "QR_INVALID"
    assert hall.do("check_in", {"code": code, "identity": person(9)})[1]["error"]["code"] == "IDENTITY_MISMATCH"
    hall.now = datetime(2026, 11, 23, 10, 50, tzinfo=TZ)
    assert hall.do("check_in", {"code": code})[1]["error"]["code"] == "CHECKIN_TOO_LATE"
    hall.now = datetime(2026, 11, 23, 10, 20, tzinfo=TZ)
    status, body = hall.do("check_in", {"code": code})
    assert status == 201 and body["ticket"]["priority"] == "appointment"


def test_check_in_opens_exactly_its_early_minutes_before_the_slot(hall: Hall) -> None:
    """Both edges of the check-in window, to the second: not one slot (or one minute) earlier, not later."""
    early, late = hall.config.booking.checkin_early_minutes, hall.config.booking.checkin_late_minutes
    start = datetime(2026, 11, 23, 11, 0, tzinfo=TZ)
    status, body = hall.do("create_appointment", {
        "business": "D", "slot_start": start.isoformat(), "slot_end": (start + timedelta(minutes=30)).isoformat(),
        "identity": person(8)}, device=hall.supervisor)
    code = body["appointment"]["code"]
    for before in (timedelta(minutes=early + hall.config.booking.slot_minutes), timedelta(minutes=early + 1),
                   timedelta(minutes=early, seconds=1)):
        hall.now = start - before
        status, body = hall.do("check_in", {"code": code})
        assert status == 409 and body["error"]["code"] == "CHECKIN_TOO_EARLY", before
        assert body["error"]["opens_at"].startswith(f"2026-11-23T{(start - timedelta(minutes=early)):%H:%M}:00")
    hall.now = start + timedelta(minutes=late, seconds=1)
    assert hall.do("check_in", {"code": code})[1]["error"]["code"] == "CHECKIN_TOO_LATE"
    hall.now = start - timedelta(minutes=early)  # the first instant it opens
    assert hall.do("check_in", {"code": code})[0] == 201


def test_reprint_needs_the_holder(hall: Hall) -> None:
    number = hall.number("B", 1)
    status, body = hall.do("reprint", {"identity": person(2)}, number=number)
    assert status == 409 and body["error"]["code"] == "IDENTITY_MISMATCH"
    status, body = hall.do("reprint", {"identity": person(1)}, number=number)
    assert status == 200 and body["ticket"]["number"] == number and body["ticket"]["position"] == 1
    kinds = [a["kind"] for a in supervision.audit(hall.svc, None, None)]
    assert "reprint" in kinds and "reprint_refused" in kinds


def test_ticket_qr_verifies_today_only(hall: Hall) -> None:
    qr = hall.issue("B", 1)[1]["ticket"]["qr"]
    assert issuing.verify_qr(hall.svc, hall.now, qr)["ticket"]["state"] == "waiting"
    from kiosk.domain.errors import DomainError

    hall.now += timedelta(days=1)
    try:
        issuing.verify_qr(hall.svc, hall.now, qr)
        raise AssertionError("yesterday's ticket verified")
    except DomainError as err:
        assert err.code == "QR_INVALID" and err.details["reason"] == "expired"


def test_idempotency_key_replays_the_first_answer(hall: Hall) -> None:
    first = hall.do("issue", {"business": "B", "identity": person(1)}, idem="tap-1")
    again = hall.do("issue", {"business": "B", "identity": person(1)}, idem="tap-1")
    assert first == again and first[0] == 201
    assert len([e for e in hall.events() if e["type"] == "ticket.issued"]) == 1
    # a refusal is replayed too, and a new key is a new request
    refused = hall.do("issue", {"business": "B", "identity": person(1)}, idem="tap-2")
    assert refused[0] == 409
    assert hall.do("issue", {"business": "B", "identity": person(1)}, idem="tap-2") == refused


def test_an_expired_card_is_refused_by_the_hall_for_every_front_end(hall: Hall) -> None:
    """Expired cards used to be refused only by the kiosk screen; the API and the counter accepted them."""
    expired = {**person(60), "valid_until": "2026-11-22"}  # the day before the hall's today
    status, body = hall.issue("B", expired)
    assert status == 422 and body["error"]["code"] == "ID_EXPIRED" and "2026-11-22" in body["error"]["message"]
    assert hall.issue("B", {**person(61), "valid_until": "2026-11-23"})[0] == 201  # valid through today
    assert hall.issue("D", {**person(62), "valid_until": "长期"})[0] == 201
    status, body = hall.issue("E", {**person(63), "valid_until": "soon"})
    assert status == 422 and body["error"]["code"] == "ID_INVALID"
    # at the window: the identity match refuses the expired card too
    number = hall.number("G", 64)
    hall.login(4)
    assert hall.at(4, "call-next")[0] == 200
    status, body = hall.at(4, "start", identity={**person(64), "valid_until": "2020-01-01"})
    assert status == 422 and body["error"]["code"] == "ID_EXPIRED"
    assert hall.state(number) == "called"


def test_an_early_morning_is_the_halls_local_day_not_utcs(tmp_path: Path) -> None:
    """A hall opening at 07:00 in Asia/Shanghai: 07:30 local is 23:30 UTC of the day before. Numbering, limits
    and validity follow the local date (requirements: numbering at midnight, a known bug of the peers)."""
    from datetime import time

    config = example_config(limits={"kiosk_burst": None})
    hours = dict(config.calendar.hours)
    hours["sat"] = ((time(7, 0), time(12, 0)),)
    config = example_config(limits={"kiosk_burst": None}, calendar={"hours": hours})
    hall = Hall(tmp_path, config, now=datetime(2026, 11, 27, 17, 0, tzinfo=TZ))  # Friday afternoon
    friday = hall.issue("B", 1)[1]["ticket"]
    assert friday["number"] == "B001"
    hall.now = datetime(2026, 11, 28, 7, 30, tzinfo=TZ)  # Saturday 07:30 local = Friday 23:30 UTC
    status, body = hall.issue("B", 1)
    assert status == 201, body  # yesterday's ticket does not count against today's limit
    assert body["ticket"]["number"] == "B001" and body["ticket"]["day"] == "2026-11-28"
    with pytest.raises(DomainError) as err:
        issuing.verify_qr(hall.svc, hall.now, friday["qr"])
    assert err.value.details["reason"] == "expired"  # Friday's slip is not valid on Saturday morning
    hall.login(2)
    called = hall.at(2, "call-next")[1]["ticket"]
    assert called["number"] == "B001" and called["day"] == "2026-11-28"  # today's B001, not Friday's
    hall.close()


def test_an_idempotency_key_belongs_to_one_device(hall: Hall) -> None:
    """Two kiosks that happen to choose the same key get their own answers, not each other's ticket."""
    other = Device(9, "kiosk-2", "kiosk")
    first = hall.do("issue", {"business": "B", "identity": person(1)}, idem="same-key")
    second = hall.do("issue", {"business": "B", "identity": person(2)}, device=other, idem="same-key")
    assert first[0] == second[0] == 201
    assert first[1]["ticket"]["number"] != second[1]["ticket"]["number"]
    assert second[1]["ticket"]["holder_masked"] != first[1]["ticket"]["holder_masked"]


def test_an_agents_refusal_names_the_person_represented_only_masked(tmp_path: Path) -> None:
    """The kiosk sends an Idempotency-Key with every request, so a refusal is also stored on disk: the
    person represented must appear in it masked, never by raw name or number."""
    hall = Hall(tmp_path, example_config(limits={"kiosk_burst": None}))
    principal = {**person(3), "name": "欧阳小明"}
    for business in ("B", "D", "E"):  # the person represented has used up their own day
        assert hall.issue(business, principal)[0] == 201
    agent = person(4)
    status, body = hall.do("issue", {"business": "G", "identity": agent,
                                     "agent": {"identity": agent, "principals": [principal]}}, idem="agent-tap")
    assert status == 409 and body["error"]["code"] == "DAILY_LIMIT"
    text = str(body)
    assert "欧**明" in text and "欧阳小明" not in text and principal["id_number"] not in text
    hall.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("hall.db*"))
    assert "欧阳小明".encode() not in raw and principal["id_number"].encode() not in raw
