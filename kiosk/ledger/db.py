"""The ledger's storage: PostgreSQL in production, SQLite for a one-machine trial, one schema.

Events are partitioned by hall (PostgreSQL: LIST partitions, one per registered hall, made at
registration), so one hall's chain is one table, and the same schema distributes by hall id
(docs/ledger.md). Queries are written once with ``?`` placeholders.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiosk.ledger import rollups

SCHEMA = """
CREATE TABLE IF NOT EXISTS halls (id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL,
    public_key TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, registered_at TEXT NOT NULL,
    head_seq BIGINT NOT NULL DEFAULT 0, head_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (id {serial} PRIMARY KEY, hall TEXT NOT NULL, at TEXT NOT NULL, code TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (hall TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
    at TEXT NOT NULL, device TEXT, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
    received_at TEXT NOT NULL, PRIMARY KEY (hall, seq)){partitioned};
CREATE TABLE IF NOT EXISTS ratings (hall TEXT NOT NULL, day TEXT NOT NULL, number TEXT NOT NULL, level INTEGER NOT NULL,
    win INTEGER, clerk_id TEXT, business TEXT, source TEXT, at TEXT NOT NULL, bad INTEGER NOT NULL,
    deadline TEXT, followup TEXT, closed_at TEXT, note TEXT, PRIMARY KEY (hall, day, number));
CREATE TABLE IF NOT EXISTS matters (hall TEXT NOT NULL, number TEXT NOT NULL, category TEXT NOT NULL,
    status TEXT NOT NULL, opened_at TEXT NOT NULL, deadline TEXT NOT NULL, owner TEXT, escalated INTEGER NOT NULL,
    history TEXT NOT NULL, PRIMARY KEY (hall, number));
CREATE TABLE IF NOT EXISTS exceptions (hall TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
    win INTEGER, clerk_id TEXT, ticket TEXT, reason TEXT, PRIMARY KEY (hall, seq));
CREATE TABLE IF NOT EXISTS issues (hall TEXT NOT NULL, seq BIGINT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL,
    holder TEXT NOT NULL, agent INTEGER NOT NULL, principals INTEGER NOT NULL, PRIMARY KEY (hall, seq));
CREATE INDEX IF NOT EXISTS issues_holder ON issues (holder, day);
CREATE INDEX IF NOT EXISTS ratings_at ON ratings (at);
CREATE TABLE IF NOT EXISTS cases (hall TEXT NOT NULL, number TEXT NOT NULL, ticket TEXT NOT NULL, day TEXT NOT NULL,
    PRIMARY KEY (hall, number));
"""

# Forward-only, in order; a released migration is never edited (add the next one instead). Version 1 is the
# schema the ledger shipped with before it was versioned (hence IF NOT EXISTS: such a ledger is at version 1).
MIGRATIONS: list[str | Callable[[LedgerDB, Any], None]] = [
    SCHEMA,
    # 2: people sign in to the dashboard (no token in a URL); sessions with their CSRF token; and every read
    #    of pages that show identities or contacts leaves a trace (who, when, what, from where)
    """
    CREATE TABLE users (login TEXT PRIMARY KEY, role TEXT NOT NULL, region TEXT NOT NULL, pw_hash TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL);
    CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL);
    CREATE TABLE reads (id {serial} PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, via TEXT NOT NULL,
        what TEXT NOT NULL, detail TEXT NOT NULL);
    CREATE INDEX reads_at ON reads (at)
    """,
    # 3: every credential can be withdrawn (a supervisor token is marked revoked, a hall's token replaced), and
    #    sign-in failures are counted per login, known or not, under a hash of the login: an unknown login
    #    locks like a known one, so that the answers cannot tell which logins exist
    """
    ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
    CREATE TABLE sign_in_failures (login_hash TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT)
    """,
    # 4: what supervisors act on, kept at ingest (kiosk/ledger/rollups.py): per hall and day, per window, clerk
    #    and business, and the wait histogram per business (a column per bucket); ratings' appeals (申诉) and
    #    matters' closing time; bookings, kiosk bursts and the halls' reads as facts; ticket holders seen more than
    #    once a day (per hall), recounted from marked days.
    #    Rollup keys start with the day (most reads are a period across halls); hall is in every key (Citus).
    """
    ALTER TABLE ratings ADD COLUMN appeal TEXT;
    ALTER TABLE ratings ADD COLUMN reasons TEXT;
    ALTER TABLE matters ADD COLUMN closed_at TEXT;
    CREATE TABLE appeals (hall TEXT NOT NULL, seq BIGINT NOT NULL, day TEXT NOT NULL, number TEXT NOT NULL,
        at TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, by_whom TEXT, PRIMARY KEY (hall, seq));
    CREATE INDEX appeals_rating ON appeals (hall, day, number);
    CREATE TABLE bookings (hall TEXT NOT NULL, seq BIGINT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL, device TEXT,
        business TEXT, holder TEXT NOT NULL, entry TEXT, refused TEXT, PRIMARY KEY (hall, seq));
    CREATE INDEX bookings_day ON bookings (day);
    CREATE TABLE bursts (hall TEXT NOT NULL, seq BIGINT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL, device TEXT,
        via TEXT, PRIMARY KEY (hall, seq));
    CREATE INDEX bursts_day ON bursts (day);
    CREATE TABLE hall_reads (hall TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, device TEXT, what TEXT,
        PRIMARY KEY (hall, seq));
    CREATE INDEX hall_reads_at ON hall_reads (at);
    CREATE INDEX exceptions_at ON exceptions (at);
    CREATE INDEX cases_ticket ON cases (hall, day, ticket);
    CREATE INDEX matters_opened ON matters (opened_at);
    CREATE INDEX matters_closed ON matters (closed_at);
    CREATE INDEX ratings_open_followups ON ratings (deadline) WHERE followup = 'opened';
    CREATE INDEX ratings_appealed ON ratings (day) WHERE appeal IS NOT NULL;
    CREATE INDEX ratings_bad ON ratings (day) WHERE bad = 1;
    DROP INDEX issues_holder;
    CREATE INDEX issues_day ON issues (day, holder);
    CREATE TABLE roll_days (day TEXT NOT NULL, hall TEXT NOT NULL, week TEXT NOT NULL, month TEXT NOT NULL,
        services BIGINT NOT NULL, rated BIGINT NOT NULL, level_sum BIGINT NOT NULL, bad BIGINT NOT NULL,
        ontime BIGINT NOT NULL, late BIGINT NOT NULL, overturned BIGINT NOT NULL, called BIGINT NOT NULL,
        wait_tenths BIGINT NOT NULL, over60 BIGINT NOT NULL, PRIMARY KEY (day, hall));
    CREATE TABLE roll_units (day TEXT NOT NULL, hall TEXT NOT NULL, win INTEGER NOT NULL, clerk TEXT NOT NULL,
        business TEXT NOT NULL, services BIGINT NOT NULL, rated BIGINT NOT NULL, level_sum BIGINT NOT NULL,
        bad BIGINT NOT NULL, ontime BIGINT NOT NULL, late BIGINT NOT NULL, overturned BIGINT NOT NULL,
        PRIMARY KEY (day, hall, win, clerk, business));
    CREATE TABLE roll_waits (day TEXT NOT NULL, hall TEXT NOT NULL, business TEXT NOT NULL, {waits},
        PRIMARY KEY (day, hall, business));
    CREATE TABLE issue_marks (day TEXT NOT NULL, hall TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (day, hall));
    CREATE TABLE holder_flags (day TEXT NOT NULL, holder TEXT NOT NULL, hall TEXT NOT NULL, tickets BIGINT NOT NULL,
        agent_tickets BIGINT NOT NULL, principals BIGINT NOT NULL, PRIMARY KEY (day, holder, hall))
    """,
    # 5: the rollups and facts of what an older ledger already holds, as ingest would have left them
    rollups.backfill,
]


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

    def migrate(self, upto: int | None = None) -> int:
        """Forward-only migrations, each in one transaction with the version it reaches, so that a province's
        running ledger can take a new column without losing a byte. Several ledger workers starting at once
        take turns (SQLite's write lock, a PostgreSQL advisory lock). Returns the version reached."""
        serial = "INTEGER" if self.kind == "sqlite" else "BIGSERIAL"
        partitioned = "" if self.kind == "sqlite" else " PARTITION BY LIST (hall)"
        last = len(MIGRATIONS) if upto is None else upto
        with self.transaction() as conn:
            if self.kind == "postgres":
                conn.execute("SELECT pg_advisory_xact_lock(87000)")
            current = self.version()
            for number in range(current + 1, last + 1):
                step = MIGRATIONS[number - 1]
                if callable(step):  # a data migration: it reads what the schema steps before it left
                    step(self, conn)
                    continue
                script = step.format(serial=serial, partitioned=partitioned, waits=rollups.WAIT_COLUMNS_SQL)
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
            if last > current:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                conn.execute("DELETE FROM schema_version")
                conn.execute(self.sql("INSERT INTO schema_version (version) VALUES (?)"), (last,))
            return max(current, last)

    def add_partition(self, conn: Any, hall: str) -> None:
        if self.kind == "postgres":
            name = "events_" + re.sub(r"[^a-z0-9_]", "_", hall.lower())
            literal = hall.replace("'", "''")
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF events FOR VALUES IN (\'{literal}\')')
