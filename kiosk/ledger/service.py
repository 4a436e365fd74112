"""The central ledger: halls and their keys, idempotent ingest of signed batches that continue each
hall's hash chain, the stored feed, re-verification, and the facts supervisors query (ratings and
their follow-ups, unresolved matters, exceptions, ticket issues for scalper patterns), written in the
same transaction as the events they come from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kiosk.contract.wire import whole_number
from kiosk.domain import ledger_rules, signing
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.events import GENESIS, verify_chain
from kiosk.domain.text import has_id_number
from kiosk.ledger import facts, migrations, rollups, signin
from kiosk.ledger.db import LedgerDB
from kiosk.ledger.payload import FactInvalid, Payload
from kiosk.passwords import check_secret, hash_secret, new_secret

log = logging.getLogger("kiosk.ledger")
HALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EXCEPTION_TYPES = {"identity.mismatch", "ticket.transferred", "notice.issued", "ticket.called", "hall.hours_extended",
                   "window.temporary", "window.leaves_early"}


USER_LOGIN = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
SESSION_HOURS = 8
DUMMY_HASH = hash_secret("not a password")


@dataclass(frozen=True)
class Viewer:
    """Who is reading the dashboard: a person's account (province, or one region), or a supervisor token."""

    login: str
    role: str  # province | region
    region: str  # the region code for a region account, e.g. "3701"
    csrf: str = ""

    def scope(self, column: str = "hall") -> tuple[str, tuple[Any, ...]]:
        """A SQL condition keeping only the halls this viewer may see."""
        if self.role == "province":
            return "1=1", ()
        return f"{column} IN (SELECT id FROM halls WHERE region LIKE ?)", (self.region + "%",)


def int_param(raw: str, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] from a query string, or 422 naming the parameter: never a 500."""
    value = whole_number(raw, lo, hi)
    if value is None:
        raise fail("QUERY_INVALID", f"参数 {name} 应为 {lo} 到 {hi} 之间的整数。",
                   f"{name} must be a whole number from {lo} to {hi}.", parameter=name)
    return value


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LedgerService:
    def __init__(self, db: LedgerDB) -> None:
        self.db = db
        migrations.migrate(db)

    # -- registration --------------------------------------------------------------------------------------
    def add_hall(self, hall: str, public_key: str, now: datetime, name: str = "", region: str = "") -> str:
        if not isinstance(hall, str) or not HALL_ID.match(hall):
            raise fail("HALL_INVALID")
        try:
            signing.parse_public_key(public_key)
        except (ValueError, AttributeError):
            raise fail("PUBLIC_KEY_INVALID") from None
        token = new_secret()
        with self.db.transaction() as conn:
            if self.db.execute(conn, "SELECT 1 FROM halls WHERE id=?", (hall,)).fetchone() is not None:
                raise fail("HALL_EXISTS", hall=hall)
            self.db.execute(conn, "INSERT INTO halls (id, name, region, public_key, token_hash, registered_at, head_seq, "
                                  "head_hash) VALUES (?,?,?,?,?,?,0,?)",
                            (hall, name or hall, region, public_key.strip(), token_hash(token), now.isoformat(), GENESIS))
            self.db.add_partition(conn, hall)
        return token

    def add_token(self, role: str, name: str, now: datetime) -> str:
        if role != "supervisor":
            raise fail("ROLE_INVALID")
        token = new_secret()
        with self.db.transaction() as conn:
            self.db.execute(conn, "INSERT INTO tokens (token_hash, role, name, created_at) VALUES (?,?,?,?)",
                            (token_hash(token), role, name, now.isoformat()))
        return token

    def revoke_token(self, name: str, now: datetime) -> int:
        """Withdraw every live supervisor token of this name; how many. The next request with one is refused."""
        with self.db.transaction() as conn:
            return int(self.db.execute(conn, "UPDATE tokens SET revoked_at=? WHERE name=? AND revoked_at IS NULL",
                                       (now.isoformat(), name)).rowcount)

    def replace_hall_token(self, hall: str) -> str:
        """A new ledger token for a hall (its old one stops working at once): a leaked hall token is withdrawn
        by giving the hall a new one (`kiosk sync --token-file` on the hall)."""
        token = new_secret()
        with self.db.transaction() as conn:
            if self.db.execute(conn, "UPDATE halls SET token_hash=? WHERE id=?", (token_hash(token), hall)).rowcount == 0:
                raise fail("HALL_UNKNOWN", hall=hall)
        return token

    def who(self, token: str | None) -> tuple[str, str] | None:
        """('hall', id) or ('supervisor', name) for a bearer token; looked up per request, so tokens added or
        revoked by the command line take effect at once."""
        if not token:
            return None
        h = token_hash(token)
        row = self.db.one("SELECT id FROM halls WHERE token_hash=?", (h,))
        if row is not None:
            return ("hall", str(row[0]))
        row = self.db.one("SELECT name FROM tokens WHERE token_hash=? AND role='supervisor' AND revoked_at IS NULL",
                          (h,))
        return ("supervisor", str(row[0])) if row is not None else None

    # -- people: dashboard accounts and sessions --------------------------------------------------------------
    def add_user(self, login: str, role: str, region: str, password: str, now: datetime) -> None:
        if not isinstance(login, str) or not USER_LOGIN.match(login) or has_id_number(login):
            raise fail("LOGIN_INVALID")
        if role not in ("province", "region"):
            raise fail("ROLE_INVALID", "角色应为 province（省级）或 region（市县）。", "role is province or region.")
        if role == "region" and not (region.isascii() and region.isdigit() and 2 <= len(region) <= 6):
            raise fail("REGION_INVALID")
        if len(password) < 10:
            raise fail("PASSWORD_WEAK")
        pw_hash = hash_secret(password)  # the slow hash before the write lock, never inside it
        with self.db.transaction() as conn:
            self.db.execute(conn, "DELETE FROM users WHERE login=?", (login,))
            self.db.execute(conn, "INSERT INTO users (login, role, region, pw_hash, created_at) VALUES (?,?,?,?,?)",
                            (login, role, region if role == "region" else "", pw_hash, now.isoformat()))
            # a new password or role ends every open session of the account: a session never outlives the
            # password it was opened with, nor keeps (or widens to) a role the account no longer has
            self.db.execute(conn, "DELETE FROM sessions WHERE login=?", (login,))

    def remove_user(self, login: str) -> bool:
        """Remove an account and end its open sessions at once; False when there is no such account."""
        with self.db.transaction() as conn:
            gone = self.db.execute(conn, "DELETE FROM users WHERE login=?", (login,)).rowcount
            self.db.execute(conn, "DELETE FROM sessions WHERE login=?", (login,))
        return bool(gone)

    def sign_in(self, login: str, password: str, now: datetime) -> tuple[str, str]:
        """(session token, CSRF token), or SIGN_IN_FAILED / ACCOUNT_LOCKED (kiosk/ledger/signin.py: the attempt is
        counted under a row lock before the password is checked, and the check runs outside any lock)."""
        row = self.db.one("SELECT pw_hash FROM users WHERE login=?", (login,)) if isinstance(login, str) else None
        attempt = signin.reserve(self.db, login, now)  # refuses while locked; counts this try
        ok = check_secret(password, str(row[0]) if row is not None else DUMMY_HASH)  # the same work either way
        if row is None or not ok:
            raise fail("SIGN_IN_FAILED")
        token, csrf = new_secret(32), new_secret(24)
        with self.db.transaction() as conn:  # still the same password: it was not changed while we checked
            if self.db.execute(conn, "SELECT 1 FROM users WHERE login=? AND pw_hash=?", (login, row[0])).fetchone() is None:
                raise fail("SIGN_IN_FAILED")
            attempt.succeeded(conn)
            self.db.execute(conn, "INSERT INTO sessions (token_hash, login, csrf, expires_at) VALUES (?,?,?,?)",
                            (token_hash(token), login, csrf, (now + timedelta(hours=SESSION_HOURS)).isoformat()))
        return token, csrf

    def session(self, token: str | None, now: datetime) -> Viewer | None:
        if not token:
            return None
        row = self.db.one("SELECT u.login, u.role, u.region, s.csrf FROM sessions s JOIN users u ON u.login=s.login "
                          "WHERE s.token_hash=? AND s.expires_at>?", (token_hash(token), now.isoformat()))
        return Viewer(str(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None

    def sign_out(self, token: str) -> None:
        with self.db.transaction() as conn:
            self.db.execute(conn, "DELETE FROM sessions WHERE token_hash=?", (token_hash(token),))

    def log_read(self, viewer: Viewer, via: str, what: str, detail: dict[str, Any], now: datetime) -> None:
        """Every read of registration data leaves a trace: who, when, what, and from where."""
        with self.db.transaction() as conn:
            self.db.execute(conn, "INSERT INTO reads (at, who, via, what, detail) VALUES (?,?,?,?,?)",
                            (now.isoformat(), viewer.login, via, what, json.dumps(detail, ensure_ascii=False)))

    def hall_row(self, hall: str) -> tuple[Any, ...]:
        row = self.db.one("SELECT id, name, region, public_key, head_seq, head_hash FROM halls WHERE id=?", (hall,))
        if row is None:
            raise fail("HALL_UNKNOWN", hall=hall)
        return row

    # -- ingest -------------------------------------------------------------------------------------------------
    def ingest(self, hall: str, body: object, now: datetime) -> dict[str, Any]:
        parsed = ledger_rules.parse_batch(body)
        if isinstance(parsed, ledger_rules.Verdict):
            raise self._refused(hall, parsed, now)
        events, signature = parsed
        first, last = events[0]["seq"], events[-1]["seq"]
        with self.db.transaction() as conn:
            lock = " FOR UPDATE" if self.db.kind == "postgres" else ""
            row = self.db.execute(conn, "SELECT head_seq, head_hash, public_key FROM halls WHERE id=?" + lock,
                                  (hall,)).fetchone()
            if row is None:
                raise fail("HALL_UNKNOWN", hall=hall)
            head_seq, head_hash, public_key = int(row[0]), str(row[1]), str(row[2])
            stored: dict[int, str] = {}
            if first <= head_seq:
                stored = {int(s): str(h) for s, h in self.db.execute(
                    conn, "SELECT seq, hash FROM events WHERE hall=? AND seq BETWEEN ? AND ?",
                    (hall, first, min(last, head_seq))).fetchall()}
            verdict = ledger_rules.check_batch(events, head_seq, head_hash, stored.get)
            if verdict.code is None and verdict.new and not signing.signature_valid(
                    signing.parse_public_key(public_key), hall, events, signature):
                verdict = ledger_rules.refusal("BAD_SIGNATURE", "批次签名无效：不是该大厅的密钥所签。",
                                                "The batch's signature is not the hall's.")
            if verdict.code is not None:
                refusal = verdict
            else:
                received = now.isoformat()
                new = verdict.new
                if new:
                    self.db.copy_events(conn, [(hall, e["seq"], e["id"], e["type"], e["at"], e.get("device"), text,
                                                e["prev_hash"], e["hash"], received)
                                               for e, text in zip(new, verdict.payloads, strict=True)])
                with self.db.pipeline(conn):  # facts, rollups and the head: one or two round trips, not one each
                    self._facts(conn, hall, new, received, head_seq)
                    if new:
                        self.db.execute(conn, "UPDATE halls SET head_seq=?, head_hash=? WHERE id=?",
                                        (new[-1]["seq"], new[-1]["hash"], hall))
                return {"accepted": len(new), "head_seq": new[-1]["seq"] if new else head_seq}
        raise self._refused(hall, refusal, now)

    def _refused(self, hall: str, verdict: ledger_rules.Verdict, now: datetime) -> DomainError:
        """A refusal is an alert for the province: a hall whose chain does not continue needs a person."""
        assert verdict.code is not None
        with self.db.transaction() as conn:
            self.db.execute(conn, "INSERT INTO alerts (hall, at, code, detail) VALUES (?,?,?,?)",
                            (hall, now.isoformat(), verdict.code,
                             json.dumps({"message": verdict.message, **verdict.details}, ensure_ascii=False)))
        log.warning("batch refused hall=%s code=%s %s", hall, verdict.code, verdict.details)
        return DomainError(verdict.code, verdict.message, verdict.message_en, status=verdict.status, **verdict.details)

    def _facts(self, conn: Any, hall: str, events: list[dict[str, Any]], received: str, head: int) -> None:
        """What supervisors query, kept beside the events in the same transaction: the facts, and the rollups of the
        indicators (kiosk/ledger/rollups.py). Facts are derived: the event is the record and is stored whatever its
        payload holds; a fact that cannot be derived from it (an older or buggy hall's payload) is quarantined with
        an alert, never a 500 that would jam the hall's sync. Conflicts never block the chain (ON CONFLICT DO
        NOTHING). Inserts go in one round trip per table, the rollups in one per rollup table."""
        rows = facts.new_rows()
        tally = rollups.Tally()
        quarantined: list[tuple[dict[str, Any], str]] = []
        for e in events:
            try:
                self._fact(conn, hall, e, Payload(e["payload"]), rows, tally)
            except FactInvalid as exc:
                quarantined.append((e, str(exc)))
        facts.flush(self.db, conn, rows, tally)
        tally.write(self.db, conn, hall, events[-1]["seq"] if events else head)
        for e, why in quarantined:
            detail = {"message": f"事件 {e['seq']}（{e['type']}）已存档，但无法生成统计事实：{why}", "seq": e["seq"],
                      "type": e["type"], "field": why.split(":")[0]}
            self.db.execute(conn, "INSERT INTO alerts (hall, at, code, detail) VALUES (?,?,?,?)",
                            (hall, received, "FACT_QUARANTINED", json.dumps(detail, ensure_ascii=False)))
            log.warning("fact quarantined hall=%s seq=%s type=%s: %s", hall, e["seq"], e["type"], why)

    def _fact(self, conn: Any, hall: str, e: dict[str, Any], p: Payload, rows: facts.Rows,
              tally: rollups.Tally) -> None:
        db = self.db
        kind = e["type"]
        if kind == "rating.recorded":
            rows["ratings"].append((hall, p.day(), p.text("number"), p.integer("level", 1, 5), p.window(),
                                    p.text("clerk_id", None), p.text("business", None), p.text("source", None),
                                    e["at"], int(p.flag("bad")), p.text("followup_deadline", None),
                                    "opened" if p.flag("bad") else None, p.reasons()))
        elif kind == "followup.closed":
            facts.followup_closed(db, conn, hall, e, p, tally, rows)
        elif kind in ("rating.appealed", "rating.appeal_decided"):
            facts.appeal(db, conn, hall, e, p, tally, rows)
        elif kind == "matter.opened":
            history = [{"at": e["at"], "status": "opened", "note": ""}]
            db.execute(conn, "INSERT INTO matters (hall, number, category, status, opened_at, deadline, owner, "
                             "escalated, history) VALUES (?,?,?,?,?,?,?,0,?) ON CONFLICT DO NOTHING",
                       (hall, p.text("matter"), p.text("category"), "opened", e["at"], p.text("deadline"), None,
                        json.dumps(history, ensure_ascii=False)))
        elif kind in ("matter.transitioned", "matter.noted", "matter.escalated"):
            self._matter_step(conn, hall, kind, e, p)
        elif kind == "ticket.issued" and e["payload"].get("holder"):
            principals = e["payload"].get("principals") or []
            if not isinstance(principals, list):
                raise FactInvalid("principals: 应为列表 not a list")
            rows["issues"].append((hall, e["seq"], p.day(), e["at"], p.text("holder"), int(p.flag("agent")),
                                   len(principals)))
            tally.issued(p.day())
        elif kind == "case.accepted":
            rows["cases"].append((hall, p.text("case"), p.text("number"), p.day()))
        else:
            facts.observe(hall, e, p, tally, rows)
        if kind in EXCEPTION_TYPES:
            exception = _exception(kind, e["payload"])
            if exception is not None:
                window = p.window() if "window" in e["payload"] else p.window("from_window")
                rows["exceptions"].append((hall, e["seq"], e["at"], exception[0], window, p.text("clerk_id", None),
                                           p.text("number", None), p.text("reason", None, 2000)))

    def _matter_step(self, conn: Any, hall: str, kind: str, e: dict[str, Any], p: Payload) -> None:
        db = self.db
        number = p.text("matter")
        to = p.text("to", None)
        by = p.text("by", None)
        note = p.text("note", "", 2000)
        row = db.execute(conn, "SELECT history, status, owner FROM matters WHERE hall=? AND number=?",
                         (hall, number)).fetchone()
        if row is None:
            return
        history = json.loads(row[0])
        status = (to or row[1]) if kind == "matter.transitioned" else row[1]
        owner = by if kind == "matter.transitioned" and to == "claimed" else row[2]
        history.append({"at": e["at"], "status": "escalated" if kind == "matter.escalated" else status, "note": note})
        db.execute(conn, "UPDATE matters SET status=?, owner=?, history=?, escalated=escalated+?, "
                         "closed_at=COALESCE(closed_at, ?) WHERE hall=? AND number=?",
                   (status, owner, json.dumps(history, ensure_ascii=False), int(kind == "matter.escalated"),
                    e["at"] if status == "closed" else None, hall, number))

    # -- reading --------------------------------------------------------------------------------------------------
    def head(self, hall: str) -> dict[str, Any]:
        row = self.hall_row(hall)
        return {"seq": int(row[4]), "hash": str(row[5])}

    def events(self, hall: str, after: int, limit: int) -> dict[str, Any]:
        self.hall_row(hall)
        rows = self.db.all("SELECT seq, id, type, at, device, payload, prev_hash, hash, received_at FROM events "
                           "WHERE hall=? AND seq>? ORDER BY seq LIMIT ?", (hall, after, max(1, min(limit, 1000))))
        return {"events": [{"seq": int(r[0]), "id": r[1], "type": r[2], "at": r[3], "device": r[4],
                            "payload": json.loads(r[5]), "prev_hash": r[6], "hash": r[7], "received_at": r[8]}
                           for r in rows]}

    def verify(self, hall: str | None = None) -> list[tuple[str, int | None]]:
        """Every stored chain re-checked from its content: (hall, first bad seq or None)."""
        halls = [hall] if hall else [str(r[0]) for r in self.db.all("SELECT id FROM halls ORDER BY id")]
        out: list[tuple[str, int | None]] = []
        for h in halls:
            self.hall_row(h)
            prev, expected, bad = GENESIS, 1, None
            after = 0
            while bad is None:
                page = self.events(h, after, 1000)["events"]
                if not page:
                    break
                bad = verify_chain(page, prev, expected)
                prev, expected, after = page[-1]["hash"], page[-1]["seq"] + 1, page[-1]["seq"]
            if bad is None:
                head = self.head(h)
                if head["seq"] != expected - 1 or head["hash"] != prev:
                    bad = expected  # the head points past what is stored
            out.append((h, bad))
        return out


def _exception(kind: str, p: dict[str, Any]) -> tuple[str, str | None] | None:
    if kind == "identity.mismatch":
        return ("identity_override" if p.get("overridden") else "identity_mismatch", p.get("reason"))
    if kind == "ticket.called":
        return ("out_of_order_call", p.get("reason")) if p.get("out_of_order") else None
    if kind == "ticket.transferred":
        return ("transfer", p.get("reason"))
    if kind == "notice.issued":
        return ("repeat_notice", None) if p.get("repeat") else None
    if kind == "hall.hours_extended":
        return ("extend_hours", p.get("reason"))
    if kind == "window.temporary":
        return ("temporary_window", p.get("reason"))
    if kind == "window.leaves_early":
        return ("window_leaves", p.get("reason"))
    return None
