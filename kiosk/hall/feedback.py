"""What citizens say: ratings (a bad one opens a follow-up), 办不成事 reports and their lifecycle,
escalation when overdue, and calling staff to a kiosk."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.contract.requests import CallStaff, EscalateOverdue, PhoneRate, Rate, ReportMatter, TransitionMatter
from kiosk.domain import codes, matters, ratings
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.domain.text import clean_text, has_id_number, mask_phone, normal_phone, scrub
from kiosk.hall import capacity, issuing
from kiosk.hall.context import (
    RATING_LEVELS,
    Call,
    HallContext,
    next_serial,
    required_reason,
    same_holder,
)
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.store.db import Tx


# -- ratings: only from the citizen (hall-api.md) ---------------------------------------
def op_rate(ctx: HallContext, call: Call, req: Rate) -> Outcome:
    tx = ctx.tx
    level = _level(req.level)
    source = req.source
    if source not in ratings.CHANNELS:
        raise fail("SOURCE_INVALID")
    reasons = _reasons(req.reasons)
    try:
        ratings.check_channel(call.device.role, source)
        if source == "keypad":
            row, pressed = _keypad_rated(ctx, tx, call, req)
        else:
            row, pressed = _slip_rated(ctx, tx, call, req), None
    except DomainError as refusal:
        if refusal.code not in ("RATING_NOT_YOURS", "RATING_NEEDS_SLIP"):
            raise
        # someone rating a service that is not theirs to rate: kept for the duty desk, like a limit hit
        number = req.ticket if isinstance(req.ticket, str) and len(req.ticket) <= 12 else None
        ctx.record_audit(tx, call, "rating_refused", None, None, number, None, {"code": refusal.code, "source": source})
        tx.emit("rating.refused", ctx.iso(call.now), call.device.name,
                {"number": number, "day": ctx.day(call.now).isoformat(), "code": refusal.code, "source": source})
        return Refused(refusal)
    return _record_rating(ctx, tx, call, row, level, source, reasons, pressed)


def op_rate_phone(ctx: HallContext, call: Call, req: PhoneRate) -> Outcome:
    """POST /q/rating: the slip's signed code is the citizen's proof, until the late window closes."""
    tx = ctx.tx
    level = _level(req.level)
    reasons = _reasons(req.reasons)
    code = codes.read_ticket_qr(ctx.code_key, ctx.config.hall_id, req.c)
    row = _coded_row(ctx, tx.conn, code)
    _still_ratable(ctx, tx, row, call.now)
    return _record_rating(ctx, tx, call, row, level, "phone", reasons, None)


def _level(level: object) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise fail("LEVEL_INVALID")
    return level


def _reasons(raw: object) -> list[str]:
    reasons = raw or []
    if not isinstance(reasons, list) or len(reasons) > 10:
        raise bad_request("reasons 应为文本列表", "reasons must be a list of strings")
    return [r for r in (clean_text(x, 200) for x in reasons) if r]


def _keypad_rated(ctx: HallContext, tx: Tx, call: Call, req: Rate) -> tuple[sqlite3.Row, datetime]:
    """The window's keypad: only the counter that finished the service, for a press made within
    ``keypad_minutes`` of the finish by the press's own time (kept on the window PC while the hall was down,
    it still counts: it names its day by that time, as ticket numbers start again every day)."""
    now = call.now
    pressed = _press_time(req.pressed_at) if req.pressed_at is not None else now
    ref = req.ticket
    if isinstance(ref, str) and codes.code_of(ref).startswith(codes.TICKET_TAG + ":"):
        row = _coded_row(ctx, tx.conn, codes.read_ticket_qr(ctx.code_key, ctx.config.hall_id, ref))
    else:
        row = capacity._ticket_row(ctx, tx.conn, ctx.day(min(pressed, now)).isoformat(), ref)
    if row["state"] != "done":
        raise fail("NOT_RATABLE", state=row["state"])
    if row["finished_device"] != call.device.id:
        raise fail("RATING_NOT_YOURS", "只有为这位群众办结业务的窗口评价器才能提交这次服务的评价。",
                   "Only the keypad of the window that finished this service can rate it.")
    _not_rated(tx, row)
    finished = datetime.fromtimestamp(row["finished_epoch"], ctx.config.calendar.tz)
    counted = ratings.check_press(finished, pressed, now, ctx.config.ratings.keypad_minutes, ctx.up_since)
    ratings.check_open(now, _rating_closes(ctx, row))
    return row, counted


def _slip_rated(ctx: HallContext, tx: Tx, call: Call, req: Rate) -> sqlite3.Row:
    """A kiosk: the slip's signed code, or today's ticket number with the holder's own identity."""
    ref = req.ticket
    if isinstance(ref, str) and codes.code_of(ref).startswith(codes.TICKET_TAG + ":"):
        row = _coded_row(ctx, tx.conn, codes.read_ticket_qr(ctx.code_key, ctx.config.hall_id, ref))
    elif req.identity is None:
        raise fail("RATING_NEEDS_SLIP")
    else:
        person = ctx.identity(req.identity, call.now)
        row = capacity._ticket_row(ctx, tx.conn, ctx.day(call.now).isoformat(), ref)
        principals = {r[0] for r in tx.all("SELECT principal_hash FROM ticket_principals WHERE ticket_id=?",
                                           (row["id"],))}
        if not same_holder(person, row["holder_hash"]) and person.hash not in principals:
            raise fail("RATING_NOT_YOURS", "这张号不是您本人的，只能评价本人办理的业务。",
                       "This ticket is not yours: you can rate only a service you were given.")
    _still_ratable(ctx, tx, row, call.now)
    return row


def _coded_row(ctx: HallContext, conn: sqlite3.Connection, code: codes.TicketCode) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                                           (code.day.isoformat(), code.number)).fetchone()
    if row is None:
        raise codes.qr_invalid("查无此票", "no such ticket", "unknown")
    return row


def _still_ratable(ctx: HallContext, tx: Tx, row: sqlite3.Row, now: datetime) -> None:
    if row["state"] != "done":
        raise fail("NOT_RATABLE", state=row["state"])
    _not_rated(tx, row)
    ratings.check_open(now, _rating_closes(ctx, row))


def _not_rated(tx: Tx, row: sqlite3.Row) -> None:
    if tx.one("SELECT 1 FROM ratings WHERE ticket_id=?", (row["id"],)) is not None:
        raise fail("RATING_EXISTS")


def _rating_closes(ctx: HallContext, row: sqlite3.Row) -> datetime:
    """The end of the ``late_days``-th working day after the service's day: the last moment any channel
    takes its rating (the phone's 一次一评 for someone who left before the keypad asked)."""
    cal = ctx.config.calendar
    last = cal.add_working_days(date.fromisoformat(row["day"]), ctx.config.ratings.late_days, strict=False)
    return ratings.rating_closes(last, cal.tz)


def _press_time(text: str) -> datetime:
    try:
        pressed = datetime.fromisoformat(text)
    except ValueError:
        pressed = None
    if pressed is None or pressed.tzinfo is None:
        raise fail("PRESS_TIME_INVALID", "pressed_at 应为带时区的 ISO 8601 时间。",
                   "pressed_at must be ISO 8601 with an offset.")
    return pressed


def _record_rating(ctx: HallContext, tx: Tx, call: Call, row: sqlite3.Row, level: int, source: str, reasons: list[str],
                   pressed: datetime | None) -> Outcome:
    now = call.now
    day = row["day"]  # a rating is known by (hall, day, number) in the hall and the ledger alike
    digest = hashlib.sha256(f"{ctx.config.hall_id}:{day}:{row['number']}".encode()).digest()
    sample = matters.callback_sampled(digest, ctx.config.ratings.callback_sample_percent)
    at = ctx.iso(now)
    cur = tx.execute("INSERT INTO ratings (ticket_id, level, source, reasons, at, day, window, clerk_id, business,"
                     " callback_sample, device, pressed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (row["id"], level, source, json.dumps(reasons, ensure_ascii=False), at, day, row["window"],
                      row["clerk_id"], row["business"], int(sample), call.device.name,
                      ctx.iso(pressed) if pressed is not None else None))
    followup = None
    if ratings.is_bad(level):
        deadline = ctx.deadline(tx, now, ctx.day(now), ctx.config.ratings.followup_days)
        tx.execute("INSERT INTO followups (rating_id, ticket, day, deadline, status, opened_at) "
                   "VALUES (?,?,?,?,'opened',?)", (cur.lastrowid, row["number"], day, deadline.isoformat(), at))
        followup = {"deadline": deadline.isoformat(), "status": "opened"}
    tx.emit("rating.recorded", at, call.device.name,
            {"number": row["number"], "day": day, "level": level, "source": source, "reasons": reasons,
             "window": row["window"], "clerk_id": row["clerk_id"], "business": row["business"],
             "bad": ratings.is_bad(level), "callback_sample": sample,
             "followup_deadline": followup["deadline"] if followup else None})
    return Done({"rating": {"ticket": row["number"], "level": level, "label": RATING_LEVELS[str(level)],
                            "source": source, "at": at, "followup": followup, "callback_sample": sample}}, made=True)


# -- the phone page's view of a ticket, with its rating ------------------------------------
def phone_view(ctx: HallContext, now: datetime, scanned: str) -> dict[str, Any]:
    """What /q shows: today's ticket as the queue page has it, or an earlier day's finished service while
    its rating is still open; with what the rating offers. QR_INVALID for anything else (one "not found")."""
    code = codes.read_ticket_qr(ctx.code_key, ctx.config.hall_id, scanned)
    conn = ctx.store.reader()
    row = _coded_row(ctx, conn, code)
    rated = conn.execute("SELECT level FROM ratings WHERE ticket_id=?", (row["id"],)).fetchone()
    closes = _rating_closes(ctx, row) if row["state"] == "done" else None
    rating = {"open": closes is not None and rated is None and now < closes, "rated": rated is not None,
              "level": rated["level"] if rated is not None else None,
              "closes_at": ctx.iso(closes) if closes is not None else None,
              "last_day": (closes - timedelta(days=1)).date().isoformat() if closes is not None else None}
    if code.day == ctx.day(now):
        return issuing.phone_status(ctx, now, scanned) | {"rating": rating}
    if closes is None or now >= closes:
        raise codes.qr_invalid("这是以前日期的小票，已失效", "the ticket is from an earlier day", "expired")
    business = ctx.config.business(row["business"])
    return {"number": row["number"], "business": business.name if business else row["business"],
            "state": row["state"], "ahead": 0, "expected_wait_min": 0, "expected_wait_range_min": [0, 0],
            "expected_today": True, "window": None,
            "seq": ctx.store.last_seq(), "at": ctx.iso(now), "rating": rating}


# -- unresolved matters ("办不成事") ---------------------------------------------------
def op_report_matter(ctx: HallContext, call: Call, req: ReportMatter) -> Outcome:
    tx = ctx.tx
    now = call.now
    raw_category = req.category
    category = ctx.config.category(raw_category) if isinstance(raw_category, str) else None
    if category is None:
        names = "、".join(c.name for c in ctx.config.matters.categories)
        raise fail("CATEGORY_UNKNOWN", f"请选择问题类别：{names}。",
                   "Choose a category: " + ", ".join(c.id for c in ctx.config.matters.categories),
                   categories=[c.id for c in ctx.config.matters.categories])
    description = clean_text(req.description, 1000)
    if description is None:
        raise fail("DESCRIPTION_REQUIRED")
    contact = req.contact
    if contact in ("", None):
        contact = None
    elif isinstance(contact, str) and has_id_number(contact):
        raise fail("CONTACT_INVALID", "联系方式请填写电话号码，不要填写身份证号。",
                   "The contact is a phone number; do not give an ID number here.")
    elif not isinstance(contact, str) or (contact := normal_phone(contact)) is None:
        raise fail("CONTACT_INVALID")
    ticket = req.ticket
    ticket = ticket.strip().upper()[:12] if isinstance(ticket, str) and ticket.strip() else None
    day = ctx.day(now)
    number = f"M{day:%Y%m%d}-{next_serial(tx, day.isoformat(), 'matter'):03d}"
    deadline = ctx.deadline(tx, now, day, ctx.config.matters.deadline_days)
    at = ctx.iso(now)
    tx.execute("INSERT INTO matters (number, day, category, description, contact, contact_masked, ticket, status,"
               " opened_at, deadline, device) VALUES (?,?,?,?,?,?,?,'opened',?,?,?)",
               (number, day.isoformat(), category.id, description, contact,
                mask_phone(contact) if contact else None, ticket, at, deadline.isoformat(), call.device.name))
    tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
               (number, at, "opened", description, call.device.name))
    tx.emit("matter.opened", at, call.device.name,
            {"matter": number, "category": category.id, "description": description, "ticket": ticket,
             "has_contact": contact is not None, "deadline": deadline.isoformat()})
    return Done({"matter": _matter_view(ctx, tx.conn, number, now)}, made=True)


def _matter_view(ctx: HallContext, conn: sqlite3.Connection, number: str, now: datetime) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM matters WHERE number=?", (number,)).fetchone()
    if row is None:
        raise fail("MATTER_NOT_FOUND")
    category = ctx.config.category(row["category"])
    # shown through the same mask as they were taken with: a row written before the mask knew a form is
    # masked on its way out all the same
    history = [{"at": h["at"], "status": h["status"], "note": scrub(h["note"]), "by": h["by"] and scrub(h["by"])}
               for h in conn.execute("SELECT * FROM matter_history WHERE number=? ORDER BY id", (number,))]
    overdue = row["status"] in matters.OPEN and ctx.day(now).isoformat() > row["deadline"]
    return {"number": row["number"], "category": row["category"],
            "category_name": category.name if category else row["category"], "description": scrub(row["description"]),
            "contact_masked": row["contact_masked"], "ticket": row["ticket"], "status": row["status"],
            "opened_at": row["opened_at"], "deadline": row["deadline"], "owner": row["owner"],
            "overdue": overdue, "escalated": bool(row["escalated"]), "history": history,
            # printed on the receipt; the kiosk scans it back (POST /api/v1/matters/verify)
            "qr": codes.matter_qr(ctx.code_key, ctx.config.hall_id, row["number"])}


def get_matter(ctx: HallContext, now: datetime, number: str) -> dict[str, Any]:
    return {"matter": _matter_view(ctx, ctx.store.reader(), number[:40], now)}


def verify_matter_qr(ctx: HallContext, now: datetime, qr: object) -> dict[str, Any]:
    number = codes.read_matter_qr(ctx.code_key, ctx.config.hall_id, qr)
    return get_matter(ctx, now, number)


def op_transition_matter(ctx: HallContext, call: Call, req: TransitionMatter) -> Outcome:
    tx = ctx.tx
    number = req.number[:40]
    row = tx.one("SELECT status FROM matters WHERE number=?", (number,))
    if row is None:
        raise fail("MATTER_NOT_FOUND")
    to = req.to
    if to == "note":  # the duty desk adds what it learned or did, without moving the matter on
        note = required_reason(req.note)
        at = ctx.iso(call.now)
        by = clean_text(req.by, 60) or call.device.name
        tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                   (number, at, row["status"], note, by))
        tx.emit("matter.noted", at, call.device.name, {"matter": number, "status": row["status"], "note": note,
                                                       "by": by})
        return Done({"matter": _matter_view(ctx, tx.conn, number, call.now)})
    new = matters.check_transition(row["status"], to)
    note = clean_text(req.note, 1000) or ""
    by = clean_text(req.by, 60) or call.device.name
    at = ctx.iso(call.now)
    owner_sql = ", owner=?" if new == "claimed" else ""
    params: tuple[Any, ...] = (new, by, number) if new == "claimed" else (new, number)
    tx.execute(f"UPDATE matters SET status=?{owner_sql} WHERE number=?", params)
    tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
               (number, at, new, note, by))
    tx.emit("matter.transitioned", at, call.device.name,
            {"matter": number, "from": row["status"], "to": new, "note": note, "by": by})
    return Done({"matter": _matter_view(ctx, tx.conn, number, call.now)})


def op_escalate_overdue(ctx: HallContext, call: Call, req: EscalateOverdue) -> Outcome:
    tx = ctx.tx
    today = ctx.day(call.now).isoformat()
    at = ctx.iso(call.now)
    escalated = []
    for row in tx.all("SELECT number, deadline, status FROM matters WHERE escalated=0 AND status IN "
                      "('opened','claimed') AND deadline<?", (today,)):
        tx.execute("UPDATE matters SET escalated=1 WHERE number=?", (row["number"],))
        tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                   (row["number"], at, row["status"], "逾期未办结，已升级 / overdue, escalated", "system"))
        tx.emit("matter.escalated", at, None, {"matter": row["number"], "deadline": row["deadline"],
                                               "status": row["status"]})
        escalated.append(row["number"])
    for row in tx.all("SELECT id, ticket, deadline FROM followups WHERE status='opened' AND deadline<?", (today,)):
        tx.execute("UPDATE followups SET status='overdue' WHERE id=?", (row["id"],))
        tx.emit("followup.overdue", at, None, {"ticket": row["ticket"], "deadline": row["deadline"]})
    return Done({"escalated": escalated})


# -- help ------------------------------------------------------------------------------
def op_call_staff(ctx: HallContext, call: Call, req: CallStaff) -> Outcome:
    """呼叫工作人员: the duty desk follows this event and goes to the kiosk."""
    tx = ctx.tx
    screen = clean_text(req.screen, 40)
    tx.emit("kiosk.help_requested", ctx.iso(call.now), call.device.name, {"screen": screen})
    return Done({"help": {"device": call.device.name, "at": ctx.iso(call.now), "message": "已通知工作人员，请稍候。",
                          "message_en": "Staff have been called; please wait."}}, made=True)


