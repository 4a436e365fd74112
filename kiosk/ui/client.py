"""The apps' client of the hall API, with a transport seam (as httpx has) so that screens can
be tested against a real hall service or a fake transport alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from kiosk import transport
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


class HallClient:
    def __init__(self, transport: Transport, token: str) -> None:
        self.transport = transport
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Reply:
        return Reply(*self.transport("GET", path, None, self.headers))

    def post(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> Reply:
        headers = dict(self.headers)
        # one key per citizen action: a double tap or a retry after a timeout never makes a second ticket
        headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        return Reply(*self.transport("POST", path, body, headers))
