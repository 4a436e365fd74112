"""The hall's reads as operations: each takes the hall, the call (who asks, when) and its typed query, and
answers what that caller may see (kiosk/hall/readers.py: a board sees calls, not people). A sensitive read
is logged (who, when, what) for the duty desk and the province."""

from __future__ import annotations

from typing import Any

from kiosk import __version__
from kiosk.contract import requests as r
from kiosk.domain import codes
from kiosk.domain.errors import fail
from kiosk.domain.text import scrub
from kiosk.hall import feedback, issuing, readers, supervision
from kiosk.hall.context import Call, HallContext
from kiosk.hall.outcomes import Degraded, Done, Outcome

PAGE = 1000  # events in one answer, whatever is asked


def health(ctx: HallContext, call: Call, req: r.Health) -> Outcome:
    try:
        pending = supervision.outbox_pending(ctx)
        db = "ok"
    except Exception:  # noqa: BLE001 - reported, not raised
        pending, db = -1, "error"
    body = {"status": "ok" if db == "ok" else "degraded", "hall": ctx.config.hall_id, "version": __version__,
            "db": db, "outbox_pending": pending, "now": ctx.iso(call.now), "speed": ctx.speed}
    return Done(body) if db == "ok" else Degraded(body)


def catalog(ctx: HallContext, call: Call, req: r.GetCatalog) -> Outcome:
    return Done(supervision.catalog(ctx))


def queue_status(ctx: HallContext, call: Call, req: r.QueueStatus) -> Outcome:
    return Done(readers.queue_read(call.device.role, supervision.queue_status(ctx, call.now)))


def get_ticket(ctx: HallContext, call: Call, req: r.GetTicket) -> Outcome:
    found = issuing.get_ticket(ctx, call.now, req.number)
    return Done({"ticket": readers.ticket_read(call.device.role, found["ticket"])})


def verify_ticket(ctx: HallContext, call: Call, req: r.VerifyQr) -> Outcome:
    found = issuing.verify_qr(ctx, call.now, req.qr)
    return Done({"ticket": readers.ticket_read(call.device.role, found["ticket"], scanned=True)})


def verify_matter(ctx: HallContext, call: Call, req: r.VerifyMatter) -> Outcome:
    return Done(feedback.verify_matter_qr(ctx, call.now, req.qr))


def get_matter(ctx: HallContext, call: Call, req: r.GetMatter) -> Outcome:
    if call.device.role != "supervisor":  # a matter is the reporter's: read with the receipt they were given
        if not req.code:
            raise fail("FORBIDDEN", "查看问题进度需要回执上的二维码（扫码查询）。",
                       "Reading a matter needs its receipt's code (scan the receipt).", role=call.device.role)
        if codes.read_matter_qr(ctx.code_key, ctx.config.hall_id, codes.code_of(req.code)) != req.number[:40]:
            raise fail("FORBIDDEN", "回执二维码与问题编号不符。", "The receipt's code is for another matter.")
    found = feedback.get_matter(ctx, call.now, req.number)
    if found["matter"].get("contact_masked"):
        ctx.log_read(call, "matter", {"matter": found["matter"]["number"]})
    return Done(found)


def fee_quote(ctx: HallContext, call: Call, req: r.FeeQuote) -> Outcome:
    return Done(supervision.fee_quote(ctx, req))


def window_summary(ctx: HallContext, call: Call, req: r.WindowSummary) -> Outcome:
    return Done(supervision.window_summary(ctx, call.now, req.window))


def events(ctx: HallContext, call: Call, req: r.ListEvents) -> Outcome:
    """A display board gets calls only (readers.DISPLAY_EVENTS), cut to number, business and window."""
    board = call.device.role == "display"
    found = supervision.events(ctx, req.after, min(req.limit, PAGE), readers.DISPLAY_EVENTS if board else None)
    return Done({"events": [readers.display_event(e) for e in found] if board else found})


def audit(ctx: HallContext, call: Call, req: r.ListAudit) -> Outcome:
    entries = supervision.audit(ctx, req.day, req.kind)  # as it stood: this read is logged after
    ctx.log_read(call, "audit_list", {"filter_day": req.day, "filter_kind": scrub(req.kind[:60]) if req.kind else None})
    return Done({"audit": entries, "entries": entries})


def matters(ctx: HallContext, call: Call, req: r.ListMatters) -> Outcome:
    found = supervision.matters(ctx, call.now, req.open != "0")
    ctx.log_read(call, "matters_list", {"open_only": req.open != "0", "count": len(found)})
    return Done({"matters": found})


def followups(ctx: HallContext, call: Call, req: r.ListFollowups) -> Outcome:
    return Done({"followups": supervision.followups(ctx)})


READS: dict[type[Any], Any] = {
    r.Health: health, r.GetCatalog: catalog, r.QueueStatus: queue_status, r.GetTicket: get_ticket,
    r.VerifyQr: verify_ticket, r.VerifyMatter: verify_matter, r.GetMatter: get_matter, r.FeeQuote: fee_quote,
    r.WindowSummary: window_summary, r.ListEvents: events, r.ListAudit: audit, r.ListMatters: matters,
    r.ListFollowups: followups,
}
