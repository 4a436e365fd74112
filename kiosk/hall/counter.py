"""The windows: devices and clerks, sessions, calling in order (and out of order with a reason),
recalls, no-shows, the identity check, one-time notices, transfers, finishing, pauses."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from kiosk.contract.requests import (
    CallNext,
    CallTicket,
    Finish,
    Logout,
    NoShow,
    Notice,
    Pause,
    Recall,
    Resume,
    StartService,
    Transfer,
)
from kiosk.domain import matters, queue
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.domain.text import clean_text
from kiosk.hall import capacity, casework, shape, wait_facts
from kiosk.hall.context import (
    RATING_LEVELS,
    WAITING,
    Call,
    HallContext,
    next_serial,
    required_reason,
    same_holder,
    token_hash,
)
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.store.db import Tx


# -- windows: sessions ----------------------------------------------------------
def window_row(ctx: HallContext, tx: Tx, number: int, day: str) -> sqlite3.Row:
    if ctx.config.window(number) is None:
        raise fail("WINDOW_UNKNOWN", f"没有 {number} 号窗口。", f"There is no window {number}.")
    tx.execute("INSERT OR IGNORE INTO windows (number, day) VALUES (?, ?)", (number, day))
    row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
    assert row is not None
    if row["day"] != day:  # a new business day: yesterday's state does not carry over
        tx.execute("UPDATE windows SET day=?, current_ticket=NULL, priority_streak=0, "
                   "state=CASE WHEN state='paused' THEN 'open' ELSE state END WHERE number=?", (day, number))
        row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
        assert row is not None
    return row


def _clerk(ctx: HallContext, tx: Tx, call: Call, window: int) -> tuple[str, sqlite3.Row]:
    """The clerk of a valid session at this window, and the window's row."""
    day = ctx.day(call.now).isoformat()
    wrow = window_row(ctx, tx, window, day)
    if call.session:
        row = tx.one("SELECT clerk_id FROM sessions WHERE token_hash=? AND window=? AND ended=0 AND "
                     "expires_epoch>?", (token_hash(call.session), window, call.now.timestamp()))
        if row is not None:
            return str(row[0]), wrow
    raise fail("SESSION_INVALID")


def _current(ctx: HallContext, tx: Tx, wrow: sqlite3.Row, states: tuple[str, ...]) -> sqlite3.Row:
    row = tx.one("SELECT * FROM tickets WHERE id=?", (wrow["current_ticket"],)) \
        if wrow["current_ticket"] else None
    if row is None or row["state"] not in states:
        raise fail("NO_CURRENT_TICKET", current=row["number"] if row else None, state=row["state"] if row else None)
    return row


def _waiting(ctx: HallContext, tx: Tx, day: str) -> list[queue.Waiting]:
    return [queue.Waiting(r["number"], r["business"], r["id"], r["priority"] is not None, r["target_window"])
            for r in tx.all("SELECT id, number, business, priority, target_window FROM tickets "
                            "WHERE day=? AND state IN ('waiting','transferred')", (day,))]


def _do_call(ctx: HallContext, tx: Tx, call: Call, window: int, clerk: str, wrow: sqlite3.Row, number: str,
             out_of_order: dict[str, Any] | None) -> Outcome:
    now = call.now
    day = ctx.day(now).isoformat()
    row = tx.one("SELECT * FROM tickets WHERE day=? AND number=?", (day, number))
    assert row is not None
    streak = wrow["priority_streak"] + 1 if row["priority"] is not None else 0
    tx.execute("UPDATE tickets SET state='called', window=?, calls=1, called_at=?, called_epoch=?, clerk_id=? "
               "WHERE id=?", (window, ctx.iso(now), now.timestamp(), clerk, row["id"]))
    tx.execute("UPDATE windows SET current_ticket=?, priority_streak=? WHERE number=?",
               (row["id"], streak, window))
    waited = round((now.timestamp() - row["issued_epoch"]) / 60, 1)
    payload: dict[str, Any] = {"number": number, "window": window, "clerk_id": clerk,
                               "business": row["business"], "day": day, "waited_min": waited,
                               "priority": row["priority"], "out_of_order": out_of_order is not None}
    if out_of_order:
        payload.update(out_of_order)
        ctx.record_audit(tx, call, "out_of_order_call", window, clerk, number, out_of_order["reason"],
                    {"skipped": out_of_order.get("skipped")})
    tx.emit("ticket.called", ctx.iso(now), call.device.name, payload)
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], call.now)})


def _next(ctx: HallContext, tx: Tx, window: int, wrow: sqlite3.Row) -> queue.Waiting | None:
    w = ctx.config.window(window)
    assert w is not None
    return queue.next_for_window(_waiting(ctx, tx, wrow["day"]), window, shape.served_by(ctx, tx.conn, window, wrow["day"]),
                                 wrow["priority_streak"], ctx.config.priority.max_consecutive)


def _idle_window(ctx: HallContext, tx: Tx, wrow: sqlite3.Row) -> None:
    if wrow["state"] == "paused":
        raise fail("WINDOW_PAUSED")
    if wrow["current_ticket"]:
        cur = tx.one("SELECT number, state FROM tickets WHERE id=?", (wrow["current_ticket"],))
        if cur is not None and cur["state"] in ("called", "serving"):
            raise fail("WINDOW_BUSY", f"请先办结或标记过号当前的 {cur['number']} 号。",
                       f"Finish or mark as no-show the current ticket {cur['number']} first.", current=cur["number"])


def op_call_next(ctx: HallContext, call: Call, req: CallNext) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    _idle_window(ctx, tx, wrow)
    head = _next(ctx, tx, window, wrow)
    if head is None:
        raise fail("QUEUE_EMPTY")
    return _do_call(ctx, tx, call, window, clerk, wrow, head.number, None)


def op_call(ctx: HallContext, call: Call, req: CallTicket) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    reason = required_reason(req.reason)
    _idle_window(ctx, tx, wrow)
    row = capacity._ticket_row(ctx, tx.conn, wrow["day"], req.number)
    if row["state"] not in WAITING:
        raise fail("TICKET_NOT_WAITING", f"{row['number']} 号当前状态为“{row['state']}”，不能呼叫。",
                   f"Ticket {row['number']} is {row['state']} and cannot be called.", state=row["state"])
    head = _next(ctx, tx, window, wrow)
    if head is not None and head.number == row["number"]:
        return _do_call(ctx, tx, call, window, clerk, wrow, row["number"], None)
    return _do_call(ctx, tx, call, window, clerk, wrow, row["number"],
                         {"reason": reason, "skipped": head.number if head else None})


def op_recall(ctx: HallContext, call: Call, req: Recall) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    row = _current(ctx, tx, wrow, ("called",))
    tx.execute("UPDATE tickets SET calls=calls+1 WHERE id=?", (row["id"],))
    tx.emit("ticket.recalled", ctx.iso(call.now), call.device.name,
            {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"] + 1,
             "day": row["day"], "business": row["business"]})
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], call.now)})


def op_no_show(ctx: HallContext, call: Call, req: NoShow) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    row = _current(ctx, tx, wrow, ("called",))
    need = ctx.config.calling.no_show_after_calls
    if row["calls"] < need:
        raise fail("RECALL_FIRST", f"请先重呼，呼叫满 {need} 次后才能标记过号（已呼叫 {row['calls']} 次）。",
                   f"Recall first: a no-show needs {need} calls (made {row['calls']}).")
    tx.execute("UPDATE tickets SET state='no_show', finished_at=? WHERE id=?", (ctx.iso(call.now), row["id"]))
    tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
    wait_facts.learn_duration(ctx, tx, row, wrow, "no_show", call.now)
    if row["holder_hash"]:
        tx.execute("INSERT INTO no_shows (day, holder_hash, at_epoch) VALUES (?,?,?)",
                   (row["day"], row["holder_hash"], call.now.timestamp()))
    tx.emit("ticket.no_show", ctx.iso(call.now), call.device.name,
            {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"],
             "holder": row["holder_hash"], "day": row["day"]})
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], call.now)})


def op_start(ctx: HallContext, call: Call, req: StartService) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    row = _current(ctx, tx, wrow, ("called",))
    at = ctx.iso(call.now)
    checked = False
    override = None
    if req.identity is None and _mismatch_recorded(tx, row):
        override = clean_text(req.override_reason, 500)
        if override is None:
            raise _mismatch_unresolved(row)
        ctx.record_audit(tx, call, "identity_override", window, clerk, row["number"], override, {"holder": row["holder_hash"]})
    if req.identity is not None:
        person = ctx.identity(req.identity, call.now)
        holders = [row["holder_hash"]] + [r[0] for r in tx.all(
            "SELECT principal_hash FROM ticket_principals WHERE ticket_id=?", (row["id"],))]
        if not same_holder(person, row["holder_hash"]):
            override = clean_text(req.override_reason, 500)
            detail = {"presented": person.hash, "holder": row["holder_hash"],
                      "principal": person.hash in holders}
            if override is None:
                ctx.record_audit(tx, call, "identity_mismatch", window, clerk, row["number"], None, detail)
                tx.emit("identity.mismatch", at, call.device.name,
                        {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                         "overridden": False})
                return Refused(fail("IDENTITY_MISMATCH", masked=person.masked))
            ctx.record_audit(tx, call, "identity_override", window, clerk, row["number"], override, detail)
            tx.emit("identity.mismatch", at, call.device.name,
                    {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                     "overridden": True, "reason": override})
        checked = True
    tx.execute("UPDATE tickets SET state='serving', started_at=?, started_epoch=?, identity_checked=?, "
               "clerk_id=? WHERE id=?", (at, call.now.timestamp(), int(checked), clerk, row["id"]))
    tx.emit("service.started", at, call.device.name,
            {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
             "identity_checked": checked, "override": override is not None})
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], call.now), "identity_match": checked and override is None})


def _mismatch_recorded(tx: Tx, row: sqlite3.Row) -> bool:
    return tx.one("SELECT 1 FROM audit WHERE day=? AND ticket=? AND kind='identity_mismatch'",
                  (row["day"], row["number"])) is not None


def _mismatch_unresolved(row: sqlite3.Row) -> DomainError:
    return fail("IDENTITY_MISMATCH", f"{row['number']} 号已记录人证不符，须核验取号人本人证件，或填写原因后办理。",
                "An identity mismatch is recorded for this ticket: check the holder's ID, or give an "
                "override_reason.")


def op_notice(ctx: HallContext, call: Call, req: Notice) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    row = _current(ctx, tx, wrow, ("called", "serving"))
    business = ctx.config.business(row["business"])
    assert business is not None
    missing = req.missing
    if not isinstance(missing, list) or not missing:
        raise fail("MISSING_REQUIRED")
    items: list[dict[str, str]] = []
    for mid in missing:
        material = business.material(mid) if isinstance(mid, str) else None
        if material is None:
            raise fail("MATERIAL_UNKNOWN", f"“{mid}”不在{business.name}的材料目录中。",
                       f"'{mid}' is not in the materials list of {business.name_en}.", material=str(mid)[:40])
        if all(i["id"] != material.id for i in items):
            items.append({"id": material.id, "name": material.name, "name_en": material.name_en})
    case = clean_text(req.case_number, 40)
    case_key = f"case:{case}" if case else _holder_case_key(row)
    earlier = _earlier_notice(tx.conn, case_key, call.now)
    repeat = earlier is not None
    number = f"N{row['day'].replace('-', '')}-{next_serial(tx, row['day'], 'notice'):03d}"
    at = ctx.iso(call.now)
    tx.execute("INSERT INTO notices (number, ticket_id, case_key, missing, window, clerk_id, at, at_epoch, repeat)"
               " VALUES (?,?,?,?,?,?,?,?,?)", (number, row["id"], case_key, json.dumps([i["id"] for i in items]),
                                                window, clerk, at, call.now.timestamp(), int(repeat)))
    if repeat:
        ctx.record_audit(tx, call, "repeat_notice", window, clerk, row["number"], None,
                    {"notice": number, "first": earlier["number"] if earlier else None})
    clerk_row = tx.one("SELECT name FROM clerks WHERE id=?", (clerk,))
    tx.emit("notice.issued", at, call.device.name,
            {"notice": number, "number": row["number"], "business": business.code, "window": window,
             "clerk_id": clerk, "missing": [i["id"] for i in items], "repeat": repeat, "day": row["day"],
             "case": case})
    return Done({"notice": {
        "number": number, "ticket": row["number"], "business": business.code, "business_name": business.name,
        "missing": items, "window": window, "clerk_id": clerk,
        "clerk_name": clerk_row["name"] if clerk_row else "", "issued_at": at, "repeat": repeat,
        "first_notice": earlier["number"] if earlier else None, "case_number": case,
        "holder_masked": row["holder_masked"], "time_limit_days": business.time_limit_days}}, made=True)


def _holder_case_key(row: sqlite3.Row) -> str:
    """Without a case number, one person's one business counts as one case."""
    return f"holder:{row['holder_hash']}:{row['business']}"


def _earlier_notice(conn: sqlite3.Connection, case_key: str, now: datetime) -> sqlite3.Row | None:
    """The first notice for the same case in the repeat window (90 days): a new one would be a repeat."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT number FROM notices WHERE case_key=? AND at_epoch>=? ORDER BY id LIMIT 1",
        (case_key, now.timestamp() - matters.REPEAT_NOTICE_DAYS * 86400)).fetchone()
    return row


def op_transfer(ctx: HallContext, call: Call, req: Transfer) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    reason = required_reason(req.reason)
    row = _current(ctx, tx, wrow, ("called", "serving"))
    to_window = req.to_window
    to_business = req.to_business
    if to_window is None and to_business is None:
        raise bad_request("请选择转到的窗口或业务", "to_window or to_business is required")
    if to_window is not None:
        if isinstance(to_window, bool) or not isinstance(to_window, int) or ctx.config.window(to_window) is None:
            raise fail("WINDOW_UNKNOWN", f"没有 {to_window} 号窗口。", f"There is no window {to_window}.")
        if to_window == window:
            raise bad_request("不能转给本窗口", "cannot transfer to the same window")
    business = ctx.business_or_fail(to_business) if to_business is not None else \
        ctx.config.business(row["business"])
    assert business is not None
    tx.execute("UPDATE tickets SET state='transferred', business=?, target_window=?, window=NULL, calls=0 "
               "WHERE id=?", (business.code, to_window, row["id"]))
    tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
    detail = {"from_window": window, "to_window": to_window, "from_business": row["business"],
              "to_business": business.code}
    ctx.record_audit(tx, call, "transfer", window, clerk, row["number"], reason, detail)
    tx.emit("ticket.transferred", ctx.iso(call.now), call.device.name,
            {"number": row["number"], "clerk_id": clerk, "reason": reason, "day": row["day"], **detail})
    return Done({"ticket": capacity.view_of(ctx, tx, row["id"], call.now)})


def op_finish(ctx: HallContext, call: Call, req: Finish) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    row = _current(ctx, tx, wrow, ("called", "serving"))
    if row["state"] == "called" and _mismatch_recorded(tx, row):
        raise _mismatch_unresolved(row)
    at = ctx.iso(call.now)
    started = row["started_epoch"] or call.now.timestamp()
    # who finished it: only this counter's keypad may rate the service (hall-api.md, ratings)
    tx.execute("UPDATE tickets SET state='done', finished_at=?, finished_epoch=?, started_epoch=?, "
               "started_at=COALESCE(started_at, ?), identity_checked=COALESCE(identity_checked, 0), "
               "finished_device=? WHERE id=?", (at, call.now.timestamp(), started, at, call.device.id, row["id"]))
    tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
    wait_facts.learn_duration(ctx, tx, row, wrow, "served", call.now)
    minutes = round((call.now.timestamp() - started) / 60, 1)
    tx.emit("service.finished", at, call.device.name,
            {"number": row["number"], "window": window, "clerk_id": clerk, "business": row["business"],
             "day": row["day"], "minutes": minutes})
    clerk_row = tx.one("SELECT name FROM clerks WHERE id=?", (clerk,))
    case = casework._open_case(ctx, tx, call, row, window, clerk) if req.accepted is True else None
    return Done({"ticket": capacity.ticket_view(ctx, tx.conn, row, call.now) | {"state": "done"}, "case": case,
                 "rating_request": {"ticket": row["number"], "window": window, "clerk_id": clerk,
                                    "clerk_name": clerk_row["name"] if clerk_row else "",
                                    "business": row["business"], "levels": RATING_LEVELS, "day": row["day"],
                                    "finished_at": at,  # the window PC times the press from here
                                    "expires_at": ctx.iso(call.now + timedelta(
                                        minutes=ctx.config.ratings.keypad_minutes))}})


def op_pause(ctx: HallContext, call: Call, req: Pause) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    reason = required_reason(req.reason)
    _idle_window(ctx, tx, wrow)
    back = call.now + timedelta(minutes=req.minutes) if req.minutes else None
    tx.execute("UPDATE windows SET state='paused', pause_reason=?, since_epoch=?, back_epoch=? WHERE number=?",
               (reason, call.now.timestamp(), back.timestamp() if back else None, window))
    tx.emit("window.paused", ctx.iso(call.now), call.device.name,
            {"window": window, "clerk_id": clerk, "reason": reason, "minutes": req.minutes})
    return Done({"window": {"number": window, "state": "paused", "reason": reason,
                            "back_at": ctx.iso(back) if back else None}})


def op_resume(ctx: HallContext, call: Call, req: Resume) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, _ = _clerk(ctx, tx, call, window)
    tx.execute("UPDATE windows SET state='open', pause_reason=NULL, back_epoch=NULL, since_epoch=? WHERE number=?",
               (call.now.timestamp(), window))
    tx.emit("window.resumed", ctx.iso(call.now), call.device.name,
            {"window": window, "clerk_id": clerk, "reason": clean_text(req.reason, 500)})
    return Done({"window": {"number": window, "state": "open"}})


def op_logout(ctx: HallContext, call: Call, req: Logout) -> Outcome:
    tx = ctx.tx
    window = req.window
    clerk, wrow = _clerk(ctx, tx, call, window)
    if wrow["state"] != "paused":
        _idle_window(ctx, tx, wrow)
    tx.execute("UPDATE sessions SET ended=1 WHERE window=?", (window,))
    tx.execute("UPDATE windows SET state='closed', clerk_id=NULL, back_epoch=NULL, since_epoch=? WHERE number=?",
               (call.now.timestamp(), window))
    tx.emit("window.closed", ctx.iso(call.now), call.device.name, {"window": window, "clerk_id": clerk})
    return Done({"window": {"number": window, "state": "closed"}})


