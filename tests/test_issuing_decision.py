"""The decision on a place in the queue (kiosk/domain/issuing.py), pure: facts, rules and the time in, Refused,
Offer, Issue or Book out. Tables written from the hall's rules (hall-api.md, the config's limits and hours),
with no store, no HTTP and no clock: each row is a situation at the kiosk and what the citizen must be told."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from kiosk.domain import durations, limits, waits
from kiosk.domain.identity import Identity
from kiosk.domain.issuing import (
    Book,
    BookingFacts,
    Burst,
    CheckInFacts,
    Issue,
    IssueFacts,
    Offer,
    Offered,
    OfferFacts,
    OpenOffer,
    Principal,
    PrincipalBooking,
    Refused,
    decide_booking,
    decide_check_in,
    decide_issue,
    decide_offer,
    hours,
)
from tests.helpers import TZ, example_config

CONFIG = example_config()  # Monday 9:00–12:00 and 13:30–17:30; limits 3 a day, 1 per business; burst 4 in 10 min


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 11, 23, h, m, s, tzinfo=TZ)


TEN = at(10)
PERIODS = tuple(CONFIG.calendar.periods(TEN.date()))
CLEAN = limits.PersonFacts(0, 0, 0, None, None)


def person(h: str, age: int = 40, source: str = "card") -> Identity:
    return Identity(number="", name="", hash=h, masked=f"{h}****", name_masked="张*", age=age, sex="M",
                    source=source)


def hall(now: datetime, closing: datetime | None = None) -> waits.HallFacts:
    """Two open windows for B, with the catalog's 20 minutes a ticket."""
    windows = (waits.Window(1, ("B",), "open", True), waits.Window(2, ("B",), "open", True))
    return waits.HallFacts(now, PERIODS, windows, {"B": durations.Durations(20.0, 8.0, no_show_rate=0.0)},
                           closing=closing or PERIODS[-1][1], max_consecutive=2)


def facts(now: datetime = TEN, **changes: object) -> IssueFacts:
    base = IssueFacts(business="B", holder=person("h1"), holder_facts=CLEAN, principals=(),
                      agent_known=frozenset(), claimed_priority=None, accept_wait=False, burst=None,
                      hall=hall(now), waiting={"B": (2, 0)})
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def code_of(decision: object) -> str:
    return decision.error.code if isinstance(decision, Refused) else type(decision).__name__


# -- opening hours: issued from the first period's start to closing, lunch included -----------------------
@pytest.mark.parametrize(("now", "extended", "expected"), [
    (at(8, 59, 59), None, "HALL_CLOSED"),
    (at(9), None, "Issue"),
    (at(12, 30), None, "Issue"),            # the lunch break: tickets are still issued, served after it
    (at(17, 29, 59), None, "Issue"),
    (at(17, 30), None, "HALL_CLOSED"),
    (at(18), at(18, 30), "Issue"),           # the duty desk extended the hours
    (at(18, 30), at(18, 30), "HALL_CLOSED"),
    (at(12, 30), at(11), "Issue"),           # an "extension" before closing changes nothing
])
def test_tickets_are_issued_within_the_hours(now: datetime, extended: datetime | None, expected: str) -> None:
    found = hours(PERIODS, extended)  # accept_wait: a minute before closing is offered a booking otherwise
    decision = decide_issue(facts(now, hall=dataclasses.replace(hall(now), closing=found.closing), waiting={},
                                  accept_wait=True), CONFIG, now)
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert not decision.kept  # nothing is recorded of a closed hall
        assert decision.error.body()["error"]["opens_at"] is not None


def test_a_closed_hall_says_when_issuing_starts_again() -> None:
    decision = decide_issue(facts(at(18)), CONFIG, at(18))
    assert isinstance(decision, Refused)
    assert decision.error.body()["error"]["opens_at"].startswith("2026-11-24T09:00")


# -- priority ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("claimed", "age", "agent", "expected"), [
    (None, 40, False, None),
    (None, 70, False, "elderly"),          # elderly by age alone, without asking
    (None, 69, False, None),
    (None, 75, True, None),                # an agent's age gives the people represented nothing
    ("disabled", 40, False, "disabled"),
    ("", 40, False, None),
    ("none", 80, False, "elderly"),
    ("elderly", 70, False, "elderly"),
    ("elderly", 69, False, "PRIORITY_NOT_ELIGIBLE"),
    ("vip", 40, False, "PRIORITY_INVALID"),
])
def test_priority_is_given_by_the_rules(claimed: str | None, age: int, agent: bool, expected: str | None) -> None:
    principals = ((person("p1"), CLEAN),) if agent else ()
    decision = decide_issue(facts(holder=person("h1", age), claimed_priority=claimed, principals=principals),
                            CONFIG, at(10))
    if isinstance(decision, Refused):
        assert (decision.error.code, decision.kept) == (expected, False)
    else:
        assert isinstance(decision, Issue) and decision.priority == expected


def test_a_priority_ticket_has_fewer_ahead_than_a_normal_one_in_the_same_queue() -> None:
    waiting = {"B": (6, 1)}
    normal = decide_issue(facts(waiting=waiting), CONFIG, at(10))
    elderly = decide_issue(facts(waiting=waiting, claimed_priority="elderly", holder=person("h1", 72)), CONFIG, at(10))
    assert isinstance(normal, Issue) and isinstance(elderly, Issue)
    assert normal.ahead == 7 and elderly.ahead is not None and elderly.ahead < normal.ahead
    assert elderly.wait is not None and normal.wait is not None and elderly.wait.minutes < normal.wait.minutes
    assert (normal.prefix, elderly.prefix) == ("B", "B")


# -- limits: refusals that are kept ---------------------------------------------------------------------
@pytest.mark.parametrize(("history", "expected"), [
    (CLEAN, "Issue"),
    (limits.PersonFacts(1, 1, 0, None, None), "BUSINESS_LIMIT"),
    (limits.PersonFacts(3, 0, 0, None, None), "DAILY_LIMIT"),
    (limits.PersonFacts(2, 0, 0, None, None), "Issue"),
    (limits.PersonFacts(0, 0, 0, None, "scalper"), "BLOCKLISTED"),
    (limits.PersonFacts(0, 0, 1, at(9, 45), None), "NO_SHOW_COOLDOWN"),   # 15 minutes ago, 30 to wait
    (limits.PersonFacts(0, 0, 1, at(9, 30), None), "Issue"),              # exactly 30 minutes ago
])
def test_the_persons_limits(history: limits.PersonFacts, expected: str) -> None:
    decision = decide_issue(facts(holder_facts=history), CONFIG, at(10))
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert decision.kept


@pytest.mark.parametrize(("agent_facts", "principal_facts", "known", "expected"), [
    (limits.PersonFacts(3, 1, 0, None, None), CLEAN, frozenset(), "Issue"),  # the agent's own tickets do not count
    (limits.PersonFacts(0, 0, 0, None, "x"), CLEAN, frozenset(), "BLOCKLISTED"),  # the agent's blocklist does
    (CLEAN, limits.PersonFacts(1, 1, 0, None, None), frozenset(), "BUSINESS_LIMIT"),
    (CLEAN, CLEAN, frozenset({"a", "b", "c", "d"}), "AGENT_LIMIT"),        # a fifth and a sixth person
    (CLEAN, CLEAN, frozenset({"a", "b", "c"}), "Issue"),
    (CLEAN, CLEAN, frozenset({"a", "b", "c", "d", "p1"}), "Issue"),        # p1 again is not another person
])
def test_an_agents_limits(agent_facts: limits.PersonFacts, principal_facts: limits.PersonFacts,
                          known: frozenset[str], expected: str) -> None:
    principals: tuple[tuple[Identity, limits.PersonFacts], ...] = ((person("p1"), principal_facts),
                                                                    (person("p2"), CLEAN))
    if expected == "Issue" and "p1" in known:
        principals = ((person("p1"), principal_facts),)
    decision = decide_issue(facts(holder_facts=agent_facts, principals=principals, agent_known=known), CONFIG,
                            at(10))
    assert code_of(decision) == expected


# -- the kiosk's typed burst ------------------------------------------------------------------------------
@pytest.mark.parametrize(("burst", "expected"), [
    (None, "Issue"),                                                     # a card, or not a kiosk
    (Burst(frozenset({"a", "b", "c"}), False), "Issue"),                 # the fourth typed identity is issued
    (Burst(frozenset({"a", "b", "c", "d"}), False), "KIOSK_BURST"),      # the fifth is not
    (Burst(frozenset({"a", "b", "c", "h1"}), False), "Issue"),           # the holder typed before: no new identity
    (Burst(frozenset({"a", "b", "c", "d", "h1"}), False), "Issue"),
    (Burst(frozenset(), True), "KIOSK_BURST"),                           # the kiosk burst: typed entry stays paused
])
def test_the_typed_burst_counts_distinct_typed_identities(burst: Burst | None, expected: str) -> None:
    decision = decide_issue(facts(holder=person("h1", source="typed"), burst=burst), CONFIG, at(10))
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert decision.kept


def test_a_limit_is_told_before_the_burst() -> None:
    decision = decide_issue(facts(holder_facts=limits.PersonFacts(1, 1, 0, None, None),
                                  burst=Burst(frozenset({"a", "b", "c", "d"}), False)), CONFIG, at(10))
    assert code_of(decision) == "BUSINESS_LIMIT"


# -- capacity: an offer, never a refusal ------------------------------------------------------------------
@pytest.mark.parametrize(("now", "waiting", "changes", "config_changes", "expected"), [
    (at(16), {"B": (2, 0)}, {}, {}, "Issue"),
    (at(16), {"B": (20, 0)}, {}, {}, "Offer"),            # 20 × 20 min over two windows: 200 min, past 17:30
    (at(16), {"B": (20, 0)}, {"accept_wait": True}, {}, "Issue"),   # offered before and declined
    (at(16), {"B": (20, 0)}, {}, {"offers": False}, "Issue"),
    (at(16), {"B": (20, 0)}, {"principals": ((person("p1"), CLEAN),)}, {}, "Offer"),  # an agent, as a citizen
    (at(16), {"B": (20, 0)}, {"principals": ((person("p1"), CLEAN),), "accept_wait": True}, {}, "Issue"),
    (at(9), {"B": (20, 0)}, {}, {}, "Issue"),             # the same queue in the morning is served today
    (at(16), {"B": (20, 0)}, {}, {"over_capacity_slack_minutes": 600}, "Issue"),
])
def test_a_booking_is_offered_when_today_cannot_serve_the_ticket(
        now: datetime, waiting: dict[str, tuple[int, int]], changes: dict[str, object],
        config_changes: dict[str, object], expected: str) -> None:
    config = dataclasses.replace(CONFIG, booking=dataclasses.replace(CONFIG.booking, **config_changes))  # type: ignore[arg-type]
    decision = decide_issue(facts(now, waiting=waiting, **changes), config, now)
    assert code_of(decision) == expected
    if isinstance(decision, Offer):  # the ticket it would be, issued if no slot is free
        assert decision.instead.ahead == 20 and decision.instead.wait is not None
        assert decision.instead.wait.high_at > at(17, 30)


def test_which_booking_is_offered() -> None:
    """The person's offer still open is shown again (asking twice reserves no second slot); else the first slot
    with room in the next open days (Tuesday 9:00 once Monday's are gone: Monday is today), held for ten
    minutes; with every slot of the next thirty open days full, the ticket instead."""
    now = at(16)
    offer = decide_issue(facts(now, waiting={"B": (20, 0)}), CONFIG, now)
    assert isinstance(offer, Offer)
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    made = decide_offer(offer, OfferFacts(None, {}), CONFIG, now, now.date())
    assert isinstance(made, Offered) and made.offer_id is None
    assert (made.start, made.end, made.expires) == (tuesday, tuesday + timedelta(minutes=30), now + timedelta(minutes=10))
    assert made.wait == offer.instead.wait  # why it is offered, for the kiosk's words
    full = {tuesday.timestamp(): 4}  # the first slot taken by four: the next
    assert decide_offer(offer, OfferFacts(None, full), CONFIG, now, now.date()).start == tuesday + timedelta(minutes=30)  # type: ignore[union-attr]
    kept = OpenOffer("o1", tuesday, tuesday + timedelta(minutes=30), now + timedelta(minutes=4))
    again = decide_offer(offer, OfferFacts(kept, full), CONFIG, now, now.date())
    assert isinstance(again, Offered) and (again.offer_id, again.start, again.expires) == ("o1", tuesday, kept.expires)
    every = {start.timestamp(): 4 for day in CONFIG.calendar.open_days_after(now.date(), 30)
             for a, b in CONFIG.calendar.periods(day) for start in _starts(a, b)}
    assert decide_offer(offer, OfferFacts(None, every), CONFIG, now, now.date()) == offer.instead


def _starts(a: datetime, b: datetime) -> list[datetime]:
    out = []
    while a + timedelta(minutes=30) <= b:
        out.append(a)
        a += timedelta(minutes=30)
    return out


# -- checking in an appointment ---------------------------------------------------------------------------
def check_in(**changes: object) -> CheckInFacts:
    base = CheckInFacts(business="B", start=TEN, identity_mismatch=False, used=False, card_required=False,
                        hours=hours(PERIODS, None), person=CLEAN)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("now", "changes", "expected"), [
    (at(9, 29, 59), {}, "CHECKIN_TOO_EARLY"),      # 30 minutes early at most
    (at(9, 30), {}, "Issue"),
    (at(10, 15), {}, "Issue"),                     # 15 minutes late at most
    (at(10, 15, 1), {}, "CHECKIN_TOO_LATE"),
    (at(10), {"used": True}, "CHECKIN_USED"),
    (at(10), {"identity_mismatch": True}, "IDENTITY_MISMATCH"),
    (at(10), {"card_required": True}, "CARD_REQUIRED"),
    (at(10), {"person": limits.PersonFacts(0, 0, 0, None, "x")}, "BLOCKLISTED"),
    (at(10), {"person": limits.PersonFacts(3, 1, 0, None, None)}, "Issue"),  # the counts held at booking
    (at(10), {"person": None}, "Issue"),           # an appointment without a bound person
    (at(17, 35), {"start": at(17, 30)}, "HALL_CLOSED"),
])
def test_check_in(now: datetime, changes: dict[str, object], expected: str) -> None:
    decision = decide_check_in(check_in(**changes), CONFIG, now)
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert not decision.kept  # a check-in refused leaves nothing behind
    else:
        assert (decision.priority, decision.prefix) == ("appointment", "B")


def test_too_early_says_from_when() -> None:
    decision = decide_check_in(check_in(), CONFIG, at(9))
    assert isinstance(decision, Refused)
    assert decision.error.body()["error"]["opens_at"] == "2026-11-23T09:30:00.000+08:00"


# -- accepting a booking offer ----------------------------------------------------------------------------
def booking(**changes: object) -> BookingFacts:
    base = BookingFacts(business="B", entry="card", today=CLEAN, on_day=CLEAN, held_since=None, burst=None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "Book"),
    ({"held_since": at(10) + timedelta(days=1)}, "BOOKING_EXISTS"),
    ({"today": limits.PersonFacts(0, 0, 1, at(9, 50), None)}, "NO_SHOW_COOLDOWN"),
    ({"today": limits.PersonFacts(3, 1, 0, None, None)}, "Book"),     # today's tickets: not the slot's day
    ({"on_day": limits.PersonFacts(1, 1, 0, None, None)}, "BUSINESS_LIMIT"),
    ({"on_day": limits.PersonFacts(3, 0, 0, None, None)}, "DAILY_LIMIT"),
    ({"entry": "typed", "burst": Burst(frozenset({"a", "b", "c", "d"}), False)}, "KIOSK_BURST"),
    ({"entry": "typed", "burst": Burst(frozenset({"a", "b", "c", "h1"}), False)}, "Book"),
])
def test_accepting_a_booking(changes: dict[str, object], expected: str) -> None:
    decision = decide_booking(booking(**changes), "h1", CONFIG, at(10))
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert decision.kept  # every refusal of a booking is recorded
    else:
        assert isinstance(decision, Book) and decision.entry == booking(**changes).entry


def test_booking_exists_names_the_slot_held() -> None:
    decision = decide_booking(booking(held_since=at(14)), "h1", CONFIG, at(10))
    assert isinstance(decision, Refused)
    assert decision.error.body()["error"]["slot_start"] == "2026-11-23T14:00:00.000+08:00"


# -- an agent's booking: a place for the people represented, on the slot's day ------------------------------
def party(h: str, **changes: object) -> PrincipalBooking:
    base = PrincipalBooking(Principal(h, f"{h}****", "李*"), today=CLEAN, on_day=CLEAN, held_since=None)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


TWO_DAYS = limits.PersonFacts(3, 1, 0, None, None)  # the agent's own counts: never an agent's business


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "Book"),
    ({"on_day": TWO_DAYS, "today": TWO_DAYS, "held_since": at(11)}, "Book"),  # the agent's own places: not counted
    ({"today": limits.PersonFacts(0, 0, 0, None, "倒号")}, "BLOCKLISTED"),       # the agent blocklisted
    ({"today": limits.PersonFacts(0, 0, 1, at(9, 50), None)}, "NO_SHOW_COOLDOWN"),  # the agent cooling down
    ({"agent_known": frozenset({"a", "b", "c", "d"})}, "AGENT_LIMIT"),           # 5 a day: four known + two
    ({"agent_known": frozenset({"a", "b", "c", "p1"})}, "Book"),                  # p1 already counted that day
    ({"agent_today": frozenset({"a", "b", "c", "d"})}, "AGENT_LIMIT"),  # acting today: five people, whatever the day
    ({"agent_today": frozenset({"a", "b", "p1", "p2"})}, "Book"),
    ({"principals": (party("p1", held_since=at(10) + timedelta(days=1)), party("p2"))}, "BOOKING_EXISTS"),
    ({"principals": (party("p1"), party("p2", on_day=limits.PersonFacts(1, 1, 0, None, None)))}, "BUSINESS_LIMIT"),
    ({"principals": (party("p1", on_day=limits.PersonFacts(3, 0, 0, None, None)), party("p2"))}, "DAILY_LIMIT"),
    ({"principals": (party("p1"), party("p2", today=limits.PersonFacts(0, 0, 0, None, "x")))}, "BLOCKLISTED"),
    ({"principals": (party("p1", today=limits.PersonFacts(0, 0, 1, at(9, 50), None)),)}, "NO_SHOW_COOLDOWN"),
    ({"principals": (party("p1", today=limits.PersonFacts(3, 1, 0, None, None)),)}, "Book"),  # today: not the slot's day
    ({"entry": "typed", "burst": Burst(frozenset({"a", "b", "c", "d"}), False)}, "KIOSK_BURST"),
    ({"entry": "typed", "burst": Burst(frozenset({"a", "b", "c", "h1"}), False)}, "Book"),
])
def test_accepting_an_agents_booking(changes: dict[str, object], expected: str) -> None:
    facts = booking(**{"principals": (party("p1"), party("p2")), **changes})
    decision = decide_booking(facts, "h1", CONFIG, at(10))
    assert code_of(decision) == expected
    if isinstance(decision, Refused):
        assert decision.kept


def test_a_refusal_names_the_person_represented_it_is_about() -> None:
    held = party("p2", held_since=at(10) + timedelta(days=1))
    decision = decide_booking(booking(principals=(party("p1"), held)), "h1", CONFIG, at(10))
    assert isinstance(decision, Refused) and decision.error.code == "BOOKING_EXISTS"
    body = decision.error.body()["error"]
    assert "被代办人 李* " in body["message"] and "代办人预约" in body["message"]
    assert "agent" in body["message_en"] and body["slot_start"] == "2026-11-24T10:00:00.000+08:00"


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "Issue"),
    ({"principals": ((Principal("p1", "p1****", "李*"), limits.PersonFacts(0, 0, 0, None, "x")),)}, "BLOCKLISTED"),
    ({"principals": ((Principal("p1", "p1****", "李*"), limits.PersonFacts(0, 0, 1, at(9, 50), None)),)},
     "NO_SHOW_COOLDOWN"),
    ({"principals": ((Principal("p1", "p1****", "李*"), limits.PersonFacts(3, 1, 0, None, None)),)}, "Issue"),
])
def test_checking_in_an_agents_booking_keeps_each_persons_blocklist_and_cool_down(
        changes: dict[str, object], expected: str) -> None:
    decision = decide_check_in(check_in(**changes), CONFIG, at(10))
    assert code_of(decision) == expected
