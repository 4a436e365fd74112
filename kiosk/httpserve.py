"""Serving HTTP to the hall's devices and the province: uvicorn with a header-read timeout.

uvicorn waits for a request's headers for ever, so 200 clients that each send half a request line
(slowloris) would hold 200 connections until the process ends. A connection whose headers are not
complete within ``seconds`` is closed; the keep-alive timeout covers idle connections between requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request


def header_timeout_protocol(seconds: float) -> type[Any]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # only the serving processes need it

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def whole_number(raw: str, lo: int, hi: int) -> int | None:
    """A whole number in [lo, hi] from a query string, else None (each service answers 422 its own way).
    ASCII digits only and at most 20 characters, so that nothing deeper down overflows."""
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20 or not lo <= int(raw) <= hi:
        return None
    return int(raw)


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
