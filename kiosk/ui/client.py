"""The apps' client of the hall API, with a transport seam (as httpx has) so that screens can
be tested against a real hall service or a fake transport alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.domain.errors import KioskError

Transport = Callable[[str, str, dict[str, Any] | None, dict[str, str]], tuple[int, dict[str, Any]]]


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
    is trusted. Redirects are not followed: the hall never sends one, and one would lead the token elsewhere."""
    from kiosk.urls import check_url

    base = check_url(base, insecure=True).base()  # the plain-http rule is the caller's (it knows --insecure)
    session = requests.Session()
    session.max_redirects = 0

    def send(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            # verify per request: a session's own setting loses to REQUESTS_CA_BUNDLE in the environment
            r = session.request(method, base + path, json=body, headers=headers, timeout=timeout, verify=verify,
                                allow_redirects=False)
        except requests.RequestException:
            raise HallUnreachable(base) from None
        try:
            data = r.json()
        except ValueError:
            raise HallUnreachable(base) from None
        return r.status_code, data if isinstance(data, dict) else {"data": data}

    return send


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
