"""SQLite for one hall: WAL, synchronous=FULL, and one writer thread with group commit.

Every state change runs on the writer thread inside a SAVEPOINT of a shared
transaction, together with the events it appends (the outbox); one COMMIT (one fsync)
then makes a whole group durable. A change that finds the writer idle with nothing
queued may be committed alone on its caller's thread instead (``write_now``): one at a
time either way, under one lock. A caller learns its result only after that commit,
so a client is never told about a ticket that a crash could take back. A change that
raises is rolled back to its savepoint alone, and the chain head with it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kiosk.domain.errors import KioskError
from kiosk.domain.events import GENESIS, canonical_json, event_hash_canonical
from kiosk.files import private_database
from kiosk.store.schema import MIGRATIONS

T = TypeVar("T")
log = logging.getLogger("kiosk.store")
MAX_GROUP = 256


class StoreUnavailable(KioskError):
    """The database could not commit (disk full, I/O error): nothing of the group was kept."""


def connect(path: Path | str, synchronous: str = "FULL") -> sqlite3.Connection:
    if str(path) != ":memory:":
        private_database(Path(path))  # 0600, and so its -wal and -shm (kiosk/files.py)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _statements(script: str) -> list[str]:
    """Split a migration into statements; trigger bodies contain ';' so split where SQLite says one ends."""
    out: list[str] = []
    current = ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                out.append(current)
            current = ""
    return out


def migrate(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version


@dataclass
class ChainHead:
    seq: int
    hash: str


def event_id() -> str:
    """A random (version 4) UUID's text, as ``str(uuid.uuid4())`` writes it, without the UUID object between
    the sixteen random bytes and the text: every event takes one, and the object was most of its cost."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class Tx:
    """What a change sees: the connection inside its savepoint, and the outbox."""

    def __init__(self, conn: sqlite3.Connection, head: ChainHead) -> None:
        self.conn = conn
        self.head = head
        self.new_events = 0

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def emit(self, type_: str, at: str, device: str | None, payload: dict[str, Any]) -> int:
        seq = self.head.seq + 1
        eid = event_id()
        text = canonical_json(payload)  # serialised once: the hash's form is the stored form
        h = event_hash_canonical(self.head.hash, seq, eid, type_, at, device, text)
        self.conn.execute(
            "INSERT INTO events (seq, id, type, at, device, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
            (seq, eid, type_, at, device, text, self.head.hash, h),
        )
        self.head = ChainHead(seq, h)
        self.new_events += 1
        return seq


def _read_head(conn: sqlite3.Connection) -> ChainHead:
    row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return ChainHead(row[0], row[1]) if row else ChainHead(0, GENESIS)


class Store:
    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._conn = connect(self.path, synchronous)
        migrate(self._conn)
        self._local = threading.local()
        self._queue: queue.SimpleQueue[tuple[Callable[[Tx], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._listeners: list[Callable[[int], None]] = []
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._committing = threading.Lock()  # held by whichever thread runs a group: the writer, or a caller

    # -- reading -------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.synchronous)
            self._local.conn = conn
        return conn

    def head(self) -> ChainHead:
        return _read_head(self.reader())

    # -- the outbox: what sync reads and records, and nothing else of the hall -----------------------
    def events_after(self, after: int, limit: int, types: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Committed events after ``after``, in order, as the contract shows them; only of ``types`` if given."""
        kinds = f" AND type IN ({','.join('?' * len(types))})" if types else ""
        rows = self.reader().execute(f"SELECT * FROM events WHERE seq>?{kinds} ORDER BY seq LIMIT ?",
                                     (after, *(types or ()), limit)).fetchall()
        return [{"seq": r["seq"], "id": r["id"], "type": r["type"], "at": r["at"], "device": r["device"],
                 "payload": json.loads(r["payload"]), "prev_hash": r["prev_hash"], "hash": r["hash"]} for r in rows]

    def last_seq(self) -> int:
        return int(self.reader().execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def synced_seq(self) -> int:
        row = self.reader().execute("SELECT value FROM meta WHERE key='synced_seq'").fetchone()
        return int(row[0]) if row else 0

    def mark_synced(self, seq: int) -> None:
        """What the ledger holds, as last learned from it; kept so that /health can say what is pending."""

        def change(tx: Tx) -> None:
            tx.execute("INSERT INTO meta (key, value) VALUES ('synced_seq', ?) ON CONFLICT(key) DO UPDATE SET "
                       "value=excluded.value", (str(seq),))

        self.write(change)

    def pending(self) -> int:
        return self.last_seq() - self.synced_seq()

    # -- writing -------------------------------------------------------------
    def on_commit(self, listener: Callable[[int], None]) -> None:
        """``listener(head_seq)`` runs on the committing thread (the writer's, or a ``write_now`` caller's) after
        each commit with new events."""
        self._listeners.append(listener)

    def submit(self, change: Callable[[Tx], T]) -> Future[T]:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hall-writer", daemon=True)
                self._thread.start()
        future: Future[T] = Future()
        self._queue.put((change, future))
        return future

    def write(self, change: Callable[[Tx], T]) -> T:
        return self.submit(change).result()

    def write_now(self, change: Callable[[Tx], T]) -> Future[T] | None:
        """Commit ``change`` on the calling thread, alone, if the writer is idle and nothing waits for it; None
        if not (then :meth:`submit` it). A quiet hall's one request is spared the two hand-overs between
        threads (about 85 µs on the hall's two cores); under load every change still waits its turn in a group,
        so that one fsync serves many."""
        if not self._committing.acquire(blocking=False):
            return None
        try:
            if not self._queue.empty():
                return None
            future: Future[T] = Future()
            self._commit_group([(change, future)])
            return future
        finally:
            self._committing.release()

    def close(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None
        with self._committing:
            self._conn.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                group.append(nxt)
            with self._committing:
                self._commit_group(group)

    def _commit_group(self, group: list[tuple[Callable[[Tx], Any], Future[Any]]]) -> None:
        conn = self._conn
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        new_events = 0
        # a change alone in its group (every request when the hall is quiet) needs no savepoint: the whole
        # transaction is its own, and ROLLBACK undoes it as ROLLBACK TO would, two statements fewer
        alone = len(group) == 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            head = _read_head(conn)
            for change, future in group:
                if not future.set_running_or_notify_cancel():
                    continue
                if not alone:
                    conn.execute("SAVEPOINT change")
                tx = Tx(conn, head)
                try:
                    result = change(tx)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    if alone:
                        conn.execute("ROLLBACK")
                    else:
                        conn.execute("ROLLBACK TO change")
                        conn.execute("RELEASE change")
                    outcomes.append((future, None, exc))
                    continue
                if not alone:
                    conn.execute("RELEASE change")
                head = tx.head
                new_events += tx.new_events
                outcomes.append((future, result, None))
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed: %s", exc.__class__.__name__)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            failure = StoreUnavailable(str(exc))
            for _change, future in group:
                if not future.done():
                    if not future.running():
                        future.set_running_or_notify_cancel()
                    future.set_exception(failure)
            return
        for future, result, error in outcomes:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        if new_events:
            for listener in self._listeners:
                try:
                    listener(head.seq)
                except Exception:  # a listener must never stop the writer
                    log.exception("commit listener failed")
