"""The hall's HTTP API (hall-api.md), registered from one table: each route of kiosk/contract/routes.py is
authenticated by its roles, parsed into its typed request (kiosk/contract/wire.py: every bad input maps to a
contract code with a Chinese message, never an echo of the value), run as its operation
(kiosk/hall/operations.py) and answered from the operation's outcome (kiosk/hall/outcomes.py).

Routes are plain Starlette routes: the operations do their own parsing and answering, so FastAPI's
per-request dependency machinery would be work for nothing on the hot path (issuing). The app stays a
FastAPI app for the OpenAPI document, the shared error handlers and the phone page. A table route whose path
has no parameter (issuing, calling, finishing: the hot ones) is answered by :class:`HallAPI` before FastAPI's
middleware stack, which does nothing for it (no CORS, no body limit of its own, no dependencies) and cost a
tenth of the server's time per ticket in the profile; its errors go to the same one answerer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute
from starlette.types import Receive, Scope, Send

from kiosk.clock import HallClock
from kiosk.contract import requests as r
from kiosk.contract.routes import PHONE_PAGE, PHONE_STATUS, ROUTES, Route
from kiosk.contract.wire import parse, parse_query, path_parameters, query_parameters, request_body
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.hall import credentials, operations, phone
from kiosk.hall.context import Call, Device, HallContext
from kiosk.hall.outcomes import Done, Outcome, body_of, status_of
from kiosk.httpserve import (
    ErrorAnswer,
    bearer_token,
    error_response,
    install_error_handlers,
    json_response,
    read_limited,
)
from kiosk.openapi import publish

log = logging.getLogger("kiosk.hall")
MAX_BODY = 64 * 1024
MAX_DEPTH = 16  # no request of the contract nests deeper than a few levels
PUBLIC = Device(0, "phone", "phone")  # no token: a citizen's phone, whose proof is the slip's signed code
PUBLIC_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


Endpoint = Callable[[Request], Awaitable[Response]]


class HallAPI(FastAPI):
    """The hall's app: ``direct`` routes ((method, literal path) → endpoint, from the table) are answered here,
    every other request (parameters in the path, the phone page, the document, 404 and 405) by FastAPI."""

    direct: dict[tuple[str, str], Endpoint]
    answer_error: ErrorAnswer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.direct.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:  # noqa: BLE001 -- answered as FastAPI's handlers answer (kiosk/httpserve.py)
            response = await self.answer_error(request, exc)
        await response(scope, receive, send)


class _InFlight:
    """Change requests between their arrival and their answer, on the loop (one thread: no lock)."""

    waiting = 0


class Notifier:
    """Wakes long-polling readers of /events (and the phone page) when the writer commits new events."""

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


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to be too large (kiosk.httpserve.read_limited)."""
    length = request.headers.get("content-length")
    if length is not None and not (length.isascii() and length.isdigit()):
        raise bad_request("Content-Length 不正确", "Content-Length is not a number")
    body = await read_limited(request, MAX_BODY)
    if body is None:
        raise fail("BODY_TOO_LARGE", f"请求内容过大（上限 {MAX_BODY // 1024} KB）。",
                   f"The request body is too large (limit {MAX_BODY // 1024} KB).")
    return body


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str) -> None:
    """JSON may escape half of a surrogate pair (\\ud800) on its own: valid JSON, but not text that can be
    stored or shown. Refused here once, for every field of every request: by a regular expression, which
    looks at a text's characters in C (a generator over them was half of parse_body's time)."""
    if _SURROGATE.search(text) is not None:
        raise fail("BAD_TEXT")


def window_no(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4:  # '¹' and '٣' are digits to str.isdigit()
        raise fail("WINDOW_UNKNOWN", f"没有 {raw[:8]} 号窗口。", "There is no such window.")
    return int(raw)


def answer(outcome: Outcome | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if isinstance(outcome, dict):
        return json_response(200, outcome, headers)
    return json_response(status_of(outcome), body_of(outcome), headers)


def create_app(ctx: HallContext, clock: HallClock, escalate_every: float = 60.0) -> HallAPI:
    """``escalate_every``: hall seconds between rounds that escalate overdue matters and follow-ups."""
    notifier = Notifier()
    ctx.store.on_commit(notifier.notify)
    ctx.up_since = clock.now()  # a keypad press made after this reaches the hall at once, or not at all
    ctx.speed = clock.speed
    system = Device(0, "hall", "supervisor")

    async def escalate_loop() -> None:
        escalate = operations.OPERATIONS[r.EscalateOverdue]
        while True:
            try:
                await asyncio.wrap_future(ctx.submit(escalate, Call(system, clock.now()), r.EscalateOverdue()))
            except Exception:  # logged; the next round tries again
                log.exception("escalation round failed")
            await asyncio.sleep(clock.real_seconds(escalate_every))  # hall time: a drill escalates at its own pace

    async def revocation_loop() -> None:
        """A device row changed by hand (no command to publish it) is seen within a second (hall/revocation.py)."""
        while True:
            try:
                ctx.device_generation.sync(ctx.store.reader())
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

    app = HallAPI(title="Hall service API", version="1.0.0", docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="不动产登记大厅 hall service: tickets, calls, ratings and matters (hall-api.md).")
    app.state.request_kinds = {}  # each POST path's typed request (tests compare the document with the classes)
    app.answer_error = install_error_handlers(app, log)
    app.direct = {}
    changes = _InFlight()

    def call_of(request: Request, route: Route) -> Call:
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= 200:
            raise bad_request("Idempotency-Key 长度应为1到200", "Idempotency-Key must be 1 to 200 characters")
        client = request.client.host if request.client else ""
        if not route.roles:  # no device to remember an Idempotency-Key by: a public request is answered afresh
            return Call(PUBLIC, clock.now(), None, None, client)
        token = bearer_token(request)
        device = credentials.device_for_token(ctx, token) if token else None
        if device is None:
            raise fail("UNAUTHORIZED")
        if device.role not in route.roles:
            raise fail("FORBIDDEN", f"本设备（{device.role}）无权进行此操作。", f"A {device.role} device may not do this.",
                       role=device.role)
        return Call(device, clock.now(), request.headers.get("x-clerk-session"), key, client)

    async def request_of(request: Request, route: Route) -> Any:
        path_values: dict[str, object] = dict(request.path_params)
        if "window" in path_values:
            path_values["window"] = window_no(str(path_values["window"]))
        if route.method == "GET":
            return parse_query(route.request, request.query_params, **path_values)
        return parse(route.request, parse_body(await read_body(request)), **path_values)

    post_only = ({route.path for route in ROUTES if route.method == "POST" and "{" not in route.path}
                 - {route.path for route in ROUTES if route.method == "GET"})

    def endpoint(route: Route) -> Callable[[Request], Awaitable[Response]]:
        op = operations.OPERATIONS[route.request]
        headers = PUBLIC_HEADERS if not route.roles else None

        async def change(request: Request) -> Response:
            call = call_of(request, route)
            req = await request_of(request, route)
            # alone in the loop's turn (nothing else came in with it), a change is committed here rather than
            # handed to the writer thread and back; requests that come together go to the writer as one group
            changes.waiting += 1
            try:
                await asyncio.sleep(0)  # the requests read in the same turn register first
                found = ctx.submit(op, call, req, now_if_idle=changes.waiting == 1)
                outcome = found.result() if found.done() else await asyncio.wrap_future(found)
            finally:
                changes.waiting -= 1
            return answer(outcome, headers)

        async def read(request: Request) -> Response:
            if route.method == "GET" and request.url.path in post_only:  # /tickets/verify is not ticket "verify"
                return error_response("METHOD_NOT_ALLOWED", headers={"Allow": "POST"})
            call = call_of(request, route)
            req = await request_of(request, route)
            return answer(await run_in_threadpool(op, ctx, call, req), headers)

        async def long_poll(request: Request) -> Response:
            call = call_of(request, route)
            req = await request_of(request, route)
            found = await run_in_threadpool(op, ctx, call, req)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + float(req.wait)
            while isinstance(found, Done) and not found.body.get("events") and (left := deadline - loop.time()) > 0:
                await notifier.wait(left)  # a board waits through events that are not for it
                found = await run_in_threadpool(op, ctx, call, req)
            return answer(found, headers)

        if route.long_poll:
            return long_poll
        return change if route.kind == "change" else read

    for route in ROUTES:
        answer_route = endpoint(route)
        app.router.routes.append(HttpRoute(route.path, answer_route, methods=[route.method]))
        if "{" not in route.path:
            app.direct[(route.method, route.path)] = answer_route
        if route.method == "POST":
            app.state.request_kinds[route.path] = route.request

    phone.mount(app, ctx, clock, notifier)
    publish(app, public=(PHONE_PAGE, PHONE_STATUS, *(route.path for route in ROUTES if not route.roles)),
            extra=documented(ROUTES))
    return app


def documented(routes: tuple[Route, ...]) -> dict[str, dict[str, Any]]:
    """The OpenAPI operations of the table's routes, from their typed requests (kiosk/openapi.py completes them)."""
    out: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {"summary": route.summary, "operationId": route.request.__name__,
                              "responses": {"200": {"description": "OK",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}}}}
        params = path_parameters(route.request) + (query_parameters(route.request) if route.method == "GET" else [])
        if params:
            op["parameters"] = params
        if route.method == "POST":
            op.update(request_body(route.request))
        out[f"{route.method} {route.path}"] = op
    return out


__all__ = ["DomainError", "Notifier", "create_app", "parse_body", "read_body"]
