"""Registration cases (受理): opened when a clerk accepts an application, followed by the citizen at the
kiosk (their own identity only), moved on by the registration system."""

from __future__ import annotations

import sqlite3
from typing import Any

from kiosk.contract.requests import CaseProgress, QueryCase
from kiosk.domain import cases
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.text import clean_text
from kiosk.hall.context import (
    Call,
    HallContext,
    next_serial,
)
from kiosk.hall.outcomes import Done, Outcome
from kiosk.store.db import Tx


# -- cases: accepted applications a citizen can follow ---------------------------------
def _open_case(ctx: HallContext, tx: Tx, call: Call, row: sqlite3.Row, window: int, clerk: str) -> dict[str, Any]:
    business = ctx.config.business(row["business"])
    assert business is not None
    day = ctx.day(call.now)
    number = cases.case_number(f"{day:%Y%m%d}", next_serial(tx, day.isoformat(), "case"))
    due = ctx.deadline(tx, call.now, day, business.time_limit_days)
    at = ctx.iso(call.now)
    tx.execute("INSERT INTO cases (number, day, ticket_id, business, holder_hash, holder_masked, window, clerk_id,"
               " accepted_at, due_date, stage) VALUES (?,?,?,?,?,?,?,?,?,?,'accepted')",
               (number, day.isoformat(), row["id"], business.code, row["holder_hash"], row["holder_masked"],
                window, clerk, at, due.isoformat()))
    parties = {row["holder_hash"]} | {r[0] for r in tx.all(
        "SELECT principal_hash FROM ticket_principals WHERE ticket_id=?", (row["id"],))}
    for party in sorted(parties - {""}):
        tx.execute("INSERT INTO case_parties (number, holder_hash) VALUES (?,?)", (number, party))
    tx.execute("INSERT INTO case_history (number, at, stage, note) VALUES (?,?,?,?)",
               (number, at, "accepted", f"{window}号窗口受理"))
    tx.emit("case.accepted", at, call.device.name, {
        "case": number, "number": row["number"], "business": business.code, "window": window,
        "clerk_id": clerk, "day": day.isoformat(), "due_date": due.isoformat()})
    return _case_view(ctx, tx.conn, number)


def _case_view(ctx: HallContext, conn: sqlite3.Connection, number: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM cases WHERE number=?", (number,)).fetchone()
    assert row is not None
    business = ctx.config.business(row["business"])
    history = [{"at": h["at"], "stage": h["stage"], "stage_name": cases.STAGES[h["stage"]][0],
                "note": h["note"]}
               for h in conn.execute("SELECT * FROM case_history WHERE number=? ORDER BY id", (number,))]
    return {"number": number, "business": row["business"], "business_name": business.name if business else "",
            "holder_masked": row["holder_masked"], "accepted_at": row["accepted_at"],
            "due_date": row["due_date"], "stage": row["stage"], "stage_name": cases.STAGES[row["stage"]][0],
            "stage_name_en": cases.STAGES[row["stage"]][1], "window": row["window"], "history": history}


def _case_unknown() -> DomainError:
    # one answer for "no such case" and "not your case": nobody can probe case numbers with a stranger's ID
    return fail("CASE_NOT_FOUND")


def op_query_case(ctx: HallContext, call: Call, req: QueryCase) -> Outcome:
    tx = ctx.tx
    person = ctx.identity(req.identity, call.now)
    number = str(req.case_number or "").strip()
    if not cases.valid_case_number(number):
        raise fail("CASE_NUMBER_INVALID")
    party = tx.one("SELECT 1 FROM case_parties WHERE number=? AND holder_hash=?", (number, person.hash))
    if party is None:
        tx.emit("case.query_refused", ctx.iso(call.now), call.device.name, {"case": number})
        raise _case_unknown()
    ctx._read_logged(tx, call, "case_progress", {"case": number})
    return Done({"case": _case_view(ctx, tx.conn, number)})


def op_case_progress(ctx: HallContext, call: Call, req: CaseProgress) -> Outcome:
    """The registration system reports a case's progress (a supervisor-role integration)."""
    tx = ctx.tx
    number = str(req.number)[:20]
    row = tx.one("SELECT stage FROM cases WHERE number=?", (number,))
    if row is None:
        raise fail("CASE_NOT_FOUND", "没有这个办件编号。", "No case with this number.")
    stage = req.stage
    if stage not in cases.STAGES:
        raise fail("STAGE_UNKNOWN", f"办件阶段应为：{'、'.join(cases.STAGES)}。",
                   f"stage must be one of {', '.join(cases.STAGES)}.")
    if cases.stage_index(str(stage)) <= cases.stage_index(row["stage"]):
        raise fail("STAGE_BACKWARDS")
    note = clean_text(req.note, 200) or ""
    at = ctx.iso(call.now)
    tx.execute("UPDATE cases SET stage=? WHERE number=?", (stage, number))
    tx.execute("INSERT INTO case_history (number, at, stage, note) VALUES (?,?,?,?)", (number, at, stage, note))
    tx.emit("case.progressed", at, call.device.name, {"case": number, "stage": stage})
    return Done({"case": _case_view(ctx, tx.conn, number)})


