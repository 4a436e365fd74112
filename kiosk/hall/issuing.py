"""Issuing tickets, applied: the facts are gathered in one step (kiosk/hall/gather.py), the domain decides
(kiosk/domain/issuing.py: priority, opening hours, every anti-scalper limit, the kiosk burst, over capacity
as an offer), and this writes what it decided (the ticket and its number, the refusal and the burst alert,
the offer) with its events in the one transaction. Also: a lost slip reprinted; a scanned ticket verified."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kiosk.contract.requests import IssueTicket, Reprint
from kiosk.domain import codes, labels
from kiosk.domain import issuing as rules
from kiosk.domain.catalog import Business
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.identity import Identity
from kiosk.hall import capacity, gather, shape, wait_facts
from kiosk.hall.context import WAITING, Call, HallContext, next_serial, same_holder
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.store.db import Tx


# -- issuing ---------------------------------------------------------------------------------------------
def op_issue(ctx: HallContext, call: Call, req: IssueTicket) -> Outcome:
    """Gather every fact in one step, let the domain decide, apply the decision in this one transaction. An
    offer needs facts of its own (the person's open offer, the slots held): read only when one is decided."""
    business, facts = gather.issue_facts(ctx, call, req)
    decided = rules.decide_issue(facts, ctx.config, call.now)
    decision = decided if not isinstance(decided, rules.Offer) else rules.decide_offer(
        decided, gather.offer_facts(ctx, call, facts), ctx.config, call.now, ctx.day(call.now))
    return apply_issue(ctx, call, business, facts, decision)


def apply_issue(ctx: HallContext, call: Call, business: Business, facts: rules.IssueFacts,
                decision: rules.Refused | rules.Offered | rules.Issue) -> Outcome:
    """What was decided, written: nothing here reads a fact or decides."""
    tx = ctx.tx
    holder = facts.holder
    if isinstance(decision, rules.Refused):
        refusal = decision.error
        if not decision.kept:
            raise refusal
        day = ctx.day(call.now).isoformat()
        tx.emit("ticket.refused", ctx.iso(call.now), call.device.name, {
            "code": refusal.code, "business": business.code, "holder": holder.hash,
            "agent": bool(facts.principals), "day": day, "source": holder.source})
        if refusal.code == "KIOSK_BURST":
            _record_burst(ctx, tx, call, day, facts.burst)
        return Refused(refusal)
    principals = [rules.Principal(p.hash, p.masked, p.name_masked) for p, _ in facts.principals]
    if isinstance(decision, rules.Offered):
        return Done(_offer(ctx, tx, call, business, holder, principals, decision))
    assert decision.ahead is not None and decision.wait is not None  # the wait that decided is the slip's
    row = _create_ticket(ctx, tx, call, business, holder, principals, decision.priority, "walk_in", None)
    return Done({"ticket": capacity.shown(ctx, row, wait_facts.wait_view(ctx, decision.ahead, decision.wait))},
                made=True)


def is_issuing(ctx: HallContext, now: datetime, conn: sqlite3.Connection) -> bool:
    """Whether tickets are issued now (the hall's opening hours, extended by the duty desk)."""
    day = ctx.day(now)
    found = rules.hours(tuple(ctx.config.calendar.periods(day)), shape.extended_until(ctx, conn, day.isoformat()))
    try:
        rules.issuing_open(ctx.config, found, now)
    except DomainError:
        return False
    return True


def _record_burst(ctx: HallContext, tx: Tx, call: Call, day: str, seen: rules.Burst | None,
                  via: str = "ticket") -> None:
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
    if seen is not None and seen.episode is not None:  # the burst on record (gathered): one more refusal in it
        tx.execute("UPDATE kiosk_bursts SET refused=refused+1 WHERE id=?", (seen.episode,))
        return
    tx.execute("INSERT INTO kiosk_bursts (device, day, started_epoch) VALUES (?,?,?)",
               (call.device.name, day, call.now.timestamp()))
    tx.emit("kiosk.burst", ctx.iso(call.now), call.device.name, {
        "device": call.device.name, "day": day, "identities": burst.identities, "minutes": burst.minutes,
        "via": via, "bookings_held": held})


def _create_ticket(ctx: HallContext, tx: Tx, call: Call, business: Business, holder: Identity | None,
                   principals: Sequence[rules.Principal], priority: str | None, channel: str,
                   appointment: codes.AppointmentCode | None) -> dict[str, Any]:
    """The ticket written, numbered and evented; its row as written (no trigger changes a new row). With
    ``principals`` it is an agent's ticket (a walk-in, or an agent's booking checked in): the principals'
    places and the agent's day count it."""
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
    return {"id": tid, "day": day, "number": number, "business": business.code, "is_agent": int(bool(principals)),
           "holder_masked": holder.masked if holder else "", "name_masked": holder.name_masked if holder else "",
           "channel": channel, "priority": priority, "state": "waiting", "issued_at": at, "window": None,
           "target_window": None, "calls": 0}


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
            "expected_today": view["expected_today"] if view["state"] in WAITING else True,
            "window": view["window"] if called else None, "seq": ctx.store.last_seq(),
            "at": ctx.iso(now)}


def get_ticket(ctx: HallContext, now: datetime, number: str) -> dict[str, Any]:
    conn = ctx.store.reader()
    return {"ticket": capacity.ticket_view(ctx, conn, capacity._ticket_row(ctx, conn, ctx.day(now).isoformat(), number), now)}


def _offer(ctx: HallContext, tx: Tx, call: Call, business: Business, holder: Identity,
           principals: Sequence[rules.Principal], offer: rules.Offered) -> dict[str, Any]:
    """The booking offered instead of a ticket: the person's open offer shown again, or a new one written. An
    agent's offer records the people represented (hashes and masked forms): accepting it books for them."""
    if offer.offer_id is not None:
        return _offer_body(ctx, offer.offer_id, business, offer)
    now = call.now
    start, end = offer.start, offer.end
    offer_id = secrets.token_hex(8)
    tx.execute("INSERT INTO offers (id, business, holder_hash, slot_start, slot_end, expires_epoch, device, entry, "
               "created_epoch) VALUES (?,?,?,?,?,?,?,?,?)",
               (offer_id, business.code, holder.hash, start.timestamp(), end.timestamp(), offer.expires.timestamp(),
                call.device.name, holder.source, now.timestamp()))
    for p in principals:
        tx.execute("INSERT INTO offer_principals (offer_id, principal_hash, principal_masked, name_masked) "
                   "VALUES (?,?,?,?)", (offer_id, p.hash, p.masked, p.name_masked))
    tx.emit("booking.offered", ctx.iso(now), call.device.name, {
        "offer_id": offer_id, "business": business.code, "holder": holder.hash,
        "slot_start": ctx.iso(start), "slot_end": ctx.iso(end), "agent": bool(principals),
        "principals": [p.hash for p in principals]})
    return _offer_body(ctx, offer_id, business, offer)


def _offer_body(ctx: HallContext, offer_id: str, business: Business, offer: rules.Offered) -> dict[str, Any]:
    """The offer as the kiosk shows it. Why it is offered is said as it is: the queue is longer than today's
    hours, or the windows of the business have gone home (then no wait today is true)."""
    gone = offer.wait is not None and not offer.wait.today
    start, end = offer.start, offer.end
    return {
        "over_capacity": True, "expected_today": not gone,
        "booking_offer": {"offer_id": offer_id, "slot_start": ctx.iso(start), "slot_end": ctx.iso(end),
                          "business": business.code,
                          "expires_at": ctx.iso(offer.expires)},
        "message": (f"{labels.NOT_TODAY_SLIP}。" if gone else "今天排队人数已超过剩余办公时间的受理能力。")
        + f"可以为您预约 {start:%m月%d日 %H:%M}–{end:%H:%M} 办理；如仍想今天等候，也可以继续取号。",
        "message_en": ("The windows for this business are done for today. " if gone else
                       "Today's remaining hours cannot serve everyone waiting. ")
        + "You can book the offered time, or still take a ticket for today.",
    }


