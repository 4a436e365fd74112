"""申诉复核: a clerk or window may ask for a bad rating to be reviewed when it was given by mistake or in
malice. The duty desk's supervisor marks it appealed, then upheld (it stands) or overturned (it stays on
record but leaves the hall's counts and the province's rankings); each step carries its reason, is audited
and reaches the ledger as an event."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from kiosk.contract.requests import AppealRating, DecideAppeal
from kiosk.domain import ratings
from kiosk.domain.errors import bad_request, fail
from kiosk.domain.text import clean_text
from kiosk.hall.context import RATING_LEVELS, Call, HallContext, required_reason
from kiosk.hall.outcomes import Done, Outcome
from kiosk.store.db import Tx


def op_appeal_rating(ctx: HallContext, call: Call, req: AppealRating) -> Outcome:
    tx = ctx.tx
    row = _rated(ctx, tx, req.day, req.number)
    reason = required_reason(req.reason)
    step = ratings.next_appeal_state(row["appeal"], row["level"], "appealed")
    by = _appeal_step(ctx, tx, call, row, step, reason, req.by)
    tx.emit("rating.appealed", ctx.iso(call.now), call.device.name,
            {"number": row["number"], "day": row["day"], "reason": reason, "by": by})
    return Done({"rating": rating_view(ctx, tx.conn, row["id"])})


def op_decide_appeal(ctx: HallContext, call: Call, req: DecideAppeal) -> Outcome:
    tx = ctx.tx
    row = _rated(ctx, tx, req.day, req.number)
    if req.outcome not in ("upheld", "overturned"):
        raise fail("APPEAL_INVALID", "复核结论应为维持（upheld）或撤销（overturned）。",
                   "outcome must be upheld or overturned.")
    reason = required_reason(req.reason)
    step = ratings.next_appeal_state(row["appeal"], row["level"], req.outcome)
    by = _appeal_step(ctx, tx, call, row, step, reason, req.by)
    if step == "overturned":  # nothing left to rectify: the follow-up ends with the finding
        tx.execute("UPDATE followups SET status='overturned', closed_at=?, note=? WHERE rating_id=? AND "
                   "status IN ('opened','overdue')", (ctx.iso(call.now), reason, row["id"]))
    tx.emit("rating.appeal_decided", ctx.iso(call.now), call.device.name,
            {"number": row["number"], "day": row["day"], "outcome": step, "reason": reason, "by": by})
    return Done({"rating": rating_view(ctx, tx.conn, row["id"])})


def _rated(ctx: HallContext, tx: Tx, day_text: str, number: str) -> sqlite3.Row:
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise bad_request("day 应为日期，如 2026-11-23", "day must be a date such as 2026-11-23") from None
    row = tx.one("SELECT r.*, t.number FROM ratings r JOIN tickets t ON t.id=r.ticket_id "
                 "WHERE r.day=? AND t.number=?", (day.isoformat(), number.strip().upper()[:12]))
    if row is None:
        raise fail("RATING_NOT_FOUND")
    return row


def _appeal_step(ctx: HallContext, tx: Tx, call: Call, row: sqlite3.Row, step: str, reason: str, by_text: str | None) -> str:
    by = clean_text(by_text, 60) or call.device.name
    at = ctx.iso(call.now)
    tx.execute("UPDATE ratings SET appeal=? WHERE id=?", (step, row["id"]))
    tx.execute("INSERT INTO rating_appeals (rating_id, step, reason, by, at) VALUES (?,?,?,?,?)",
               (row["id"], step, reason, by, at))
    ctx.record_audit(tx, call, "rating_appealed" if step == "appealed" else "rating_appeal_decided", row["window"],
                row["clerk_id"], row["number"], reason,
                {"day": row["day"], "level": row["level"], "step": step, "by": by})
    return by


def rating_view(ctx: HallContext, conn: sqlite3.Connection, rating_id: int) -> dict[str, Any]:
    r = conn.execute("SELECT r.*, t.number FROM ratings r JOIN tickets t ON t.id=r.ticket_id WHERE r.id=?",
                     (rating_id,)).fetchone()
    steps = [{"step": a["step"], "reason": a["reason"], "by": a["by"], "at": a["at"]} for a in conn.execute(
        "SELECT * FROM rating_appeals WHERE rating_id=? ORDER BY id", (rating_id,))]
    return {"day": r["day"], "number": r["number"], "level": r["level"], "label": RATING_LEVELS[str(r["level"])],
            "source": r["source"], "window": r["window"], "clerk_id": r["clerk_id"], "business": r["business"],
            "at": r["at"], "appeal": r["appeal"], "appeal_history": steps}


