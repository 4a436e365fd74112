"""The hall's credentials: device tokens listed and withdrawn, and guessing kept bounded.

- ``kiosk devices revoke --name`` withdraws every token of that name at once, the hall running or not
  (kiosk/hall/revocation.py says how a running hall learns of it without a database read per request).
- Enrolment codes are short (typed on a touchscreen): wrong codes are counted per client address and across the
  hall; past either limit the hall refuses codes for a while and tells the duty desk (``enroll.attempts_exceeded``).
- A wrong PIN for a clerk id that does not exist is answered exactly like one for a clerk that does: the same
  scrypt work, the same count of attempts left, the same lock. Its count is kept under a keyed hash of the id
  typed (never the id itself, which could be anything, an ID number included).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain.errors import DomainError, fail
from kiosk.hall.context import Device, HallContext, hash_pin, token_hash
from kiosk.hall.revocation import stored_generation
from kiosk.passwords import new_secret
from kiosk.store.db import Tx

ENROLL_WINDOW = timedelta(minutes=15)
ENROLL_PER_CLIENT = 5  # wrong codes from one address in the window
ENROLL_HALL_WIDE = 20  # wrong codes from anywhere in the window (many addresses on one LAN)


def enrol_refusal(conn: sqlite3.Connection, client: str, now: datetime) -> DomainError | None:
    """429 ENROLL_LOCKED while this client, or the hall as a whole, has had too many wrong codes lately."""
    since = (now - ENROLL_WINDOW).timestamp()
    mine, total = conn.execute("SELECT COALESCE(SUM(client=?), 0), COUNT(*) FROM enroll_failures WHERE at_epoch>?",
                               (client, since)).fetchone()
    if int(mine) >= ENROLL_PER_CLIENT or int(total) >= ENROLL_HALL_WIDE:
        minutes = int(ENROLL_WINDOW.total_seconds() // 60)
        return fail("ENROLL_LOCKED", f"登记码输错次数过多，请 {minutes} 分钟后再试，或联系大厅管理员。",
                    f"Too many wrong enrolment codes: try again in {minutes} minutes, or ask the hall's administrator.")
    return None


def record_enrol_failure(tx: Tx, client: str, now: datetime, at: str) -> None:
    """A wrong code, counted; the duty desk hears of it once, when a limit is reached."""
    since = (now - ENROLL_WINDOW).timestamp()
    tx.execute("DELETE FROM enroll_failures WHERE at_epoch<=?", (since,))
    tx.execute("INSERT INTO enroll_failures (client, at_epoch) VALUES (?,?)", (client, now.timestamp()))
    mine, total = tx.one("SELECT COALESCE(SUM(client=?), 0), COUNT(*) FROM enroll_failures", (client,)) or (0, 0)
    scope = "hall" if int(total) == ENROLL_HALL_WIDE else "client" if int(mine) == ENROLL_PER_CLIENT else None
    if scope is not None:
        tx.emit("enroll.attempts_exceeded", at, None, {"client": client, "scope": scope, "failures": int(total),
                                                       "minutes": int(ENROLL_WINDOW.total_seconds() // 60)})


def unknown_clerk_key(pepper: bytes, clerk_id: str) -> str:
    return hmac.new(pepper, b"unknown-clerk:" + clerk_id.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


class PinFailures:
    """Where a clerk id's wrong PINs are counted: the clerk's row, or pin_failures for an id nobody has."""

    def __init__(self, tx: Tx, clerk_id: str, known: bool, pepper: bytes) -> None:
        self.tx = tx
        self.known = known
        self.key = clerk_id if known else unknown_clerk_key(pepper, clerk_id)
        if known:
            row = tx.one("SELECT failures, locked_until FROM clerks WHERE id=?", (clerk_id,))
        else:
            row = tx.one("SELECT failures, locked_until FROM pin_failures WHERE key=?", (self.key,))
        self.failures = int(row[0]) if row else 0
        self.locked_until: str | None = row[1] if row else None

    def save(self, failures: int, locked_until: str | None) -> None:
        if self.known:
            self.tx.execute("UPDATE clerks SET failures=?, locked_until=? WHERE id=?", (failures, locked_until, self.key))
        else:
            self.tx.execute("INSERT INTO pin_failures (key, failures, locked_until) VALUES (?,?,?) ON CONFLICT(key) "
                            "DO UPDATE SET failures=excluded.failures, locked_until=excluded.locked_until",
                            (self.key, failures, locked_until))


@functools.cache
def dummy_pin(pepper: bytes) -> str:
    """A peppered hash no PIN matches, made once: what a PIN is checked against for an unknown clerk id."""
    return hash_pin(new_secret(8), pepper)


def device_for_token(ctx: HallContext, token: str) -> Device | None:
    """The device a token stands for. A device once found is remembered for as long as the devices'
    generation stays the same (a read of shared memory, kiosk/hall/revocation.py): a revocation, by command
    or by hand, ends it from the next request on."""
    th = token_hash(token)
    generation = ctx.device_generation.current()
    known = ctx._devices.get(th)
    if known is not None and known[1] == generation:
        return known[0]
    row = ctx.store.reader().execute(
        "SELECT id, name, role FROM devices WHERE token_hash=? AND revoked=0", (th,)).fetchone()
    if row is None:
        ctx._devices.pop(th, None)
        return None
    device = Device(row["id"], row["name"], row["role"])
    ctx._devices[th] = (device, generation)  # the generation read before the row: never newer than it
    return device


def list_devices(ctx: HallContext) -> list[dict[str, Any]]:
    rows = ctx.store.reader().execute(
        "SELECT id, name, role, enrolled_at, revoked, revoked_at FROM devices ORDER BY id").fetchall()
    return [{"id": r["id"], "name": r["name"], "role": r["role"], "enrolled_at": r["enrolled_at"],
             "revoked": bool(r["revoked"]), "revoked_at": r["revoked_at"]} for r in rows]


def revoke_devices(ctx: HallContext, name: str, now: datetime) -> int:
    """Withdraw every live token enrolled under ``name``, and every unused enrolment code printed for it; how
    many. The trigger on devices moves the generation on in this same transaction; publishing it then makes a
    running hall refuse the tokens from its next request."""
    at = ctx.iso(now)

    def change(tx: Tx) -> tuple[int, int]:
        rows = tx.all("SELECT id, role FROM devices WHERE name=? AND revoked=0", (name,))
        for row in rows:
            tx.execute("UPDATE devices SET revoked=1, revoked_at=? WHERE id=?", (at, row["id"]))
            tx.emit("device.revoked", at, None, {"name": name, "role": row["role"], "device_id": row["id"]})
        # a one-time code printed for this name and not yet used would make a new live token of it: spent too
        codes = tx.execute("UPDATE enroll_codes SET used_at=? WHERE name=? AND used_at IS NULL", (at, name)).rowcount
        if codes:
            tx.emit("device.revoked", at, None, {"name": name, "unused_codes": codes})
        return len(rows) + codes, stored_generation(tx.conn)

    count, generation = ctx.store.write(change)
    ctx.device_generation.publish(generation)
    return count


