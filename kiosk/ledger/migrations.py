"""The ledger's schema and its forward-only migrations, with the data migration that fills the rollups of what
an older ledger already holds. Apart from the connection layer (db.py) because that migration replays stored
events through ingest's own code (facts.py, rollups.py), which themselves stand on the connection layer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kiosk.ledger import facts, rollups
from kiosk.ledger.db import LedgerDB

# -- an older ledger's rollups, as ingest would have left them -------------------------------------------------
REPLAYED = ("service.finished", "ticket.called", "booking.created", "booking.refused", "kiosk.burst", "data.read")


def backfill(db: LedgerDB, conn: Any) -> None:
    """Migration 4: the rollups, bookings and bursts of everything an older ledger already holds. Events whose
    facts are new are replayed through ingest's own code; ratings are counted by the same vector as ingest."""
    halls = [str(r[0]) for r in db.execute(conn, "SELECT id FROM halls ORDER BY id").fetchall()]
    for hall in halls:
        tally = rollups.Tally()
        for row in db.execute(conn, "SELECT day, win, clerk_id, business, level, bad, followup, closed_at, deadline, "
                                    "appeal FROM ratings WHERE hall=?", (hall,)).fetchall():
            f = dict(zip(("day", "win", "clerk_id", "business", "level", "bad", "followup", "closed_at", "deadline",
                          "appeal"), row, strict=True))
            tally.rating(rollups.unit_key(f["day"], f["win"], f["clerk_id"], f["business"]), rollups.ZERO, rollups.vector_of(f))
        after, head = 0, 0
        while True:
            marks = ",".join("?" * len(REPLAYED))
            page = db.execute(conn, f"SELECT seq, type, at, device, payload FROM events WHERE hall=? AND seq>? AND type IN "
                                    f"({marks}) ORDER BY seq LIMIT 5000", (hall, after, *REPLAYED)).fetchall()
            if not page:
                break
            events = [{"seq": int(r[0]), "type": r[1], "at": r[2], "device": r[3], "payload": json.loads(r[4])} for r in page]
            facts.replay(db, conn, hall, events, tally)
            after = head = events[-1]["seq"]
        for (day,) in db.execute(conn, "SELECT DISTINCT day FROM issues WHERE hall=?", (hall,)).fetchall():
            tally.issued(str(day))
        tally.write(db, conn, hall, head)
        for number, history in db.execute(conn, "SELECT number, history FROM matters WHERE hall=? AND status='closed'",
                                          (hall,)).fetchall():
            closed = [h["at"] for h in json.loads(history) if h.get("status") == "closed"]
            if closed:
                db.execute(conn, "UPDATE matters SET closed_at=? WHERE hall=? AND number=?", (closed[-1], hall, number))




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
    backfill,
]


def migrate(db: LedgerDB, upto: int | None = None) -> int:
    """Forward-only migrations, each in one transaction with the version it reaches, so that a province's
    running ledger can take a new column without losing a byte. Several ledger workers starting at once
    take turns (SQLite's write lock, a PostgreSQL advisory lock). Returns the version reached."""
    serial = "INTEGER" if db.kind == "sqlite" else "BIGSERIAL"
    partitioned = "" if db.kind == "sqlite" else " PARTITION BY LIST (hall)"
    last = len(MIGRATIONS) if upto is None else upto
    with db.transaction() as conn:
        if db.kind == "postgres":
            conn.execute("SELECT pg_advisory_xact_lock(87000)")
        current = db.version()
        for number in range(current + 1, last + 1):
            step = MIGRATIONS[number - 1]
            if callable(step):  # a data migration: it reads what the schema steps before it left
                step(db, conn)
                continue
            script = step.format(serial=serial, partitioned=partitioned, waits=rollups.WAIT_COLUMNS_SQL)
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
        if last > current:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute(db.sql("INSERT INTO schema_version (version) VALUES (?)"), (last,))
        return max(current, last)
