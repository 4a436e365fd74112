"""Sync: the hall's committed events go to the central ledger in order, in signed batches, once.

The ledger's head is the truth about what it holds: the pusher starts from it (after a restart of
either side) and sends from the next seq; a retried batch the ledger already has is "accepted 0",
never a duplicate. Which refusals are final is explicit (FINAL below, as hall-api.md says): then the
pusher stops and says why, rather than skipping an event. Everything else is retried with backoff,
for days if need be; the hall keeps working meanwhile.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.domain import signing
from kiosk.domain.errors import KioskError
from kiosk.domain.events import GENESIS
from kiosk.transport import Transport, http_transport

log = logging.getLogger("kiosk.sync")


class Outbox(Protocol):
    """What sync needs of a hall: its committed events in order, and a place to note what the ledger holds.
    The hall's store is one (kiosk/store/db.py); sync knows nothing else of the hall."""

    def last_seq(self) -> int: ...

    def events_after(self, after: int, limit: int) -> list[dict[str, Any]]: ...

    def mark_synced(self, seq: int) -> None: ...


class SyncRetry(KioskError):
    """Network trouble, a 5xx, a gap: try again later."""


@dataclass  # not frozen: raising sets __traceback__
class SyncStopped(KioskError):
    """A final refusal (hall-api.md: 409 CHAIN_FORK, 422, 401/403): a person must look."""

    code: str
    message: str


def is_final(status: int, code: str) -> bool:
    return status in (401, 403, 422) or (status == 409 and code == "CHAIN_FORK")


def ledger_transport(url: str, verify: str | bool = True) -> Transport:
    """``verify``: a CA file to check the ledger's certificate against (the province's or a test's CA)."""
    return http_transport(url, SyncRetry, timeout=30.0, verify=verify)


def saved_target(data: Path) -> dict[str, Any] | None:
    path = data / "secrets" / "ledger.json"
    return json.loads(path.read_text()) if path.exists() else None


def save_target(data: Path, url: str, token: str, batch: int = 1000, ca: str | None = None,
                insecure: bool = False) -> None:
    from kiosk.files import write_private

    target = {"url": url.rstrip("/"), "token": token, "batch": batch, "ca": str(Path(ca).resolve()) if ca else None,
              "insecure": insecure}
    write_private(data / "secrets" / "ledger.json", json.dumps(target).encode())


class Pusher:
    """One hall's outbox to the ledger at ``url``: ``key`` signs each batch (kiosk.domain.signing)."""

    def __init__(self, outbox: Outbox, hall: str, key: Ed25519PrivateKey, url: str, token: str, batch: int = 1000,
                 verify: str | bool = True, transport: Transport | None = None) -> None:
        """``verify``: a CA file for the ledger's certificate; ``transport``: a fake in tests."""
        from kiosk.urls import check_url

        self.url = check_url(url, insecure=True).base()  # connect to the address as checked (kiosk/urls.py)
        self.hall = hall
        self.headers = {"Authorization": f"Bearer {token}"}
        self.batch = batch
        self.transport = transport or ledger_transport(self.url, verify)
        self.key = key
        self.outbox = outbox
        self.synced: int | None = None  # what the ledger holds, as last learned from it
        self.stopped: SyncStopped | None = None
        self.backoff: Callable[[], Backoff] = Backoff  # tests pass a seeded or faster one

    def local_head(self) -> int:
        return self.outbox.last_seq()

    def _record(self, seq: int) -> None:
        self.synced = seq
        self.outbox.mark_synced(seq)

    def learn_head(self) -> int:
        """The ledger's head, checked against our own chain (a different hash there is a fork: final)."""
        status, body = self.transport("GET", f"/api/v1/halls/{self.hall}/head", None, self.headers)
        if status != 200:
            code = body.get("error", {}).get("code", "") if isinstance(body.get("error"), dict) else ""
            if is_final(status, code):
                raise SyncStopped(code or f"HTTP_{status}", body.get("error", {}).get("message", ""))
            raise SyncRetry(f"head: HTTP {status}")
        seq, digest = int(body["seq"]), str(body["hash"])
        if seq > self.local_head():
            raise SyncStopped("LEDGER_AHEAD", f"账本已有 {seq} 个事件，多于本厅的 {self.local_head()} 个：数据目录可能被替换。")
        if seq and self.outbox.events_after(seq - 1, 1)[0]["hash"] != digest:
            raise SyncStopped("CHAIN_FORK", f"账本中第 {seq} 个事件与本厅不同。")
        if seq == 0 and digest not in (GENESIS, ""):
            raise SyncStopped("CHAIN_FORK", "账本的链头与本厅不符。")
        self._record(seq)
        return seq

    def push_once(self) -> int:
        """One batch after what the ledger holds; the number of events it newly accepted."""
        if self.synced is None:
            self.learn_head()
        assert self.synced is not None
        events = self.outbox.events_after(self.synced, self.batch)
        if not events:
            return 0
        body = {"hall": self.hall, "events": events, "signature": signing.sign_batch(self.key, self.hall, events)}
        status, reply = self.transport("POST", f"/api/v1/halls/{self.hall}/batches", body, self.headers)
        raw_error = reply.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        code = str(error.get("code", ""))
        if status == 200:
            self._record(int(reply["head_seq"]))
            return int(reply.get("accepted", 0))
        if is_final(status, code):
            raise SyncStopped(code or f"HTTP_{status}", str(error.get("message", "")))
        if status == 409 and code == "CHAIN_GAP":
            self.synced = None  # learn the head again and continue from there
        raise SyncRetry(f"HTTP {status} {code}")

    def catch_up(self, progress: Callable[[int, int], None] | None = None, deadline: float | None = None) -> bool:
        """Push until the ledger holds everything committed now; False on a deadline. Retries with backoff."""
        return self._drive(threading.Event(), self.local_head(), deadline, progress)

    def run(self, stop: threading.Event, idle: float = 2.0) -> None:
        """The hall service's background worker: push whenever there is something, back off on trouble."""
        try:
            self._drive(stop, None, None, None, idle)
        except SyncStopped as exc:
            self.stopped = exc
            log.error("sync stopped: %s %s", exc.code, exc.message)

    def _drive(self, stop: threading.Event, target: int | None, deadline: float | None,
               progress: Callable[[int, int], None] | None, idle: float = 0.0) -> bool:
        """The one push loop, for a catch-up (``target``: stop there) and for the background worker (no target).
        A retry waits per ``self.backoff``; SyncStopped (final) goes to the caller."""
        backoff = self.backoff()
        while not stop.is_set():
            try:
                sent = self.push_once()
                backoff.reset()
                goal = self.local_head() if target is None else target
                if progress is not None and self.synced is not None:
                    progress(self.synced, goal)
                if self.synced is not None and self.synced >= goal:
                    if target is not None:
                        return True
                    if not sent:
                        stop.wait(idle)
            except SyncRetry as exc:
                delay = backoff.next()
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                log.info("sync retry in %.1fs: %s", delay, exc)
                stop.wait(delay)
        return False


@dataclass
class Backoff:
    """Exponential backoff with jitter: after the n-th failure in a row, a wait drawn from
    [ceiling/2, ceiling], ceiling = min(cap, base * 2^n). The jitter matters at the province's scale:
    when the ledger comes back after an outage, a thousand halls must not all reconnect in the same second."""

    base: float = 0.5
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (1 << min(self.failures, 30)))
        self.failures += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
