"""The hall's context: what every operation works over (configuration, store, keys, the hall's time and
the caches of what is read often), running a change on the store's writer with idempotency, and the few
helpers every room uses (identities, businesses, the audit trail, statutory deadlines, the read log).

An operation is a plain function ``(ctx, call, req) -> Outcome`` (kiosk/hall/operations.py holds the table).
A change runs on the store's writer thread with the hall time passed in (``call.now``) and the transaction
in ``ctx.tx``: it gathers what it needs, lets the pure domain decide, then writes the state and its event in
that one transaction. A refusal that must be remembered (a limit hit, a wrong PIN, an identity mismatch) is
returned as ``Refused`` and committed; one that leaves nothing behind is raised and rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.contract.wire import R
from kiosk.domain import labels
from kiosk.domain.calendar import CalendarNotCovered
from kiosk.domain.catalog import Business
from kiosk.domain.config import HallConfig
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.identity import Identity, make_identity
from kiosk.domain.signing import derive_key
from kiosk.domain.text import clean_text
from kiosk.hall.caches import Caches
from kiosk.hall.outcomes import Done, Outcome, Refused, body_of, status_of
from kiosk.hall.revocation import Generation, generation_file
from kiosk.passwords import COST, check_peppered, hash_peppered, pepper_hash
from kiosk.store.db import Store, Tx

log = logging.getLogger("kiosk.hall")
WAITING = ("waiting", "transferred")
ROLES = ("kiosk", "counter", "display", "supervisor")
READ_LOG_QUIET = timedelta(minutes=10)
RATING_LEVELS = {str(level): name for level, name in labels.RATING_LEVELS.items()}


@dataclass(frozen=True)
class Device:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Call:
    """Who asks and when: the device (and a clerk's session), the hall time, the Idempotency-Key, the peer."""

    device: Device
    now: datetime
    session: str | None = None
    idem_key: str | None = None
    client: str = ""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


PIN_COST = COST


def hash_pin(pin: str, pepper: bytes, salt: bytes | None = None, cost: int | None = None) -> str:
    return hash_peppered(pin, pepper, salt, cost or PIN_COST)


def check_pin(pin: str, stored: str, pepper: bytes) -> bool:
    return check_peppered(pin, stored, pepper)


def required_reason(text: str | None) -> str:
    """A reason every exception must carry (it is recorded and reaches the province)."""
    reason = clean_text(text, 500)
    if reason is None:
        raise fail("REASON_REQUIRED")
    return reason


class HallContext:
    def __init__(self, config: HallConfig, store: Store, master_key: bytes, identity_key: bytes | None = None) -> None:
        self.config = config
        self.store = store
        self.master_key = master_key
        # a province-wide identity key (distributed to every hall) makes the same person the same hash in every
        # hall, so that the ledger can see one identity taking tickets in several halls; else the hall's own
        self.id_key = identity_key or derive_key(master_key, "identity")
        self.code_key = derive_key(master_key, "codes")
        self.pin_pepper = derive_key(master_key, "pin-pepper")  # in no table: a copy of hall.db is not enough
        self.device_generation = Generation(generation_file(store.path))
        self.device_generation.sync(store.reader())
        self._devices: dict[str, tuple[Device, int]] = {}  # token hash → (device, the generation it was read at)
        self._pepper_old_pins()
        self.caches = Caches()  # shared by every copy a change runs with (kiosk/hall/caches.py)
        self._reads: dict[tuple[int, str, str], datetime] = {}
        self._uncovered: set[int] = set()  # years already reported as not covered by the calendar
        self.up_since: datetime | None = None  # hall time this process began serving (judges kept keypad presses)
        self.speed = 1.0  # the hall clock's pace (a drill runs it faster); health reports it
        self._tx: Tx | None = None  # the change's transaction, in the copy a change runs with (within)
        self._local: tuple[datetime, date] | None = None  # the last moment asked for, and its business day

    def _pepper_old_pins(self) -> None:
        """PINs hashed before the hall had a pepper are upgraded in place, without the PINs: the new hash is the
        HMAC of the old digest (kiosk.passwords.pepper_hash), so every clerk's PIN keeps working."""
        old = self.store.reader().execute("SELECT id, pin_hash FROM clerks WHERE pin_hash LIKE 'scrypt$%'").fetchall()
        if not old:
            return

        def change(tx: Tx) -> None:
            for row in old:
                tx.execute("UPDATE clerks SET pin_hash=? WHERE id=? AND pin_hash=?",
                           (pepper_hash(row["pin_hash"], self.pin_pepper), row["id"], row["pin_hash"]))

        self.store.write(change)

    # -- time -------------------------------------------------------------
    def iso(self, now: datetime) -> str:
        return now.astimezone(self.config.calendar.tz).isoformat(timespec="milliseconds")

    def day(self, now: datetime) -> date:
        """A change asks for its moment's day several times (each fact is keyed by it); the time zone is asked
        once. The tuple is replaced whole, so a reader thread sharing the context sees one pair or the other."""
        seen = self._local
        if seen is not None and seen[0] is now:
            return seen[1]
        found = self.config.calendar.business_day(now)
        self._local = (now, found)
        return found

    # -- running changes ----------------------------------------------------
    def within(self, tx: Tx) -> HallContext:
        """This context for one change: the same hall, with the change's transaction."""
        ctx = object.__new__(HallContext)  # a plain copy of the attributes: copy.copy costs more per ticket
        ctx.__dict__.update(self.__dict__)
        ctx._tx = tx
        return ctx

    @property
    def tx(self) -> Tx:
        if self._tx is None:
            raise RuntimeError("a change's transaction is given only to a change (HallContext.within)")
        return self._tx

    def submit(self, op: Callable[[HallContext, Call, R], Outcome], call: Call, req: R,
               now_if_idle: bool = False) -> Future[Outcome]:
        """Run the change ``op`` on the writer; with an Idempotency-Key the first answer is kept and replayed.
        ``now_if_idle``: on this thread instead when the writer has nothing to do (kiosk/store/db.py
        ``write_now``); the answer is then already there."""
        key = call.idem_key

        def change(tx: Tx) -> Outcome:
            ctx = self.within(tx)
            if not key:
                return op(ctx, call, req)
            day = self.day(call.now).isoformat()
            device = str(call.device.id)  # names may repeat across enrolments; ids do not
            seen = tx.one("SELECT status, body FROM idempotency WHERE device=? AND day=? AND key=?",
                          (device, day, key))
            if seen is not None:
                return replayed(int(seen["status"]), json.loads(seen["body"]))
            tx.execute("SAVEPOINT op")
            try:
                outcome = op(ctx, call, req)
            except DomainError as exc:
                tx.execute("ROLLBACK TO op")
                outcome = Refused(exc)
            tx.execute("RELEASE op")
            tx.execute("INSERT INTO idempotency (device, day, key, status, body) VALUES (?,?,?,?,?)",
                       (device, day, key, status_of(outcome), json.dumps(body_of(outcome), ensure_ascii=False)))
            return outcome

        if now_if_idle and (done := self.store.write_now(change)) is not None:
            return done
        return self.store.submit(change)

    def run(self, op: Callable[[HallContext, Call, R], Outcome], call: Call, req: R) -> Outcome:
        return self.submit(op, call, req).result()

    # -- identity and ticket helpers ------------------------------------------
    def identity(self, raw: object, now: datetime) -> Identity:
        return make_identity(raw, self.id_key, self.day(now))

    def business_or_fail(self, code: object) -> Business:
        business = self.config.business(code) if isinstance(code, str) else None
        if business is None:
            names = "、".join(f"{b.code} {b.name}" for b in self.config.businesses)
            raise fail("UNKNOWN_BUSINESS", f"没有这项业务。可办理的业务：{names}。",
                       "Unknown business. See GET /api/v1/catalog for the list.")
        return business

    def record_audit(self, tx: Tx, call: Call, kind: str, window: int | None, clerk: str | None, ticket: str | None,
               reason: str | None, detail: dict[str, Any]) -> None:
        tx.execute("INSERT INTO audit (at, day, kind, window, clerk_id, device, ticket, reason, detail) "
                   "VALUES (?,?,?,?,?,?,?,?,?)",
                   (self.iso(call.now), self.day(call.now).isoformat(), kind, window, clerk, call.device.name,
                    ticket, reason, json.dumps(detail, ensure_ascii=False)))

    def deadline(self, tx: Tx, now: datetime, start: date, days: int) -> date:
        """A statutory deadline in working days. Past the years whose holidays are known the count goes on with
        weekends and the hall's own listed days only, and says so loudly: an error in the log and a
        calendar.not_covered event (once per year) that reaches the duty desk and the province."""
        try:
            return self.config.calendar.add_working_days(start, days)
        except CalendarNotCovered as exc:
            if exc.year not in self._uncovered:
                self._uncovered.add(exc.year)
                log.error("deadline counted without %s's statutory holidays: update chinesecalendar or list the "
                          "year in [calendar]", exc.year)
                tx.emit("calendar.not_covered", self.iso(now), None, {"year": exc.year, "day": start.isoformat()})
            return self.config.calendar.add_working_days(start, days, strict=False)

    def _read_logged(self, tx: Tx, call: Call, what: str, detail: dict[str, Any]) -> None:
        """Every access to registration data leaves a trace: who (the device), when, what. It is in the audit
        list supervisors read, and an event that goes to the province's ledger with the others."""
        self.record_audit(tx, call, "data_read", None, None, None, what, detail)
        tx.emit("data.read", self.iso(call.now), call.device.name,
                {"what": what, "day": self.day(call.now).isoformat(), **detail})

    def log_read(self, call: Call, what: str, detail: dict[str, Any]) -> None:
        """A screen that refreshes (the duty desk, every 30 s) is one reader, not thousands: the same read by the
        same device is recorded again only after READ_LOG_QUIET of hall time."""
        key = (call.device.id, what, json.dumps(detail, sort_keys=True))
        last = self._reads.get(key)
        if last is not None and call.now - last < READ_LOG_QUIET:
            return
        self._reads[key] = call.now
        self.store.write(lambda tx: self._read_logged(tx, call, what, detail))



def same_holder(person: Identity, holder_hash: str) -> bool:
    """Appointment tickets checked in without an ID carry a 16-hex prefix of the hash."""
    return bool(holder_hash) and person.hash.startswith(holder_hash)


_LAST_SEEN: dict[tuple[str, str], int] = {}  # (day, series) -> the number next_serial last handed out here
_SEEN_KEPT = 1024  # a day has a few dozen series; cleared whole past this


def next_serial(tx: Tx, day: str, series: str) -> int:
    """The next number of a day's series (a ticket prefix letter, or "case", "notice", "matter"), kept in
    the counters table in the same transaction as what it numbers: never handed out twice, even across a
    crash, and never reused when a row is gone (COUNT(*)+1 would).

    The number handed out last is a guess of the row's value, checked by the row itself: one UPDATE that
    moves ``last`` from the guess to the next number only if it still holds the guess. A guess gone stale
    (a rolled-back change, another database in this process, another process) does not match, and the row
    is then incremented and read as it stands; whatever the guess, the row moves by exactly one. Plain
    statements, not an upsert with RETURNING, which SQLite runs through a table of its results at three
    times their cost (every ticket takes a number here)."""
    key = (day, series)
    guess = _LAST_SEEN.get(key)
    if guess is not None and tx.execute("UPDATE counters SET last=?4 WHERE day=?1 AND business=?2 AND last=?3",
                                        (day, series, guess, guess + 1)).rowcount == 1:
        number = guess + 1
    elif tx.execute("UPDATE counters SET last=last+1 WHERE day=? AND business=?", (day, series)).rowcount == 0:
        tx.execute("INSERT INTO counters (day, business, last) VALUES (?,?,1)", (day, series))
        number = 1
    else:
        row = tx.one("SELECT last FROM counters WHERE day=? AND business=?", (day, series))
        assert row is not None
        number = int(row[0])
    if len(_LAST_SEEN) >= _SEEN_KEPT:
        _LAST_SEEN.clear()
    _LAST_SEEN[key] = number
    return number


def replayed(status: int, body: dict[str, Any]) -> Outcome:
    """An answer kept for an Idempotency-Key, as the outcome it was."""
    if status < 300:
        return Done(body, made=status == 201)
    error = dict(body.get("error", {}))
    code, message, message_en = error.pop("code", ""), error.pop("message", ""), error.pop("message_en", "")
    return Refused(DomainError(code, message, message_en, status, **error))
