"""The ledger's storage: PostgreSQL in production, SQLite for a one-machine trial, one schema.

Events are partitioned by hall (PostgreSQL: LIST partitions, one per registered hall, made at
registration), so one hall's chain is one table, and the same schema distributes by hall id
(docs/ledger.md). Queries are written once with ``?`` placeholders.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class LedgerDB:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            self.path = Path(url.removeprefix("sqlite:///"))
        elif url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgres"
        else:
            raise ValueError("账本数据库应为 postgresql://… 或 sqlite:///路径 / --db must be postgresql://… or sqlite:///PATH")
        self._local = threading.local()
        self._sqlite_write = threading.Lock()

    # -- connections -------------------------------------------------------------------------------------
    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.kind == "sqlite":
                from kiosk.files import private_database, private_dir

                private_dir(self.path.parent, tighten=False)  # a folder made here is 0700; the file is 0600
                private_database(self.path)
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            else:
                import psycopg

                conn = psycopg.connect(self.url, autocommit=True)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def sql(self, text: str) -> str:
        return text if self.kind == "sqlite" else re.sub(r"\?", "%s", text)

    def all(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn().execute(self.sql(text), params)
        return list(cur.fetchall())

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = self.all(text, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One writer per hall at a time: SQLite takes its write lock at BEGIN, PostgreSQL locks the hall's row."""
        conn = self.conn()
        if self.kind == "sqlite":
            with self._sqlite_write:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield conn

    @contextmanager
    def pipeline(self, conn: Any) -> Iterator[None]:
        """PostgreSQL's pipeline mode: the statements inside go out together and their answers come back
        together, one round trip where each would wait for its own (a reading statement still waits). COPY
        cannot run in it, so the events go before."""
        if self.kind == "sqlite":
            yield
            return
        with conn.pipeline():
            yield

    def execute(self, conn: Any, text: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self.sql(text), params)

    def executemany(self, conn: Any, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            conn.executemany(text, rows)
        else:
            with conn.cursor() as cur:
                cur.executemany(self.sql(text), rows)

    def insert_returning(self, conn: Any, text: str, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """What an ``INSERT … ON CONFLICT DO NOTHING RETURNING …`` stored, row by row: the rows it skipped return
        nothing. One round trip on PostgreSQL (psycopg's executemany with returning)."""
        out: list[tuple[Any, ...]] = []
        if self.kind == "sqlite":
            for row in rows:
                out.extend(conn.execute(text, row).fetchall())
            return out
        with conn.cursor() as cur:
            cur.executemany(self.sql(text), rows, returning=True)
            while True:
                out.extend(cur.fetchall())
                if not cur.nextset():
                    return out

    def copy_events(self, conn: Any, rows: list[Sequence[Any]]) -> None:
        """Bulk insert of new events: COPY on PostgreSQL (the ingest's hot path), executemany on SQLite."""
        if self.kind == "sqlite":
            conn.executemany("INSERT INTO events (hall, seq, id, type, at, device, payload, prev_hash, hash, received_at)"
                             " VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            return
        with conn.cursor() as cur, cur.copy("COPY events (hall, seq, id, type, at, device, payload, prev_hash, hash, "
                                            "received_at) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    # -- schema -------------------------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        conn = self.conn()
        if self.kind == "sqlite":
            return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None
        return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None

    def version(self) -> int:
        """The schema version this database is at (0: empty). A ledger from before versioning has the tables
        of version 1 and no schema_version table."""
        if self.has_table("schema_version"):
            row = self.conn().execute("SELECT version FROM schema_version").fetchone()
            if row is not None:
                return int(row[0])
        return 1 if self.has_table("halls") else 0

    def add_partition(self, conn: Any, hall: str) -> None:
        if self.kind == "postgres":
            name = "events_" + re.sub(r"[^a-z0-9_]", "_", hall.lower())
            literal = hall.replace("'", "''")
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF events FOR VALUES IN (\'{literal}\')')
