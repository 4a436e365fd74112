"""On-site booking when a day is full (an offer, never a refusal), and appointments checked in by their
signed QR inside the configured window."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from kiosk.contract.requests import AcceptBooking, CheckIn, CreateAppointment
from kiosk.domain import codes
from kiosk.domain import issuing as rules
from kiosk.domain.catalog import Business
from kiosk.domain.errors import bad_request
from kiosk.domain.identity import Identity
from kiosk.hall import capacity, gather, issuing
from kiosk.hall.context import Call, HallContext
from kiosk.hall.outcomes import Done, Outcome, Refused


def op_accept_booking(ctx: HallContext, call: Call, req: AcceptBooking) -> Outcome:
    """Accepting an offer ends in a place in a queue, so it is under the ticket rules (kiosk/domain/issuing.py
    decide_booking): gathered, decided, then the booking and its event written, or the refusal kept."""
    holder, offer, facts = gather.booking_facts(ctx, call, req)
    decision = rules.decide_booking(facts, holder.hash, ctx.config, call.now)
    return _apply_booking(ctx, call, holder, offer, facts, decision)


def _apply_booking(ctx: HallContext, call: Call, holder: Identity, offer: dict[str, Any], facts: rules.BookingFacts,
                   decision: rules.Refused | rules.Book) -> Outcome:
    tx = ctx.tx
    now = call.now
    if isinstance(decision, rules.Refused):
        refusal = decision.error
        today = ctx.day(now).isoformat()
        tx.emit("booking.refused", ctx.iso(now), call.device.name, {
            "code": refusal.code, "business": facts.business, "holder": holder.hash, "day": today,
            "entry": facts.entry, "agent": bool(facts.principals),
            "principals": [p.principal.hash for p in facts.principals]})
        if refusal.code == "KIOSK_BURST":
            issuing._record_burst(ctx, tx, call, today, facts.burst, via="booking")
        return Refused(refusal)
    tz = ctx.config.calendar.tz
    start = datetime.fromtimestamp(offer["slot_start"], tz)
    end = datetime.fromtimestamp(offer["slot_end"], tz)
    booking_id = "B" + secrets.token_hex(6).upper()
    principals = [p.principal for p in facts.principals]
    tx.execute("UPDATE offers SET used=1 WHERE id=?", (offer["id"],))
    tx.execute("INSERT INTO bookings (id, business, holder_hash, holder_masked, slot_start, slot_end, "
               "created_at, state, device, entry, created_epoch, offer_id, held, is_agent) "
               "VALUES (?,?,?,?,?,?,?,'booked',?,?,?,?,?,?)",
               (booking_id, offer["business"], holder.hash, holder.masked, offer["slot_start"],
                offer["slot_end"], ctx.iso(now), call.device.name, decision.entry, now.timestamp(), offer["id"],
                offer["held"], int(bool(principals))))
    for p in principals:  # the people represented: their places on the slot's day (kiosk/hall/gather.py)
        tx.execute("INSERT INTO booking_principals (booking_id, principal_hash, principal_masked, name_masked) "
                   "VALUES (?,?,?,?)", (booking_id, p.hash, p.masked, p.name_masked))
    code = codes.AppointmentCode(ctx.config.hall_id, booking_id, "booking", offer["business"],
                                 int(offer["slot_start"]), int(offer["slot_end"]), holder.hash[:16])
    tx.emit("booking.created", ctx.iso(now), call.device.name, {
        "booking": booking_id, "business": offer["business"], "holder": holder.hash,
        "slot_start": ctx.iso(start), "slot_end": ctx.iso(end), "entry": decision.entry,
        "agent": bool(principals), "principals": [p.hash for p in principals]})
    return Done({"booking": {
        "id": booking_id, "business": offer["business"], "slot_start": ctx.iso(start),
        "slot_end": ctx.iso(end), "holder_masked": holder.masked, "name_masked": holder.name_masked,
        "agent": bool(principals), "principals_masked": [p.masked for p in principals],
        "code": codes.appointment_qr(ctx.code_key, code)}}, made=True)


def op_create_appointment(ctx: HallContext, call: Call, req: CreateAppointment) -> Outcome:
    tx = ctx.tx
    business = ctx.business_or_fail(req.business)
    try:
        start = datetime.fromisoformat(str(req.slot_start))
        end = datetime.fromisoformat(str(req.slot_end))
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ValueError
    except ValueError:
        raise bad_request("slot_start/slot_end 应为带时区的 ISO 8601 时间，且结束晚于开始",
                          "slot_start and slot_end must be ISO 8601 with offset, end after start") from None
    holder = ctx.identity(req.identity, call.now) if req.identity else None
    appt_id = "A" + secrets.token_hex(6).upper()
    tx.execute("INSERT INTO appointments (id, business, slot_start, slot_end, holder, created_at) "
               "VALUES (?,?,?,?,?,?)", (appt_id, business.code, start.timestamp(), end.timestamp(),
                                        holder.hash[:16] if holder else None, ctx.iso(call.now)))
    code = codes.AppointmentCode(ctx.config.hall_id, appt_id, "appointment", business.code,
                                 int(start.timestamp()), int(end.timestamp()),
                                 holder.hash[:16] if holder else "")
    tx.emit("appointment.created", ctx.iso(call.now), call.device.name, {
        "appointment": appt_id, "business": business.code, "holder": holder.hash if holder else None,
        "slot_start": ctx.iso(start), "slot_end": ctx.iso(end)})
    return Done({"appointment": {"id": appt_id, "business": business.code, "slot_start": ctx.iso(start),
                                 "slot_end": ctx.iso(end), "code": codes.appointment_qr(ctx.code_key, code),
                                 "holder_masked": holder.masked if holder else None}}, made=True)


def op_check_in(ctx: HallContext, call: Call, req: CheckIn) -> Outcome:
    """An appointment (or a booking) becomes a ticket inside its check-in window (kiosk/domain/issuing.py
    decide_check_in); a refusal here leaves nothing behind."""
    business, holder, code, facts = gather.check_in_facts(ctx, call, req)
    decision = rules.decide_check_in(facts, ctx.config, call.now)
    return _apply_check_in(ctx, call, business, holder, code, facts, decision)


def _apply_check_in(ctx: HallContext, call: Call, business: Business, holder: Identity | None,
                    code: codes.AppointmentCode, facts: rules.CheckInFacts,
                    decision: rules.Refused | rules.Issue) -> Outcome:
    if isinstance(decision, rules.Refused):
        raise decision.error
    tx = ctx.tx
    now = call.now
    tx.execute("INSERT INTO checkins (appointment_id, ticket_id, at) VALUES (?,?,?)",
               (code.appointment_id, 0, ctx.iso(now)))
    # an agent's booking becomes an agent's ticket: its principals' places, counted as a walk-in agent ticket's
    principals = [p for p, _ in facts.principals]
    row = issuing._create_ticket(ctx, tx, call, business, holder, principals, decision.priority, code.channel, code)
    tx.execute("UPDATE checkins SET ticket_id=? WHERE appointment_id=?", (row["id"], code.appointment_id))
    ticket = capacity.ticket_view(ctx, tx.conn, row, now)
    if code.channel == "booking":
        tx.execute("UPDATE bookings SET state='checked_in' WHERE id=?", (code.appointment_id,))
    tx.emit("appointment.checked_in", ctx.iso(now), call.device.name, {
        "appointment": code.appointment_id, "channel": code.channel, "number": ticket["number"]})
    return Done({"ticket": ticket}, made=True)
