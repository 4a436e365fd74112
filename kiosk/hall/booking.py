"""On-site booking when a day is full (an offer, never a refusal), and appointments checked in by their
signed QR inside the configured window."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime, timedelta

from kiosk.contract.requests import AcceptBooking, CheckIn, CreateAppointment
from kiosk.domain import codes, limits
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.domain.identity import Identity
from kiosk.hall import issuing
from kiosk.hall.context import (
    Call,
    HallContext,
)
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.store.db import Tx


def op_accept_booking(ctx: HallContext, call: Call, req: AcceptBooking) -> Outcome:
    """Accepting an offer ends in a place in a queue, so it is under the ticket rules (hall-api.md): the
    person's blocklist, cool-down and per-day limits (counted on the slot's day: a booking is a place in
    that day's queue, as a ticket is in today's), one open booking per person and business
    (BOOKING_EXISTS), and a typed identity counts toward the kiosk's typed burst."""
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
    # typed when it was typed at either step: the stricter of the two
    entry = "typed" if "typed" in (holder.source, offer["entry"]) else holder.source
    tz = ctx.config.calendar.tz
    start = datetime.fromtimestamp(offer["slot_start"], tz)
    end = datetime.fromtimestamp(offer["slot_end"], tz)
    today = ctx.day(now).isoformat()
    try:
        _may_book(ctx, tx, call, holder, offer["business"], start, entry)
    except DomainError as refusal:
        tx.emit("booking.refused", ctx.iso(now), call.device.name, {
            "code": refusal.code, "business": offer["business"], "holder": holder.hash, "day": today,
            "entry": entry})
        if refusal.code == "KIOSK_BURST":
            issuing._record_burst(ctx, tx, call, today, via="booking")
        return Refused(refusal)
    booking_id = "B" + secrets.token_hex(6).upper()
    tx.execute("UPDATE offers SET used=1 WHERE id=?", (offer["id"],))
    tx.execute("INSERT INTO bookings (id, business, holder_hash, holder_masked, slot_start, slot_end, "
               "created_at, state, device, entry, created_epoch, offer_id, held) "
               "VALUES (?,?,?,?,?,?,?,'booked',?,?,?,?,?)",
               (booking_id, offer["business"], holder.hash, holder.masked, offer["slot_start"],
                offer["slot_end"], ctx.iso(now), call.device.name, entry, now.timestamp(), offer["id"],
                offer["held"]))
    code = codes.AppointmentCode(ctx.config.hall_id, booking_id, "booking", offer["business"],
                                 int(offer["slot_start"]), int(offer["slot_end"]), holder.hash[:16])
    tx.emit("booking.created", ctx.iso(now), call.device.name, {
        "booking": booking_id, "business": offer["business"], "holder": holder.hash,
        "slot_start": ctx.iso(start), "slot_end": ctx.iso(end), "entry": entry})
    return Done({"booking": {
        "id": booking_id, "business": offer["business"], "slot_start": ctx.iso(start),
        "slot_end": ctx.iso(end), "holder_masked": holder.masked, "name_masked": holder.name_masked,
        "code": codes.appointment_qr(ctx.code_key, code)}}, made=True)


def _may_book(ctx: HallContext, tx: Tx, call: Call, holder: Identity, business: str, start: datetime, entry: str) -> None:
    on_day = issuing._person_facts(ctx, tx, ctx.day(start).isoformat(), holder.hash, business)
    today = issuing._person_facts(ctx, tx, ctx.day(call.now).isoformat(), holder.hash, business)
    # today's no-shows (the cool-down is about now) and the blocklist first, then the booking held, then the
    # slot day's places
    limits.check_person(ctx.config.limits, "您", dataclasses.replace(
        today, tickets_today=0, tickets_in_business=0), call.now)
    still_open = call.now.timestamp() - ctx.config.booking.checkin_late_minutes * 60
    held = tx.one("SELECT slot_start FROM bookings WHERE holder_hash=? AND business=? AND state='booked' AND "
                  "slot_start>? LIMIT 1", (holder.hash, business, still_open))
    if held is not None:
        when = datetime.fromtimestamp(held["slot_start"], ctx.config.calendar.tz)
        raise fail("BOOKING_EXISTS",
                   f"您已预约 {when:%m月%d日 %H:%M} 办理这项业务，请按时签到；每人每项业务只能保留一个预约。",
                   f"You already hold a booking for this business at {when:%Y-%m-%d %H:%M}; one open booking "
                   "per person and business.", slot_start=ctx.iso(when))
    limits.check_person(ctx.config.limits, "您", on_day, call.now)
    issuing._check_burst(ctx, tx, call, holder, entry)


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
    tx = ctx.tx
    now = call.now
    code = codes.read_appointment_qr(ctx.code_key, ctx.config.hall_id, req.code)
    business = ctx.business_or_fail(code.business)
    holder = ctx.identity(req.identity, now) if req.identity else None
    if holder is not None and code.holder and not holder.hash.startswith(code.holder):
        raise fail("IDENTITY_MISMATCH", "预约人与当前身份不一致，请本人签到。",
                   "The appointment belongs to someone else; the person booked must check in.")
    used = tx.one("SELECT at FROM checkins WHERE appointment_id=?", (code.appointment_id,))
    if used is not None:
        raise fail("CHECKIN_USED")
    booked = tx.one("SELECT holder_hash, held FROM bookings WHERE id=?", (code.appointment_id,)) \
        if code.channel == "booking" else None
    if booked is not None and booked["held"] and (holder is None or holder.source == "typed"):
        # typed at a kiosk just before it burst: only the holder's own card proves the holder came
        raise fail("CARD_REQUIRED", "这个预约是在取号机手工输入身份证号时取得的，请刷预约人本人的身份证签到。",
                   "This booking was taken by typing an ID number at a kiosk that then burst: check in with "
                   "the holder's own ID card.")
    rules = ctx.config.booking
    tz = ctx.config.calendar.tz
    start = datetime.fromtimestamp(code.slot_start, tz)
    opens = start - timedelta(minutes=rules.checkin_early_minutes)
    closes = start + timedelta(minutes=rules.checkin_late_minutes)
    if now < opens:
        raise fail("CHECKIN_TOO_EARLY", f"还没到签到时间。您预约的是 {start:%m月%d日 %H:%M}，请在 {opens:%H:%M} 以后签到。",
                   f"Too early: the appointment is at {start:%Y-%m-%d %H:%M}; check in from {opens:%H:%M}.",
                   opens_at=ctx.iso(opens))
    if now > closes:
        raise fail("CHECKIN_TOO_LATE", f"已超过签到时间（{closes:%m月%d日 %H:%M} 前）。请现场取号或重新预约。",
                   f"Too late: check-in closed at {closes:%Y-%m-%d %H:%M}. Take a ticket or book again.")
    issuing._issuing_open(ctx, now, tx.conn)
    if booked is not None:  # the ticket belongs to the person booked, by the whole hash
        code = dataclasses.replace(code, holder=booked["holder_hash"])
    who = holder.hash if holder is not None else code.holder if code.channel == "booking" else None
    if who:  # a place in today's queue: the blocklist and the cool-down hold here too (counts did at booking)
        facts = issuing._person_facts(ctx, tx, ctx.day(now).isoformat(), who, business.code)
        limits.check_person(ctx.config.limits, "您",
                            dataclasses.replace(facts, tickets_today=0, tickets_in_business=0), now)
    tx.execute("INSERT INTO checkins (appointment_id, ticket_id, at) VALUES (?,?,?)",
               (code.appointment_id, 0, ctx.iso(now)))
    ticket = issuing._create_ticket(ctx, tx, call, business, holder, [], "appointment", code.channel, code)
    tx.execute("UPDATE checkins SET ticket_id=(SELECT id FROM tickets WHERE day=? AND number=?) "
               "WHERE appointment_id=?", (ticket["day"], ticket["number"], code.appointment_id))
    if code.channel == "booking":
        tx.execute("UPDATE bookings SET state='checked_in' WHERE id=?", (code.appointment_id,))
    tx.emit("appointment.checked_in", ctx.iso(now), call.device.name, {
        "appointment": code.appointment_id, "channel": code.channel, "number": ticket["number"]})
    return Done({"ticket": ticket}, made=True)


