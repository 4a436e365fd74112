"""Every fact the rules of a place in the queue need, gathered in one step over the change's transaction:
issuing a ticket, checking in an appointment, accepting a booking offer. kiosk/domain/issuing.py decides on
them; kiosk/hall/issuing.py and booking.py apply the decision.

Reading the request's inputs belongs here too (the business, the identities laid or typed, a scanned code):
they are what the facts are looked up by, and a malformed one is refused before anything is read. Each
person's history is one statement; the wait facts come from the caches of kiosk/hall/wait_facts.py.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.contract.requests import AcceptBooking, CheckIn, IssueTicket
from kiosk.domain import codes, limits
from kiosk.domain.catalog import Business
from kiosk.domain.errors import fail
from kiosk.domain.identity import Identity
from kiosk.domain.issuing import (
    BookingFacts,
    Burst,
    CheckInFacts,
    Hours,
    IssueFacts,
    OfferFacts,
    OpenOffer,
    Principal,
    PrincipalBooking,
    hours,
)
from kiosk.hall import shape, wait_facts
from kiosk.hall.context import Call, HallContext
from kiosk.store.db import Tx

# one statement for one person's day, a row per table: own tickets, tickets taken for them by an agent,
# no-shows, open on-site bookings for the day (a place in that day's queue, as a ticket is), their own and those
# an agent made for them, the blocklist. An agent's tickets and bookings are the principals' places, not its own
PERSON_SQL = (
    "SELECT COUNT(*), SUM(issued_business=?3), NULL FROM tickets WHERE day=?1 AND holder_hash=?2 AND is_agent=0 "
    "UNION ALL SELECT COUNT(*), SUM(business=?3), NULL FROM ticket_principals WHERE day=?1 AND principal_hash=?2 "
    "UNION ALL SELECT COUNT(*), MAX(at_epoch), NULL FROM no_shows WHERE day=?1 AND holder_hash=?2 "
    "UNION ALL SELECT COUNT(*), SUM(business=?3), NULL FROM bookings WHERE holder_hash=?2 AND state='booked' "
    "AND is_agent=0 AND slot_start>=?4 AND slot_start<?5 "
    "UNION ALL SELECT COUNT(*), SUM(b.business=?3), NULL FROM booking_principals p JOIN bookings b "
    "ON b.id=p.booking_id WHERE p.principal_hash=?2 AND b.state='booked' AND b.slot_start>=?4 AND b.slot_start<?5 "
    "UNION ALL SELECT 0, 0, reason FROM blocklist WHERE holder_hash=?2")

# the slot of an open booking one person holds for a business, their own or one an agent holds for them
HELD_SQL = (
    "SELECT slot_start FROM bookings WHERE holder_hash=?1 AND business=?2 AND state='booked' AND is_agent=0 "
    "AND slot_start>?3 UNION ALL SELECT b.slot_start FROM booking_principals p JOIN bookings b ON b.id=p.booking_id "
    "WHERE p.principal_hash=?1 AND b.business=?2 AND b.state='booked' AND b.slot_start>?3 ORDER BY 1 LIMIT 1")

# the people an agent acts for on one day: its tickets' principals, its open bookings' for that day, and the
# people it booked for on that day (whatever the slot: booking is acting for them, so that an agent cannot
# book five people a day for each of the next thirty open days in one sitting)
AGENT_SQL = (
    "SELECT principal_hash FROM agent_principals WHERE day=?1 AND agent_hash=?2 "
    "UNION SELECT p.principal_hash FROM booking_principals p JOIN bookings b ON b.id=p.booking_id "
    "WHERE b.holder_hash=?2 AND b.is_agent=1 AND ((b.state='booked' AND b.slot_start>=?3 AND b.slot_start<?4) "
    "OR (b.created_epoch>=?3 AND b.created_epoch<?4))")


def day_bounds(ctx: HallContext, day: str) -> tuple[float, float]:
    """The hall's local day as epoch seconds [start, end); kept for the last day asked (every ticket asks)."""
    seen, bounds = ctx.caches.day_bounds
    if seen == day:
        return bounds
    start = datetime.combine(date.fromisoformat(day), time(0), ctx.config.calendar.tz)
    bounds = (start.timestamp(), (start + timedelta(days=1)).timestamp())
    ctx.caches.day_bounds = (day, bounds)
    return bounds


def person_facts(ctx: HallContext, tx: Tx, day: str, who: str, business: str) -> limits.PersonFacts:
    """One identity's history on ``day`` (by keyed hash), as the limits count it."""
    start, end = day_bounds(ctx, day)
    rows = tx.conn.execute(PERSON_SQL, (day, who, business, start, end)).fetchall()
    own, represented, (missed, last, _), booked, booked_for = rows[:5]
    return limits.PersonFacts(
        tickets_today=own[0] + represented[0] + booked[0] + booked_for[0],
        tickets_in_business=(own[1] or 0) + (represented[1] or 0) + (booked[1] or 0) + (booked_for[1] or 0),
        no_shows_today=missed,
        last_no_show_at=datetime.fromtimestamp(last, tz=ctx.config.calendar.tz) if last is not None else None,
        blocklist_reason=rows[5][2] if len(rows) > 5 else None,
    )


def agent_known(ctx: HallContext, tx: Tx, day: str, agent: str) -> frozenset[str]:
    """The people ``agent`` already acts for on ``day`` (``agent_principals_per_day`` counts them)."""
    return frozenset(r[0] for r in tx.all(AGENT_SQL, (day, agent, *day_bounds(ctx, day))))


def held_since(ctx: HallContext, tx: Tx, who: str, business: str, now: datetime) -> datetime | None:
    """The slot of an open booking ``who`` holds for ``business`` whose check-in is still open, if any."""
    still_open = now.timestamp() - ctx.config.booking.checkin_late_minutes * 60
    row = tx.one(HELD_SQL, (who, business, still_open))
    return datetime.fromtimestamp(row[0], ctx.config.calendar.tz) if row is not None else None


def burst_facts(ctx: HallContext, tx: Tx, call: Call, entry: str) -> Burst | None:
    """Only identities *typed* at one kiosk count: a crowd laying its own cards is never slowed down, while
    someone typing other people's numbers to hold places for sale is stopped within a few tickets. Every
    path to a place counts alike: tickets, booking offers asked for and bookings taken (hall-api.md), so that
    a full day's offers are no way around it. None: the rule does not apply to this request."""
    burst = ctx.config.limits.kiosk_burst
    if call.device.role != "kiosk" or burst is None or entry != "typed":
        return None
    since = call.now.timestamp() - burst.minutes * 60
    device = call.device.name
    recent = frozenset(r[0] for r in tx.all(
        "SELECT holder_hash FROM tickets WHERE device=?1 AND issued_epoch>=?2 AND entry='typed' "
        "UNION SELECT holder_hash FROM offers WHERE device=?1 AND created_epoch>=?2 AND entry='typed' "
        "UNION SELECT holder_hash FROM bookings WHERE device=?1 AND created_epoch>=?2 AND entry='typed'",
        (device, since)))
    episode = tx.one("SELECT id FROM kiosk_bursts WHERE device=? AND started_epoch>=? ORDER BY id DESC LIMIT 1",
                     (device, since))
    return Burst(recent, episode is not None, episode["id"] if episode is not None else None)


def today_hours(ctx: HallContext, tx: Tx, now: datetime) -> Hours:
    day = ctx.day(now)
    return hours(tuple(ctx.config.calendar.periods(day)), shape.extended_until(ctx, tx.conn, day.isoformat()))


# -- issuing a ticket -------------------------------------------------------------------------------------
def people(ctx: HallContext, req: IssueTicket, now: datetime) -> tuple[Identity, tuple[Identity, ...]]:
    """The holder, and for an agent the distinct people represented (never the agent)."""
    agent = req.agent
    if agent is None:
        return ctx.identity(req.identity, now), ()
    holder = ctx.identity(agent.identity or req.identity, now)
    if agent.principals is None or not 1 <= len(agent.principals) <= 20:
        raise fail("PRINCIPALS_REQUIRED")
    principals: list[Identity] = []
    extra = [req.identity] if agent.identity and req.identity else []
    for raw in agent.principals + extra:
        p = ctx.identity(raw, now)
        if p.hash != holder.hash and all(p.hash != q.hash for q in principals):
            principals.append(p)
    if not principals:
        raise fail("PRINCIPALS_REQUIRED", "被代办人不能是代办人本人。", "The people represented cannot be the agent.")
    return holder, tuple(principals)


def issue_facts(ctx: HallContext, call: Call, req: IssueTicket) -> tuple[Business, IssueFacts]:
    tx = ctx.tx
    now = call.now
    day = ctx.day(now).isoformat()
    business = ctx.business_or_fail(req.business)
    holder, principals = people(ctx, req, now)
    hall = wait_facts.wait_facts(ctx, tx.conn, now)
    waiting = wait_facts.waiting_near(ctx, tx.conn, hall, business.code)
    known = agent_known(ctx, tx, day, holder.hash) if principals else frozenset()
    return business, IssueFacts(
        business=business.code, holder=holder,
        holder_facts=person_facts(ctx, tx, day, holder.hash, business.code),
        principals=tuple((p, person_facts(ctx, tx, day, p.hash, business.code)) for p in principals),
        agent_known=known, claimed_priority=req.priority, accept_wait=req.accept_wait is True,
        burst=burst_facts(ctx, tx, call, holder.source), hall=hall, waiting=waiting)


def offer_facts(ctx: HallContext, call: Call, facts: IssueFacts) -> OfferFacts:
    """What a booking offer needs, read only once the decision is to offer one: the holder's offer for the
    business still open for the same people represented, and the places held per slot."""
    tx = ctx.tx
    now = call.now
    tz = ctx.config.calendar.tz
    party = {p.hash for p, _ in facts.principals}
    found = None
    for live in tx.all("SELECT * FROM offers WHERE business=? AND holder_hash=? AND used=0 AND expires_epoch>?",
                       (facts.business, facts.holder.hash, now.timestamp())):
        if {p.hash for p in offer_principals(tx, live["id"])} == party:
            found = OpenOffer(live["id"], datetime.fromtimestamp(live["slot_start"], tz),
                              datetime.fromtimestamp(live["slot_end"], tz),
                              datetime.fromtimestamp(live["expires_epoch"], tz))
            break
    return OfferFacts(found, offer_taken(tx, facts.business, now))


def offer_taken(tx: Tx, business: str, now: datetime) -> dict[float, int]:
    """Places held per slot start from now on: bookings not cancelled and offers still open."""
    taken: dict[float, int] = {}
    for row in tx.all("SELECT slot_start, COUNT(*) FROM bookings WHERE business=?1 AND slot_start>?2 AND "
                      "state!='cancelled' GROUP BY slot_start UNION ALL SELECT slot_start, COUNT(*) FROM offers "
                      "WHERE business=?1 AND slot_start>?2 AND used=0 AND expires_epoch>?2 GROUP BY slot_start",
                      (business, now.timestamp())):
        taken[row[0]] = taken.get(row[0], 0) + row[1]
    return taken


# -- checking in an appointment ----------------------------------------------------------------------------
def check_in_facts(ctx: HallContext, call: Call, req: CheckIn
                   ) -> tuple[Business, Identity | None, codes.AppointmentCode, CheckInFacts]:
    """The appointment's code (the ticket belongs to the person booked, by the whole hash), the identity laid
    if any, and what decides the check-in."""
    tx = ctx.tx
    now = call.now
    code = codes.read_appointment_qr(ctx.code_key, ctx.config.hall_id, req.code)
    business = ctx.business_or_fail(code.business)
    holder = ctx.identity(req.identity, now) if req.identity else None
    mismatch = holder is not None and bool(code.holder) and not holder.hash.startswith(code.holder)
    used = tx.one("SELECT at FROM checkins WHERE appointment_id=?", (code.appointment_id,)) is not None
    booked = tx.one("SELECT holder_hash, held, is_agent FROM bookings WHERE id=?", (code.appointment_id,)) \
        if code.channel == "booking" else None
    card_required = booked is not None and bool(booked["held"]) and (holder is None or holder.source == "typed")
    if booked is not None:
        code = dataclasses.replace(code, holder=booked["holder_hash"])
    who = holder.hash if holder is not None else code.holder if code.channel == "booking" else None
    day = ctx.day(now).isoformat()
    person = person_facts(ctx, tx, day, who, business.code) if who else None
    principals = booking_principals(tx, code.appointment_id) if booked is not None and booked["is_agent"] else ()
    start = datetime.fromtimestamp(code.slot_start, ctx.config.calendar.tz)
    return business, holder, code, CheckInFacts(
        business=business.code, start=start, identity_mismatch=mismatch, used=used, card_required=card_required,
        hours=today_hours(ctx, tx, now), person=person,
        principals=tuple((p, person_facts(ctx, tx, day, p.hash, business.code)) for p in principals))


def booking_principals(tx: Tx, booking_id: str) -> tuple[Principal, ...]:
    """The people an agent's booking represents, as stored (hashes and masked forms)."""
    return tuple(Principal(r[0], r[1], r[2]) for r in tx.all(
        "SELECT principal_hash, principal_masked, name_masked FROM booking_principals WHERE booking_id=? "
        "ORDER BY rowid", (booking_id,)))


# -- accepting a booking offer -----------------------------------------------------------------------------
def booking_facts(ctx: HallContext, call: Call, req: AcceptBooking
                  ) -> tuple[Identity, dict[str, Any], BookingFacts]:
    """The offer named (it must exist, be the person's and still be open) and what decides the booking; for an
    agent's offer, each person represented on the slot's day, and the people the agent holds places for then."""
    tx = ctx.tx
    now = call.now
    holder = ctx.identity(req.identity, now)
    offer = tx.one("SELECT * FROM offers WHERE id=?", ((req.offer_id or "")[:64],))
    if offer is None:
        raise fail("OFFER_NOT_FOUND")
    if offer["holder_hash"] != holder.hash:
        raise fail("IDENTITY_MISMATCH", "预约名额只能由取号本人确认。", "Only the person offered can accept.")
    if offer["used"] or offer["expires_epoch"] <= now.timestamp():
        raise fail("OFFER_EXPIRED")
    business = offer["business"]
    today = ctx.day(now).isoformat()
    slot_day = ctx.day(datetime.fromtimestamp(offer["slot_start"], ctx.config.calendar.tz)).isoformat()
    principals = tuple(PrincipalBooking(
        p, today=person_facts(ctx, tx, today, p.hash, business),
        on_day=person_facts(ctx, tx, slot_day, p.hash, business),
        held_since=held_since(ctx, tx, p.hash, business, now)) for p in offer_principals(tx, offer["id"]))
    # typed when it was typed at either step: the stricter of the two
    entry = "typed" if "typed" in (holder.source, offer["entry"]) else holder.source
    return holder, dict(offer), BookingFacts(
        business=business, entry=entry,
        today=person_facts(ctx, tx, today, holder.hash, business),
        on_day=person_facts(ctx, tx, slot_day, holder.hash, business),
        held_since=None if principals else held_since(ctx, tx, holder.hash, business, now),
        burst=burst_facts(ctx, tx, call, entry), principals=principals,
        agent_known=agent_known(ctx, tx, slot_day, holder.hash) if principals else frozenset(),
        agent_today=agent_known(ctx, tx, today, holder.hash) if principals else frozenset())


def offer_principals(tx: Tx, offer_id: str) -> tuple[Principal, ...]:
    """The people an agent's offer represents (none for a citizen's own offer)."""
    return tuple(Principal(r[0], r[1], r[2]) for r in tx.all(
        "SELECT principal_hash, principal_masked, name_masked FROM offer_principals WHERE offer_id=? "
        "ORDER BY rowid", (offer_id,)))
