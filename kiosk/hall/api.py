"""The hall's HTTP API (hall-api.md): a thin layer of routes over HallService.

Bodies are parsed by hand, not by pydantic models, so that every bad input maps to a
contract error code with a Chinese message and no raw input (an ID number) is echoed
back in a validation error. Request schemas still reach the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from kiosk import __version__
from kiosk.clock import HallClock
from kiosk.domain import codes
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.domain.text import scrub
from kiosk.hall import phone, phone_rating, readers
from kiosk.hall.requests import (
    AcceptBooking,
    AppealRating,
    AtWindow,
    Blocklist,
    CallStaff,
    CallTicket,
    CaseProgress,
    CheckIn,
    CloseFollowup,
    CreateAppointment,
    DecideAppeal,
    Empty,
    ExtendHours,
    FeeQuote,
    Finish,
    IssueTicket,
    Login,
    Notice,
    OpenTemporary,
    QueryCase,
    R,
    Rate,
    RedeemCode,
    ReportMatter,
    Reprint,
    StartService,
    Transfer,
    TransitionMatter,
    VerifyQr,
    WindowReason,
    parse,
    path_parameters,
    request_body,
)
from kiosk.hall.service import ROLES, Call, Device, HallService, Reply
from kiosk.httpserve import bearer_token, error_response, install_error_handlers, json_response, read_limited, whole_number
from kiosk.openapi import publish
from kiosk.store.db import Tx

log = logging.getLogger("kiosk.hall")
ANY = ROLES
MAX_BODY = 64 * 1024


class Notifier:
    """Wakes long-polling readers of /events when the writer commits new events."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event: asyncio.Event | None = None

    def bind(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def notify(self, _seq: int) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        if self.event is not None:
            self.event.set()
        self.event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        if self.event is None:
            return
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            pass


def too_large() -> DomainError:
    return fail("BODY_TOO_LARGE", f"请求内容过大（上限 {MAX_BODY // 1024} KB）。",
                f"The request body is too large (limit {MAX_BODY // 1024} KB).")


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large (kiosk.httpserve.read_limited)."""
    length = request.headers.get("content-length")
    if length is not None and not (length.isascii() and length.isdigit()):
        raise bad_request("Content-Length 不正确", "Content-Length is not a number")
    body = await read_limited(request, MAX_BODY)
    if body is None:
        raise too_large()
    return body


MAX_DEPTH = 16  # no request of the contract nests deeper than a few levels


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object of sane depth whose every text is valid Unicode, or a 422 saying what is wrong."""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise fail("BAD_JSON", "请求内容不是合法的 JSON。", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise fail("BAD_JSON")
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:  # iterative: a deep body cannot exhaust the interpreter's stack here or later
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise fail("BAD_JSON", "请求内容嵌套过深。", "The body is nested too deeply.")
        if isinstance(value, str):
            check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return body


def check_text(text: str) -> None:
    """JSON may escape half of a surrogate pair (\\ud800) on its own: valid JSON, but not text that can be
    stored or shown. Refused here once, for every field of every request."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise fail("BAD_TEXT")


def query_int(raw: str, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] from a query string, or 422 naming it (never an overflow deeper down)."""
    value = whole_number(raw, lo, hi)
    if value is None:
        raise bad_request(f"{name} 应为 {lo} 到 {hi} 之间的整数", f"{name} must be a whole number from {lo} to {hi}")
    return value


STR = {"type": "string"}


def _query(*params: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"parameters": [{"name": n, "in": "query", "required": False, "schema": schema} for n, schema in params]}


# query parameters read by hand in the handlers, declared with their real types
QUERY_PARAMS = {
    "GET /api/v1/events": _query(("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
                                 ("wait", {"type": "number", "minimum": 0, "maximum": 60}),
                                 ("limit", {"type": "integer", "minimum": 1, "description": "at most 1000 a page"})),
    "GET /api/v1/audit": _query(("day", {"type": "string", "format": "date"}), ("kind", STR)),
    "GET /api/v1/matters": _query(("open", {"enum": ["0", "1"]})),
    "GET /api/v1/matters/{number}": _query(("code", {"type": "string", "description": "the receipt's signed code"})),
}


def create_app(service: HallService, clock: HallClock, escalate_every: float = 60.0) -> FastAPI:
    """``escalate_every``: hall seconds between rounds that escalate overdue matters and follow-ups."""
    notifier = Notifier()
    service.store.on_commit(notifier.notify)
    service.up_since = clock.now()  # a keypad press made after this reaches the hall at once, or not at all
    system = Device(0, "hall", "supervisor")

    async def escalate_loop() -> None:
        while True:
            try:
                await asyncio.wrap_future(service.submit(service.op_escalate_overdue, Call(system, clock.now()), Empty()))
            except Exception:  # logged; the next round tries again
                log.exception("escalation round failed")
            await asyncio.sleep(clock.real_seconds(escalate_every))  # hall time: a drill escalates at its own pace

    async def revocation_loop() -> None:
        """A device row changed by hand (no command to publish it) is seen within a second (hall/revocation.py)."""
        while True:
            try:
                service.device_generation.sync(service.store.reader())
            except Exception:  # logged; the next round tries again
                log.exception("device generation check failed")
            await asyncio.sleep(1.0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        notifier.bind()
        escalator = asyncio.create_task(escalate_loop()) if escalate_every > 0 else None
        revocations = asyncio.create_task(revocation_loop())
        yield
        revocations.cancel()
        if escalator is not None:
            escalator.cancel()

    app = FastAPI(title="Hall service API", version="1.0.0", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="不动产登记大厅 hall service: tickets, calls, ratings and matters (hall-api.md).")
    app.state.request_kinds = {  # each POST path's typed request (the document is generated from them)
        "/api/v1/tickets/verify": VerifyQr, "/api/v1/matters/verify": VerifyQr, "/api/v1/fees/quote": FeeQuote,
        "/api/v1/windows/{window}/login": Login, "/api/v1/devices/enroll": RedeemCode}

    install_error_handlers(app, log)

    def device_of(request: Request, roles: tuple[str, ...]) -> Device:
        token = bearer_token(request)
        device = service.device_for_token(token) if token else None
        if device is None:
            raise fail("UNAUTHORIZED")
        if device.role not in roles:
            raise fail("FORBIDDEN", f"本设备（{device.role}）无权进行此操作。", f"A {device.role} device may not do this.",
                       role=device.role)
        return device

    async def body_of(request: Request) -> dict[str, Any]:
        return parse_body(await read_body(request))

    def call_of(request: Request, device: Device) -> Call:
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 200:
            raise bad_request("Idempotency-Key 长度应为1到200", "Idempotency-Key must be 1 to 200 characters")
        return Call(device, clock.now(), request.headers.get("x-clerk-session"), key)

    async def run(op: Callable[[Tx, Call, R], Reply], call: Call, req: R) -> Response:
        fut: Future[Reply] = service.submit(op, call, req)
        status, out = await asyncio.wrap_future(fut)
        return json_response(status, out)

    def window_no(raw: str) -> int:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:  # '¹' and '٣' are digits to str.isdigit()
            raise fail("WINDOW_UNKNOWN", f"没有 {raw[:8]} 号窗口。", "There is no such window.")
        return int(raw)

    async def request_of(request: Request, kind: type[R]) -> R:
        """The operation's typed request from the body and the path (a window number is parsed here)."""
        path_values: dict[str, object] = dict(request.path_params)
        if "window" in path_values:
            path_values["window"] = window_no(str(path_values["window"]))
        return parse(kind, await body_of(request), **path_values)

    def post(path: str, roles: tuple[str, ...], op: Callable[[Tx, Call, R], Reply], kind: type[R],
             summary: str = "") -> None:
        async def endpoint(request: Request) -> Response:
            device = device_of(request, roles)
            return await run(op, call_of(request, device), await request_of(request, kind))

        app.add_api_route(path, endpoint, methods=["POST"], summary=summary, response_class=Response,
                          openapi_extra={**request_body(kind), "parameters": path_parameters(kind)})
        app.state.request_kinds[path] = kind

    def post_only() -> Response:
        """GET on a POST-only path that a GET route's parameter would otherwise swallow."""
        return error_response("METHOD_NOT_ALLOWED", headers={"Allow": "POST"})

    # -- public -----------------------------------------------------------------
    @app.get("/health", summary="Liveness, database and outbox")
    async def health() -> Response:
        try:
            pending = service.outbox_pending()
            db = "ok"
        except Exception:  # noqa: BLE001 - reported, not raised
            pending, db = -1, "error"
        return json_response(200 if db == "ok" else 503, {
            "status": "ok" if db == "ok" else "degraded", "hall": service.config.hall_id, "version": __version__,
            "db": db, "outbox_pending": pending, "now": service.iso(clock.now()), "speed": clock.speed})

    @app.post("/api/v1/devices/enroll", summary="A new terminal exchanges its one-time code for its token",
              openapi_extra=request_body(RedeemCode))
    async def redeem(request: Request) -> Response:
        req = await request_of(request, RedeemCode)
        client = request.client.host if request.client else ""
        reply = await asyncio.get_running_loop().run_in_executor(None, service.redeem_code, req.code or "",
                                                                 clock.now(), req.role, client)
        return json_response(201, reply)

    # -- any device --------------------------------------------------------------
    @app.get("/api/v1/catalog", summary="Business types, materials, time limits and fees")
    async def catalog(request: Request) -> Response:
        device_of(request, ANY)
        return json_response(200, service.catalog())

    @app.get("/api/v1/queue", summary="Waiting per business, windows and recent calls")
    def queue_status(request: Request) -> Response:
        device = device_of(request, ANY)
        return json_response(200, readers.queue_read(device.role, service.queue_status(clock.now())))

    @app.get("/api/v1/tickets/{number}", summary="A ticket's state, position and expected wait")
    def get_ticket(request: Request, number: str) -> Response:
        device = device_of(request, ANY)
        if number == "verify":
            return post_only()
        found = service.get_ticket(clock.now(), number)
        return json_response(200, {"ticket": readers.ticket_read(device.role, found["ticket"])})

    @app.post("/api/v1/tickets/verify", summary="Check a scanned ticket QR", openapi_extra=request_body(VerifyQr))
    async def verify(request: Request) -> Response:
        device = device_of(request, ANY)
        req = await request_of(request, VerifyQr)
        found = service.verify_qr(clock.now(), req.qr)
        return json_response(200, {"ticket": readers.ticket_read(device.role, found["ticket"], scanned=True)})

    @app.post("/api/v1/matters/verify", summary="A scanned 办不成事 receipt QR: the report's progress",
              openapi_extra=request_body(VerifyQr))
    async def verify_matter(request: Request) -> Response:
        device_of(request, ANY)
        req = await request_of(request, VerifyQr)
        return json_response(200, service.verify_matter_qr(clock.now(), req.qr))

    @app.get("/api/v1/matters/{number}", summary="Status and history of one unresolved matter (a supervisor, or "
                                                 "any device with the receipt's signed code: ?code=)")
    def get_matter(request: Request, number: str, code: str = "") -> Response:
        device = device_of(request, ANY)
        if number == "verify":
            return post_only()
        if device.role != "supervisor":  # a matter is the reporter's: read with the receipt they were given
            if not code:
                raise fail("FORBIDDEN", "查看问题进度需要回执上的二维码（扫码查询）。",
                           "Reading a matter needs its receipt's code (scan the receipt).", role=device.role)
            if codes.read_matter_qr(service.code_key, service.config.hall_id, codes.code_of(code)) != number[:40]:
                raise fail("FORBIDDEN", "回执二维码与问题编号不符。", "The receipt's code is for another matter.")
        found = service.get_matter(clock.now(), number)
        if found["matter"].get("contact_masked"):
            service.log_read(call_of(request, device), "matter", {"matter": found["matter"]["number"]})
        return json_response(200, found)

    @app.post("/api/v1/fees/quote", summary="Official fee for one case", openapi_extra=request_body(FeeQuote))
    async def fee_quote(request: Request) -> Response:
        device_of(request, ("kiosk",))  # hall-api.md: the fee calculator is the kiosk's
        return json_response(200, service.fee_quote(await request_of(request, FeeQuote)))

    # -- kiosk --------------------------------------------------------------------
    post("/api/v1/tickets", ("kiosk",), service.op_issue, IssueTicket, "Issue a ticket")
    post("/api/v1/appointments/check-in", ("kiosk",), service.op_check_in, CheckIn,
         "Check in an appointment or booking")
    post("/api/v1/bookings", ("kiosk",), service.op_accept_booking, AcceptBooking, "Accept an on-site booking offer")
    post("/api/v1/tickets/{number}/reprint", ("kiosk",), service.op_reprint, Reprint,
         "Reprint a lost or unprinted slip")
    post("/api/v1/ratings", ("counter", "kiosk"), service.op_rate, Rate, "Rate a finished service")
    post("/api/v1/help", ("kiosk", "counter"), service.op_call_staff, CallStaff,
         "Call staff to this device (the duty desk is told at once)")
    post("/api/v1/matters", ("kiosk", "counter"), service.op_report_matter, ReportMatter,
         "Report an unresolved matter")
    post("/api/v1/cases/query", ("kiosk",), service.op_query_case, QueryCase,
         "A case's progress, for a party to it (same answer for unknown and not yours)")

    # -- counter -------------------------------------------------------------------
    @app.post("/api/v1/windows/{window}/login", summary="Clerk login with PIN",
              openapi_extra={**request_body(Login), "parameters": path_parameters(Login)})
    async def login(request: Request) -> Response:
        device = device_of(request, ("counter",))
        req = await request_of(request, Login)
        call = call_of(request, device)
        status, out = await asyncio.get_running_loop().run_in_executor(None, service.login, call, req)
        return json_response(status, out)

    post("/api/v1/windows/{window}/call-next", ("counter",), service.op_call_next, AtWindow,
         "Call the next ticket in order")
    post("/api/v1/windows/{window}/call", ("counter",), service.op_call, CallTicket,
         "Call a ticket out of order (reason required)")
    post("/api/v1/windows/{window}/recall", ("counter",), service.op_recall, AtWindow, "Call the current ticket again")
    post("/api/v1/windows/{window}/no-show", ("counter",), service.op_no_show, AtWindow,
         "Mark the current ticket a no-show")
    post("/api/v1/windows/{window}/start", ("counter",), service.op_start, StartService, "Begin service")
    post("/api/v1/windows/{window}/notice", ("counter",), service.op_notice, Notice,
         "One-time notice of missing materials")
    post("/api/v1/windows/{window}/transfer", ("counter",), service.op_transfer, Transfer,
         "Transfer keeping the ticket's place")
    post("/api/v1/windows/{window}/finish", ("counter",), service.op_finish, Finish,
         "End service; returns the rating request (and the case, when the application was accepted)")
    post("/api/v1/windows/{window}/pause", ("counter",), service.op_pause, WindowReason, "Pause the window")
    post("/api/v1/windows/{window}/resume", ("counter",), service.op_resume, WindowReason, "Resume the window")
    post("/api/v1/windows/{window}/logout", ("counter",), service.op_logout, AtWindow, "Close the window")

    # -- supervisor ------------------------------------------------------------------
    post("/api/v1/matters/{number}/transition", ("supervisor",), service.op_transition_matter, TransitionMatter,
         "Move a matter along its lifecycle")
    post("/api/v1/cases/{number}/progress", ("supervisor",), service.op_case_progress, CaseProgress,
         "The registration system reports a case's progress")
    post("/api/v1/appointments", ("supervisor",), service.op_create_appointment, CreateAppointment,
         "Register an appointment and get its QR text")
    post("/api/v1/blocklist", ("supervisor",), service.op_blocklist_add, Blocklist, "Refuse tickets to an identity")
    post("/api/v1/admin/escalate", ("supervisor",), service.op_escalate_overdue, Empty,
         "Escalate overdue matters and follow-ups now")

    @app.get("/api/v1/events", summary="Events after a sequence number (long-poll with wait)")
    async def events(request: Request, after: str = "0", wait: str = "0", limit: str = "500") -> Response:
        device = device_of(request, ("display", "supervisor"))
        board = device.role == "display"  # calls only (readers.DISPLAY_EVENTS), cut to number, business, window
        types = readers.DISPLAY_EVENTS if board else None
        after_n = query_int(after, "after", 0, 2**62)
        limit_n = min(query_int(limit, "limit", 1, 10**9), 1000)  # a page is at most 1000, whatever is asked
        if not re.fullmatch(r"\d{1,2}(\.\d{1,3})?", wait) or float(wait) > 60:
            raise bad_request("wait 应为 0 到 60 秒", "wait must be 0 to 60 seconds")
        wait_s = float(wait)
        found = service.events(after_n, limit_n, types)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not found and (left := deadline - loop.time()) > 0:  # a board waits through events not for it
            await notifier.wait(left)
            found = service.events(after_n, limit_n, types)
        return json_response(200, {"events": [readers.display_event(e) for e in found] if board else found})

    @app.get("/api/v1/audit", summary="Out-of-order calls, identity mismatches, transfers, overrides")
    def audit(request: Request, day: str | None = None, kind: str | None = None) -> Response:
        device = device_of(request, ("supervisor",))
        if day is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise bad_request("day 应为日期，如 2026-11-23", "day must be a date such as 2026-11-23")
        entries = service.audit(day, kind)  # as it stood: this read is logged after
        service.log_read(call_of(request, device), "audit_list",
                         {"filter_day": day, "filter_kind": scrub(kind[:60]) if kind else kind})
        return json_response(200, {"audit": entries, "entries": entries})

    @app.get("/api/v1/windows/{window}/summary", summary="A window at a glance: current ticket, waiting, today")
    def window_summary(request: Request, window: str) -> Response:
        device_of(request, ("counter", "supervisor"))
        return json_response(200, service.window_summary(clock.now(), window_no(window)))

    @app.get("/api/v1/matters", summary="Unresolved-matter reports, overdue first (open=1: not yet closed)")
    def matters(request: Request, open: str = "1") -> Response:
        device = device_of(request, ("supervisor",))
        if open not in ("0", "1"):
            raise bad_request("open 应为 0 或 1", "open must be 0 or 1")
        found = service.matters(clock.now(), open != "0")
        service.log_read(call_of(request, device), "matters_list", {"open_only": open != "0", "count": len(found)})
        return json_response(200, {"matters": found})

    post("/api/v1/hall/extend-hours", ("supervisor",), service.op_extend_hours, ExtendHours,
         "Extend today's hours for a surge (recorded)")
    post("/api/v1/windows/{window}/open-temporary", ("supervisor",), service.op_open_temporary, OpenTemporary,
         "A window takes on more businesses today (recorded)")
    post("/api/v1/followups/{number}/close", ("supervisor",), service.op_close_followup, CloseFollowup,
         "Close a bad rating's follow-up with what was done")
    post("/api/v1/ratings/{day}/{number}/appeal", ("supervisor",), service.op_appeal_rating, AppealRating,
         "申诉复核: mark a bad rating appealed, with the reason (audited, sent to the ledger)")
    post("/api/v1/ratings/{day}/{number}/decision", ("supervisor",), service.op_decide_appeal, DecideAppeal,
         "申诉复核: an appealed rating upheld or overturned, with the finding (an overturned one leaves the counts)")

    @app.get("/api/v1/followups", summary="Bad-rating follow-ups, overdue first")
    def followups(request: Request) -> Response:
        device_of(request, ("supervisor",))
        return json_response(200, {"followups": service.followups()})

    phone.mount(app, service, clock, notifier)
    phone_rating.mount(app, service, clock, body_of)
    publish(app, public=("/health", "/q", "/q/status", "/q/rating", "/api/v1/devices/enroll"), extra=QUERY_PARAMS)
    return app
