"""Who may act in the hall: devices enrolled (a token printed for the technician, or a short one-time code a
new terminal exchanges for its token), clerks added with a PIN, and a clerk signing in at a window. The
tokens' recognition and withdrawal, and the bounds on guessing, are kiosk/hall/credentials.py."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from kiosk.contract.requests import Login, RedeemCode
from kiosk.domain.errors import bad_request, fail
from kiosk.domain.text import has_id_number
from kiosk.hall.context import ROLES, Call, HallContext, check_pin, hash_pin, token_hash
from kiosk.hall.counter import window_row
from kiosk.hall.credentials import PinFailures, dummy_pin, enrol_refusal, record_enrol_failure
from kiosk.hall.outcomes import Done, Outcome, Refused
from kiosk.passwords import new_secret
from kiosk.store.db import Tx

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: nothing to misread on a touchscreen


def normal_code(code: object) -> str:
    """A typed code as stored: upper case, without the dash and spaces a technician may add."""
    return "".join(c for c in str(code).upper() if c.isalnum())[:20]


# -- devices, clerks ------------------------------------------------------
def _known_role(role: str) -> None:
    if role not in ROLES:
        raise bad_request(f"角色应为 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}")


def _add_device(ctx: HallContext, tx: Tx, name: str, role: str, token: str, now: datetime, **event: str) -> None:
    """The device row (its token only as a hash) and the event that records it."""
    tx.execute("INSERT INTO devices (name, role, token_hash, enrolled_at) VALUES (?,?,?,?)",
               (name, role, token_hash(token), ctx.iso(now)))
    tx.emit("device.enrolled", ctx.iso(now), None, {"name": name, "role": role, **event})


def enroll_code(ctx: HallContext, role: str, name: str, now: datetime, hours: int = 24) -> str:
    """A short one-time code (XXXXX-XXXXX, 50 bits) that a new terminal exchanges for its token within
    ``hours``: typed on a touchscreen by a technician, where a 43-character token would not be."""
    _known_role(role)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    code = f"{raw[:5]}-{raw[5:]}"

    def change(tx: Tx) -> None:
        tx.execute("INSERT INTO enroll_codes (code_hash, role, name, created_at, expires_epoch) VALUES (?,?,?,?,?)",
                   (token_hash(normal_code(code)), role, name, ctx.iso(now), (now + timedelta(hours=hours)).timestamp()))

    ctx.store.write(change)
    return code


def op_redeem_code(ctx: HallContext, call: Call, req: RedeemCode) -> Outcome:
    """The device's token for a valid, unused, unexpired code, which is then spent. A code asked for as
    another role is refused and stays valid (the technician picked the wrong --role). Wrong codes are
    counted (kiosk/hall/credentials.py): past the limit every code is refused for a while."""
    tx, now, role = ctx.tx, call.now, req.role
    locked = enrol_refusal(tx.conn, call.client, now)
    if locked is not None:
        return Refused(locked)
    row = tx.one("SELECT * FROM enroll_codes WHERE code_hash=? AND used_at IS NULL AND expires_epoch>?",
                 (token_hash(normal_code(req.code or "")), now.timestamp()))
    if row is None:
        record_enrol_failure(tx, call.client, now, ctx.iso(now))  # kept: the refusal is the record
        return Refused(fail("ENROLL_CODE_INVALID"))
    if role is not None and row["role"] != role:
        raise fail("ENROLL_CODE_INVALID", f"这个登记码是给 {row['role']} 终端的，不是 {role}。",
                   f"This code is for a {row['role']}, not a {role}.", role=row["role"])
    token = new_secret()
    tx.execute("UPDATE enroll_codes SET used_at=? WHERE code_hash=?", (ctx.iso(now), row["code_hash"]))
    _add_device(ctx, tx, row["name"], row["role"], token, now, via="code")
    return Done({"token": token, "name": row["name"], "role": row["role"], "hall": ctx.config.hall_id}, made=True)


def enroll_device(ctx: HallContext, role: str, name: str, now: datetime) -> str:
    _known_role(role)
    token = new_secret()
    ctx.store.write(lambda tx: _add_device(ctx, tx, name, role, token, now))
    return token


def add_clerk(ctx: HallContext, clerk_id: str, name: str, pin: str, now: datetime) -> None:
    """Add a clerk, or change one's name or PIN. A changed PIN ends the clerk's open window sessions."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise bad_request("PIN 应为4到12位数字", "the PIN must be 4 to 12 digits")
    if has_id_number(clerk_id) or has_id_number(name):
        raise bad_request("工号和姓名中不能含身份证号", "a clerk id or name must not contain an ID number")
    pin_hash = hash_pin(pin, ctx.pin_pepper)

    def change(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO clerks (id, name, pin_hash) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "name=excluded.name, pin_hash=excluded.pin_hash, failures=0, locked_until=NULL, active=1",
            (clerk_id, name, pin_hash))
        tx.execute("UPDATE sessions SET ended=1 WHERE clerk_id=? AND ended=0", (clerk_id,))
        tx.emit("clerk.added", ctx.iso(now), None, {"clerk_id": clerk_id, "name": name})

    ctx.store.write(change)


def op_login(ctx: HallContext, call: Call, req: Login) -> Outcome:
    """A clerk signs in at a window: the PIN's scrypt runs here, off the writer, then the change records it."""
    window, clerk_id, pin = req.window, req.clerk_id, req.pin
    if clerk_id is None or pin is None:
        raise bad_request("需要工号 clerk_id 和 PIN", "clerk_id and pin are required")
    row = ctx.store.reader().execute("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,)).fetchone()
    # the same scrypt work whether the clerk exists or not (slow hash off the writer)
    matches = check_pin(str(pin), row["pin_hash"] if row is not None else dummy_pin(ctx.pin_pepper),
                        ctx.pin_pepper)
    pin_ok = row is not None and matches

    def op(ctx: HallContext, call: Call, req: Login) -> Outcome:
        tx = ctx.tx
        now = call.now
        day = ctx.day(now).isoformat()
        window_row(ctx, tx, window, day)
        clerk = tx.one("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,))
        sec = ctx.config.security
        count = PinFailures(tx, clerk_id, clerk is not None, ctx.pin_pepper)
        if count.locked_until and count.locked_until > ctx.iso(now):
            return Refused(fail("CLERK_LOCKED",
                                f"PIN 连续输错次数过多，账号已锁定到 {count.locked_until[11:16]}。"
                                "请联系值班台。", "Too many wrong PINs; the account is locked. Ask the duty desk.",
                                locked_until=count.locked_until))
        if clerk is None or not pin_ok:
            failures = count.failures + 1
            locked = None
            if failures >= sec.pin_max_failures:
                locked = ctx.iso(now + timedelta(minutes=sec.pin_lockout_minutes))
                failures = 0
            count.save(failures, locked)
            tx.emit("clerk.login_failed", ctx.iso(now), call.device.name,  # an unknown id is not repeated
                    {"clerk_id": clerk_id if clerk is not None else None, "known": clerk is not None,
                     "window": window, "locked": locked is not None})
            if locked:
                return Refused(fail("CLERK_LOCKED", locked_until=locked))
            return Refused(fail("PIN_INVALID", f"工号或 PIN 不正确，还可以再试 {sec.pin_max_failures - failures} 次。",
                                "Wrong clerk id or PIN.", attempts_left=sec.pin_max_failures - failures))
        assert clerk is not None
        session = new_secret(24)
        expires = now + timedelta(hours=sec.session_hours)
        tx.execute("UPDATE clerks SET failures=0, locked_until=NULL WHERE id=?", (clerk_id,))
        tx.execute("UPDATE sessions SET ended=1 WHERE window=? AND ended=0", (window,))
        tx.execute("INSERT INTO sessions (token_hash, clerk_id, window, created_at, expires_epoch) "
                   "VALUES (?,?,?,?,?)", (token_hash(session), clerk_id, window, ctx.iso(now),
                                          expires.timestamp()))
        tx.execute("UPDATE windows SET state='open', clerk_id=?, pause_reason=NULL, back_epoch=NULL, since_epoch=?, worked_day=? "
                   "WHERE number=?", (clerk_id, now.timestamp(), day, window))
        tx.emit("window.opened", ctx.iso(now), call.device.name, {"window": window, "clerk_id": clerk_id})
        return Done({"session": session, "clerk": {"id": clerk_id, "name": clerk["name"]},
                     "window": window, "expires_at": ctx.iso(expires)})

    return ctx.run(op, call, req)


