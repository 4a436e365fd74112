"""The one client of the hall's API: ``HallClient.send(request)`` takes a typed request
(kiosk/contract/requests.py) and sends it by the route table, so that the apps, the drill and the benches
never spell a path. The transport is a seam (kiosk/transport.py): a real hall over HTTP, or a fake in tests.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kiosk import transport
from kiosk.contract.routes import PHONE_STATUS, route_of
from kiosk.domain.errors import KioskError
from kiosk.transport import Transport


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body.get("error", {}))


class HallUnreachable(KioskError):
    """The hall service did not answer: the kiosk shows "please ask staff" and retries by itself."""


def http_transport(base: str, timeout: float = 5.0, verify: str | bool = True) -> Transport:
    """``base``: the hall's address as kiosk/urls.py checked and rebuilt it (a text that could be read as another
    host is refused there). ``verify``: the hall's CA file on https (received at enrolment), so only the real hall
    is trusted."""
    from kiosk.urls import check_url

    base = check_url(base, insecure=True).base()  # the plain-http rule is the caller's (it knows --insecure)
    return transport.http_transport(base, lambda _reason: HallUnreachable(base), timeout, verify)


def _wire(value: object) -> object:
    """A request's value as JSON: nested requests (an agent) as objects, absent fields left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _wire(v) for f in dataclasses.fields(value) if (v := getattr(value, f.name)) is not None}
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def request_path(request: object) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path with its parameters and query, JSON body) of a typed request, by the route table."""
    route = route_of(request)
    fields = dataclasses.fields(request)  # type: ignore[arg-type]
    values = {f.name: getattr(request, f.name) for f in fields}
    path = route.path
    rest: dict[str, Any] = {}
    for f in fields:
        if f.metadata.get("path"):
            path = path.replace("{" + f.name + "}", quote(str(values[f.name]), safe=""))
        elif values[f.name] is not None:
            rest[f.name] = _wire(values[f.name])
    if route.method == "GET":
        return "GET", path + ("?" + urlencode(rest) if rest else ""), None
    return "POST", path, rest


class HallClient:
    """A device's client: its token, and a clerk's session once signed in at a window."""

    def __init__(self, transport: Transport, token: str, session: str | None = None) -> None:
        self.transport = transport
        self.headers = {"Authorization": f"Bearer {token}"}
        if session:
            self.headers["X-Clerk-Session"] = session

    def with_session(self, session: str | None) -> HallClient:
        """The same device with a clerk's session (or none, after logout)."""
        return HallClient(self.transport, self.headers["Authorization"].removeprefix("Bearer "), session)

    def send(self, request: object, idempotency_key: str | None = None) -> Reply:
        method, path, body = request_path(request)
        headers = dict(self.headers)
        if method == "POST":
            # one key per citizen action: a double tap or a retry after a timeout never makes a second ticket
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        return Reply(*self.transport(method, path, body, headers))


def phone_status_path(code: str, after: int | None = None, wait: float | None = None) -> str:
    """The phone page's feed for the slip's signed code: what the page shows now, or (``after`` a seq it has,
    ``wait`` seconds) once something changed. The drill's phones and the benches follow slips by it."""
    query: dict[str, object] = {"c": code}
    if after is not None:
        query["after"] = after
    if wait is not None:
        query["wait"] = wait
    return PHONE_STATUS + "?" + urlencode(query)
