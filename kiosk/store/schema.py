"""Migrations, applied in order; ``PRAGMA user_version`` records how far a database is."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, at TEXT NOT NULL,
        device TEXT, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE TABLE devices (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
        enrolled_at TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE clerks (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, pin_hash TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT, active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY, clerk_id TEXT NOT NULL, window INTEGER NOT NULL, created_at TEXT NOT NULL,
        expires_epoch REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE counters (day TEXT NOT NULL, business TEXT NOT NULL, last INTEGER NOT NULL,
        PRIMARY KEY (day, business));
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY, day TEXT NOT NULL, number TEXT NOT NULL, business TEXT NOT NULL,
        issued_business TEXT NOT NULL, holder_hash TEXT NOT NULL, holder_masked TEXT NOT NULL,
        name_masked TEXT NOT NULL, is_agent INTEGER NOT NULL DEFAULT 0, channel TEXT NOT NULL,
        priority TEXT, state TEXT NOT NULL, issued_at TEXT NOT NULL, issued_epoch REAL NOT NULL,
        device TEXT, window INTEGER, target_window INTEGER, calls INTEGER NOT NULL DEFAULT 0,
        called_at TEXT, started_at TEXT, started_epoch REAL, finished_at TEXT, finished_epoch REAL,
        clerk_id TEXT, identity_checked INTEGER, reprints INTEGER NOT NULL DEFAULT 0, appointment_id TEXT,
        UNIQUE (day, number)
    );
    CREATE INDEX tickets_holder ON tickets (day, holder_hash);
    CREATE INDEX tickets_state ON tickets (day, business, state, priority, id);
    CREATE INDEX tickets_device ON tickets (device, issued_epoch);
    CREATE TABLE ticket_principals (
        ticket_id INTEGER NOT NULL, day TEXT NOT NULL, principal_hash TEXT NOT NULL,
        principal_masked TEXT NOT NULL, business TEXT NOT NULL
    );
    CREATE INDEX principals_day ON ticket_principals (day, principal_hash);
    CREATE TABLE agent_principals (day TEXT NOT NULL, agent_hash TEXT NOT NULL, principal_hash TEXT NOT NULL,
        PRIMARY KEY (day, agent_hash, principal_hash));
    CREATE TABLE no_shows (day TEXT NOT NULL, holder_hash TEXT NOT NULL, at_epoch REAL NOT NULL);
    CREATE INDEX no_shows_holder ON no_shows (day, holder_hash);
    CREATE TABLE blocklist (holder_hash TEXT PRIMARY KEY, masked TEXT NOT NULL, reason TEXT NOT NULL,
        added_at TEXT NOT NULL);
    CREATE TABLE windows (number INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'closed', clerk_id TEXT,
        current_ticket INTEGER, pause_reason TEXT, priority_streak INTEGER NOT NULL DEFAULT 0,
        day TEXT);
    CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL,
        window INTEGER, clerk_id TEXT, device TEXT, ticket TEXT, reason TEXT, detail TEXT NOT NULL);
    CREATE INDEX audit_day ON audit (day, kind);
    CREATE TABLE notices (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, ticket_id INTEGER NOT NULL,
        case_key TEXT NOT NULL, missing TEXT NOT NULL, window INTEGER, clerk_id TEXT, at TEXT NOT NULL,
        at_epoch REAL NOT NULL, repeat INTEGER NOT NULL);
    CREATE INDEX notices_case ON notices (case_key);
    CREATE TABLE ratings (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL UNIQUE, level INTEGER NOT NULL,
        source TEXT NOT NULL, reasons TEXT NOT NULL, at TEXT NOT NULL, day TEXT NOT NULL, window INTEGER,
        clerk_id TEXT, business TEXT NOT NULL, callback_sample INTEGER NOT NULL);
    CREATE TABLE followups (id INTEGER PRIMARY KEY, rating_id INTEGER NOT NULL, ticket TEXT NOT NULL,
        day TEXT NOT NULL, deadline TEXT NOT NULL, status TEXT NOT NULL, opened_at TEXT NOT NULL);
    CREATE TABLE matters (number TEXT PRIMARY KEY, day TEXT NOT NULL, category TEXT NOT NULL,
        description TEXT NOT NULL, contact TEXT, contact_masked TEXT, ticket TEXT, status TEXT NOT NULL,
        opened_at TEXT NOT NULL, deadline TEXT NOT NULL, owner TEXT, escalated INTEGER NOT NULL DEFAULT 0,
        device TEXT);
    CREATE TABLE matter_history (id INTEGER PRIMARY KEY, number TEXT NOT NULL, at TEXT NOT NULL,
        status TEXT NOT NULL, note TEXT NOT NULL, by TEXT);
    CREATE TABLE offers (id TEXT PRIMARY KEY, business TEXT NOT NULL, holder_hash TEXT NOT NULL,
        slot_start REAL NOT NULL, slot_end REAL NOT NULL, expires_epoch REAL NOT NULL,
        used INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE bookings (id TEXT PRIMARY KEY, business TEXT NOT NULL, holder_hash TEXT NOT NULL,
        holder_masked TEXT NOT NULL, slot_start REAL NOT NULL, slot_end REAL NOT NULL,
        created_at TEXT NOT NULL, state TEXT NOT NULL);
    CREATE INDEX bookings_slot ON bookings (business, slot_start);
    CREATE TABLE appointments (id TEXT PRIMARY KEY, business TEXT NOT NULL, slot_start REAL NOT NULL,
        slot_end REAL NOT NULL, holder TEXT, created_at TEXT NOT NULL);
    CREATE TABLE checkins (appointment_id TEXT PRIMARY KEY, ticket_id INTEGER NOT NULL, at TEXT NOT NULL);
    CREATE TABLE idempotency (device TEXT NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL,
        status INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (device, day, key));
    """,
    # 2: waiting counts per business kept by triggers, in the same transaction as the ticket change,
    #    so that issuing does not count the whole queue and the counts cannot drift
    """
    CREATE TABLE waiting (day TEXT NOT NULL, business TEXT NOT NULL, prio INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (day, business, prio));
    INSERT INTO waiting (day, business, prio, n)
        SELECT day, business, priority IS NOT NULL, COUNT(*) FROM tickets
        WHERE state IN ('waiting','transferred') GROUP BY 1, 2, 3;
    CREATE TRIGGER waiting_insert AFTER INSERT ON tickets WHEN NEW.state IN ('waiting','transferred') BEGIN
        INSERT INTO waiting (day, business, prio, n) VALUES (NEW.day, NEW.business, NEW.priority IS NOT NULL, 1)
        ON CONFLICT (day, business, prio) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER waiting_leave AFTER UPDATE OF state, business, priority ON tickets
    WHEN OLD.state IN ('waiting','transferred') BEGIN
        UPDATE waiting SET n = n - 1
        WHERE day = OLD.day AND business = OLD.business AND prio = (OLD.priority IS NOT NULL);
    END;
    CREATE TRIGGER waiting_enter AFTER UPDATE OF state, business, priority ON tickets
    WHEN NEW.state IN ('waiting','transferred') BEGIN
        INSERT INTO waiting (day, business, prio, n) VALUES (NEW.day, NEW.business, NEW.priority IS NOT NULL, 1)
        ON CONFLICT (day, business, prio) DO UPDATE SET n = n + 1;
    END;
    """,
    # 3: registration cases (受理) opened when a clerk accepts an application, and their progress, so that
    #    a citizen can follow a case at the kiosk with the case number and their own identity
    """
    CREATE TABLE cases (
        number TEXT PRIMARY KEY, day TEXT NOT NULL, ticket_id INTEGER NOT NULL, business TEXT NOT NULL,
        holder_hash TEXT NOT NULL, holder_masked TEXT NOT NULL, window INTEGER, clerk_id TEXT,
        accepted_at TEXT NOT NULL, due_date TEXT NOT NULL, stage TEXT NOT NULL
    );
    CREATE TABLE case_parties (number TEXT NOT NULL, holder_hash TEXT NOT NULL, PRIMARY KEY (number, holder_hash));
    CREATE TABLE case_history (
        id INTEGER PRIMARY KEY, number TEXT NOT NULL, at TEXT NOT NULL, stage TEXT NOT NULL, note TEXT NOT NULL
    );
    CREATE INDEX case_history_number ON case_history (number);
    """,
    # 4: the duty desk's decisions for a surge (a temporary window, longer hours), and follow-up closure
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY, day TEXT NOT NULL, kind TEXT NOT NULL, window INTEGER, businesses TEXT,
        until_epoch REAL, reason TEXT NOT NULL, at TEXT NOT NULL, device TEXT NOT NULL
    );
    CREATE INDEX decisions_day ON decisions (day, kind);
    ALTER TABLE followups ADD COLUMN closed_at TEXT;
    ALTER TABLE followups ADD COLUMN note TEXT;
    """,
    # 5: how each ticket's identity was captured (card, typed, qr), so that a kiosk burst counts only typed
    #    identities; and each kiosk's burst episodes, so that the duty desk is alerted once per episode
    """
    ALTER TABLE tickets ADD COLUMN entry TEXT;
    CREATE TABLE kiosk_bursts (id INTEGER PRIMARY KEY, device TEXT NOT NULL, day TEXT NOT NULL,
        started_epoch REAL NOT NULL, refused INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX kiosk_bursts_device ON kiosk_bursts (device, started_epoch);
    """,
    # 6: cases, notices and matters are numbered from the counters table like tickets (one helper, never a
    #    number twice); a hall upgraded mid-day goes on from the numbers it has already given
    """
    INSERT OR IGNORE INTO counters (day, business, last) SELECT day, 'case', COUNT(*) FROM cases GROUP BY day;
    INSERT OR IGNORE INTO counters (day, business, last) SELECT day, 'matter', COUNT(*) FROM matters GROUP BY day;
    INSERT OR IGNORE INTO counters (day, business, last)
        SELECT substr(number, 2, 4) || '-' || substr(number, 6, 2) || '-' || substr(number, 8, 2), 'notice', COUNT(*)
        FROM notices GROUP BY 1;
    """,
    # 7: short one-time enrolment codes: a technician types ten characters at a new terminal, not a token
    """
    CREATE TABLE enroll_codes (code_hash TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_epoch REAL NOT NULL, used_at TEXT);
    """,
    # 8: ratings only from the citizen: which counter device finished each service (only its keypad may rate
    #    it), when a keypad press was made and which device delivered a rating; the appeal (申诉复核) of a bad
    #    rating and each of its steps
    """
    ALTER TABLE tickets ADD COLUMN finished_device INTEGER;
    ALTER TABLE ratings ADD COLUMN device TEXT;
    ALTER TABLE ratings ADD COLUMN pressed_at TEXT;
    ALTER TABLE ratings ADD COLUMN appeal TEXT NOT NULL DEFAULT 'none';
    CREATE INDEX ratings_day ON ratings (day, window);
    CREATE TABLE rating_appeals (id INTEGER PRIMARY KEY, rating_id INTEGER NOT NULL, step TEXT NOT NULL,
        reason TEXT NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX rating_appeals_rating ON rating_appeals (rating_id);
    """,
    # 9: bookings under the ticket rules: which kiosk made an offer or took a booking and how the identity was
    #    captured there, so that typed identities count toward the kiosk's burst across tickets and bookings;
    #    and the typed bookings a burst puts on hold (checked in only with the holder's own card)
    """
    ALTER TABLE offers ADD COLUMN device TEXT;
    ALTER TABLE offers ADD COLUMN entry TEXT;
    ALTER TABLE offers ADD COLUMN created_epoch REAL;
    ALTER TABLE offers ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX offers_device ON offers (device, created_epoch);
    ALTER TABLE bookings ADD COLUMN device TEXT;
    ALTER TABLE bookings ADD COLUMN entry TEXT;
    ALTER TABLE bookings ADD COLUMN created_epoch REAL;
    ALTER TABLE bookings ADD COLUMN offer_id TEXT;
    ALTER TABLE bookings ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX bookings_device ON bookings (device, created_epoch);
    CREATE INDEX bookings_holder ON bookings (holder_hash, business, state);
    """,
    # 10: credentials can be withdrawn and guessing is bounded. Any change to a device row (a revocation by the
    #    command, or by hand) moves the devices' generation on in the same transaction, which a running hall
    #    sees at once (kiosk/hall/revocation.py). Wrong enrolment codes are counted per client, and wrong PINs
    #    for clerk ids that do not exist are counted like those for real clerks (by a keyed hash of the id,
    #    never the id typed), so that the answers cannot tell one from the other.
    """
    INSERT OR IGNORE INTO meta (key, value) VALUES ('devices_generation', '0');
    CREATE TRIGGER devices_changed AFTER UPDATE ON devices BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'devices_generation';
    END;
    CREATE TRIGGER devices_removed AFTER DELETE ON devices BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'devices_generation';
    END;
    ALTER TABLE devices ADD COLUMN revoked_at TEXT;
    CREATE TABLE enroll_failures (id INTEGER PRIMARY KEY, client TEXT NOT NULL, at_epoch REAL NOT NULL);
    CREATE INDEX enroll_failures_at ON enroll_failures (at_epoch);
    CREATE TABLE pin_failures (key TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT);
    """,
    # 11: waits that learn from the day: how long each called ticket held a window (per business, the latest
    #    durations; per business and window, running totals for each window's pace), kept in the same
    #    transaction as the finish or no-show, so that issuing never scans tickets to estimate a wait; when a
    #    window changed state, the day it last worked and when it last let a ticket go, so that a closed window
    #    is known to be at lunch or gone and the time between two tickets is counted; the call's time as a number
    """
    CREATE TABLE service_times (day TEXT NOT NULL, business TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,
        recent TEXT NOT NULL, PRIMARY KEY (day, business, kind));
    CREATE TABLE window_services (day TEXT NOT NULL, business TEXT NOT NULL, window INTEGER NOT NULL,
        n INTEGER NOT NULL, minutes REAL NOT NULL, PRIMARY KEY (day, business, window));
    ALTER TABLE windows ADD COLUMN since_epoch REAL;
    ALTER TABLE windows ADD COLUMN worked_day TEXT;
    ALTER TABLE windows ADD COLUMN done_epoch REAL;
    ALTER TABLE tickets ADD COLUMN called_epoch REAL;
    UPDATE windows SET worked_day = day WHERE state != 'closed';
    """,
    # 12: an agent's (代办) on-site booking carries the people represented, from the offer to the ticket at
    #    check-in, so that each person's limits (and the agent's) count a booking made for them as they count a
    #    ticket; keyed hashes and masked forms only. ``is_agent`` keeps an agent's booking out of the agent's own
    #    places, as ``tickets.is_agent`` does
    """
    ALTER TABLE bookings ADD COLUMN is_agent INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE offer_principals (offer_id TEXT NOT NULL, principal_hash TEXT NOT NULL,
        principal_masked TEXT NOT NULL, name_masked TEXT NOT NULL, PRIMARY KEY (offer_id, principal_hash));
    CREATE TABLE booking_principals (booking_id TEXT NOT NULL, principal_hash TEXT NOT NULL,
        principal_masked TEXT NOT NULL, name_masked TEXT NOT NULL, PRIMARY KEY (booking_id, principal_hash));
    CREATE INDEX booking_principals_person ON booking_principals (principal_hash);
    """,
    # 13: a pause says how long it is expected to last (a clerk's lunch, ten minutes away), so that the waits
    #    told meanwhile count on the window from then, not from a fixed half hour
    """
    ALTER TABLE windows ADD COLUMN back_epoch REAL;
    """,
    # 14: the roster's planned absences: a window away from one time and back at another (a staggered lunch)
    """
    ALTER TABLE decisions ADD COLUMN back_epoch REAL;
    """,
]
