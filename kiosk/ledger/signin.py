"""Sign-in attempts: counted before the password is checked, under a row lock, for every login, known or not.

Counting after the check (read the failures, check the password, write failures + 1) lets concurrent guesses
all read the same count: 20 wrong passwords sent at once were all tried and the account never locked. Here an
attempt first takes its place in the count, in one short transaction that locks the login's row (PostgreSQL
SELECT … FOR UPDATE; SQLite's write lock, BEGIN IMMEDIATE, held for a few statements); the slow scrypt check then
runs outside any lock, and a sign-in that succeeds clears the count. So at most MAX_FAILURES guesses are ever
checked before the lock, however many arrive together, and batch ingest never waits behind a password check.

The count is kept per login under a hash of it, for logins that exist and logins that do not alike: an unknown
login is refused after the same number of tries, with the same words, after the same work (a dummy hash is
checked), so that the answers cannot tell which logins exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain.errors import fail
from kiosk.ledger.db import LedgerDB

MAX_FAILURES = 5
LOCK_MINUTES = 15


def login_key(login: str) -> str:
    return hashlib.sha256(b"ledger-login:" + login.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    db: LedgerDB
    key: str

    def succeeded(self, conn: Any) -> None:
        """Inside the transaction that opens the session: the count starts again."""
        self.db.execute(conn, "UPDATE sign_in_failures SET failures=0, locked_until=NULL WHERE login_hash=?",
                        (self.key,))


def reserve(db: LedgerDB, login: str, now: datetime) -> Attempt:
    """Count this attempt, or refuse it with ACCOUNT_LOCKED while the login is locked. The attempt that reaches
    MAX_FAILURES locks the login at once (pessimistically: if its password is right, it unlocks it again)."""
    key = login_key(login)
    at = now.isoformat()
    lock = " FOR UPDATE" if db.kind == "postgres" else ""
    with db.transaction() as conn:
        db.execute(conn, "INSERT INTO sign_in_failures (login_hash, failures) VALUES (?, 0) ON CONFLICT DO NOTHING",
                   (key,))
        failures, locked_until = db.execute(
            conn, "SELECT failures, locked_until FROM sign_in_failures WHERE login_hash=?" + lock, (key,)).fetchone()
        if locked_until and locked_until > at:
            locked = fail("ACCOUNT_LOCKED", f"多次登录失败，账号已锁定至 {locked_until[11:16]}，请稍后再试。",
                          "Too many failed sign-ins: the account is locked for a while.", locked_until=locked_until)
        else:
            locked = None
            failures = 1 if locked_until else int(failures) + 1  # a lock that has run out starts the count again
            until = (now + timedelta(minutes=LOCK_MINUTES)).isoformat() if failures >= MAX_FAILURES else None
            db.execute(conn, "UPDATE sign_in_failures SET failures=?, locked_until=? WHERE login_hash=?",
                       (failures, until, key))
    if locked is not None:
        raise locked
    return Attempt(db, key)
