"""The windows: devices and clerks, sessions, calling in order (and out of order with a reason),
recalls, no-shows, the identity check, one-time notices, transfers, finishing, pauses."""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain import matters, queue
from kiosk.domain.errors import DomainError, bad_request, fail
from kiosk.domain.text import clean_text, has_id_number
from kiosk.hall.casework import Casework
from kiosk.hall.core import (
    RATING_LEVELS,
    ROLES,
    WAITING,
    Call,
    Reply,
    check_pin,
    hash_pin,
    required_reason,
    token_hash,
)
from kiosk.hall.credentials import PinFailures, dummy_pin, enrol_refusal, record_enrol_failure
from kiosk.hall.requests import AtWindow, CallTicket, Finish, Login, Notice, StartService, Transfer, WindowReason
from kiosk.passwords import new_secret
from kiosk.store.db import Tx

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: nothing to misread on a touchscreen


def normal_code(code: object) -> str:
    """A typed code as stored: upper case, without the dash and spaces a technician may add."""
    return "".join(c for c in str(code).upper() if c.isalnum())[:20]


class Counter(Casework):
    # -- devices, clerks ------------------------------------------------------
    @staticmethod
    def _known_role(role: str) -> None:
        if role not in ROLES:
            raise bad_request(f"角色应为 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}")

    def _add_device(self, tx: Tx, name: str, role: str, token: str, now: datetime, **event: str) -> None:
        """The device row (its token only as a hash) and the event that records it."""
        tx.execute("INSERT INTO devices (name, role, token_hash, enrolled_at) VALUES (?,?,?,?)",
                   (name, role, token_hash(token), self.iso(now)))
        tx.emit("device.enrolled", self.iso(now), None, {"name": name, "role": role, **event})

    def enroll_code(self, role: str, name: str, now: datetime, hours: int = 24) -> str:
        """A short one-time code (XXXXX-XXXXX, 50 bits) that a new terminal exchanges for its token within
        ``hours``: typed on a touchscreen by a technician, where a 43-character token would not be."""
        self._known_role(role)
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"

        def change(tx: Tx) -> None:
            tx.execute("INSERT INTO enroll_codes (code_hash, role, name, created_at, expires_epoch) VALUES (?,?,?,?,?)",
                       (token_hash(normal_code(code)), role, name, self.iso(now), (now + timedelta(hours=hours)).timestamp()))

        self.store.write(change)
        return code

    def redeem_code(self, code: str, now: datetime, role: str | None = None, client: str = "") -> dict[str, str]:
        """The device's token for a valid, unused, unexpired code, which is then spent. A code asked for as
        another role is refused and stays valid (the technician picked the wrong --role). Wrong codes are
        counted (kiosk/hall/credentials.py): past the limit every code is refused for a while."""
        token = new_secret()

        def change(tx: Tx) -> dict[str, str] | DomainError:
            locked = enrol_refusal(tx.conn, client, now)
            if locked is not None:
                return locked
            row = tx.one("SELECT * FROM enroll_codes WHERE code_hash=? AND used_at IS NULL AND expires_epoch>?",
                         (token_hash(normal_code(code)), now.timestamp()))
            if row is None:
                record_enrol_failure(tx, client, now, self.iso(now))  # kept: the refusal is the record
                return fail("ENROLL_CODE_INVALID")
            if role is not None and row["role"] != role:
                raise fail("ENROLL_CODE_INVALID", f"这个登记码是给 {row['role']} 终端的，不是 {role}。",
                           f"This code is for a {row['role']}, not a {role}.", role=row["role"])
            tx.execute("UPDATE enroll_codes SET used_at=? WHERE code_hash=?", (self.iso(now), row["code_hash"]))
            self._add_device(tx, row["name"], row["role"], token, now, via="code")
            return {"token": token, "name": row["name"], "role": row["role"], "hall": self.config.hall_id}

        result: dict[str, str] | DomainError = self.store.write(change)
        if isinstance(result, DomainError):
            raise result
        return result

    def enroll_device(self, role: str, name: str, now: datetime) -> str:
        self._known_role(role)
        token = new_secret()
        self.store.write(lambda tx: self._add_device(tx, name, role, token, now))
        return token

    def add_clerk(self, clerk_id: str, name: str, pin: str, now: datetime) -> None:
        """Add a clerk, or change one's name or PIN. A changed PIN ends the clerk's open window sessions."""
        if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
            raise bad_request("PIN 应为4到12位数字", "the PIN must be 4 to 12 digits")
        if has_id_number(clerk_id) or has_id_number(name):
            raise bad_request("工号和姓名中不能含身份证号", "a clerk id or name must not contain an ID number")
        pin_hash = hash_pin(pin, self.pin_pepper)

        def change(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO clerks (id, name, pin_hash) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "name=excluded.name, pin_hash=excluded.pin_hash, failures=0, locked_until=NULL, active=1",
                (clerk_id, name, pin_hash))
            tx.execute("UPDATE sessions SET ended=1 WHERE clerk_id=? AND ended=0", (clerk_id,))
            tx.emit("clerk.added", self.iso(now), None, {"clerk_id": clerk_id, "name": name})

        self.store.write(change)


    # -- windows: sessions ----------------------------------------------------------
    def _window(self, tx: Tx, number: int, day: str) -> sqlite3.Row:
        if self.config.window(number) is None:
            raise fail("WINDOW_UNKNOWN", f"没有 {number} 号窗口。", f"There is no window {number}.")
        tx.execute("INSERT OR IGNORE INTO windows (number, day) VALUES (?, ?)", (number, day))
        row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
        assert row is not None
        if row["day"] != day:  # a new business day: yesterday's state does not carry over
            tx.execute("UPDATE windows SET day=?, current_ticket=NULL, priority_streak=0, "
                       "state=CASE WHEN state='paused' THEN 'open' ELSE state END WHERE number=?", (day, number))
            row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
            assert row is not None
        return row

    def login(self, call: Call, req: Login) -> Reply:
        window, clerk_id, pin = req.window, req.clerk_id, req.pin
        if clerk_id is None or pin is None:
            raise bad_request("需要工号 clerk_id 和 PIN", "clerk_id and pin are required")
        row = self.store.reader().execute("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,)).fetchone()
        # the same scrypt work whether the clerk exists or not (slow hash off the writer)
        matches = check_pin(str(pin), row["pin_hash"] if row is not None else dummy_pin(self.pin_pepper),
                            self.pin_pepper)
        pin_ok = row is not None and matches

        def op(tx: Tx, call: Call, req: Login) -> Reply:
            now = call.now
            day = self.day(now).isoformat()
            self._window(tx, window, day)
            clerk = tx.one("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,))
            sec = self.config.security
            count = PinFailures(tx, clerk_id, clerk is not None, self.pin_pepper)
            if count.locked_until and count.locked_until > self.iso(now):
                return 423, fail("CLERK_LOCKED",
                                 f"PIN 连续输错次数过多，账号已锁定到 {count.locked_until[11:16]}。"
                                 "请联系值班台。", "Too many wrong PINs; the account is locked. Ask the duty desk.",
                                 locked_until=count.locked_until).body()
            if clerk is None or not pin_ok:
                failures = count.failures + 1
                locked = None
                if failures >= sec.pin_max_failures:
                    locked = self.iso(now + timedelta(minutes=sec.pin_lockout_minutes))
                    failures = 0
                count.save(failures, locked)
                tx.emit("clerk.login_failed", self.iso(now), call.device.name,  # an unknown id is not repeated
                        {"clerk_id": clerk_id if clerk is not None else None, "known": clerk is not None,
                         "window": window, "locked": locked is not None})
                if locked:
                    return 423, fail("CLERK_LOCKED", locked_until=locked).body()
                return 401, fail("PIN_INVALID", f"工号或 PIN 不正确，还可以再试 {sec.pin_max_failures - failures} 次。",
                                 "Wrong clerk id or PIN.", attempts_left=sec.pin_max_failures - failures).body()
            assert clerk is not None
            session = new_secret(24)
            expires = now + timedelta(hours=sec.session_hours)
            tx.execute("UPDATE clerks SET failures=0, locked_until=NULL WHERE id=?", (clerk_id,))
            tx.execute("UPDATE sessions SET ended=1 WHERE window=? AND ended=0", (window,))
            tx.execute("INSERT INTO sessions (token_hash, clerk_id, window, created_at, expires_epoch) "
                       "VALUES (?,?,?,?,?)", (token_hash(session), clerk_id, window, self.iso(now),
                                              expires.timestamp()))
            tx.execute("UPDATE windows SET state='open', clerk_id=?, pause_reason=NULL, since_epoch=?, worked_day=? "
                       "WHERE number=?", (clerk_id, now.timestamp(), day, window))
            tx.emit("window.opened", self.iso(now), call.device.name, {"window": window, "clerk_id": clerk_id})
            return 200, {"session": session, "clerk": {"id": clerk_id, "name": clerk["name"]},
                         "window": window, "expires_at": self.iso(expires)}

        return self.run(op, call, req)

    def _clerk(self, tx: Tx, call: Call, window: int) -> tuple[str, sqlite3.Row]:
        """The clerk of a valid session at this window, and the window's row."""
        day = self.day(call.now).isoformat()
        wrow = self._window(tx, window, day)
        if call.session:
            row = tx.one("SELECT clerk_id FROM sessions WHERE token_hash=? AND window=? AND ended=0 AND "
                         "expires_epoch>?", (token_hash(call.session), window, call.now.timestamp()))
            if row is not None:
                return str(row[0]), wrow
        raise fail("SESSION_INVALID")

    def _current(self, tx: Tx, wrow: sqlite3.Row, states: tuple[str, ...]) -> sqlite3.Row:
        row = tx.one("SELECT * FROM tickets WHERE id=?", (wrow["current_ticket"],)) \
            if wrow["current_ticket"] else None
        if row is None or row["state"] not in states:
            raise fail("NO_CURRENT_TICKET", current=row["number"] if row else None, state=row["state"] if row else None)
        return row


    def _waiting(self, tx: Tx, day: str) -> list[queue.Waiting]:
        return [queue.Waiting(r["number"], r["business"], r["id"], r["priority"] is not None, r["target_window"])
                for r in tx.all("SELECT id, number, business, priority, target_window FROM tickets "
                                "WHERE day=? AND state IN ('waiting','transferred')", (day,))]

    def _do_call(self, tx: Tx, call: Call, window: int, clerk: str, wrow: sqlite3.Row, number: str,
                 out_of_order: dict[str, Any] | None) -> Reply:
        now = call.now
        day = self.day(now).isoformat()
        row = tx.one("SELECT * FROM tickets WHERE day=? AND number=?", (day, number))
        assert row is not None
        streak = wrow["priority_streak"] + 1 if row["priority"] is not None else 0
        tx.execute("UPDATE tickets SET state='called', window=?, calls=1, called_at=?, called_epoch=?, clerk_id=? "
                   "WHERE id=?", (window, self.iso(now), now.timestamp(), clerk, row["id"]))
        tx.execute("UPDATE windows SET current_ticket=?, priority_streak=? WHERE number=?",
                   (row["id"], streak, window))
        waited = round((now.timestamp() - row["issued_epoch"]) / 60, 1)
        payload: dict[str, Any] = {"number": number, "window": window, "clerk_id": clerk,
                                   "business": row["business"], "day": day, "waited_min": waited,
                                   "priority": row["priority"], "out_of_order": out_of_order is not None}
        if out_of_order:
            payload.update(out_of_order)
            self._audit(tx, call, "out_of_order_call", window, clerk, number, out_of_order["reason"],
                        {"skipped": out_of_order.get("skipped")})
        tx.emit("ticket.called", self.iso(now), call.device.name, payload)
        return 200, {"ticket": self.view_of(tx, row["id"], call.now)}

    def _next(self, tx: Tx, window: int, wrow: sqlite3.Row) -> queue.Waiting | None:
        w = self.config.window(window)
        assert w is not None
        return queue.next_for_window(self._waiting(tx, wrow["day"]), window, self.served_by(tx.conn, window, wrow["day"]),
                                     wrow["priority_streak"], self.config.priority.max_consecutive)

    def _idle_window(self, tx: Tx, wrow: sqlite3.Row) -> None:
        if wrow["state"] == "paused":
            raise fail("WINDOW_PAUSED")
        if wrow["current_ticket"]:
            cur = tx.one("SELECT number, state FROM tickets WHERE id=?", (wrow["current_ticket"],))
            if cur is not None and cur["state"] in ("called", "serving"):
                raise fail("WINDOW_BUSY", f"请先办结或标记过号当前的 {cur['number']} 号。",
                           f"Finish or mark as no-show the current ticket {cur['number']} first.", current=cur["number"])

    def op_call_next(self, tx: Tx, call: Call, req: AtWindow) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        self._idle_window(tx, wrow)
        head = self._next(tx, window, wrow)
        if head is None:
            raise fail("QUEUE_EMPTY")
        return self._do_call(tx, call, window, clerk, wrow, head.number, None)

    def op_call(self, tx: Tx, call: Call, req: CallTicket) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        reason = required_reason(req.reason)
        self._idle_window(tx, wrow)
        row = self._ticket_row(tx.conn, wrow["day"], req.number)
        if row["state"] not in WAITING:
            raise fail("TICKET_NOT_WAITING", f"{row['number']} 号当前状态为“{row['state']}”，不能呼叫。",
                       f"Ticket {row['number']} is {row['state']} and cannot be called.", state=row["state"])
        head = self._next(tx, window, wrow)
        if head is not None and head.number == row["number"]:
            return self._do_call(tx, call, window, clerk, wrow, row["number"], None)
        return self._do_call(tx, call, window, clerk, wrow, row["number"],
                             {"reason": reason, "skipped": head.number if head else None})

    def op_recall(self, tx: Tx, call: Call, req: AtWindow) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        tx.execute("UPDATE tickets SET calls=calls+1 WHERE id=?", (row["id"],))
        tx.emit("ticket.recalled", self.iso(call.now), call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"] + 1,
                 "day": row["day"], "business": row["business"]})
        return 200, {"ticket": self.view_of(tx, row["id"], call.now)}

    def op_no_show(self, tx: Tx, call: Call, req: AtWindow) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        need = self.config.calling.no_show_after_calls
        if row["calls"] < need:
            raise fail("RECALL_FIRST", f"请先重呼，呼叫满 {need} 次后才能标记过号（已呼叫 {row['calls']} 次）。",
                       f"Recall first: a no-show needs {need} calls (made {row['calls']}).")
        tx.execute("UPDATE tickets SET state='no_show', finished_at=? WHERE id=?", (self.iso(call.now), row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
        self.learn_duration(tx, row, wrow, "no_show", call.now)
        if row["holder_hash"]:
            tx.execute("INSERT INTO no_shows (day, holder_hash, at_epoch) VALUES (?,?,?)",
                       (row["day"], row["holder_hash"], call.now.timestamp()))
        tx.emit("ticket.no_show", self.iso(call.now), call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"],
                 "holder": row["holder_hash"], "day": row["day"]})
        return 200, {"ticket": self.view_of(tx, row["id"], call.now)}

    def op_start(self, tx: Tx, call: Call, req: StartService) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        at = self.iso(call.now)
        checked = False
        override = None
        if req.identity is None and self._mismatch_recorded(tx, row):
            override = clean_text(req.override_reason, 500)
            if override is None:
                raise self._mismatch_unresolved(row)
            self._audit(tx, call, "identity_override", window, clerk, row["number"], override, {"holder": row["holder_hash"]})
        if req.identity is not None:
            person = self.identity(req.identity, call.now)
            holders = [row["holder_hash"]] + [r[0] for r in tx.all(
                "SELECT principal_hash FROM ticket_principals WHERE ticket_id=?", (row["id"],))]
            if not self._same_holder(person, row["holder_hash"]):
                override = clean_text(req.override_reason, 500)
                detail = {"presented": person.hash, "holder": row["holder_hash"],
                          "principal": person.hash in holders}
                if override is None:
                    self._audit(tx, call, "identity_mismatch", window, clerk, row["number"], None, detail)
                    tx.emit("identity.mismatch", at, call.device.name,
                            {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                             "overridden": False})
                    return 409, fail("IDENTITY_MISMATCH", masked=person.masked).body()
                self._audit(tx, call, "identity_override", window, clerk, row["number"], override, detail)
                tx.emit("identity.mismatch", at, call.device.name,
                        {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                         "overridden": True, "reason": override})
            checked = True
        tx.execute("UPDATE tickets SET state='serving', started_at=?, started_epoch=?, identity_checked=?, "
                   "clerk_id=? WHERE id=?", (at, call.now.timestamp(), int(checked), clerk, row["id"]))
        tx.emit("service.started", at, call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                 "identity_checked": checked, "override": override is not None})
        return 200, {"ticket": self.view_of(tx, row["id"], call.now), "identity_match": checked and override is None}

    @staticmethod
    def _mismatch_recorded(tx: Tx, row: sqlite3.Row) -> bool:
        return tx.one("SELECT 1 FROM audit WHERE day=? AND ticket=? AND kind='identity_mismatch'",
                      (row["day"], row["number"])) is not None

    @staticmethod
    def _mismatch_unresolved(row: sqlite3.Row) -> DomainError:
        return fail("IDENTITY_MISMATCH", f"{row['number']} 号已记录人证不符，须核验取号人本人证件，或填写原因后办理。",
                    "An identity mismatch is recorded for this ticket: check the holder's ID, or give an "
                    "override_reason.")

    def op_notice(self, tx: Tx, call: Call, req: Notice) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called", "serving"))
        business = self.config.business(row["business"])
        assert business is not None
        missing = req.missing
        if not isinstance(missing, list) or not missing:
            raise fail("MISSING_REQUIRED")
        items: list[dict[str, str]] = []
        for mid in missing:
            material = business.material(mid) if isinstance(mid, str) else None
            if material is None:
                raise fail("MATERIAL_UNKNOWN", f"“{mid}”不在{business.name}的材料目录中。",
                           f"'{mid}' is not in the materials list of {business.name_en}.", material=str(mid)[:40])
            if all(i["id"] != material.id for i in items):
                items.append({"id": material.id, "name": material.name, "name_en": material.name_en})
        case = clean_text(req.case_number, 40)
        case_key = f"case:{case}" if case else self._holder_case_key(row)
        earlier = self._earlier_notice(tx.conn, case_key, call.now)
        repeat = earlier is not None
        number = f"N{row['day'].replace('-', '')}-{self.next_serial(tx, row['day'], 'notice'):03d}"
        at = self.iso(call.now)
        tx.execute("INSERT INTO notices (number, ticket_id, case_key, missing, window, clerk_id, at, at_epoch, repeat)"
                   " VALUES (?,?,?,?,?,?,?,?,?)", (number, row["id"], case_key, json.dumps([i["id"] for i in items]),
                                                    window, clerk, at, call.now.timestamp(), int(repeat)))
        if repeat:
            self._audit(tx, call, "repeat_notice", window, clerk, row["number"], None,
                        {"notice": number, "first": earlier["number"] if earlier else None})
        clerk_row = tx.one("SELECT name FROM clerks WHERE id=?", (clerk,))
        tx.emit("notice.issued", at, call.device.name,
                {"notice": number, "number": row["number"], "business": business.code, "window": window,
                 "clerk_id": clerk, "missing": [i["id"] for i in items], "repeat": repeat, "day": row["day"],
                 "case": case})
        return 201, {"notice": {
            "number": number, "ticket": row["number"], "business": business.code, "business_name": business.name,
            "missing": items, "window": window, "clerk_id": clerk,
            "clerk_name": clerk_row["name"] if clerk_row else "", "issued_at": at, "repeat": repeat,
            "first_notice": earlier["number"] if earlier else None, "case_number": case,
            "holder_masked": row["holder_masked"], "time_limit_days": business.time_limit_days}}

    @staticmethod
    def _holder_case_key(row: sqlite3.Row) -> str:
        """Without a case number, one person's one business counts as one case."""
        return f"holder:{row['holder_hash']}:{row['business']}"

    @staticmethod
    def _earlier_notice(conn: sqlite3.Connection, case_key: str, now: datetime) -> sqlite3.Row | None:
        """The first notice for the same case in the repeat window (90 days): a new one would be a repeat."""
        row: sqlite3.Row | None = conn.execute(
            "SELECT number FROM notices WHERE case_key=? AND at_epoch>=? ORDER BY id LIMIT 1",
            (case_key, now.timestamp() - matters.REPEAT_NOTICE_DAYS * 86400)).fetchone()
        return row

    def op_transfer(self, tx: Tx, call: Call, req: Transfer) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        reason = required_reason(req.reason)
        row = self._current(tx, wrow, ("called", "serving"))
        to_window = req.to_window
        to_business = req.to_business
        if to_window is None and to_business is None:
            raise bad_request("请选择转到的窗口或业务", "to_window or to_business is required")
        if to_window is not None:
            if isinstance(to_window, bool) or not isinstance(to_window, int) or self.config.window(to_window) is None:
                raise fail("WINDOW_UNKNOWN", f"没有 {to_window} 号窗口。", f"There is no window {to_window}.")
            if to_window == window:
                raise bad_request("不能转给本窗口", "cannot transfer to the same window")
        business = self.business_or_fail(to_business) if to_business is not None else \
            self.config.business(row["business"])
        assert business is not None
        tx.execute("UPDATE tickets SET state='transferred', business=?, target_window=?, window=NULL, calls=0 "
                   "WHERE id=?", (business.code, to_window, row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
        detail = {"from_window": window, "to_window": to_window, "from_business": row["business"],
                  "to_business": business.code}
        self._audit(tx, call, "transfer", window, clerk, row["number"], reason, detail)
        tx.emit("ticket.transferred", self.iso(call.now), call.device.name,
                {"number": row["number"], "clerk_id": clerk, "reason": reason, "day": row["day"], **detail})
        return 200, {"ticket": self.view_of(tx, row["id"], call.now)}

    def op_finish(self, tx: Tx, call: Call, req: Finish) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called", "serving"))
        if row["state"] == "called" and self._mismatch_recorded(tx, row):
            raise self._mismatch_unresolved(row)
        at = self.iso(call.now)
        started = row["started_epoch"] or call.now.timestamp()
        # who finished it: only this counter's keypad may rate the service (hall-api.md, ratings)
        tx.execute("UPDATE tickets SET state='done', finished_at=?, finished_epoch=?, started_epoch=?, "
                   "started_at=COALESCE(started_at, ?), identity_checked=COALESCE(identity_checked, 0), "
                   "finished_device=? WHERE id=?", (at, call.now.timestamp(), started, at, call.device.id, row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL, done_epoch=? WHERE number=?", (call.now.timestamp(), window))
        self.learn_duration(tx, row, wrow, "served", call.now)
        minutes = round((call.now.timestamp() - started) / 60, 1)
        tx.emit("service.finished", at, call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "business": row["business"],
                 "day": row["day"], "minutes": minutes})
        clerk_row = tx.one("SELECT name FROM clerks WHERE id=?", (clerk,))
        case = self._open_case(tx, call, row, window, clerk) if req.accepted is True else None
        return 200, {"ticket": self.ticket_view(tx.conn, row, call.now) | {"state": "done"}, "case": case,
                     "rating_request": {"ticket": row["number"], "window": window, "clerk_id": clerk,
                                        "clerk_name": clerk_row["name"] if clerk_row else "",
                                        "business": row["business"], "levels": RATING_LEVELS, "day": row["day"],
                                        "finished_at": at,  # the window PC times the press from here
                                        "expires_at": self.iso(call.now + timedelta(
                                            minutes=self.config.ratings.keypad_minutes))}}


    def op_pause(self, tx: Tx, call: Call, req: WindowReason) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        reason = required_reason(req.reason)
        self._idle_window(tx, wrow)
        tx.execute("UPDATE windows SET state='paused', pause_reason=?, since_epoch=? WHERE number=?",
                   (reason, call.now.timestamp(), window))
        tx.emit("window.paused", self.iso(call.now), call.device.name,
                {"window": window, "clerk_id": clerk, "reason": reason})
        return 200, {"window": {"number": window, "state": "paused", "reason": reason}}

    def op_resume(self, tx: Tx, call: Call, req: WindowReason) -> Reply:
        window = req.window
        clerk, _ = self._clerk(tx, call, window)
        tx.execute("UPDATE windows SET state='open', pause_reason=NULL, since_epoch=? WHERE number=?",
                   (call.now.timestamp(), window))
        tx.emit("window.resumed", self.iso(call.now), call.device.name,
                {"window": window, "clerk_id": clerk, "reason": clean_text(req.reason, 500)})
        return 200, {"window": {"number": window, "state": "open"}}

    def op_logout(self, tx: Tx, call: Call, req: AtWindow) -> Reply:
        window = req.window
        clerk, wrow = self._clerk(tx, call, window)
        if wrow["state"] != "paused":
            self._idle_window(tx, wrow)
        tx.execute("UPDATE sessions SET ended=1 WHERE window=?", (window,))
        tx.execute("UPDATE windows SET state='closed', clerk_id=NULL, since_epoch=? WHERE number=?",
                   (call.now.timestamp(), window))
        tx.emit("window.closed", self.iso(call.now), call.device.name, {"window": window, "clerk_id": clerk})
        return 200, {"window": {"number": window, "state": "closed"}}
