"""On-site bookings under the ticket rules (hall-api.md, "Identity in requests"): on a full day nobody can type
other people's numbers to hold tomorrow's slots. A typed identity that asks for an offer or accepts one counts
toward the kiosk's typed burst; the person's blocklist, cool-down and per-day limits hold (on the slot's day);
one open booking per person and business; check-in is a place in the queue like any ticket. Cards never count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.hall.context import Device
from tests.helpers import TZ, Hall, example_config, person

KIOSKS = [Device(10 + i, f"kiosk-{i}", "kiosk") for i in range(1, 6)]


@pytest.fixture
def full(tmp_path: Path) -> Iterator[Hall]:
    """Monday 17:00: three B tickets fill the rest of the day, so that every next B asks for a booking."""
    hall = Hall(tmp_path, example_config(), now=datetime(2026, 11, 23, 17, 0, tzinfo=TZ))
    for i in range(3):
        assert hall.issue("B", person(900 + i), accept_wait=True)[0] == 201
    yield hall
    hall.close()


def typed(i: int) -> dict[str, str]:
    return person(i, source="typed")


def card(i: int) -> dict[str, str]:
    return person(i, source="card")


def offer(hall: Hall, who: dict[str, str], kiosk: Device = KIOSKS[0], business: str = "B") -> str:
    status, body = hall.issue(business, who, device=kiosk)
    assert status == 200 and body["over_capacity"], body
    return str(body["booking_offer"]["offer_id"])


def accept(hall: Hall, offer_id: str, who: dict[str, str], kiosk: Device = KIOSKS[0]) -> tuple[int, dict[str, object]]:
    return hall.do("accept_booking", {"offer_id": offer_id, "identity": who}, device=kiosk)


def events(hall: Hall, kind: str) -> list[dict[str, object]]:
    return [e for e in hall.events() if e["type"] == kind]


def test_a_slot_hoarder_typing_numbers_at_one_kiosk_is_stopped_like_a_ticket_scalper(full: Hall) -> None:
    burst = full.config.limits.kiosk_burst
    assert burst is not None
    booked, refused, codes = [], [], {}
    for i in range(10):  # ten different numbers typed in a row, every offer accepted
        status, body = full.issue("B", typed(i))
        if status == 200:
            status, body = accept(full, body["booking_offer"]["offer_id"], typed(i))
            booked.append(i)
            codes[i] = body["booking"]["code"]
        else:
            refused.append(body["error"]["code"])
        full.tick(0.5)
    assert len(booked) == burst.identities and set(refused) == {"KIOSK_BURST"}
    [alert] = events(full, "kiosk.burst")
    assert alert["device"] == "kiosk-1" and alert["payload"]["via"] == "ticket"  # the offers counted, as asked
    assert alert["payload"]["bookings_held"] == burst.identities
    assert {e["payload"]["entry"] for e in events(full, "booking.created")} == {"typed"}
    # the burst put the slots typed before it on hold: a buyer holding the slip and the typed number cannot
    # check in; the person whose number it is, with their own card, can
    full.now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    for i in booked:
        for identity in (None, typed(i)):
            body = {"code": codes[i], **({"identity": identity} if identity else {})}
            assert full.do("check_in", body)[1]["error"]["code"] == "CARD_REQUIRED"
    status, body = full.do("check_in", {"code": codes[booked[0]], "identity": card(booked[0])})
    assert status == 201 and body["ticket"]["channel"] == "booking"


def test_typed_bookings_accepted_at_one_kiosk_count_toward_its_burst(full: Hall) -> None:
    """Offers gathered at other kiosks (each under its limit) and all accepted at one: the accepting kiosk
    counts them, refuses with KIOSK_BURST, tells the duty desk once (via booking), and the ledger sees why."""
    burst = full.config.limits.kiosk_burst
    assert burst is not None
    offers = [(offer(full, typed(i), KIOSKS[1 + i % 4]), typed(i)) for i in range(burst.identities + 2)]
    results = [accept(full, o, who) for o, who in offers]
    assert [s for s, _ in results[:burst.identities]] == [201] * burst.identities
    status, body = results[burst.identities]
    assert (status, body["error"]["code"]) == (409, "KIOSK_BURST") and "读卡区" in body["error"]["message"]
    alerts = [e for e in events(full, "kiosk.burst") if e["device"] == "kiosk-1"]
    assert len(alerts) == 1 and alerts[0]["payload"]["via"] == "booking"
    refusals = events(full, "booking.refused")
    assert len(refusals) == 2 and refusals[0]["device"] == "kiosk-1"
    assert {k: refusals[0]["payload"][k] for k in ("code", "business", "day", "entry")} == {
        "code": "KIOSK_BURST", "business": "B", "day": "2026-11-23", "entry": "typed"}
    assert len(str(refusals[0]["payload"]["holder"])) == 64  # the keyed hash, never the number
    # bookings from offers asked for elsewhere count where they are taken: this kiosk's burst holds them
    full.now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    held = [r[1]["booking"]["code"] for r in results[:burst.identities]]  # type: ignore[index]
    assert all(full.do("check_in", {"code": c})[1]["error"]["code"] == "CARD_REQUIRED" for c in held)
    full.now = datetime(2026, 11, 23, 17, 10, tzinfo=TZ)
    # the card reader keeps working for the person whose typed acceptance was refused
    o, who = offers[-1]
    assert accept(full, o, {**who, "source": "card"})[0] == 409  # the offer was asked for typed: still typed
    assert accept(full, offer(full, card(77), KIOSKS[0]), card(77))[0] == 201


def test_an_honest_crowd_of_cards_books_all_day_without_tripping_the_burst(full: Hall) -> None:
    """Cards never count toward the typed burst, for bookings as for tickets (an honest morning of cards)."""
    for i in range(30):
        status, body = accept(full, offer(full, card(i)), card(i))
        assert status == 201, body
        full.tick(0.4)
    assert events(full, "kiosk.burst") == [] and events(full, "booking.refused") == []
    burst = full.config.limits.kiosk_burst
    assert burst is not None
    for i in range(burst.identities):  # the typed people after them are counted alone
        assert accept(full, offer(full, typed(100 + i)), typed(100 + i))[0] == 201


def test_one_open_booking_per_person_and_business(full: Hall) -> None:
    assert accept(full, offer(full, card(1)), card(1))[0] == 201
    status, body = accept(full, offer(full, card(1)), card(1))  # asked again: a new offer, but one booking each
    assert (status, body["error"]["code"]) == (409, "BOOKING_EXISTS") and "11月24日 09:00" in body["error"]["message"]
    assert events(full, "booking.refused")[0]["payload"]["code"] == "BOOKING_EXISTS"
    assert accept(full, offer(full, card(1), business="C"), card(1))[0] == 201  # another business: its own
    # once the slot has passed (and its check-in window with it), the person may book again; a booking
    # missed counts on its own day as a missed ticket does, so the next day
    full.now = datetime(2026, 11, 25, 17, 0, tzinfo=TZ)
    for i in range(3):
        full.issue("B", person(950 + i), accept_wait=True)
    assert accept(full, offer(full, card(1)), card(1))[0] == 201


def test_the_persons_limits_hold_for_a_booking(full: Hall) -> None:
    # blocklisted between the offer and the acceptance
    pending = offer(full, card(5))
    full.do("blocklist_add", {"identity": card(5), "reason": "倒号"}, device=full.supervisor)
    status, body = accept(full, pending, card(5))
    assert (status, body["error"]["code"]) == (409, "BLOCKLISTED")
    # an offer made for one person is not another's
    assert accept(full, offer(full, card(6)), card(7))[1]["error"]["code"] == "IDENTITY_MISMATCH"


def test_a_booking_is_a_place_on_its_slots_day_under_the_daily_limit(tmp_path: Path) -> None:
    """The per-day and per-business limits of a booking are counted on the slot's day (a booking is a place in
    that day's queue, as a ticket is in today's): three Tuesday bookings are Tuesday's three places."""
    hall = Hall(tmp_path, example_config(), now=datetime(2026, 11, 23, 17, 20, tzinfo=TZ))
    for business in "BCDE":  # every business over what the last ten minutes can serve
        for i in range(2):
            assert hall.issue(business, person(800 + 10 * "BCDE".index(business) + i), accept_wait=True)[0] == 201
    who = card(8)
    for business in "BCD":
        assert accept(hall, offer(hall, who, business=business), who)[0] == 201, business
    status, body = accept(hall, offer(hall, who, business="E"), who)
    assert (status, body["error"]["code"]) == (409, "DAILY_LIMIT")
    hall.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)  # Tuesday: the three bookings are its three places
    assert hall.issue("G", who)[1]["error"]["code"] == "DAILY_LIMIT"
    hall.close()


def test_a_booking_checked_in_without_an_id_is_still_the_persons_place(full: Hall) -> None:
    who = card(3)
    status, body = accept(full, offer(full, who), who)
    code = body["booking"]["code"]
    full.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    assert full.issue("B", who)[1]["error"]["code"] == "BUSINESS_LIMIT"  # the booking is today's B place
    status, body = full.do("check_in", {"code": code})
    assert status == 201 and body["ticket"]["channel"] == "booking"
    assert full.issue("B", who)[1]["error"]["code"] == "BUSINESS_LIMIT"  # still one B place, now a ticket
    full.login(2)
    assert full.at(2, "call-next")[1]["ticket"]["number"] == body["ticket"]["number"]
    assert full.at(2, "start", identity=who)[1]["identity_match"] is True  # the holder at the window


def test_check_in_of_a_booking_keeps_the_blocklist(full: Hall) -> None:
    who = card(4)
    code = accept(full, offer(full, who), who)[1]["booking"]["code"]  # type: ignore[index]
    full.do("blocklist_add", {"identity": who, "reason": "倒卖预约号"}, device=full.supervisor)
    full.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    assert full.do("check_in", {"code": code})[1]["error"]["code"] == "BLOCKLISTED"


# -- an agent's (代办) booking: the people represented carried from the offer to the ticket ---------------
def agent(who: dict[str, str], *principals: dict[str, str]) -> dict[str, object]:
    return {"identity": who, "principals": list(principals)}


def agent_offer(hall: Hall, who: dict[str, str], *principals: dict[str, str], business: str = "B") -> str:
    status, body = hall.issue(business, who, agent=agent(who, *principals))
    assert status == 200 and body["over_capacity"], body
    assert set(body["booking_offer"]) >= {"offer_id", "slot_start", "slot_end"}
    return str(body["booking_offer"]["offer_id"])


def hash_of(hall: Hall, who: dict[str, str]) -> str:
    return hall.svc.identity(who, hall.now).hash


def test_an_agent_is_offered_a_booking_that_carries_the_people_represented_to_the_ticket(full: Hall) -> None:
    """Over capacity an agent chooses as a citizen does; the booking is the principals' place on its day (their
    limits count it before and after check-in) and never the agent's own; checked in, it is an agent's ticket."""
    boss, p1, p2 = card(20), card(21), card(22)
    offer_id = agent_offer(full, boss, p1, p2)
    [offered] = events(full, "booking.offered")
    assert offered["payload"]["agent"] is True
    assert offered["payload"]["principals"] == [hash_of(full, p1), hash_of(full, p2)]
    assert agent_offer(full, boss, p1, p2) == offer_id  # asking again holds no second slot
    assert agent_offer(full, boss, p1) != offer_id       # another party is another offer
    status, body = accept(full, offer_id, boss)
    assert status == 201, body
    booking = body["booking"]
    assert booking["agent"] is True and len(booking["principals_masked"]) == 2
    assert all("*" in m for m in booking["principals_masked"])
    created = events(full, "booking.created")[0]["payload"]
    assert created["agent"] is True and created["principals"] == [hash_of(full, p1), hash_of(full, p2)]
    # the slot's day (Tuesday): the booking is each principal's B place, not the agent's
    full.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    assert full.issue("B", p1)[1]["error"]["code"] == "BUSINESS_LIMIT"
    assert full.issue("B", p2, agent=agent(card(23), p2))[1]["error"]["code"] == "BUSINESS_LIMIT"
    status, body = full.do("check_in", {"code": booking["code"], "identity": boss})
    assert status == 201, body
    ticket = body["ticket"]
    assert (ticket["channel"], ticket["agent"]) == ("booking", True)
    rows = full.store.reader().execute(
        "SELECT p.principal_hash, p.principal_masked, p.day, p.business FROM ticket_principals p JOIN tickets t "
        "ON t.id=p.ticket_id "
        "WHERE t.number=?", (ticket["number"],)).fetchall()
    assert sorted(tuple(r) for r in rows) == sorted(
        (hash_of(full, p), full.svc.identity(p, full.now).masked, "2026-11-24", "B") for p in (p1, p2))
    [issued] = [e for e in events(full, "ticket.issued")
                if (e["payload"]["number"], e["payload"]["day"]) == (ticket["number"], "2026-11-24")]
    assert issued["payload"]["agent"] is True and len(issued["payload"]["principals"]) == 2
    # checked in, the ticket holds the same places: B still taken, and the day counts it (3 a day)
    assert full.issue("B", p1)[1]["error"]["code"] == "BUSINESS_LIMIT"
    assert [full.issue(b, p2)[0] for b in "CDE"] == [201, 201, 409]
    assert full.issue("E", p2)[1]["error"]["code"] == "DAILY_LIMIT"
    assert full.issue("B", boss)[0] == 201  # the agent's own B place was never taken


def test_one_open_booking_per_person_whoever_books_it(full: Hall) -> None:
    """A person booked by an agent cannot book the same business again in person or through another agent,
    and a person who booked in person cannot be booked again by an agent; the agent itself is not limited."""
    boss, other, p1 = card(30), card(31), card(32)
    assert accept(full, agent_offer(full, boss, p1), boss)[0] == 201
    status, body = accept(full, offer(full, p1), p1)  # in person
    assert (status, body["error"]["code"]) == (409, "BOOKING_EXISTS") and "11月24日" in body["error"]["message"]
    status, body = accept(full, agent_offer(full, other, p1, card(33)), other)  # through another agent
    assert (status, body["error"]["code"]) == (409, "BOOKING_EXISTS")
    assert "被代办人" in body["error"]["message"] and body["error"]["message_en"]
    refused = events(full, "booking.refused")[-1]["payload"]
    assert refused["agent"] is True and refused["principals"] == [hash_of(full, p1), hash_of(full, card(33))]
    assert accept(full, agent_offer(full, boss, card(34)), boss)[0] == 201  # the same agent, other people
    assert accept(full, offer(full, boss), boss)[0] == 201  # and the agent's own booking is their own
    # the other way round: booked in person first
    assert accept(full, offer(full, card(35)), card(35))[0] == 201
    assert accept(full, agent_offer(full, other, card(35)), other)[1]["error"]["code"] == "BOOKING_EXISTS"


def test_an_agents_offer_is_accepted_and_checked_in_only_by_the_agent(full: Hall) -> None:
    boss, p1 = card(40), card(41)
    offer_id = agent_offer(full, boss, p1)
    for someone in (p1, card(42)):
        assert accept(full, offer_id, someone)[1]["error"]["code"] == "IDENTITY_MISMATCH"
    code = accept(full, offer_id, boss)[1]["booking"]["code"]  # type: ignore[index]
    full.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    assert full.do("check_in", {"code": code, "identity": p1})[1]["error"]["code"] == "IDENTITY_MISMATCH"
    status, body = full.do("check_in", {"code": code})  # the slip alone: still the agent's ticket for p1
    assert status == 201 and body["ticket"]["agent"] is True
    assert full.issue("B", p1)[1]["error"]["code"] == "BUSINESS_LIMIT"


def test_an_agents_booking_counts_toward_the_agents_people_on_the_slots_day(full: Hall) -> None:
    """``agent_principals_per_day`` (5) counts the people of an agent's bookings on their slot's day, and a
    walk-in that day counts them too."""
    boss = card(50)
    offers = [agent_offer(full, boss, *[card(51 + i) for i in range(3)]), agent_offer(full, boss, card(61), card(62)),
              agent_offer(full, boss, card(71))]  # all asked for before any is accepted
    assert [accept(full, o, boss)[0] for o in offers[:2]] == [201, 201]  # five: the limit
    status, body = accept(full, offers[2], boss)
    assert (status, body["error"]["code"]) == (409, "AGENT_LIMIT")
    assert events(full, "booking.refused")[-1]["payload"]["code"] == "AGENT_LIMIT"
    # booking for them is acting for them today too: no sixth person today, by a ticket or a later day's slot
    status, body = full.issue("C", boss, agent=agent(boss, card(70)), accept_wait=True)
    assert (status, body["error"]["code"]) == (409, "AGENT_LIMIT")
    assert full.issue("C", boss, agent=agent(boss, card(52)), accept_wait=True)[0] == 201  # one of the five
    full.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    assert full.issue("C", boss, agent=agent(boss, card(70)))[1]["error"]["code"] == "AGENT_LIMIT"
    assert full.issue("C", boss, agent=agent(boss, card(51)))[0] == 201  # one of the five: already counted


def test_each_person_represented_keeps_their_limits_on_the_slots_day(tmp_path: Path) -> None:
    hall = Hall(tmp_path, example_config(), now=datetime(2026, 11, 23, 17, 20, tzinfo=TZ))
    for business in "BCDE":  # every business over what the last ten minutes can serve
        for i in range(2):
            assert hall.issue(business, person(800 + 10 * "BCDE".index(business) + i), accept_wait=True)[0] == 201
    boss, p1 = card(80), card(81)
    for business in "BCD":  # Tuesday's three places of p1, booked in person
        assert accept(hall, offer(hall, p1, business=business), p1)[0] == 201
    status, body = accept(hall, agent_offer(hall, boss, card(82), p1, business="E"), boss)
    assert (status, body["error"]["code"]) == (409, "DAILY_LIMIT") and "被代办人" in body["error"]["message"]
    # blocklisted between the offer and the acceptance, then at check-in
    pending = agent_offer(hall, boss, card(83), business="E")
    hall.do("blocklist_add", {"identity": card(83), "reason": "倒号"}, device=hall.supervisor)
    assert accept(hall, pending, boss)[1]["error"]["code"] == "BLOCKLISTED"
    code = accept(hall, agent_offer(hall, boss, card(84), business="E"), boss)[1]["booking"]["code"]  # type: ignore[index]
    hall.do("blocklist_add", {"identity": card(84), "reason": "倒号"}, device=hall.supervisor)
    hall.now = datetime(2026, 11, 24, 9, 5, tzinfo=TZ)
    status, body = hall.do("check_in", {"code": code, "identity": boss})
    assert (status, body["error"]["code"]) == (409, "BLOCKLISTED") and "被代办人" in body["error"]["message"]
    hall.close()
