"""Issuing tickets: opening hours, every anti-scalper limit, priority, the kiosk-burst rule, numbering,
over capacity as an offer; a lost slip reprinted; a scanned ticket verified."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from kiosk.contract.requests import IssueTicket, Reprint
from kiosk.domain import codes, limits, waits
from kiosk.domain.catalog import Business
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.identity import Identity
from kiosk.hall import capacity, shape, wait_facts
from kiosk.hall.context import WAITING, Call, HallContext, next_serial, same_holder
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.store.db import Tx


# -- issuing --------------------------------------------------------------
def _issuing_open(ctx: HallContext, now: datetime, conn: sqlite3.Connection) -> None:
    cal = ctx.config.calendar
    periods = cal.periods(ctx.day(now))
    local = cal.local(now)
    if periods and periods[0][0] <= local < periods[-1][1]:
        return
    until = shape.extended_until(ctx, conn, ctx.day(now).isoformat())
    if periods and until is not None and periods[-1][1] <= local < until:
        return  # hours extended today by the duty desk
    nxt = cal.next_opening(now)
    when = f"{nxt:%m月%d日 %H:%M}" if nxt else "下一个工作日"
    when_en = f"{nxt:%Y-%m-%d %H:%M}" if nxt else "the next working day"
    raise fail("HALL_CLOSED", f"现在不在办公时间，取号将于 {when} 开始。也可以在网上或微信预约。",
               f"The hall is closed; tickets are issued again from {when_en}. You can also book online.",
               opens_at=nxt.isoformat() if nxt else None)


def _person_facts(ctx: HallContext, tx: Tx, day: str, who: str, business: str) -> limits.PersonFacts:
    own = tx.one("SELECT COUNT(*), SUM(issued_business=?) FROM tickets WHERE day=? AND holder_hash=? "
                 "AND is_agent=0", (business, day, who))
    via = tx.one("SELECT COUNT(*), SUM(business=?) FROM ticket_principals WHERE day=? AND principal_hash=?",
                 (business, day, who))
    ns = tx.one("SELECT COUNT(*), MAX(at_epoch) FROM no_shows WHERE day=? AND holder_hash=?", (day, who))
    block = tx.one("SELECT reason FROM blocklist WHERE holder_hash=?", (who,))
    # an open on-site booking for this day is a place in this day's queue, as a ticket is
    start = datetime.combine(date.fromisoformat(day), time(0), ctx.config.calendar.tz)
    booked = tx.one("SELECT COUNT(*), SUM(business=?) FROM bookings WHERE holder_hash=? AND state='booked' "
                    "AND slot_start>=? AND slot_start<?",
                    (business, who, start.timestamp(), (start + timedelta(days=1)).timestamp()))
    assert own is not None and via is not None and ns is not None and booked is not None
    last = (datetime.fromtimestamp(ns[1], tz=ctx.config.calendar.tz) if ns[1] is not None else None)
    return limits.PersonFacts(
        tickets_today=int(own[0]) + int(via[0]) + int(booked[0]),
        tickets_in_business=int(own[1] or 0) + int(via[1] or 0) + int(booked[1] or 0),
        no_shows_today=int(ns[0]),
        last_no_show_at=last,
        blocklist_reason=block["reason"] if block else None,
    )


def _priority(ctx: HallContext, claimed: str | None, holder: Identity, is_agent: bool) -> str | None:
    rules = ctx.config.priority
    if claimed in (None, "", "none"):
        if not is_agent and "elderly" in rules.groups and holder.age >= rules.elderly_age:
            return "elderly"
        return None
    if not isinstance(claimed, str) or claimed not in rules.groups:
        raise fail("PRIORITY_INVALID", f"优先类别应为：{'、'.join(rules.groups)}。",
                   f"priority must be one of {', '.join(rules.groups)}.")
    if claimed == "elderly" and holder.age < rules.elderly_age:
        raise fail("PRIORITY_NOT_ELIGIBLE", f"老年人优先需年满 {rules.elderly_age} 周岁，请选择普通取号。",
                   f"Elderly priority starts at age {rules.elderly_age}; take a normal ticket.")
    return claimed


def op_issue(ctx: HallContext, call: Call, req: IssueTicket) -> Outcome:
    tx = ctx.tx
    now = call.now
    day = ctx.day(now).isoformat()
    at = ctx.iso(now)
    business = ctx.business_or_fail(req.business)
    agent = req.agent
    principals: list[Identity] = []
    if agent is not None:
        holder = ctx.identity(agent.identity or req.identity, now)
        if agent.principals is None or not 1 <= len(agent.principals) <= 20:
            raise fail("PRINCIPALS_REQUIRED")
        extra = [req.identity] if agent.identity and req.identity else []
        for raw in agent.principals + extra:
            p = ctx.identity(raw, now)
            if p.hash != holder.hash and all(p.hash != q.hash for q in principals):
                principals.append(p)
        if not principals:
            raise fail("PRINCIPALS_REQUIRED", "被代办人不能是代办人本人。", "The people represented cannot be the agent.")
    else:
        holder = ctx.identity(req.identity, now)
    priority = _priority(ctx, req.priority, holder, bool(principals))
    _issuing_open(ctx, now, tx.conn)
    try:
        if principals:
            # the agent's blocklist and cool-down apply; the agent's personal ticket counts do not
            agent_facts = _person_facts(ctx, tx, day, holder.hash, business.code)
            limits.check_person(ctx.config.limits, "代办人",
                                dataclasses.replace(agent_facts, tickets_today=0, tickets_in_business=0), now)
            known = frozenset(r[0] for r in tx.all(
                "SELECT principal_hash FROM agent_principals WHERE day=? AND agent_hash=?", (day, holder.hash)))
            limits.check_agent(ctx.config.limits, limits.AgentFacts(known), [p.hash for p in principals])
            for p in principals:
                limits.check_person(ctx.config.limits, f"被代办人 {p.name_masked or p.masked} ",
                                    _person_facts(ctx, tx, day, p.hash, business.code), now)
        else:
            limits.check_person(ctx.config.limits, "您", _person_facts(ctx, tx, day, holder.hash,
                                                                             business.code), now)
        _check_burst(ctx, tx, call, holder)
    except DomainError as refusal:
        tx.emit("ticket.refused", at, call.device.name, {
            "code": refusal.code, "business": business.code, "holder": holder.hash,
            "agent": bool(principals), "day": day, "source": holder.source})
        if refusal.code == "KIOSK_BURST":
            _record_burst(ctx, tx, call, day)
        return Refused(refusal)

    # capacity: never a refusal; offer a booking when today may not serve it. The estimate that decides is
    # the one the slip prints (kiosk/domain/waits.py: windows shared with other businesses, the lunch break,
    # paused and closed windows, today's learned service times, priority coming later): when its range
    # reaches past closing, one holder in ten or more would not be called today, and is told so before
    # choosing to wait (an offer, not a refusal: the ticket is still issued if the citizen prefers)
    facts = wait_facts.wait_facts(ctx, tx.conn, now)
    ahead = wait_facts.ahead_of_new(ctx, tx.conn, facts, business.code, priority is not None)
    wait = waits.estimate(facts, ahead)
    slack = timedelta(minutes=ctx.config.booking.over_capacity_slack_minutes)
    over = facts.closing is not None and wait.high_at > facts.closing + slack
    if ctx.config.booking.offers and req.accept_wait is not True and over:
        offer = _offer(ctx, tx, call, business, holder, now) if not principals else None
        if offer is not None:
            return Done(offer)
    estimate = (ahead.people, wait)
    return Done({"ticket": _create_ticket(ctx, tx, call, business, holder, principals, priority,
                                               "walk_in", None, estimate)}, made=True)


def _check_burst(ctx: HallContext, tx: Tx, call: Call, holder: Identity, entry: str | None = None) -> None:
    """Only identities *typed* at one kiosk count: a crowd laying its own cards is never slowed down,
    while someone typing other people's numbers to hold places for sale is stopped within a few tickets.
    Every path to a place counts alike: tickets, booking offers asked for and bookings taken (hall-api.md),
    so that a full day's offers are no way around it."""
    burst = ctx.config.limits.kiosk_burst
    if call.device.role != "kiosk" or burst is None or (entry or holder.source) != "typed":
        return
    since = call.now.timestamp() - burst.minutes * 60
    device = call.device.name
    recent = {r[0] for r in tx.all(
        "SELECT holder_hash FROM tickets WHERE device=? AND issued_epoch>=? AND entry='typed' "
        "UNION SELECT holder_hash FROM offers WHERE device=? AND created_epoch>=? AND entry='typed' "
        "UNION SELECT holder_hash FROM bookings WHERE device=? AND created_epoch>=? AND entry='typed'",
        (device, since, device, since, device, since))}
    paused = tx.one("SELECT 1 FROM kiosk_bursts WHERE device=? AND started_epoch>=?", (device, since))
    limits.check_kiosk_burst(ctx.config.limits, recent, holder.hash, paused is not None)


def _record_burst(ctx: HallContext, tx: Tx, call: Call, day: str, via: str = "ticket") -> None:
    """One ``kiosk.burst`` event per episode (the duty desk's alert); later refusals only count.

    The burst also says who typed the numbers before it: the typed bookings and offers of this kiosk in the
    burst's minutes are put on hold, to be checked in only with the holder's own ID card. A person who typed
    their own number has the card; someone who typed other people's numbers to sell their slots has not."""
    burst = ctx.config.limits.kiosk_burst
    assert burst is not None
    since = call.now.timestamp() - burst.minutes * 60
    device = call.device.name
    tx.execute("UPDATE offers SET held=1 WHERE device=? AND created_epoch>=? AND entry='typed'", (device, since))
    held = tx.execute(
        "UPDATE bookings SET held=1 WHERE state='booked' AND entry='typed' AND held=0 AND ((device=? AND "
        "created_epoch>=?) OR offer_id IN (SELECT id FROM offers WHERE device=? AND created_epoch>=? AND "
        "entry='typed'))", (device, since, device, since)).rowcount
    if held:
        ctx.record_audit(tx, call, "bookings_held", None, None, None, None, {"bookings": held, "via": via})
    row = tx.one("SELECT id FROM kiosk_bursts WHERE device=? AND started_epoch>=? ORDER BY id DESC LIMIT 1",
                 (call.device.name, since))
    if row is not None:
        tx.execute("UPDATE kiosk_bursts SET refused=refused+1 WHERE id=?", (row["id"],))
        return
    tx.execute("INSERT INTO kiosk_bursts (device, day, started_epoch) VALUES (?,?,?)",
               (call.device.name, day, call.now.timestamp()))
    tx.emit("kiosk.burst", ctx.iso(call.now), call.device.name, {
        "device": call.device.name, "day": day, "identities": burst.identities, "minutes": burst.minutes,
        "via": via, "bookings_held": held})


def _create_ticket(ctx: HallContext, tx: Tx, call: Call, business: Business, holder: Identity | None,
                   principals: list[Identity], priority: str | None, channel: str,
                   appointment: codes.AppointmentCode | None,
                   estimate: tuple[int, waits.Estimate] | None = None) -> dict[str, Any]:
    now = call.now
    day = ctx.day(now).isoformat()
    at = ctx.iso(now)
    number = _next_number(ctx, tx, day, business.code)
    holder_hash = holder.hash if holder else (appointment.holder if appointment else "")
    cur = tx.execute(
        "INSERT INTO tickets (day, number, business, issued_business, holder_hash, holder_masked, name_masked,"
        " is_agent, channel, priority, state, issued_at, issued_epoch, device, appointment_id, entry)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,'waiting',?,?,?,?,?)",
        (day, number, business.code, business.code, holder_hash, holder.masked if holder else "",
         holder.name_masked if holder else "", int(bool(principals)), channel, priority, at,
         now.timestamp(), call.device.name, appointment.appointment_id if appointment else None,
         holder.source if holder else None))
    tid = cur.lastrowid
    for p in principals:
        tx.execute("INSERT INTO ticket_principals (ticket_id, day, principal_hash, principal_masked, business)"
                   " VALUES (?,?,?,?,?)", (tid, day, p.hash, p.masked, business.code))
        tx.execute("INSERT OR IGNORE INTO agent_principals (day, agent_hash, principal_hash) VALUES (?,?,?)",
                   (day, holder_hash, p.hash))
    tx.emit("ticket.issued", at, call.device.name, {
        "number": number, "business": business.code, "day": day, "channel": channel, "priority": priority,
        "holder": holder_hash, "agent": bool(principals), "principals": [p.hash for p in principals],
        "order": tid, "appointment": appointment.appointment_id if appointment else None,
        "entry": holder.source if holder else None})
    return capacity.view_of(ctx, tx, tid, now, estimate)


def _next_number(ctx: HallContext, tx: Tx, day: str, prefix: str) -> str:
    return f"{prefix}{next_serial(tx, day, prefix):03d}"


def issue_test_ticket(ctx: HallContext, now: datetime, device: str) -> dict[str, Any]:
    """A technician's test slip: a real, verifiable ticket that can never be called (state cancelled)."""

    def change(tx: Tx) -> dict[str, Any]:
        day = ctx.day(now).isoformat()
        number = _next_number(ctx, tx, day, "T")
        cur = tx.execute(
            "INSERT INTO tickets (day, number, business, issued_business, holder_hash, holder_masked, name_masked,"
            " channel, state, issued_at, issued_epoch, device) VALUES (?,?,'T','T','','测试 TEST','测试','test',"
            "'cancelled',?,?,?)", (day, number, ctx.iso(now), now.timestamp(), device))
        tx.emit("ticket.test_printed", ctx.iso(now), device, {"number": number, "day": day})
        return capacity.view_of(ctx, tx, cur.lastrowid, now)

    return ctx.store.write(change)


# -- tickets: reprint, verify -----------------------------------------------
def op_reprint(ctx: HallContext, call: Call, req: Reprint) -> Outcome:
    tx = ctx.tx
    now = call.now
    day = ctx.day(now).isoformat()
    row = capacity._ticket_row(ctx, tx.conn, day, req.number)  # the number comes from the path
    holder = ctx.identity(req.identity, now)
    at = ctx.iso(now)
    if not same_holder(holder, row["holder_hash"]):
        ctx.record_audit(tx, call, "reprint_refused", None, None, row["number"], None, {"holder": holder.hash})
        tx.emit("ticket.reprint_refused", at, call.device.name, {"number": row["number"], "day": day})
        return Refused(fail("IDENTITY_MISMATCH", "补打小票需要取号人本人的身份证件。",
                         "Only the ticket's holder can reprint it."))
    tx.execute("UPDATE tickets SET reprints=reprints+1 WHERE id=?", (row["id"],))
    ctx.record_audit(tx, call, "reprint", None, None, row["number"], None, {"count": row["reprints"] + 1})
    tx.emit("ticket.reprinted", at, call.device.name, {"number": row["number"], "day": day,
                                                       "count": row["reprints"] + 1})
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], now)})


def verify_qr(ctx: HallContext, now: datetime, qr: object) -> dict[str, Any]:
    conn, row = capacity.scanned_ticket(ctx, now, qr)
    return {"ticket": capacity.ticket_view(ctx, conn, row, now)}


def phone_status(ctx: HallContext, now: datetime, scanned: str) -> dict[str, Any]:
    """What the phone page shows for a slip's code: the number, the business, people ahead, the expected
    wait, and the window once called. Never an identity. A forged, foreign, unknown or earlier day's code
    raises QR_INVALID, which the page shows as one "not found" whatever the reason."""
    conn, row = capacity.scanned_ticket(ctx, now, scanned)
    view = capacity.ticket_view(ctx, conn, row, now)
    called = view["state"] in ("called", "serving")
    return {"number": view["number"], "business": view["business_name"], "state": view["state"],
            "ahead": view["ahead"] if view["state"] in WAITING else 0,
            "expected_wait_min": view["expected_wait_min"] if view["state"] in WAITING else 0,
            "expected_wait_range_min": view["expected_wait_range_min"] if view["state"] in WAITING else [0, 0],
            "window": view["window"] if called else None, "seq": ctx.store.last_seq(),
            "at": ctx.iso(now)}


def get_ticket(ctx: HallContext, now: datetime, number: str) -> dict[str, Any]:
    conn = ctx.store.reader()
    return {"ticket": capacity.ticket_view(ctx, conn, capacity._ticket_row(ctx, conn, ctx.day(now).isoformat(), number), now)}


def _offer(ctx: HallContext, tx: Tx, call: Call, business: Business, holder: Identity, now: datetime
           ) -> dict[str, Any] | None:
    rules = ctx.config.booking
    cal = ctx.config.calendar
    live = tx.one("SELECT * FROM offers WHERE business=? AND holder_hash=? AND used=0 AND expires_epoch>?",
                  (business.code, holder.hash, now.timestamp()))
    if live is not None:  # asking again does not reserve another slot
        return _offer_body(ctx, live["id"], business, live["slot_start"], live["slot_end"],
                                live["expires_epoch"])
    taken: dict[float, int] = defaultdict(int)
    for row in tx.all("SELECT slot_start, COUNT(*) FROM bookings WHERE business=? AND slot_start>? AND "
                      "state!='cancelled' GROUP BY slot_start", (business.code, now.timestamp())):
        taken[row[0]] += row[1]
    for row in tx.all("SELECT slot_start, COUNT(*) FROM offers WHERE business=? AND slot_start>? AND used=0 "
                      "AND expires_epoch>? GROUP BY slot_start", (business.code, now.timestamp(),
                                                                now.timestamp())):
        taken[row[0]] += row[1]
    step = timedelta(minutes=rules.slot_minutes)
    for day in cal.open_days_after(ctx.day(now), 30):
        for a, b in cal.periods(day):
            start = a
            while start + step <= b:
                if taken[start.timestamp()] < rules.per_slot:
                    end = start + step
                    offer_id = secrets.token_hex(8)
                    expires = now + timedelta(minutes=rules.offer_valid_minutes)
                    tx.execute("INSERT INTO offers (id, business, holder_hash, slot_start, slot_end, "
                               "expires_epoch, device, entry, created_epoch) VALUES (?,?,?,?,?,?,?,?,?)",
                               (offer_id, business.code, holder.hash, start.timestamp(), end.timestamp(),
                                expires.timestamp(), call.device.name, holder.source, now.timestamp()))
                    tx.emit("booking.offered", ctx.iso(now), call.device.name, {
                        "offer_id": offer_id, "business": business.code, "holder": holder.hash,
                        "slot_start": ctx.iso(start), "slot_end": ctx.iso(end)})
                    return _offer_body(ctx, offer_id, business, start.timestamp(), end.timestamp(),
                                            expires.timestamp())
                start += step
    return None


def _offer_body(ctx: HallContext, offer_id: str, business: Business, start_epoch: float, end_epoch: float,
                expires_epoch: float) -> dict[str, Any]:
    tz = ctx.config.calendar.tz
    start = datetime.fromtimestamp(start_epoch, tz)
    end = datetime.fromtimestamp(end_epoch, tz)
    return {
        "over_capacity": True,
        "booking_offer": {"offer_id": offer_id, "slot_start": ctx.iso(start), "slot_end": ctx.iso(end),
                          "business": business.code,
                          "expires_at": ctx.iso(datetime.fromtimestamp(expires_epoch, tz))},
        "message": f"今天排队人数已超过剩余办公时间的受理能力。可以为您预约 {start:%m月%d日 %H:%M}–{end:%H:%M} 办理；"
                   "如仍想今天等候，也可以继续取号。",
        "message_en": "Today's remaining hours cannot serve everyone waiting. You can book the offered time, "
                      "or still take a ticket for today.",
    }


