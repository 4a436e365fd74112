"""What a connection may hold of a service, for both services and in every worker process.

uvicorn waits for a request's headers and for its body for ever, and accepts every connection it is offered. So a
few hundred clients that send half a request, or announce a body and never send it, or just open connections and
wait, would hold the service's file descriptors until it could no longer accept the kiosks' (about 1,000 under
systemd's default limit). uvicorn's own ``limit_concurrency`` does not help here: once the count of connections
reaches it, it answers every new *request* 503, the kiosks' included, while the idle connections that caused it
stay. This protocol (uvicorn's httptools protocol, extended) instead bounds what each connection may hold:

- headers: complete within ``header_timeout`` of the connection or of the request's first byte (slowloris);
- body: a byte at least every ``body_timeout`` seconds, and the whole of it at ``body_min_rate`` on average
  (a 32 MB batch from a hall gets minutes; a 64 KB body announced and never sent gets ``body_timeout``);
- between requests: uvicorn's keep-alive timeout;
- connections: at most ``max_per_client`` from one address and ``max_connections`` in all. A connection that
  would pass either is not simply refused: the oldest connection that holds nothing (idle between requests,
  still sending its headers or its body, or waiting in a long poll that its client will simply renew) makes
  way for it, the client's own first. Only when every connection is serving a request is a new one refused,
  with a 429 (its address has too many) or a 503 (the service has), in the error shape, and closed.

So a flood of idle, half-open or long-poll connections costs each flooding address its own connections, and never
a kiosk its ticket (bench/connection_flood.py measures it). The limits are per worker process; they travel to
``--workers`` processes in the environment (KIOSK_HTTP_LIMITS), since each worker builds its own protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kiosk.domain.errors import fail

ENV = "KIOSK_HTTP_LIMITS"
FD_RESERVE = 64  # descriptors kept for the database, logs, the ledger's pool and the listening socket


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    body_min_rate: int = 16 * 1024  # bytes per second, on average over the whole body
    keep_alive: float = 5.0
    max_body: int = 64 * 1024  # a larger Content-Length is answered 413 before the application sees the request
    max_connections: int = 2000
    max_per_client: int = 200
    # requests that only wait (long polls): their connection may be closed to make room; the client asks again
    sheddable: tuple[str, ...] = ("/api/v1/events", "/q/status")

    def fitted(self) -> Limits:
        """Within this process's file descriptor limit (raised to its hard limit first), so that the service
        refuses connections itself, with an answer, before the kernel refuses it a file."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
            except (ValueError, OSError):
                pass
        if soft == resource.RLIM_INFINITY:
            return self
        room = max(16, int(soft) - FD_RESERVE)
        return Limits(**{**asdict(self), "max_connections": min(self.max_connections, room),
                         "max_per_client": min(self.max_per_client, room)})


def configure(limits: Limits) -> Limits:
    """Set this process's limits and pass them on to worker processes started after this."""
    fitted = limits.fitted()
    os.environ[ENV] = json.dumps(asdict(fitted))
    GuardedProtocol.limits = fitted
    return fitted


def _from_environment() -> Limits:
    raw = os.environ.get(ENV)
    if not raw:
        return Limits()
    try:
        values: dict[str, Any] = json.loads(raw)
        known = {f.name for f in fields(Limits)}
        given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
        return Limits(**given)
    except (ValueError, TypeError):
        return Limits()


def _raw_error(status: int, code: str) -> bytes:
    """A complete HTTP answer in the error shape, written by the protocol itself (no application is involved)."""
    body = json.dumps(fail(code).body(), ensure_ascii=False, separators=(",", ":")).encode()
    reason = {413: "Content Too Large", 429: "Too Many Requests", 503: "Service Unavailable"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\nretry-after: 2\r\n\r\n").encode() + body


class Registry:
    """This process's open connections, all and by client address; and, in the order they came to hold nothing
    (idle, then sending headers or a body, or waiting in a long poll), those that may make way: the first of these
    is the oldest, found without a scan, since a flood makes room at every new connection."""

    def __init__(self) -> None:
        self.all: dict[GuardedProtocol, None] = {}
        self.by_client: dict[str, dict[GuardedProtocol, None]] = {}
        self.idle: dict[GuardedProtocol, None] = {}
        self.idle_by_client: dict[str, dict[GuardedProtocol, None]] = {}

    def add(self, conn: GuardedProtocol) -> None:
        self.all[conn] = None
        self.by_client.setdefault(conn.address, {})[conn] = None

    def remove(self, conn: GuardedProtocol) -> None:
        self.all.pop(conn, None)
        self.idle.pop(conn, None)
        self._drop(self.by_client, conn)
        self._drop(self.idle_by_client, conn)

    def holds(self, conn: GuardedProtocol, nothing: bool) -> None:
        """``conn`` holds nothing from now (it goes last in the order), or it serves a request. On every request's
        path: plain dict operations, an address's empty table is left for ``remove`` to clear."""
        mine = self.idle_by_client.get(conn.address)
        if not nothing:
            self.idle.pop(conn, None)
            if mine is not None:
                mine.pop(conn, None)
            return
        if conn not in self.all:
            return
        self.idle.pop(conn, None)
        self.idle[conn] = None
        if mine is None:
            mine = self.idle_by_client[conn.address] = {}
        else:
            mine.pop(conn, None)
        mine[conn] = None

    @staticmethod
    def _drop(table: dict[str, dict[GuardedProtocol, None]], conn: GuardedProtocol) -> None:
        mine = table.get(conn.address)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del table[conn.address]

    def make_room(self, conn: GuardedProtocol, limits: Limits) -> str | None:
        """Room for ``conn``, by closing the oldest connection that holds nothing (its own address's first); or
        the refusal's code when every connection in the way is serving a request."""
        if len(self.by_client.get(conn.address, ())) >= limits.max_per_client:
            mine = self.idle_by_client.get(conn.address)
            if not mine:
                return "TOO_MANY_CONNECTIONS"
            next(iter(mine)).evict()
        if len(self.all) >= limits.max_connections:
            if not self.idle:
                return "SERVER_BUSY"
            next(iter(self.idle)).evict()
        return None


class GuardedProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits] = _from_environment()
    registry: ClassVar[Registry] = Registry()

    address = ""
    phase = "new"  # idle | headers | body | active | closed
    since = 0.0
    sheddable = False
    _evictable = False
    # one timer per connection, moved lazily: a request on a busy connection changes a float, not the timer
    _deadline: float | None = None  # by when the connection must have made progress, or None (nothing due)
    _timer: asyncio.TimerHandle | None = None
    _timer_at = 0.0
    _body_deadline = 0.0

    # -- the connection -----------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.address = self.client[0] if self.client else ""
        refusal = self.registry.make_room(self, self.limits)
        if refusal is not None:
            self.phase = "closed"
            transport.write(_raw_error(429 if refusal == "TOO_MANY_CONNECTIONS" else 503, refusal))
            transport.close()
            return
        self.registry.add(self)
        self._enter("idle")
        self._due(self.since + self.limits.header_timeout)  # the first request's headers are due from here on

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.phase = "closed"
        self.registry.remove(self)
        super().connection_lost(exc)

    def holds_nothing(self) -> bool:
        return self.phase in ("idle", "headers", "body") or (self.phase == "active" and self.sheddable)

    def evict(self) -> None:
        self.registry.remove(self)
        self.phase = "closed"
        self._stop_timer()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _enter(self, phase: str) -> None:
        self.phase = phase
        self.since = self.loop.time()
        evictable = phase != "active" or self.sheddable
        if evictable is not self._evictable:  # its age as one that may make way runs from when it began to
            self._evictable = evictable      # hold nothing: a request's headers and body do not make it younger
            self.registry.holds(self, evictable)

    # -- the request ------------------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._enter("headers")
        if self._deadline is None:  # a new connection's first request keeps the deadline it had from the start
            self._due(self.since + self.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self.phase != "closed":  # the rest of a refused request is not parsed
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self._due(None)
        length, chunked = self._body_announced()
        if length > self.limits.max_body:  # refused from its Content-Length: not a byte of it is read
            self.transport.write(_raw_error(413, "BODY_TOO_LARGE"))
            self.evict()
            return
        super().on_headers_complete()
        if self.phase == "closed":
            return
        self.sheddable = str(self.scope.get("path", "")) in self.limits.sheddable
        if length or chunked:
            self._enter("body")
            self._body_deadline = self.since + self.limits.body_timeout + (
                (length if length else 1 << 20) / self.limits.body_min_rate)
            self._body_due()
        else:
            self._enter("active")

    def on_body(self, body: bytes) -> None:
        if self.phase == "closed":
            return
        super().on_body(body)
        if self.phase == "body":
            self._body_due()

    def on_message_complete(self) -> None:
        if self.phase == "closed":
            return
        super().on_message_complete()
        if self.phase == "body":
            self._due(None)
            self._enter("active")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.phase in ("active", "body"):
            self._due(None)
            self._enter("idle")  # uvicorn's keep-alive timeout runs from here

    def _body_announced(self) -> tuple[int, bool]:
        length, chunked = 0, False
        for name, value in self.headers or []:
            if name == b"content-length" and value.isdigit():
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        return length, chunked

    # -- timers ---------------------------------------------------------------------------------------------------
    def _due(self, at: float | None) -> None:
        """Progress is due by ``at`` (loop time), or nothing is due (None). The timer is only ever brought
        forward here; one that fires before the deadline moves itself on (``_check``)."""
        self._deadline = at
        if at is not None and (self._timer is None or self._timer_at > at):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = at
            self._timer = self.loop.call_at(at, self._check)

    def _body_due(self) -> None:
        """A body's next bytes are due within body_timeout, and the whole of it by its overall deadline."""
        self._due(min(self.loop.time() + self.limits.body_timeout, self._body_deadline))

    def _check(self) -> None:
        self._timer = None
        if self._deadline is None or self.phase == "closed":
            return
        if self.loop.time() < self._deadline:  # progress was made meanwhile: wait for the new deadline
            self._timer_at = self._deadline
            self._timer = self.loop.call_at(self._deadline, self._check)
            return
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _stop_timer(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """The options both services' ``serve`` share (defaults: Limits)."""
    d = Limits()
    parser.add_argument("--body-timeout", type=float, default=d.body_timeout,
                        help="seconds a request's body may pause (a slow or absent body is cut off)")
    parser.add_argument("--max-connections", type=int, default=d.max_connections,
                        help="open connections at most (per worker; never more than the open-file limit allows)")
    parser.add_argument("--max-per-client", type=int, default=d.max_per_client,
                        help="open connections from one address at most (its oldest idle one makes way)")


def limits_from_args(args: argparse.Namespace) -> Limits:
    return Limits(body_timeout=args.body_timeout, max_connections=max(1, args.max_connections),
                  max_per_client=max(1, args.max_per_client))


def run_options(limits: Limits) -> dict[str, Any]:
    """uvicorn.run's settings for these limits (each service adds its own: host, port, TLS, workers)."""
    fitted = configure(limits)
    return {"http": GuardedProtocol, "timeout_keep_alive": fitted.keep_alive, "ws": "none"}
