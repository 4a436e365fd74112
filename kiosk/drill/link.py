"""The drill's link to the hall: every device the drill plays (kiosks, windows, the duty desk, the board, the
citizens' phones) is a ``HallClient`` (kiosk/contract/client.py) that sends typed requests by the route table,
as the apps do. What is the drill's own is the transport under them: a connection pool per thread (kiosks,
windows, phones and padders play in threads of their own), a dropped connection tried again (with the same
Idempotency-Key, so a retried ticket is never a second ticket), and every answer timed for the report's p99.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.contract.client import HallClient, Reply, phone_status_path


@dataclass
class Tokens:
    kiosks: list[str]
    counters: dict[int, str]
    supervisor: str
    display: str
    clerks: dict[int, tuple[str, str]]  # window -> (clerk id, PIN)


class Api:
    """The hall API over HTTP for every device the drill plays; timings and failures kept for the report."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._local = threading.local()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()

    def client(self, token: str, session: str | None = None) -> HallClient:
        """One device (and a clerk's session at a window) on the drill's transport."""
        return HallClient(self.transport, token, session)

    def public(self) -> HallClient:
        """A caller without a token: a citizen's phone, or the drill reading the hall's clock from /health."""
        return HallClient(self.transport, "")

    def look(self, code: str) -> Reply:
        """What a citizen's phone page shows for the slip's code (the page's own feed, beside the API)."""
        return Reply(*self.transport("GET", phone_status_path(code), None, {}))

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "s"):
            self._local.s = requests.Session()
        s: requests.Session = self._local.s
        return s

    def transport(self, method: str, path: str, body: dict[str, Any] | None,
                  headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A kiosk/transport.py Transport that never raises: an unreachable hall answers 599 after three tries
        (the drill counts it and plays on, as a kiosk would show "ask staff")."""
        for attempt in range(3):
            t0 = time.perf_counter()
            try:
                r = self._session().request(method, self.url + path, json=body if method == "POST" else None,
                                            headers=headers, timeout=30, allow_redirects=False)
            except requests.RequestException as exc:
                self.errors[type(exc).__name__] += 1
                if attempt == 2:
                    return 599, {"error": {"code": "UNREACHABLE"}}
                continue
            self.latencies.append(time.perf_counter() - t0)
            if r.status_code >= 500:
                self.errors[f"HTTP {r.status_code}"] += 1
            try:
                data = r.json()
            except ValueError:
                return r.status_code, {}
            return r.status_code, data if isinstance(data, dict) else {"data": data}
        return 599, {}
