"""On-site booking when a day is full (an offer, never a refusal), and appointments checked in by their
signed QR inside the configured window."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from kiosk.domain import codes
from kiosk.domain.errors import bad_request, fail
from kiosk.hall.core import (
    Call,
    Reply,
)
from kiosk.hall.issuing import Issuing
from kiosk.hall.requests import AcceptBooking, CheckIn, CreateAppointment
from kiosk.store.db import Tx


class Booking(Issuing):
    # -- on-site booking and appointments --------------------------------------


    def op_accept_booking(self, tx: Tx, call: Call, req: AcceptBooking) -> Reply:
        holder = self.identity(req.identity, call.now)
        offer = tx.one("SELECT * FROM offers WHERE id=?", ((req.offer_id or "")[:64],))
        if offer is None:
            raise fail("OFFER_NOT_FOUND")
        if offer["holder_hash"] != holder.hash:
            raise fail("IDENTITY_MISMATCH", "预约名额只能由取号本人确认。", "Only the person offered can accept.")
        if offer["used"] or offer["expires_epoch"] <= call.now.timestamp():
            raise fail("OFFER_EXPIRED")
        booking_id = "B" + secrets.token_hex(6).upper()
        tx.execute("UPDATE offers SET used=1 WHERE id=?", (offer["id"],))
        tx.execute("INSERT INTO bookings (id, business, holder_hash, holder_masked, slot_start, slot_end, "
                   "created_at, state) VALUES (?,?,?,?,?,?,?,'booked')",
                   (booking_id, offer["business"], holder.hash, holder.masked, offer["slot_start"],
                    offer["slot_end"], self.iso(call.now)))
        code = codes.AppointmentCode(self.config.hall_id, booking_id, "booking", offer["business"],
                                     int(offer["slot_start"]), int(offer["slot_end"]), holder.hash[:16])
        tz = self.config.calendar.tz
        start = datetime.fromtimestamp(offer["slot_start"], tz)
        end = datetime.fromtimestamp(offer["slot_end"], tz)
        tx.emit("booking.created", self.iso(call.now), call.device.name, {
            "booking": booking_id, "business": offer["business"], "holder": holder.hash,
            "slot_start": self.iso(start), "slot_end": self.iso(end)})
        return 201, {"booking": {
            "id": booking_id, "business": offer["business"], "slot_start": self.iso(start),
            "slot_end": self.iso(end), "holder_masked": holder.masked, "name_masked": holder.name_masked,
            "code": codes.appointment_qr(self.code_key, code)}}

    def op_create_appointment(self, tx: Tx, call: Call, req: CreateAppointment) -> Reply:
        business = self.business_or_fail(req.business)
        try:
            start = datetime.fromisoformat(str(req.slot_start))
            end = datetime.fromisoformat(str(req.slot_end))
            if start.tzinfo is None or end.tzinfo is None or end <= start:
                raise ValueError
        except ValueError:
            raise bad_request("slot_start/slot_end 应为带时区的 ISO 8601 时间，且结束晚于开始",
                              "slot_start and slot_end must be ISO 8601 with offset, end after start") from None
        holder = self.identity(req.identity, call.now) if req.identity else None
        appt_id = "A" + secrets.token_hex(6).upper()
        tx.execute("INSERT INTO appointments (id, business, slot_start, slot_end, holder, created_at) "
                   "VALUES (?,?,?,?,?,?)", (appt_id, business.code, start.timestamp(), end.timestamp(),
                                            holder.hash[:16] if holder else None, self.iso(call.now)))
        code = codes.AppointmentCode(self.config.hall_id, appt_id, "appointment", business.code,
                                     int(start.timestamp()), int(end.timestamp()),
                                     holder.hash[:16] if holder else "")
        tx.emit("appointment.created", self.iso(call.now), call.device.name, {
            "appointment": appt_id, "business": business.code, "holder": holder.hash if holder else None,
            "slot_start": self.iso(start), "slot_end": self.iso(end)})
        return 201, {"appointment": {"id": appt_id, "business": business.code, "slot_start": self.iso(start),
                                     "slot_end": self.iso(end), "code": codes.appointment_qr(self.code_key, code),
                                     "holder_masked": holder.masked if holder else None}}

    def op_check_in(self, tx: Tx, call: Call, req: CheckIn) -> Reply:
        now = call.now
        code = codes.read_appointment_qr(self.code_key, self.config.hall_id, req.code)
        business = self.business_or_fail(code.business)
        holder = self.identity(req.identity, now) if req.identity else None
        if holder is not None and code.holder and not holder.hash.startswith(code.holder):
            raise fail("IDENTITY_MISMATCH", "预约人与当前身份不一致，请本人签到。",
                       "The appointment belongs to someone else; the person booked must check in.")
        used = tx.one("SELECT at FROM checkins WHERE appointment_id=?", (code.appointment_id,))
        if used is not None:
            raise fail("CHECKIN_USED")
        rules = self.config.booking
        tz = self.config.calendar.tz
        start = datetime.fromtimestamp(code.slot_start, tz)
        opens = start - timedelta(minutes=rules.checkin_early_minutes)
        closes = start + timedelta(minutes=rules.checkin_late_minutes)
        if now < opens:
            raise fail("CHECKIN_TOO_EARLY", f"还没到签到时间。您预约的是 {start:%m月%d日 %H:%M}，请在 {opens:%H:%M} 以后签到。",
                       f"Too early: the appointment is at {start:%Y-%m-%d %H:%M}; check in from {opens:%H:%M}.",
                       opens_at=self.iso(opens))
        if now > closes:
            raise fail("CHECKIN_TOO_LATE", f"已超过签到时间（{closes:%m月%d日 %H:%M} 前）。请现场取号或重新预约。",
                       f"Too late: check-in closed at {closes:%Y-%m-%d %H:%M}. Take a ticket or book again.")
        self._issuing_open(now, tx.conn)
        tx.execute("INSERT INTO checkins (appointment_id, ticket_id, at) VALUES (?,?,?)",
                   (code.appointment_id, 0, self.iso(now)))
        ticket = self._create_ticket(tx, call, business, holder, [], "appointment", code.channel, code)
        tx.execute("UPDATE checkins SET ticket_id=(SELECT id FROM tickets WHERE day=? AND number=?) "
                   "WHERE appointment_id=?", (ticket["day"], ticket["number"], code.appointment_id))
        if code.channel == "booking":
            tx.execute("UPDATE bookings SET state='checked_in' WHERE id=?", (code.appointment_id,))
        tx.emit("appointment.checked_in", self.iso(now), call.device.name, {
            "appointment": code.appointment_id, "channel": code.channel, "number": ticket["number"]})
        return 201, {"ticket": ticket}
