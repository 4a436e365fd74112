"""The duty desk and the views: the blocklist, a surge's decisions (longer hours, a temporary window),
closing follow-ups, and what screens read (window summary, matters, catalog, fees, queue, events, audit)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from kiosk.contract.requests import Blocklist, CloseFollowup, ExtendHours, FeeQuote, OpenTemporary, WindowLeaves
from kiosk.domain import ratings, waits
from kiosk.domain.ahead import ahead_by_business
from kiosk.domain.catalog import quote_fee, yuan
from kiosk.domain.errors import fail
from kiosk.domain.text import scrub
from kiosk.hall import capacity, counter, feedback, issuing, shape, wait_facts
from kiosk.hall.context import (
    Call,
    HallContext,
    required_reason,
)
from kiosk.hall.outcomes import Done, Outcome


# -- blocklist ---------------------------------------------------------------------
def op_blocklist_add(ctx: HallContext, call: Call, req: Blocklist) -> Outcome:
    tx = ctx.tx
    person = ctx.identity(req.identity, call.now)
    reason = required_reason(req.reason)
    tx.execute("INSERT OR REPLACE INTO blocklist (holder_hash, masked, reason, added_at) VALUES (?,?,?,?)",
               (person.hash, person.masked, reason, ctx.iso(call.now)))
    ctx.record_audit(tx, call, "blocklist_add", None, None, None, reason, {"holder": person.hash})
    tx.emit("blocklist.added", ctx.iso(call.now), call.device.name, {"holder": person.hash, "reason": reason})
    return Done({"blocked": {"holder_masked": person.masked, "reason": reason}}, made=True)


# -- the duty desk: decisions for a surge, follow-ups ------------------------------------
def _today_at(ctx: HallContext, now: datetime, raw: str | None) -> datetime:
    """"HH:MM" today, in the hall's time zone."""
    try:
        hh, mm = (int(x) for x in (raw or "").split(":"))
        return datetime.combine(ctx.day(now), datetime.min.time(), ctx.config.calendar.tz).replace(hour=hh, minute=mm)
    except ValueError:
        raise fail("UNTIL_INVALID") from None


def op_extend_hours(ctx: HallContext, call: Call, req: ExtendHours) -> Outcome:
    tx = ctx.tx
    cal = ctx.config.calendar
    day = ctx.day(call.now)
    closing = cal.closing_time(call.now)
    reason = required_reason(req.reason)
    until = _today_at(ctx, call.now, req.until)
    if closing is None:
        raise fail("HALL_CLOSED")
    if not closing < until <= closing.replace(hour=22, minute=0):
        raise fail("UNTIL_INVALID", f"延时应晚于今天的下班时间 {closing:%H:%M}，且不晚于 22:00。",
                   f"until must be after today's closing ({closing:%H:%M}) and no later than 22:00.")
    at = ctx.iso(call.now)
    tx.execute("INSERT INTO decisions (day, kind, until_epoch, reason, at, device) VALUES (?,?,?,?,?,?)",
               (day.isoformat(), "extend_hours", until.timestamp(), reason, at, call.device.name))
    ctx.record_audit(tx, call, "extend_hours", None, None, None, reason, {"until": f"{until:%H:%M}"})
    tx.emit("hall.hours_extended", at, call.device.name, {"day": day.isoformat(), "until": ctx.iso(until),
                                                          "reason": reason})
    return Done({"decision": {"kind": "extend_hours", "until": ctx.iso(until), "reason": reason, "at": at}})


def op_window_leaves(ctx: HallContext, call: Call, req: WindowLeaves) -> Outcome:
    """The roster: a window closes for the day before the hall does, or is away for a while (``back``: a
    staggered lunch). Every wait told from now on counts on it only while it is there (kiosk/domain/waits.py),
    so that nobody is told a figure the day's staffing cannot keep. A later decision replaces an earlier one:
    for the day, the latest (at closing time: it stays all day); an absence, the latest from the same time
    (back at that same time: cancelled)."""
    tx = ctx.tx
    window = req.window
    if ctx.config.window(window) is None:
        raise fail("WINDOW_UNKNOWN", f"没有 {window} 号窗口。", f"There is no window {window}.")
    reason = required_reason(req.reason)
    leaves = _today_at(ctx, call.now, req.at)
    back = _today_at(ctx, call.now, req.back) if req.back else None
    day = ctx.day(call.now).isoformat()
    closing = shape.extended_until(ctx, tx.conn, day) or ctx.config.calendar.closing_time(call.now)
    if closing is None:
        raise fail("HALL_CLOSED")
    if not call.now < leaves <= closing or (back is not None and not leaves <= back <= closing):
        raise fail("UNTIL_INVALID", f"时间应晚于现在（{ctx.iso(call.now)[11:16]}），回来的时间不早于离开的时间，且都不晚于"
                   f"今天的下班时间 {closing:%H:%M}。", f"Times must be after now ({ctx.iso(call.now)[11:16]}), back "
                   f"no earlier than away, and no later than today's closing ({closing:%H:%M}).")
    at = ctx.iso(call.now)
    tx.execute("INSERT INTO decisions (day, kind, window, until_epoch, back_epoch, reason, at, device) "
               "VALUES (?,?,?,?,?,?,?,?)", (day, "window_leaves", window, leaves.timestamp(),
                                             back.timestamp() if back else None, reason, at, call.device.name))
    span = {"at": f"{leaves:%H:%M}"} | ({"back": f"{back:%H:%M}"} if back else {})
    ctx.record_audit(tx, call, "window_leaves", window, None, None, reason, span)
    tx.emit("window.leaves_early", at, call.device.name, {"day": day, "window": window, "at": ctx.iso(leaves),
                                                          "back": ctx.iso(back) if back else None, "reason": reason})
    stranded = _stranded(ctx, window, leaves, closing, day) if back is None and leaves < closing else []
    return Done({"decision": {"kind": "window_leaves", "window": window, "until": ctx.iso(leaves),
                              "back": ctx.iso(back) if back else None, "reason": reason, "at": at,
                              "stranded": stranded}})


def _stranded(ctx: HallContext, window: int, leaves: datetime, closing: datetime, day: str) -> list[dict[str, Any]]:
    """The businesses no window will serve once this one has gone (no other window serves them, or every other
    goes home before closing too), with who still counts on them: the tickets waiting now and the appointments
    due after it leaves. The duty desk is told at once, while a temporary window or longer hours can still
    help; the citizens are told by their waits (past closing: a booking is offered)."""
    tx = ctx.tx
    decisions = tx.one("SELECT COUNT(*) FROM decisions WHERE day=?", (day,))
    roster = shape.roster_map(ctx, tx.conn, day, int(decisions[0]) if decisions else 0)
    waiting = wait_facts.waiting_all(ctx, tx.conn, day)
    out = []
    for code in shape.served_by(ctx, tx.conn, window, day):
        staying = [w for w in shape.windows_serving(ctx, tx.conn, code, day) if w != window and not (
            (gone := roster.get(w, (None, ()))[0]) is not None and gone < closing)]
        if staying:
            continue
        due = tx.one("SELECT COUNT(*) FROM appointments a WHERE business=? AND slot_start>=? AND slot_start<? AND "
                     "NOT EXISTS (SELECT 1 FROM checkins c WHERE c.appointment_id=a.id)",
                     (code, leaves.timestamp(), closing.timestamp()))
        business = ctx.config.business(code)
        out.append({"business": code, "name": business.name if business else code,
                    "waiting": sum(waiting.get(code, (0, 0))), "appointments": int(due[0]) if due else 0})
    return out


def op_open_temporary(ctx: HallContext, call: Call, req: OpenTemporary) -> Outcome:
    tx = ctx.tx
    window = req.window
    if ctx.config.window(window) is None:
        raise fail("WINDOW_UNKNOWN", f"没有 {window} 号窗口。", f"There is no window {window}.")
    raw = req.businesses
    codes_ = list(dict.fromkeys(ctx.business_or_fail(c).code for c in raw)) if isinstance(raw, list) and raw \
        else None  # each business once, however often it was listed
    if not codes_:
        raise fail("BUSINESSES_REQUIRED")
    reason = required_reason(req.reason)
    day = ctx.day(call.now).isoformat()
    at = ctx.iso(call.now)
    tx.execute("INSERT INTO decisions (day, kind, window, businesses, reason, at, device) VALUES (?,?,?,?,?,?,?)",
               (day, "temporary_window", window, json.dumps(codes_), reason, at, call.device.name))
    ctx.record_audit(tx, call, "temporary_window", window, None, None, reason, {"businesses": codes_})
    tx.emit("window.temporary", at, call.device.name, {"day": day, "window": window, "businesses": codes_,
                                                       "reason": reason})
    return Done({"decision": {"kind": "temporary_window", "window": window, "businesses": codes_,
                              "serves": list(shape.served_by(ctx, tx.conn, window, day)), "reason": reason, "at": at}})


def op_close_followup(ctx: HallContext, call: Call, req: CloseFollowup) -> Outcome:
    """A bad rating's follow-up is closed with what was verified, rectified and said on the callback."""
    tx = ctx.tx
    fid = req.number
    row = tx.one("SELECT * FROM followups WHERE id=?", (int(fid) if str(fid).isdigit() else -1,))
    if row is None:
        raise fail("FOLLOWUP_NOT_FOUND")
    if row["status"] in ("closed", "overturned"):
        raise fail("FOLLOWUP_CLOSED")
    note = required_reason(req.note)
    at = ctx.iso(call.now)
    late = ctx.day(call.now).isoformat() > row["deadline"]
    tx.execute("UPDATE followups SET status='closed', closed_at=?, note=? WHERE id=?", (at, note, row["id"]))
    tx.emit("followup.closed", at, call.device.name, {"ticket": row["ticket"], "day": row["day"],
                                                      "deadline": row["deadline"], "late": late, "note": note})
    return Done({"followup": {"id": row["id"], "ticket": row["ticket"], "status": "closed", "closed_at": at,
                              "late": late, "note": note}})


def decisions(ctx: HallContext, conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
    tz = ctx.config.calendar.tz
    return [{"kind": r["kind"], "window": r["window"], "businesses": json.loads(r["businesses"] or "[]"),
             "until": ctx.iso(datetime.fromtimestamp(r["until_epoch"], tz)) if r["until_epoch"] else None,
             "back": ctx.iso(datetime.fromtimestamp(r["back_epoch"], tz)) if r["back_epoch"] else None,
             "reason": scrub(r["reason"]), "at": r["at"], "device": r["device"]}
            for r in conn.execute("SELECT * FROM decisions WHERE day=? ORDER BY id", (day,))]


# -- reads ---------------------------------------------------------------------------
def window_summary(ctx: HallContext, now: datetime, window: int) -> dict[str, Any]:
    """Everything a clerk needs at a glance: the current ticket, who waits for this window, today's work."""
    w = ctx.config.window(window)
    if w is None:
        raise fail("WINDOW_UNKNOWN", f"没有 {window} 号窗口。", f"There is no window {window}.")
    conn = ctx.store.reader()
    day = ctx.day(now).isoformat()
    row = conn.execute("SELECT * FROM windows WHERE number=?", (window,)).fetchone()
    today = row is not None and row["day"] == day
    state = row["state"] if today else "closed"
    clerk = conn.execute("SELECT id, name FROM clerks WHERE id=?", (row["clerk_id"],)).fetchone() \
        if today and row["clerk_id"] else None
    current = None
    if today and row["current_ticket"]:
        t = conn.execute("SELECT * FROM tickets WHERE id=?", (row["current_ticket"],)).fetchone()
        if t is not None and t["state"] in ("called", "serving"):
            earlier = counter._earlier_notice(conn, counter._holder_case_key(t), now)
            current = capacity.ticket_view(ctx, conn, t, now) | {"earlier_notice": earlier["number"] if earlier else None}
    served = shape.served_by(ctx, conn, window, day)
    waiting = [b for b in queue_status(ctx, now)["businesses"] if b["code"] in served]
    marks = ",".join("?" * len(served))
    tickets = [{"number": t["number"], "business": t["business"], "priority": t["priority"],
                "channel": t["channel"], "issued_at": t["issued_at"],
                "waited_min": round((now.timestamp() - t["issued_epoch"]) / 60)}
               for t in conn.execute(f"SELECT * FROM tickets WHERE day=? AND state IN ('waiting','transferred') "
                                     f"AND business IN ({marks}) ORDER BY id LIMIT 50", (day, *served))]
    done = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND window=? AND state='done'",
                        (day, window)).fetchone()[0]
    # an overturned rating (申诉复核) stays on record but leaves the counts
    levels = {str(r[0]): r[1] for r in conn.execute(
        "SELECT level, COUNT(*) FROM ratings WHERE day=? AND window=? AND appeal!='overturned' GROUP BY level",
        (day, window))}
    overturned = conn.execute("SELECT COUNT(*) FROM ratings WHERE day=? AND window=? AND appeal='overturned'",
                              (day, window)).fetchone()[0]
    count = sum(levels.values())
    average = round(sum(int(k) * v for k, v in levels.items()) / count, 2) if count else None
    return {"window": {"number": window, "name": w.name, "businesses": list(served), "state": state,
                       "pause_reason": scrub(row["pause_reason"] or "") or None if today else None,
                       "clerk_id": clerk["id"] if clerk else None, "clerk_name": clerk["name"] if clerk else None},
            "current": current, "waiting": waiting, "waiting_tickets": tickets,
            "today": {"served": done, "ratings": levels, "rated": count, "average": average,
                      "overturned": overturned}}


def matters(ctx: HallContext, now: datetime, open_only: bool) -> list[dict[str, Any]]:
    conn = ctx.store.reader()
    sql = "SELECT number FROM matters" + (" WHERE status != 'closed'" if open_only else "")
    rows = conn.execute(sql + " ORDER BY deadline, number LIMIT 500").fetchall()
    views = [feedback._matter_view(ctx, conn, r[0], now) for r in rows]
    return sorted(views, key=lambda m: (not m["overdue"], m["deadline"], m["number"]))


def catalog(ctx: HallContext) -> dict[str, Any]:
    fees = ctx.config.fees
    out = []
    for b in ctx.config.businesses:
        share = {"standard": 1.0, "half": 0.5}.get(b.fee, 0.0)
        amounts = {"residential_yuan": yuan(int(fees.residential_fen * share)),
                   "non_residential_yuan": yuan(int(fees.non_residential_fen * share))}
        out.append({
            "code": b.code, "key": b.key, "name": b.name, "name_en": b.name_en, "description": b.description,
            "materials": [{"id": m.id, "name": m.name, "name_en": m.name_en} for m in b.materials],
            "time_limit_days": b.time_limit_days,
            "service_minutes": b.service_minutes,  # the catalog's figure a wait estimate starts from
            "fees": {"kind": b.fee, **amounts,
                     "extra_certificate_yuan": yuan(fees.extra_certificate_fen) if b.certificates else 0,
                     "basis": fees.basis},
            "windows": ctx.config.windows_for(b.code),
        })
    return {"hall": {"id": ctx.config.hall_id, "name": ctx.config.name}, "businesses": out,
            "reductions": [{"id": r.id, "name": r.name, "name_en": r.name_en, "effect": r.effect,
                            "basis": r.basis} for r in fees.reductions],
            "matter_categories": [{"id": c.id, "name": c.name, "name_en": c.name_en}
                                  for c in ctx.config.matters.categories],
            # what screens and slips tell citizens, from the hall's own rules (never a copy in a screen)
            "rules": {"checkin_early_minutes": ctx.config.booking.checkin_early_minutes,
                      "checkin_late_minutes": ctx.config.booking.checkin_late_minutes,
                      "bad_rating_at_most": ratings.BAD_AT_MOST,
                      "rating_keypad_minutes": ctx.config.ratings.keypad_minutes,
                      "rating_late_days": ctx.config.ratings.late_days}}


def fee_quote(ctx: HallContext, req: FeeQuote) -> dict[str, Any]:
    business = ctx.business_or_fail(req.business)
    certificates = 1 if req.certificates is None else req.certificates
    items, total = quote_fee(business, ctx.config.fees, req.property_kind or "residential", certificates,
                             req.reductions or [])
    return {"business": business.code, "items": [i.as_dict() for i in items], "total_yuan": yuan(total),
            "basis": ctx.config.fees.basis}


def queue_status(ctx: HallContext, now: datetime) -> dict[str, Any]:
    conn = ctx.store.reader()
    day = ctx.day(now).isoformat()
    counts = {r[0]: r[1] for r in conn.execute(
        "SELECT business, SUM(n) FROM waiting WHERE day=? GROUP BY business", (day,))}
    oldest = {r[0]: r[1] for r in conn.execute(
        "SELECT business, MIN(issued_epoch) FROM tickets WHERE day=? AND state IN ('waiting','transferred') "
        "GROUP BY business", (day,))}
    businesses = []
    facts = wait_facts.wait_facts(ctx, conn, now)
    queued = wait_facts.waiting_all(ctx, conn, day)
    for b in ctx.config.businesses:
        waiting = counts.get(b.code, 0)
        longest = round((now.timestamp() - oldest[b.code]) / 60) if b.code in oldest else 0
        # what a normal ticket taken now would be told: the slip's own estimate, for every screen
        wait = waits.estimate(facts, ahead_by_business(b.code, False, queued, queued,
                                                             ctx.config.priority.max_consecutive))
        businesses.append({
            "code": b.code, "name": b.name, "waiting": waiting,
            "expected_wait_min": wait.minutes, "expected_wait_range_min": wait.range, "expected_today": wait.today,
            "longest_wait_min": longest,
            "long_wait": longest >= ctx.config.calling.long_wait_minutes,
        })
    rows = {r["number"]: r for r in conn.execute("SELECT * FROM windows")}
    windows = []
    for w in ctx.config.windows:
        r = rows.get(w.number)
        current = None
        state = "closed"
        if r is not None and r["day"] == day:
            state = r["state"]
            if r["current_ticket"]:
                t = conn.execute("SELECT number, state FROM tickets WHERE id=?", (r["current_ticket"],)).fetchone()
                if t is not None and t["state"] in ("called", "serving"):
                    current = t["number"]
        windows.append({"number": w.number, "name": w.name, "businesses": list(shape.served_by(ctx, conn, w.number, day)),
                        "state": state,
                        "current": current, "clerk_id": r["clerk_id"] if r is not None and state != "closed"
                        else None})
    recent = [{"number": r["number"], "window": r["window"], "at": r["called_at"], "state": r["state"]}
              for r in conn.execute("SELECT number, window, called_at, state FROM tickets WHERE day=? AND "
                                    "called_at IS NOT NULL ORDER BY called_at DESC LIMIT 10", (day,))]
    served = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND state='done'", (day,)).fetchone()[0]
    return {"hall": ctx.config.hall_id, "day": day, "at": ctx.iso(now), "open": issuing.is_issuing(ctx, now, conn),
            "businesses": businesses, "windows": windows, "recent_calls": recent, "served_today": served,
            "decisions": decisions(ctx, conn, day),
            # a display starts following the event feed from here, without replaying the day's calls
            "event_seq": conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]}


def events(ctx: HallContext, after: int, limit: int, types: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    return ctx.store.events_after(after, limit, types)


def audit(ctx: HallContext, day: str | None, kind: str | None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM audit WHERE 1=1"
    params: list[Any] = []
    if day:
        sql += " AND day=?"
        params.append(day)
    if kind:
        sql += " AND kind=?"
        params.append(kind)
    rows = ctx.store.reader().execute(sql + " ORDER BY id DESC LIMIT 1000", params).fetchall()
    return [{"id": r["id"], "at": r["at"], "kind": r["kind"], "window": r["window"], "clerk_id": r["clerk_id"],
             "device": r["device"], "ticket": r["ticket"], "reason": r["reason"] and scrub(r["reason"]),
             "detail": json.loads(r["detail"])} for r in rows]


def followups(ctx: HallContext) -> list[dict[str, Any]]:
    rows = ctx.store.reader().execute(
        "SELECT f.*, r.level, r.window, r.clerk_id, r.business, r.appeal FROM followups f JOIN ratings r "
        "ON r.id=f.rating_id ORDER BY f.status IN ('closed','overturned'), f.status='overdue' DESC, "
        "f.deadline").fetchall()
    return [{"id": r["id"], "ticket": r["ticket"], "day": r["day"], "level": r["level"], "window": r["window"],
             "clerk_id": r["clerk_id"], "business": r["business"], "deadline": r["deadline"],
             "status": r["status"], "opened_at": r["opened_at"], "closed_at": r["closed_at"],
             "note": r["note"] and scrub(r["note"]), "appeal": r["appeal"]} for r in rows]


def outbox_pending(ctx: HallContext) -> int:
    return ctx.store.pending()


