"""Serving HTTP to the hall's devices and the province: the plumbing both services share (JSON answers,
bearer tokens, size-limited bodies refused from their Content-Length before a byte is read, whole numbers from
query strings, one set of exception handlers that answer in the product's error shape). What a connection may
hold (time for headers and bodies, connections per client and in all) is kiosk/serving.py's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kiosk.domain.errors import DomainError, fail
from kiosk.openapi import allowed_methods
from kiosk.store.db import StoreUnavailable

# json.dumps with options builds a JSONEncoder for every call; every answer of both services is made by this one
_ANSWER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(_ANSWER.encode(body).encode(), status_code=status, media_type="application/json",
                    headers=headers)


def error_response(code: str, message: str | None = None, message_en: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    exc = fail(code, message, message_en)
    return json_response(exc.status, exc.body(), headers)


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer …`` header, or "" (either service then answers 401)."""
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else ""


ErrorAnswer = Callable[[Request, Exception], Awaitable[Response]]


def error_answerer(app: FastAPI, log: logging.Logger) -> ErrorAnswer:
    """Every answer of either service, refusals and accidents alike, has the contract's error shape with a
    Chinese message; a crash is logged with its trace for the technician and never shown to the caller. One
    function, so that a route answered outside FastAPI's middleware (kiosk/hall/api.py HallAPI) answers alike."""

    async def answer(request: Request, exc: Exception) -> Response:
        if isinstance(exc, DomainError):
            # a body refused for its size is not read: the connection cannot carry another request after it
            return json_response(exc.status, exc.body(), {"Connection": "close"} if exc.status == 413 else None)
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)  # the client left (or was cut off mid-body): nobody to answer
        if isinstance(exc, StoreUnavailable):
            return error_response("STORE_UNAVAILABLE")
        if isinstance(exc, RequestValidationError):
            return error_response("BAD_REQUEST")
        if isinstance(exc, StarletteHTTPException):
            if exc.status_code == 404:
                return error_response("NOT_FOUND")
            if exc.status_code == 405:  # with what the path does support
                return error_response("METHOD_NOT_ALLOWED", headers={"Allow": allowed_methods(app, request.url.path)})
            return json_response(exc.status_code, fail("HTTP_ERROR").body())
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, exc.__class__.__name__,
                  exc_info=exc)
        return error_response("INTERNAL")

    return answer


def install_error_handlers(app: FastAPI, log: logging.Logger) -> ErrorAnswer:
    """The one answerer (above) for every kind of exception FastAPI hands to a handler; returned for routes
    answered outside FastAPI's middleware."""
    answer = error_answerer(app, log)
    for kind in (DomainError, ClientDisconnect, StoreUnavailable, RequestValidationError, StarletteHTTPException,
                 Exception):
        app.add_exception_handler(kind, answer)
    return answer


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit``: from Content-Length before a byte is
    read, or while it streams in. A 100 MB body is never held in memory."""
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
