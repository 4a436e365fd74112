"""The one seam between a client of the product's HTTP services and the network (as httpx has a transport):
the apps, the drill and the benches speak to the hall through it, sync speaks to the ledger through it, and
tests put a fake in its place.

A transport takes (method, path, JSON body or None, headers) and answers (status, JSON object). It never
follows a redirect: a redirect would carry a device's or a hall's token to an address nobody checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

Transport = Callable[[str, str, dict[str, Any] | None, dict[str, str]], tuple[int, dict[str, Any]]]


def http_transport(base: str, unreachable: Callable[[str], Exception], timeout: float = 5.0,
                   verify: str | bool = True) -> Transport:
    """Requests to ``base`` + path on one kept-alive session. ``unreachable(reason)`` is the error a caller
    expects when the service does not answer or answers without JSON (the kiosk shows "ask staff", sync
    retries later). ``verify``: a CA file to check the server's certificate against (received at enrolment,
    or the province's), or True for the system's."""
    session = requests.Session()

    def send(method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            # verify per request: a session's own setting loses to REQUESTS_CA_BUNDLE in the environment
            r = session.request(method, base + path, json=body, headers=headers, timeout=timeout, verify=verify,
                                allow_redirects=False)
        except requests.RequestException as exc:
            raise unreachable(f"network: {type(exc).__name__}") from None
        try:
            data = r.json()
        except ValueError:
            raise unreachable(f"HTTP {r.status_code} without JSON") from None
        return r.status_code, data if isinstance(data, dict) else {"data": data}

    return send
