"""The ledger's HTTP API (hall-api.md, Central ledger API) and the supervisors' dashboard."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from kiosk import __version__
from kiosk.clock import HallClock
from kiosk.domain.errors import fail
from kiosk.domain.ledger_rules import MAX_SEQ
from kiosk.httpserve import bearer_token, install_error_handlers, json_response, read_limited
from kiosk.ledger import dashboard
from kiosk.ledger.service import LedgerService, int_param
from kiosk.openapi import publish

log = logging.getLogger("kiosk.ledger")
MAX_BODY = 32 * 1024 * 1024  # a batch of 5,000 events with their payloads fits with room to spare


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it is known to be larger than ``limit`` (never read whole first)."""
    body = await read_limited(request, limit)
    if body is None:
        raise fail("BODY_TOO_LARGE")
    return body


def create_app(service: LedgerService, clock: HallClock) -> FastAPI:
    app = FastAPI(title="Central ledger API", version=__version__)

    install_error_handlers(app, log)

    def caller(request: Request) -> tuple[str, str]:
        who = service.who(bearer_token(request))
        if who is None:
            raise fail("UNAUTHORIZED", "需要有效的令牌。", "A valid bearer token is required.")
        return who

    def reader(request: Request, hall: str) -> None:
        kind, name = caller(request)
        if not (kind == "supervisor" or name == hall):
            raise fail("FORBIDDEN")

    async def body_of(request: Request) -> object:
        """The JSON body, or None when it is not JSON, too deep or too large (each endpoint says what it
        expects). Batches are large: up to MAX_BODY, refused with 413 beyond it before it is read."""
        raw = await read_body(request, MAX_BODY)
        try:
            return json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None

    async def blocking(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    @app.get("/health")
    async def health() -> Response:
        try:
            await blocking(service.db.one, "SELECT 1")
            db = "ok"
        except Exception:  # noqa: BLE001 - any database failure is reported as such, never raised
            db = "unavailable"
        return json_response(200 if db == "ok" else 503, {"status": "ok" if db == "ok" else "degraded",
                                                          "version": __version__, "db": db})

    @app.post("/api/v1/halls")
    async def register(request: Request) -> Response:
        kind, _name = caller(request)
        if kind != "supervisor":
            raise fail("FORBIDDEN", "登记大厅需要省级监管令牌。", "Registering a hall needs a supervisor token.")
        body = await body_of(request)
        if not isinstance(body, dict):
            raise fail("BODY_INVALID")
        hall = body.get("hall")
        token = await blocking(service.add_hall, hall, str(body.get("public_key", "")), clock.now(),
                               str(body.get("name") or ""), str(body.get("region") or ""))
        return json_response(201, {"hall": hall, "token": token})

    @app.post("/api/v1/halls/{hall}/batches")
    async def batches(request: Request, hall: str) -> Response:
        kind, name = caller(request)
        if kind != "hall" or name != hall:
            raise fail("FORBIDDEN", "只能提交本大厅的批次。", "A hall sends only its own batches.")
        body = await body_of(request)
        return json_response(200, await blocking(service.ingest, hall, body, clock.now()))

    @app.get("/api/v1/halls/{hall}/head")
    async def head(request: Request, hall: str) -> Response:
        reader(request, hall)
        return json_response(200, await blocking(service.head, hall))

    @app.get("/api/v1/halls/{hall}/events")
    async def events(request: Request, hall: str, after: str = "0", limit: str = "500") -> Response:
        reader(request, hall)
        after_n = int_param(after, "after", 0, MAX_SEQ)
        limit_n = min(int_param(limit, "limit", 1, 10**9), 1000)  # a page is at most 1000, whatever is asked
        return json_response(200, await blocking(service.events, hall, after_n, limit_n))

    dashboard.mount(app, service, clock, caller)
    publish(app, public=("/health", "/login", "/logout"), extra=LEDGER_DOCS)
    return app


def _body(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": props, "required": required}}}}}


def _query(*params: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"parameters": [{"name": n, "in": "query", "required": False, "schema": schema} for n, schema in params]}


_TEXT = {"type": "string"}
_DAY = {"type": "string", "format": "date"}
_EVENT = {"type": "object", "required": ["seq", "id", "type", "at", "payload", "prev_hash", "hash"], "properties": {
    "seq": {"type": "integer", "minimum": 1}, "id": _TEXT, "type": _TEXT, "at": _TEXT, "device": _TEXT,
    "payload": {"type": "object"}, "prev_hash": _TEXT, "hash": _TEXT}}
_PERIOD = (("from", _DAY), ("to", _DAY))
_SORT = (("sort", _TEXT), ("order", {"enum": ["asc", "desc"]}))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# what handlers read by hand, declared so that a standard tool can use the document as served
LEDGER_DOCS: dict[str, dict[str, Any]] = {
    "POST /api/v1/halls": _body({"hall": _TEXT, "public_key": _TEXT, "name": _TEXT, "region": _TEXT},
                                ["hall", "public_key"]),
    "POST /api/v1/halls/{hall}/batches": _body({"hall": _TEXT, "events": {"type": "array", "items": _EVENT},
                                                "signature": _TEXT}, ["events", "signature"]),
    "GET /api/v1/halls/{hall}/events": _query(("after", {"type": "integer", "minimum": 0}),
                                              ("limit", {"type": "integer", "minimum": 1,
                                                         "description": "at most 1000 a page"})),
    "POST /login": {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {"login": _TEXT, "password": _TEXT, "csrf": _TEXT},
        "required": ["login", "password", "csrf"]}}}},
        "responses": {"200": {"description": "the sign-in form again, saying why",
                              "content": {"text/html": {"schema": {"type": "string"}}}},
                      "303": {"description": "signed in: on to the dashboard, with the session cookie"}}},
    "POST /logout": {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": {"csrf": _TEXT}, "required": ["csrf"]}}}}},
    "GET /dashboard": _query(*_PERIOD, ("by", {"enum": ["hall", "region", "window", "clerk"]}),
                             ("region", {"type": "string", "pattern": "^[0-9]{1,12}$"}), *_SORT),
    "GET /dashboard/halls/{hall}": _query(*_PERIOD),
    "GET /dashboard/waits": _query(*_PERIOD, ("hall", _TEXT), *_SORT),
    "GET /dashboard/trends": _query(*_PERIOD, ("hall", _TEXT), ("grain", {"enum": ["week", "month"]})),
    "GET /dashboard/report": _query(("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})),
    "GET /dashboard/followups": _query(*_PERIOD),
    "GET /dashboard/matters": _query(*_PERIOD),
    "GET /dashboard/audit": _query(*_PERIOD, ("hall", _TEXT)),
    "GET /dashboard/scalpers": _query(*_PERIOD, ("min_tickets", {"type": "integer", "minimum": 2, "maximum": 100000}),
                                      ("min_bookings", {"type": "integer", "minimum": 2, "maximum": 100000})),
    "GET /api/v1/export/ratings": {**_query(*_PERIOD, ("format", {"enum": ["csv", "json", "xlsx"]}), ("hall", _TEXT)),
                                   "responses": {"200": {"description": "ratings in the 好差评 platform's fields", "content": {
                                       "application/json": {"schema": {"type": "object"}},
                                       "text/csv": {"schema": {"type": "string"}},
                                       XLSX: {"schema": {"type": "string", "format": "binary"}}}}}},
}


def app_from_environment() -> FastAPI:
    """For ``kiosk ledger serve --workers N``: each worker process builds its app from the environment."""
    import os
    from zoneinfo import ZoneInfo

    from kiosk.clock import parse_now
    from kiosk.ledger.db import LedgerDB

    tz = ZoneInfo("Asia/Shanghai")
    now = os.environ.get("KIOSK_LEDGER_NOW")
    return create_app(LedgerService(LedgerDB(os.environ["KIOSK_LEDGER_DB"])), HallClock(tz, parse_now(now, tz) if now
                                                                                       else None))
