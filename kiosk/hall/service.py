"""The hall service's operations: one function per fact the hall records.

Every front end (HTTP API, CLI, tests) goes through these. A change runs on the store's
writer thread with the hall time passed in; it reads what it needs, lets the pure
domain decide, then writes the state and its event in the same transaction. Replies
are ``(status, body)`` so that a refusal that must be remembered (a limit hit, a wrong
PIN, an identity mismatch) is committed rather than rolled back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import math
import secrets
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.domain import cases, codes, labels, limits, queue, ratings
from kiosk.domain.calendar import CalendarNotCovered
from kiosk.domain.catalog import Business, quote_fee, yuan
from kiosk.domain.config import HallConfig
from kiosk.domain.errors import DomainError, bad_request
from kiosk.domain.identity import Identity, make_identity
from kiosk.domain.text import clean_text, mask_phone, valid_phone
from kiosk.passwords import COST, check_secret, hash_secret
from kiosk.store.db import Store, Tx

log = logging.getLogger("kiosk.hall")
Reply = tuple[int, dict[str, Any]]
WAITING = ("waiting", "transferred")
ROLES = ("kiosk", "counter", "display", "supervisor")
MATTER_FLOW = {"opened": "claimed", "claimed": "resolved", "resolved": "called_back", "called_back": "closed"}
MATTER_OPEN = ("opened", "claimed")
READ_LOG_QUIET = timedelta(minutes=10)


@dataclass(frozen=True)
class Device:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class Call:
    device: Device
    now: datetime
    session: str | None = None
    idem_key: str | None = None


def derive_key(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, purpose.encode(), hashlib.sha256).digest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


PIN_COST = COST


def hash_pin(pin: str, salt: bytes | None = None, cost: int | None = None) -> str:
    return hash_secret(pin, salt, cost)


def check_pin(pin: str, stored: str) -> bool:
    return check_secret(pin, stored)


def _err(code: str, zh: str, en: str, status: int = 409, **details: Any) -> DomainError:
    return DomainError(code, zh, en, status=status, **details)


def _reason(body: dict[str, Any], key: str = "reason") -> str:
    reason = clean_text(body.get(key), 500)
    if reason is None:
        raise _err("REASON_REQUIRED", "此操作必须填写原因，原因会被记录。", "A reason is required and will be recorded.",
                   status=422)
    return reason


class HallService:
    def __init__(self, config: HallConfig, store: Store, master_key: bytes, identity_key: bytes | None = None) -> None:
        self.config = config
        self.store = store
        self.master_key = master_key
        # a province-wide identity key (distributed to every hall) makes the same person the same hash in every
        # hall, so that the ledger can see one identity taking tickets in several halls; else the hall's own
        self.id_key = identity_key or derive_key(master_key, "identity")
        self.code_key = derive_key(master_key, "codes")
        self._devices: dict[str, Device] = {}
        self._served: dict[tuple[str, int], dict[int, tuple[str, ...]]] = {}
        self._reads: dict[tuple[int, str, str], datetime] = {}
        self._uncovered: set[int] = set()  # years already reported as not covered by the calendar

    # -- time -------------------------------------------------------------
    def iso(self, now: datetime) -> str:
        return now.astimezone(self.config.calendar.tz).isoformat(timespec="milliseconds")

    def day(self, now: datetime) -> date:
        return self.config.calendar.business_day(now)

    # -- running changes ----------------------------------------------------
    def submit(self, op: Callable[[Tx, Call, dict[str, Any]], Reply], call: Call,
               body: dict[str, Any]) -> Future[Reply]:
        """Run ``op`` on the writer; with an Idempotency-Key the first answer is kept and replayed."""
        key = call.idem_key

        def change(tx: Tx) -> Reply:
            if not key:
                return op(tx, call, body)
            day = self.day(call.now).isoformat()
            device = str(call.device.id)  # names may repeat across enrolments; ids do not
            seen = tx.one("SELECT status, body FROM idempotency WHERE device=? AND day=? AND key=?",
                          (device, day, key))
            if seen is not None:
                return int(seen["status"]), json.loads(seen["body"])
            tx.execute("SAVEPOINT op")
            try:
                reply = op(tx, call, body)
            except DomainError as exc:
                tx.execute("ROLLBACK TO op")
                reply = (exc.status, exc.body())
            tx.execute("RELEASE op")
            tx.execute("INSERT INTO idempotency (device, day, key, status, body) VALUES (?,?,?,?,?)",
                       (device, day, key, reply[0], json.dumps(reply[1], ensure_ascii=False)))
            return reply

        return self.store.submit(change)

    def run(self, op: Callable[[Tx, Call, dict[str, Any]], Reply], call: Call, body: dict[str, Any]) -> Reply:
        return self.submit(op, call, body).result()

    # -- devices, clerks ------------------------------------------------------
    def device_for_token(self, token: str) -> Device | None:
        th = token_hash(token)
        device = self._devices.get(th)
        if device is None:
            row = self.store.reader().execute(
                "SELECT id, name, role FROM devices WHERE token_hash=? AND revoked=0", (th,)).fetchone()
            if row is None:
                return None
            device = Device(row["id"], row["name"], row["role"])
            self._devices[th] = device
        return device

    def enroll_device(self, role: str, name: str, now: datetime) -> str:
        if role not in ROLES:
            raise bad_request(f"角色应为 {'、'.join(ROLES)} 之一", f"role must be one of {', '.join(ROLES)}")
        token = secrets.token_urlsafe(32)

        def change(tx: Tx) -> None:
            tx.execute("INSERT INTO devices (name, role, token_hash, enrolled_at) VALUES (?,?,?,?)",
                       (name, role, token_hash(token), self.iso(now)))
            tx.emit("device.enrolled", self.iso(now), None, {"name": name, "role": role})

        self.store.write(change)
        return token

    def add_clerk(self, clerk_id: str, name: str, pin: str, now: datetime) -> None:
        if not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise bad_request("PIN 应为4到12位数字", "the PIN must be 4 to 12 digits")
        pin_hash = hash_pin(pin)

        def change(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO clerks (id, name, pin_hash) VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "name=excluded.name, pin_hash=excluded.pin_hash, failures=0, locked_until=NULL, active=1",
                (clerk_id, name, pin_hash))
            tx.emit("clerk.added", self.iso(now), None, {"clerk_id": clerk_id, "name": name})

        self.store.write(change)

    # -- identity and ticket helpers ------------------------------------------
    def identity(self, raw: object, now: datetime) -> Identity:
        return make_identity(raw, self.id_key, self.day(now))

    def business_or_fail(self, code: object) -> Business:
        business = self.config.business(code) if isinstance(code, str) else None
        if business is None:
            names = "、".join(f"{b.code} {b.name}" for b in self.config.businesses)
            raise _err("UNKNOWN_BUSINESS", f"没有这项业务。可办理的业务：{names}。",
                       "Unknown business. See GET /api/v1/catalog for the list.", status=422)
        return business

    def service_minutes(self, conn: sqlite3.Connection, business: Business, day: str) -> float:
        row = conn.execute(
            "SELECT AVG(m), COUNT(*) FROM (SELECT (finished_epoch - started_epoch) / 60.0 AS m FROM tickets "
            "WHERE day=? AND business=? AND state='done' AND started_epoch IS NOT NULL "
            "ORDER BY finished_epoch DESC LIMIT 20)", (day, business.code)).fetchone()
        if row[1] >= 3:
            return max(1.0, float(row[0]))
        return business.service_minutes

    # -- the day's shape: configured windows and hours, plus the duty desk's decisions for a surge --
    def served_by(self, conn: sqlite3.Connection, window: int, day: str) -> tuple[str, ...]:
        return self.served_map(conn, day).get(window, ())

    def windows_serving(self, conn: sqlite3.Connection, code: str, day: str) -> list[int]:
        return [w.number for w in self.config.windows if code in self.served_by(conn, w.number, day)]

    def extended_until(self, conn: sqlite3.Connection, day: str) -> datetime | None:
        row = conn.execute("SELECT MAX(until_epoch) FROM decisions WHERE day=? AND kind='extend_hours'",
                           (day,)).fetchone()
        return datetime.fromtimestamp(row[0], self.config.calendar.tz) if row and row[0] else None

    def remaining_minutes(self, conn: sqlite3.Connection, now: datetime) -> float:
        cal = self.config.calendar
        remaining = cal.remaining_open_minutes(now)
        until = self.extended_until(conn, self.day(now).isoformat())
        closing = cal.closing_time(now)
        if until is not None and closing is not None:
            remaining += max(0.0, (until - max(closing, cal.local(now))).total_seconds() / 60)
        return remaining

    def open_windows(self, conn: sqlite3.Connection, code: str, day: str) -> int:
        serving = set(self.windows_serving(conn, code, day))
        rows = conn.execute("SELECT number FROM windows WHERE state='open' AND day=?", (day,)).fetchall()
        open_now = len([r for r in rows if r[0] in serving])
        return open_now or max(1, len(serving))

    def served_map(self, conn: sqlite3.Connection, day: str) -> dict[int, tuple[str, ...]]:
        """Which businesses each window serves today: configured, plus the duty desk's temporary decisions.
        Issuing reads it for every ticket: cached, keyed by the day and how many decisions it has, so that any
        connection (writer or reader) sees a new decision at once."""
        count = conn.execute("SELECT COUNT(*) FROM decisions WHERE day=?", (day,)).fetchone()[0]
        cached = self._served.get((day, count))
        if cached is not None:
            return cached
        decided: dict[int, list[str]] = defaultdict(list)
        for row in conn.execute("SELECT window, businesses FROM decisions WHERE day=? AND kind='temporary_window' "
                                "ORDER BY id", (day,)):
            decided[int(row[0])] += json.loads(row[1])
        served = {w.number: tuple(dict.fromkeys([*w.businesses, *decided.get(w.number, [])]))
                  for w in self.config.windows}
        self._served = {(day, count): served}
        return served

    def backlog_minutes(self, conn: sqlite3.Connection, business: Business, day: str) -> float:
        """The wait a new ticket of ``business`` faces at the windows it shares with other businesses."""
        served = self.served_map(conn, day)
        related = {b for bs in served.values() if business.code in bs for b in bs}
        waiting = {r[0]: int(r[1]) for r in conn.execute(
            "SELECT business, SUM(n) FROM waiting WHERE day=? GROUP BY business", (day,)) if r[0] in related}
        minutes: dict[str, float] = {}
        for code, count in waiting.items():
            other = self.config.business(code)
            if count > 0 and other is not None:
                minutes[code] = self.service_minutes(conn, other, day)
        open_now = {int(r[0]) for r in conn.execute("SELECT number FROM windows WHERE state='open' AND day=?", (day,))}
        return queue.backlog_wait_minutes(business.code, waiting, minutes, served, open_now)

    def _ahead(self, conn: sqlite3.Connection, row: sqlite3.Row) -> int:
        counts = {0: (0, 0), 1: (0, 0)}
        for r in conn.execute(
            "SELECT priority IS NOT NULL AS p, SUM(id < ?), COUNT(*) FROM tickets "
            "WHERE day=? AND business=? AND state IN ('waiting','transferred') GROUP BY p",
            (row["id"], row["day"], row["business"])):
            counts[int(r[0])] = (int(r[1] or 0), int(r[2]))  # (before this ticket, all)
        is_prio = row["priority"] is not None
        return queue.people_ahead(is_prio, counts[0][0], counts[1][0], counts[1][1], counts[0][1],
                                  self.config.priority.max_consecutive)

    def waiting_counts(self, conn: sqlite3.Connection, day: str, code: str) -> tuple[int, int]:
        """(normal, priority) tickets waiting in one business, as the store's triggers keep them."""
        counts = [0, 0]
        for r in conn.execute("SELECT prio, n FROM waiting WHERE day=? AND business=?", (day, code)):
            counts[int(r[0])] = int(r[1])
        return counts[0], counts[1]

    def ticket_view(self, conn: sqlite3.Connection, row: sqlite3.Row,
                    estimate: tuple[int, int] | None = None) -> dict[str, Any]:
        """``estimate`` is (ahead, wait minutes) when the caller already knows them."""
        business = self.config.business(row["business"])
        ahead = 0
        wait = 0
        position = None
        if row["state"] in WAITING and estimate is not None:
            ahead, wait = estimate
            position = ahead + 1
        elif row["state"] in WAITING and business is not None:
            ahead = self._ahead(conn, row)
            position = ahead + 1
            wait = queue.expected_wait_minutes(
                ahead, self.service_minutes(conn, business, row["day"]),
                self.open_windows(conn, business.code, row["day"]))
        return {
            "number": row["number"],
            "business": row["business"],
            "business_name": business.name if business else row["business"],
            "holder_masked": row["holder_masked"],
            "name_masked": row["name_masked"],
            "issued_at": row["issued_at"],
            "day": row["day"],
            "channel": row["channel"],
            "priority": row["priority"],
            "state": row["state"],
            "position": position,
            "ahead": ahead,
            "expected_wait_min": wait,
            "window": row["target_window"] if row["state"] in WAITING else row["window"],
            "calls": row["calls"],
            "agent": bool(row["is_agent"]),
            "qr": codes.ticket_qr(self.code_key, self.config.hall_id, date.fromisoformat(row["day"]),
                                  row["number"]),
        }

    def _ticket_row(self, conn: sqlite3.Connection, day: str, number: object) -> sqlite3.Row:
        row: sqlite3.Row | None = None
        if isinstance(number, str) and len(number) <= 12:
            row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                               (day, number.strip().upper())).fetchone()
        if row is None:
            raise _err("TICKET_NOT_FOUND", "今天没有这个号，请核对号码。",
                       "No ticket with this number today; check the number.", status=404)
        return row

    # -- issuing --------------------------------------------------------------
    def _issuing_open(self, now: datetime, conn: sqlite3.Connection) -> None:
        cal = self.config.calendar
        periods = cal.periods(self.day(now))
        local = cal.local(now)
        if periods and periods[0][0] <= local < periods[-1][1]:
            return
        until = self.extended_until(conn, self.day(now).isoformat())
        if periods and until is not None and periods[-1][1] <= local < until:
            return  # hours extended today by the duty desk
        nxt = cal.next_opening(now)
        when = f"{nxt:%m月%d日 %H:%M}" if nxt else "下一个工作日"
        when_en = f"{nxt:%Y-%m-%d %H:%M}" if nxt else "the next working day"
        raise _err("HALL_CLOSED", f"现在不在办公时间，取号将于 {when} 开始。也可以在网上或微信预约。",
                   f"The hall is closed; tickets are issued again from {when_en}. You can also book online.",
                   opens_at=nxt.isoformat() if nxt else None)

    def _person_facts(self, tx: Tx, day: str, who: str, business: str) -> limits.PersonFacts:
        own = tx.one("SELECT COUNT(*), SUM(issued_business=?) FROM tickets WHERE day=? AND holder_hash=? "
                     "AND is_agent=0", (business, day, who))
        via = tx.one("SELECT COUNT(*), SUM(business=?) FROM ticket_principals WHERE day=? AND principal_hash=?",
                     (business, day, who))
        ns = tx.one("SELECT COUNT(*), MAX(at_epoch) FROM no_shows WHERE day=? AND holder_hash=?", (day, who))
        block = tx.one("SELECT reason FROM blocklist WHERE holder_hash=?", (who,))
        assert own is not None and via is not None and ns is not None
        last = (datetime.fromtimestamp(ns[1], tz=self.config.calendar.tz) if ns[1] is not None else None)
        return limits.PersonFacts(
            tickets_today=int(own[0]) + int(via[0]),
            tickets_in_business=int(own[1] or 0) + int(via[1] or 0),
            no_shows_today=int(ns[0]),
            last_no_show_at=last,
            blocklist_reason=block["reason"] if block else None,
        )

    def _priority(self, body: dict[str, Any], holder: Identity, is_agent: bool) -> str | None:
        rules = self.config.priority
        claimed = body.get("priority")
        if claimed in (None, "", "none"):
            if not is_agent and "elderly" in rules.groups and holder.age >= rules.elderly_age:
                return "elderly"
            return None
        if not isinstance(claimed, str) or claimed not in rules.groups:
            raise _err("PRIORITY_INVALID", f"优先类别应为：{'、'.join(rules.groups)}。",
                       f"priority must be one of {', '.join(rules.groups)}.", status=422)
        if claimed == "elderly" and holder.age < rules.elderly_age:
            raise _err("PRIORITY_NOT_ELIGIBLE", f"老年人优先需年满 {rules.elderly_age} 周岁，请选择普通取号。",
                       f"Elderly priority starts at age {rules.elderly_age}; take a normal ticket.", status=422)
        return claimed

    def op_issue(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        now = call.now
        day = self.day(now).isoformat()
        at = self.iso(now)
        business = self.business_or_fail(body.get("business"))
        agent_raw = body.get("agent")
        principals: list[Identity] = []
        if agent_raw is not None:
            if not isinstance(agent_raw, dict):
                raise bad_request("agent 应为对象", "agent must be an object")
            holder = self.identity(agent_raw.get("identity") or body.get("identity"), now)
            raw_list = agent_raw.get("principals")
            if not isinstance(raw_list, list) or not 1 <= len(raw_list) <= 20:
                raise _err("PRINCIPALS_REQUIRED", "代办取号需要录入被代办人（当事人）的身份信息。",
                           "An agent ticket needs the identities of the people represented.", status=422)
            extra = [body["identity"]] if agent_raw.get("identity") and body.get("identity") else []
            for raw in raw_list + extra:
                p = self.identity(raw, now)
                if p.hash != holder.hash and all(p.hash != q.hash for q in principals):
                    principals.append(p)
            if not principals:
                raise _err("PRINCIPALS_REQUIRED", "被代办人不能是代办人本人。",
                           "The people represented cannot be the agent.", status=422)
        else:
            holder = self.identity(body.get("identity"), now)
        priority = self._priority(body, holder, bool(principals))
        self._issuing_open(now, tx.conn)
        try:
            if principals:
                # the agent's blocklist and cool-down apply; the agent's personal ticket counts do not
                agent_facts = self._person_facts(tx, day, holder.hash, business.code)
                limits.check_person(self.config.limits, "代办人",
                                    dataclasses.replace(agent_facts, tickets_today=0, tickets_in_business=0), now)
                known = frozenset(r[0] for r in tx.all(
                    "SELECT principal_hash FROM agent_principals WHERE day=? AND agent_hash=?", (day, holder.hash)))
                limits.check_agent(self.config.limits, limits.AgentFacts(known), [p.hash for p in principals])
                for p in principals:
                    limits.check_person(self.config.limits, f"被代办人 {p.name_masked or p.masked} ",
                                        self._person_facts(tx, day, p.hash, business.code), now)
            else:
                limits.check_person(self.config.limits, "您", self._person_facts(tx, day, holder.hash,
                                                                                 business.code), now)
            self._check_burst(tx, call, holder)
        except DomainError as refusal:
            tx.emit("ticket.refused", at, call.device.name, {
                "code": refusal.code, "business": business.code, "holder": holder.hash,
                "agent": bool(principals), "day": day, "source": holder.source})
            if refusal.code == "KIOSK_BURST":
                self._record_burst(tx, call, day)
            return refusal.status, refusal.body()

        # capacity: never a refusal; offer a booking when today clearly cannot serve it
        normal, prio = self.waiting_counts(tx.conn, day, business.code)
        backlog = self.backlog_minutes(tx.conn, business, day)  # shared windows: the whole load before it
        remaining = self.remaining_minutes(tx.conn, now)
        over = backlog > remaining + self.config.booking.over_capacity_slack_minutes
        if self.config.booking.offers and body.get("accept_wait") is not True and over:
            offer = self._offer(tx, call, business, holder, now)
            if offer is not None:
                return 200, offer
        # the new ticket is the last of its business, so everyone waiting is before it
        ahead = queue.people_ahead(priority is not None, normal, prio, prio, normal,
                                   self.config.priority.max_consecutive)
        # a priority ticket passes part of the queue: its share of the backlog is the share of people before it
        share = ahead / (normal + prio) if priority is not None and normal + prio else 1.0
        estimate = (ahead, math.ceil(backlog * share))
        return 201, {"ticket": self._create_ticket(tx, call, business, holder, principals, priority,
                                                   "walk_in", None, estimate)}

    def _check_burst(self, tx: Tx, call: Call, holder: Identity) -> None:
        """Only identities *typed* at one kiosk count: a crowd laying its own cards is never slowed down,
        while someone typing other people's numbers to hold places for sale is stopped within a few tickets."""
        burst = self.config.limits.kiosk_burst
        if call.device.role != "kiosk" or burst is None or holder.source != "typed":
            return
        since = call.now.timestamp() - burst.minutes * 60
        recent = {r[0] for r in tx.all(
            "SELECT DISTINCT holder_hash FROM tickets WHERE device=? AND issued_epoch>=? AND entry='typed'",
            (call.device.name, since))}
        limits.check_kiosk_burst(self.config.limits, recent, holder.hash)

    def _record_burst(self, tx: Tx, call: Call, day: str) -> None:
        """One ``kiosk.burst`` event per episode (the duty desk's alert); later refusals only count."""
        burst = self.config.limits.kiosk_burst
        assert burst is not None
        since = call.now.timestamp() - burst.minutes * 60
        row = tx.one("SELECT id FROM kiosk_bursts WHERE device=? AND started_epoch>=? ORDER BY id DESC LIMIT 1",
                     (call.device.name, since))
        if row is not None:
            tx.execute("UPDATE kiosk_bursts SET refused=refused+1 WHERE id=?", (row["id"],))
            return
        tx.execute("INSERT INTO kiosk_bursts (device, day, started_epoch) VALUES (?,?,?)",
                   (call.device.name, day, call.now.timestamp()))
        tx.emit("kiosk.burst", self.iso(call.now), call.device.name, {
            "device": call.device.name, "day": day, "identities": burst.identities, "minutes": burst.minutes})

    def _create_ticket(self, tx: Tx, call: Call, business: Business, holder: Identity | None,
                       principals: list[Identity], priority: str | None, channel: str,
                       appointment: codes.AppointmentCode | None,
                       estimate: tuple[int, int] | None = None) -> dict[str, Any]:
        now = call.now
        day = self.day(now).isoformat()
        at = self.iso(now)
        number = self._next_number(tx, day, business.code)
        holder_hash = holder.hash if holder else (appointment.holder if appointment else "")
        cur = tx.execute(
            "INSERT INTO tickets (day, number, business, issued_business, holder_hash, holder_masked, name_masked,"
            " is_agent, channel, priority, state, issued_at, issued_epoch, device, appointment_id, entry)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,'waiting',?,?,?,?,?)",
            (day, number, business.code, business.code, holder_hash, holder.masked if holder else "",
             holder.name_masked if holder else "", int(bool(principals)), channel, priority, at,
             now.timestamp(), call.device.name, appointment.appointment_id if appointment else None,
             holder.source if holder else None))
        tid = cur.lastrowid
        for p in principals:
            tx.execute("INSERT INTO ticket_principals (ticket_id, day, principal_hash, principal_masked, business)"
                       " VALUES (?,?,?,?,?)", (tid, day, p.hash, p.masked, business.code))
            tx.execute("INSERT OR IGNORE INTO agent_principals (day, agent_hash, principal_hash) VALUES (?,?,?)",
                       (day, holder_hash, p.hash))
        tx.emit("ticket.issued", at, call.device.name, {
            "number": number, "business": business.code, "day": day, "channel": channel, "priority": priority,
            "holder": holder_hash, "agent": bool(principals), "principals": [p.hash for p in principals],
            "order": tid, "appointment": appointment.appointment_id if appointment else None,
            "entry": holder.source if holder else None})
        new = tx.one("SELECT * FROM tickets WHERE id=?", (tid,))
        assert new is not None
        return self.ticket_view(tx.conn, new, estimate)

    @staticmethod
    def _next_number(tx: Tx, day: str, prefix: str) -> str:
        """The next number of a series (A001 …) for the day, in the same transaction as the ticket:
        a number is never handed out twice, even across a crash."""
        row = tx.one("SELECT last FROM counters WHERE day=? AND business=?", (day, prefix))
        seq = (row[0] if row else 0) + 1
        tx.execute("INSERT INTO counters (day, business, last) VALUES (?,?,?) ON CONFLICT(day, business) "
                   "DO UPDATE SET last=excluded.last", (day, prefix, seq))
        return f"{prefix}{seq:03d}"

    def issue_test_ticket(self, now: datetime, device: str) -> dict[str, Any]:
        """A technician's test slip: a real, verifiable ticket that can never be called (state cancelled)."""

        def change(tx: Tx) -> dict[str, Any]:
            day = self.day(now).isoformat()
            number = self._next_number(tx, day, "T")
            cur = tx.execute(
                "INSERT INTO tickets (day, number, business, issued_business, holder_hash, holder_masked, name_masked,"
                " channel, state, issued_at, issued_epoch, device) VALUES (?,?,'T','T','','测试 TEST','测试','test',"
                "'cancelled',?,?,?)", (day, number, self.iso(now), now.timestamp(), device))
            tx.emit("ticket.test_printed", self.iso(now), device, {"number": number, "day": day})
            new = tx.one("SELECT * FROM tickets WHERE id=?", (cur.lastrowid,))
            assert new is not None
            return self.ticket_view(tx.conn, new)

        return self.store.write(change)

    # -- on-site booking and appointments --------------------------------------
    def _offer(self, tx: Tx, call: Call, business: Business, holder: Identity, now: datetime
               ) -> dict[str, Any] | None:
        rules = self.config.booking
        cal = self.config.calendar
        live = tx.one("SELECT * FROM offers WHERE business=? AND holder_hash=? AND used=0 AND expires_epoch>?",
                      (business.code, holder.hash, now.timestamp()))
        if live is not None:  # asking again does not reserve another slot
            return self._offer_body(live["id"], business, live["slot_start"], live["slot_end"],
                                    live["expires_epoch"])
        taken: dict[float, int] = defaultdict(int)
        for row in tx.all("SELECT slot_start, COUNT(*) FROM bookings WHERE business=? AND slot_start>? AND "
                          "state!='cancelled' GROUP BY slot_start", (business.code, now.timestamp())):
            taken[row[0]] += row[1]
        for row in tx.all("SELECT slot_start, COUNT(*) FROM offers WHERE business=? AND slot_start>? AND used=0 "
                          "AND expires_epoch>? GROUP BY slot_start", (business.code, now.timestamp(),
                                                                    now.timestamp())):
            taken[row[0]] += row[1]
        step = timedelta(minutes=rules.slot_minutes)
        for day in cal.open_days_after(self.day(now), 30):
            for a, b in cal.periods(day):
                start = a
                while start + step <= b:
                    if taken[start.timestamp()] < rules.per_slot:
                        end = start + step
                        offer_id = secrets.token_hex(8)
                        expires = now + timedelta(minutes=rules.offer_valid_minutes)
                        tx.execute("INSERT INTO offers (id, business, holder_hash, slot_start, slot_end, "
                                   "expires_epoch) VALUES (?,?,?,?,?,?)",
                                   (offer_id, business.code, holder.hash, start.timestamp(), end.timestamp(),
                                    expires.timestamp()))
                        tx.emit("booking.offered", self.iso(now), call.device.name, {
                            "offer_id": offer_id, "business": business.code, "holder": holder.hash,
                            "slot_start": self.iso(start), "slot_end": self.iso(end)})
                        return self._offer_body(offer_id, business, start.timestamp(), end.timestamp(),
                                                expires.timestamp())
                    start += step
        return None

    def _offer_body(self, offer_id: str, business: Business, start_epoch: float, end_epoch: float,
                    expires_epoch: float) -> dict[str, Any]:
        tz = self.config.calendar.tz
        start = datetime.fromtimestamp(start_epoch, tz)
        end = datetime.fromtimestamp(end_epoch, tz)
        return {
            "over_capacity": True,
            "booking_offer": {"offer_id": offer_id, "slot_start": self.iso(start), "slot_end": self.iso(end),
                              "business": business.code,
                              "expires_at": self.iso(datetime.fromtimestamp(expires_epoch, tz))},
            "message": f"今天排队人数已超过剩余办公时间的受理能力。可以为您预约 {start:%m月%d日 %H:%M}–{end:%H:%M} 办理；"
                       "如仍想今天等候，也可以继续取号。",
            "message_en": "Today's remaining hours cannot serve everyone waiting. You can book the offered time, "
                          "or still take a ticket for today.",
        }

    def op_accept_booking(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        holder = self.identity(body.get("identity"), call.now)
        offer = tx.one("SELECT * FROM offers WHERE id=?", (str(body.get("offer_id", ""))[:64],))
        if offer is None:
            raise _err("OFFER_NOT_FOUND", "没有找到这个预约名额，请重新取号。", "No such booking offer; take a ticket again.",
                       status=404)
        if offer["holder_hash"] != holder.hash:
            raise _err("IDENTITY_MISMATCH", "预约名额只能由取号本人确认。", "Only the person offered can accept.")
        if offer["used"] or offer["expires_epoch"] <= call.now.timestamp():
            raise _err("OFFER_EXPIRED", "这个预约名额已失效，请重新取号。", "The offer has expired; take a ticket again.")
        booking_id = "B" + secrets.token_hex(6).upper()
        tx.execute("UPDATE offers SET used=1 WHERE id=?", (offer["id"],))
        tx.execute("INSERT INTO bookings (id, business, holder_hash, holder_masked, slot_start, slot_end, "
                   "created_at, state) VALUES (?,?,?,?,?,?,?,'booked')",
                   (booking_id, offer["business"], holder.hash, holder.masked, offer["slot_start"],
                    offer["slot_end"], self.iso(call.now)))
        code = codes.AppointmentCode(self.config.hall_id, booking_id, "booking", offer["business"],
                                     int(offer["slot_start"]), int(offer["slot_end"]), holder.hash[:16])
        tz = self.config.calendar.tz
        start = datetime.fromtimestamp(offer["slot_start"], tz)
        end = datetime.fromtimestamp(offer["slot_end"], tz)
        tx.emit("booking.created", self.iso(call.now), call.device.name, {
            "booking": booking_id, "business": offer["business"], "holder": holder.hash,
            "slot_start": self.iso(start), "slot_end": self.iso(end)})
        return 201, {"booking": {
            "id": booking_id, "business": offer["business"], "slot_start": self.iso(start),
            "slot_end": self.iso(end), "holder_masked": holder.masked, "name_masked": holder.name_masked,
            "code": codes.appointment_qr(self.code_key, code)}}

    def op_create_appointment(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        business = self.business_or_fail(body.get("business"))
        try:
            start = datetime.fromisoformat(str(body.get("slot_start")))
            end = datetime.fromisoformat(str(body.get("slot_end")))
            if start.tzinfo is None or end.tzinfo is None or end <= start:
                raise ValueError
        except ValueError:
            raise bad_request("slot_start/slot_end 应为带时区的 ISO 8601 时间，且结束晚于开始",
                              "slot_start and slot_end must be ISO 8601 with offset, end after start") from None
        holder = self.identity(body["identity"], call.now) if body.get("identity") else None
        appt_id = "A" + secrets.token_hex(6).upper()
        tx.execute("INSERT INTO appointments (id, business, slot_start, slot_end, holder, created_at) "
                   "VALUES (?,?,?,?,?,?)", (appt_id, business.code, start.timestamp(), end.timestamp(),
                                            holder.hash[:16] if holder else None, self.iso(call.now)))
        code = codes.AppointmentCode(self.config.hall_id, appt_id, "appointment", business.code,
                                     int(start.timestamp()), int(end.timestamp()),
                                     holder.hash[:16] if holder else "")
        tx.emit("appointment.created", self.iso(call.now), call.device.name, {
            "appointment": appt_id, "business": business.code, "holder": holder.hash if holder else None,
            "slot_start": self.iso(start), "slot_end": self.iso(end)})
        return 201, {"appointment": {"id": appt_id, "business": business.code, "slot_start": self.iso(start),
                                     "slot_end": self.iso(end), "code": codes.appointment_qr(self.code_key, code),
                                     "holder_masked": holder.masked if holder else None}}

    def op_check_in(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        now = call.now
        code = codes.read_appointment_qr(self.code_key, self.config.hall_id, body.get("code"))
        business = self.business_or_fail(code.business)
        holder = self.identity(body["identity"], now) if body.get("identity") else None
        if holder is not None and code.holder and not holder.hash.startswith(code.holder):
            raise _err("IDENTITY_MISMATCH", "预约人与当前身份不一致，请本人签到。",
                       "The appointment belongs to someone else; the person booked must check in.")
        used = tx.one("SELECT at FROM checkins WHERE appointment_id=?", (code.appointment_id,))
        if used is not None:
            raise _err("CHECKIN_USED", "这个预约已经签到过了，请使用签到时取得的号。如小票丢失，可补打。",
                       "This appointment was already checked in; use that ticket (a lost slip can be reprinted).")
        rules = self.config.booking
        tz = self.config.calendar.tz
        start = datetime.fromtimestamp(code.slot_start, tz)
        opens = start - timedelta(minutes=rules.checkin_early_minutes)
        closes = start + timedelta(minutes=rules.checkin_late_minutes)
        if now < opens:
            raise _err("CHECKIN_TOO_EARLY", f"还没到签到时间。您预约的是 {start:%m月%d日 %H:%M}，请在 {opens:%H:%M} 以后签到。",
                       f"Too early: the appointment is at {start:%Y-%m-%d %H:%M}; check in from {opens:%H:%M}.",
                       opens_at=self.iso(opens))
        if now > closes:
            raise _err("CHECKIN_TOO_LATE", f"已超过签到时间（{closes:%m月%d日 %H:%M} 前）。请现场取号或重新预约。",
                       f"Too late: check-in closed at {closes:%Y-%m-%d %H:%M}. Take a ticket or book again.")
        self._issuing_open(now, tx.conn)
        tx.execute("INSERT INTO checkins (appointment_id, ticket_id, at) VALUES (?,?,?)",
                   (code.appointment_id, 0, self.iso(now)))
        ticket = self._create_ticket(tx, call, business, holder, [], "appointment", code.channel, code)
        tx.execute("UPDATE checkins SET ticket_id=(SELECT id FROM tickets WHERE day=? AND number=?) "
                   "WHERE appointment_id=?", (ticket["day"], ticket["number"], code.appointment_id))
        if code.channel == "booking":
            tx.execute("UPDATE bookings SET state='checked_in' WHERE id=?", (code.appointment_id,))
        tx.emit("appointment.checked_in", self.iso(now), call.device.name, {
            "appointment": code.appointment_id, "channel": code.channel, "number": ticket["number"]})
        return 201, {"ticket": ticket}

    # -- tickets: reprint, verify -----------------------------------------------
    def op_reprint(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        now = call.now
        day = self.day(now).isoformat()
        row = self._ticket_row(tx.conn, day, body.get("_number"))  # the number comes from the path
        holder = self.identity(body.get("identity"), now)
        at = self.iso(now)
        if not self._same_holder(holder, row["holder_hash"]):
            self._audit(tx, call, "reprint_refused", None, None, row["number"], None, {"holder": holder.hash})
            tx.emit("ticket.reprint_refused", at, call.device.name, {"number": row["number"], "day": day})
            return 409, _err("IDENTITY_MISMATCH", "补打小票需要取号人本人的身份证件。",
                             "Only the ticket's holder can reprint it.").body()
        tx.execute("UPDATE tickets SET reprints=reprints+1 WHERE id=?", (row["id"],))
        self._audit(tx, call, "reprint", None, None, row["number"], None, {"count": row["reprints"] + 1})
        tx.emit("ticket.reprinted", at, call.device.name, {"number": row["number"], "day": day,
                                                           "count": row["reprints"] + 1})
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new)}

    def verify_qr(self, now: datetime, qr: object) -> dict[str, Any]:
        code = codes.read_ticket_qr(self.code_key, self.config.hall_id, qr)
        if code.day != self.day(now):
            raise codes.qr_invalid("这是以前日期的小票，已失效", "the ticket is from an earlier day", "expired")
        conn = self.store.reader()
        row = conn.execute("SELECT * FROM tickets WHERE day=? AND number=?",
                           (code.day.isoformat(), code.number)).fetchone()
        if row is None:
            raise codes.qr_invalid("查无此票", "no such ticket", "unknown")
        return {"ticket": self.ticket_view(conn, row)}

    def get_ticket(self, now: datetime, number: str) -> dict[str, Any]:
        conn = self.store.reader()
        return {"ticket": self.ticket_view(conn, self._ticket_row(conn, self.day(now).isoformat(), number))}

    # -- windows: sessions ----------------------------------------------------------
    def _window(self, tx: Tx, number: int, day: str) -> sqlite3.Row:
        if self.config.window(number) is None:
            raise _err("WINDOW_UNKNOWN", f"没有 {number} 号窗口。", f"There is no window {number}.", status=404)
        tx.execute("INSERT OR IGNORE INTO windows (number, day) VALUES (?, ?)", (number, day))
        row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
        assert row is not None
        if row["day"] != day:  # a new business day: yesterday's state does not carry over
            tx.execute("UPDATE windows SET day=?, current_ticket=NULL, priority_streak=0, "
                       "state=CASE WHEN state='paused' THEN 'open' ELSE state END WHERE number=?", (day, number))
            row = tx.one("SELECT * FROM windows WHERE number=?", (number,))
            assert row is not None
        return row

    def login(self, call: Call, window: int, body: dict[str, Any]) -> Reply:
        clerk_id = body.get("clerk_id")
        pin = body.get("pin")
        if not isinstance(clerk_id, str) or not isinstance(pin, (str, int)):
            raise bad_request("需要工号 clerk_id 和 PIN", "clerk_id and pin are required")
        row = self.store.reader().execute("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,)).fetchone()
        pin_ok = row is not None and check_pin(str(pin), row["pin_hash"])  # slow hash off the writer

        def op(tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
            now = call.now
            day = self.day(now).isoformat()
            self._window(tx, window, day)
            clerk = tx.one("SELECT * FROM clerks WHERE id=? AND active=1", (clerk_id,))
            sec = self.config.security
            if clerk is None:
                return 401, _err("PIN_INVALID", "工号或 PIN 不正确。", "Wrong clerk id or PIN.", status=401).body()
            if clerk["locked_until"] and clerk["locked_until"] > self.iso(now):
                return 423, _err("CLERK_LOCKED", f"PIN 连续输错次数过多，账号已锁定到 {clerk['locked_until'][11:16]}。"
                                 "请联系值班台。", "Too many wrong PINs; the account is locked. Ask the duty desk.",
                                 status=423, locked_until=clerk["locked_until"]).body()
            if not pin_ok:
                failures = clerk["failures"] + 1
                locked = None
                if failures >= sec.pin_max_failures:
                    locked = self.iso(now + timedelta(minutes=sec.pin_lockout_minutes))
                    failures = 0
                tx.execute("UPDATE clerks SET failures=?, locked_until=? WHERE id=?", (failures, locked, clerk_id))
                tx.emit("clerk.login_failed", self.iso(now), call.device.name,
                        {"clerk_id": clerk_id, "window": window, "locked": locked is not None})
                if locked:
                    return 423, _err("CLERK_LOCKED", "PIN 连续输错次数过多，账号已锁定。请联系值班台。",
                                     "Too many wrong PINs; the account is locked. Ask the duty desk.",
                                     status=423, locked_until=locked).body()
                return 401, _err("PIN_INVALID", f"工号或 PIN 不正确，还可以再试 {sec.pin_max_failures - failures} 次。",
                                 "Wrong clerk id or PIN.", status=401,
                                 attempts_left=sec.pin_max_failures - failures).body()
            session = secrets.token_urlsafe(24)
            expires = now + timedelta(hours=sec.session_hours)
            tx.execute("UPDATE clerks SET failures=0, locked_until=NULL WHERE id=?", (clerk_id,))
            tx.execute("UPDATE sessions SET ended=1 WHERE window=? AND ended=0", (window,))
            tx.execute("INSERT INTO sessions (token_hash, clerk_id, window, created_at, expires_epoch) "
                       "VALUES (?,?,?,?,?)", (token_hash(session), clerk_id, window, self.iso(now),
                                              expires.timestamp()))
            tx.execute("UPDATE windows SET state='open', clerk_id=?, pause_reason=NULL WHERE number=?",
                       (clerk_id, window))
            tx.emit("window.opened", self.iso(now), call.device.name, {"window": window, "clerk_id": clerk_id})
            return 200, {"session": session, "clerk": {"id": clerk_id, "name": clerk["name"]},
                         "window": window, "expires_at": self.iso(expires)}

        return self.run(op, call, body)

    @staticmethod
    def _same_holder(person: Identity, holder_hash: str) -> bool:
        """Appointment tickets checked in without an ID carry a 16-hex prefix of the hash."""
        return bool(holder_hash) and person.hash.startswith(holder_hash)

    def _clerk(self, tx: Tx, call: Call, window: int) -> tuple[str, sqlite3.Row]:
        """The clerk of a valid session at this window, and the window's row."""
        day = self.day(call.now).isoformat()
        wrow = self._window(tx, window, day)
        if call.session:
            row = tx.one("SELECT clerk_id FROM sessions WHERE token_hash=? AND window=? AND ended=0 AND "
                         "expires_epoch>?", (token_hash(call.session), window, call.now.timestamp()))
            if row is not None:
                return str(row[0]), wrow
        raise _err("SESSION_INVALID", "请先在本窗口用工号和 PIN 登录。", "Log in at this window with clerk id and PIN first.",
                   status=401)

    def _current(self, tx: Tx, wrow: sqlite3.Row, states: tuple[str, ...]) -> sqlite3.Row:
        row = tx.one("SELECT * FROM tickets WHERE id=?", (wrow["current_ticket"],)) \
            if wrow["current_ticket"] else None
        if row is None or row["state"] not in states:
            raise _err("NO_CURRENT_TICKET", "本窗口当前没有可操作的号。", "This window has no ticket in that state.",
                       current=row["number"] if row else None, state=row["state"] if row else None)
        return row

    def _audit(self, tx: Tx, call: Call, kind: str, window: int | None, clerk: str | None, ticket: str | None,
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
        self._audit(tx, call, "data_read", None, None, None, what, detail)
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
        tx.execute("UPDATE tickets SET state='called', window=?, calls=1, called_at=?, clerk_id=? WHERE id=?",
                   (window, self.iso(now), clerk, row["id"]))
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
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new)}

    def _next(self, tx: Tx, window: int, wrow: sqlite3.Row) -> queue.Waiting | None:
        w = self.config.window(window)
        assert w is not None
        return queue.next_for_window(self._waiting(tx, wrow["day"]), window, self.served_by(tx.conn, window, wrow["day"]),
                                     wrow["priority_streak"], self.config.priority.max_consecutive)

    def _idle_window(self, tx: Tx, wrow: sqlite3.Row) -> None:
        if wrow["state"] == "paused":
            raise _err("WINDOW_PAUSED", "本窗口已暂停，请先恢复服务。", "The window is paused; resume first.")
        if wrow["current_ticket"]:
            cur = tx.one("SELECT number, state FROM tickets WHERE id=?", (wrow["current_ticket"],))
            if cur is not None and cur["state"] in ("called", "serving"):
                raise _err("WINDOW_BUSY", f"请先办结或标记过号当前的 {cur['number']} 号。",
                           f"Finish or mark as no-show the current ticket {cur['number']} first.",
                           current=cur["number"])

    def op_call_next(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        self._idle_window(tx, wrow)
        head = self._next(tx, window, wrow)
        if head is None:
            raise _err("QUEUE_EMPTY", "本窗口的业务目前没有人等候。", "Nobody is waiting for this window's businesses.",
                       status=404)
        return self._do_call(tx, call, window, clerk, wrow, head.number, None)

    def op_call(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        reason = _reason(body)
        self._idle_window(tx, wrow)
        row = self._ticket_row(tx.conn, wrow["day"], body.get("number"))
        if row["state"] not in WAITING:
            raise _err("TICKET_NOT_WAITING", f"{row['number']} 号当前状态为“{row['state']}”，不能呼叫。",
                       f"Ticket {row['number']} is {row['state']} and cannot be called.", state=row["state"])
        head = self._next(tx, window, wrow)
        if head is not None and head.number == row["number"]:
            return self._do_call(tx, call, window, clerk, wrow, row["number"], None)
        return self._do_call(tx, call, window, clerk, wrow, row["number"],
                             {"reason": reason, "skipped": head.number if head else None})

    def op_recall(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        tx.execute("UPDATE tickets SET calls=calls+1 WHERE id=?", (row["id"],))
        tx.emit("ticket.recalled", self.iso(call.now), call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"] + 1,
                 "day": row["day"]})
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new)}

    def op_no_show(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        need = self.config.calling.no_show_after_calls
        if row["calls"] < need:
            raise _err("RECALL_FIRST", f"请先重呼，呼叫满 {need} 次后才能标记过号（已呼叫 {row['calls']} 次）。",
                       f"Recall first: a no-show needs {need} calls (made {row['calls']}).")
        tx.execute("UPDATE tickets SET state='no_show', finished_at=? WHERE id=?", (self.iso(call.now), row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL WHERE number=?", (window,))
        if row["holder_hash"]:
            tx.execute("INSERT INTO no_shows (day, holder_hash, at_epoch) VALUES (?,?,?)",
                       (row["day"], row["holder_hash"], call.now.timestamp()))
        tx.emit("ticket.no_show", self.iso(call.now), call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "calls": row["calls"],
                 "holder": row["holder_hash"], "day": row["day"]})
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new)}

    def op_start(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called",))
        at = self.iso(call.now)
        checked = False
        override = None
        if body.get("identity") is None and self._mismatch_recorded(tx, row):
            override = clean_text(body.get("override_reason"), 500)
            if override is None:
                raise self._mismatch_unresolved(row)
            self._audit(tx, call, "identity_override", window, clerk, row["number"], override, {"holder": row["holder_hash"]})
        if body.get("identity") is not None:
            person = self.identity(body.get("identity"), call.now)
            holders = [row["holder_hash"]] + [r[0] for r in tx.all(
                "SELECT principal_hash FROM ticket_principals WHERE ticket_id=?", (row["id"],))]
            if not self._same_holder(person, row["holder_hash"]):
                override = clean_text(body.get("override_reason"), 500)
                detail = {"presented": person.hash, "holder": row["holder_hash"],
                          "principal": person.hash in holders}
                if override is None:
                    self._audit(tx, call, "identity_mismatch", window, clerk, row["number"], None, detail)
                    tx.emit("identity.mismatch", at, call.device.name,
                            {"number": row["number"], "window": window, "clerk_id": clerk, "day": row["day"],
                             "overridden": False})
                    return 409, _err("IDENTITY_MISMATCH",
                                     "来人与取号人不一致（人证不符）。请核实；确需办理的，填写原因后继续，原因将被记录。",
                                     "The person is not the ticket's holder. Check; to serve anyway, give a reason "
                                     "(it is recorded).", masked=person.masked).body()
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
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new), "identity_match": checked and override is None}

    @staticmethod
    def _mismatch_recorded(tx: Tx, row: sqlite3.Row) -> bool:
        return tx.one("SELECT 1 FROM audit WHERE day=? AND ticket=? AND kind='identity_mismatch'",
                      (row["day"], row["number"])) is not None

    @staticmethod
    def _mismatch_unresolved(row: sqlite3.Row) -> DomainError:
        return _err("IDENTITY_MISMATCH", f"{row['number']} 号已记录人证不符，须核验取号人本人证件，或填写原因后办理。",
                    "An identity mismatch is recorded for this ticket: check the holder's ID, or give an "
                    "override_reason.")

    def op_notice(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called", "serving"))
        business = self.config.business(row["business"])
        assert business is not None
        missing = body.get("missing")
        if not isinstance(missing, list) or not missing:
            raise _err("MISSING_REQUIRED", "请勾选缺少的材料。", "Tick the missing materials.", status=422)
        items: list[dict[str, str]] = []
        for mid in missing:
            material = business.material(mid) if isinstance(mid, str) else None
            if material is None:
                raise _err("MATERIAL_UNKNOWN", f"“{mid}”不在{business.name}的材料目录中。",
                           f"'{mid}' is not in the materials list of {business.name_en}.", status=422,
                           material=str(mid)[:40])
            if all(i["id"] != material.id for i in items):
                items.append({"id": material.id, "name": material.name, "name_en": material.name_en})
        case = clean_text(body.get("case_number"), 40)
        case_key = f"case:{case}" if case else self._holder_case_key(row)
        earlier = self._earlier_notice(tx.conn, case_key, call.now)
        repeat = earlier is not None
        count = tx.one("SELECT COUNT(*) FROM notices WHERE number LIKE ?", (f"N{row['day'].replace('-', '')}%",))
        assert count is not None
        number = f"N{row['day'].replace('-', '')}-{count[0] + 1:03d}"
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
        """The first notice for the same case in the last 90 days: a new one would be a repeat."""
        row: sqlite3.Row | None = conn.execute(
            "SELECT number FROM notices WHERE case_key=? AND at_epoch>=? ORDER BY id LIMIT 1",
            (case_key, now.timestamp() - 90 * 86400)).fetchone()
        return row

    def op_transfer(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        reason = _reason(body)
        row = self._current(tx, wrow, ("called", "serving"))
        to_window = body.get("to_window")
        to_business = body.get("to_business")
        if to_window is None and to_business is None:
            raise bad_request("请选择转到的窗口或业务", "to_window or to_business is required")
        if to_window is not None:
            if isinstance(to_window, bool) or not isinstance(to_window, int) or self.config.window(to_window) is None:
                raise _err("WINDOW_UNKNOWN", f"没有 {to_window} 号窗口。", f"There is no window {to_window}.",
                           status=422)
            if to_window == window:
                raise bad_request("不能转给本窗口", "cannot transfer to the same window")
        business = self.business_or_fail(to_business) if to_business is not None else \
            self.config.business(row["business"])
        assert business is not None
        tx.execute("UPDATE tickets SET state='transferred', business=?, target_window=?, window=NULL, calls=0 "
                   "WHERE id=?", (business.code, to_window, row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL WHERE number=?", (window,))
        detail = {"from_window": window, "to_window": to_window, "from_business": row["business"],
                  "to_business": business.code}
        self._audit(tx, call, "transfer", window, clerk, row["number"], reason, detail)
        tx.emit("ticket.transferred", self.iso(call.now), call.device.name,
                {"number": row["number"], "clerk_id": clerk, "reason": reason, "day": row["day"], **detail})
        new = tx.one("SELECT * FROM tickets WHERE id=?", (row["id"],))
        assert new is not None
        return 200, {"ticket": self.ticket_view(tx.conn, new)}

    def op_finish(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        row = self._current(tx, wrow, ("called", "serving"))
        if row["state"] == "called" and self._mismatch_recorded(tx, row):
            raise self._mismatch_unresolved(row)
        at = self.iso(call.now)
        started = row["started_epoch"] or call.now.timestamp()
        tx.execute("UPDATE tickets SET state='done', finished_at=?, finished_epoch=?, started_epoch=?, "
                   "started_at=COALESCE(started_at, ?), identity_checked=COALESCE(identity_checked, 0) "
                   "WHERE id=?", (at, call.now.timestamp(), started, at, row["id"]))
        tx.execute("UPDATE windows SET current_ticket=NULL WHERE number=?", (window,))
        minutes = round((call.now.timestamp() - started) / 60, 1)
        tx.emit("service.finished", at, call.device.name,
                {"number": row["number"], "window": window, "clerk_id": clerk, "business": row["business"],
                 "day": row["day"], "minutes": minutes})
        clerk_row = tx.one("SELECT name FROM clerks WHERE id=?", (clerk,))
        case = self._open_case(tx, call, row, window, clerk) if body.get("accepted") is True else None
        return 200, {"ticket": self.ticket_view(tx.conn, row) | {"state": "done"}, "case": case,
                     "rating_request": {"ticket": row["number"], "window": window, "clerk_id": clerk,
                                        "clerk_name": clerk_row["name"] if clerk_row else "",
                                        "business": row["business"], "levels": RATING_LEVELS,
                                        "expires_at": self.iso(call.now + timedelta(minutes=30))}}

    # -- cases: accepted applications a citizen can follow ---------------------------------
    def _open_case(self, tx: Tx, call: Call, row: sqlite3.Row, window: int, clerk: str) -> dict[str, Any]:
        business = self.config.business(row["business"])
        assert business is not None
        day = self.day(call.now)
        count = tx.one("SELECT COUNT(*) FROM cases WHERE day=?", (day.isoformat(),))
        assert count is not None
        number = cases.case_number(f"{day:%Y%m%d}", count[0] + 1)
        due = self.deadline(tx, call.now, day, business.time_limit_days)
        at = self.iso(call.now)
        tx.execute("INSERT INTO cases (number, day, ticket_id, business, holder_hash, holder_masked, window, clerk_id,"
                   " accepted_at, due_date, stage) VALUES (?,?,?,?,?,?,?,?,?,?,'accepted')",
                   (number, day.isoformat(), row["id"], business.code, row["holder_hash"], row["holder_masked"],
                    window, clerk, at, due.isoformat()))
        parties = {row["holder_hash"]} | {r[0] for r in tx.all(
            "SELECT principal_hash FROM ticket_principals WHERE ticket_id=?", (row["id"],))}
        for party in sorted(parties - {""}):
            tx.execute("INSERT INTO case_parties (number, holder_hash) VALUES (?,?)", (number, party))
        tx.execute("INSERT INTO case_history (number, at, stage, note) VALUES (?,?,?,?)",
                   (number, at, "accepted", f"{window}号窗口受理"))
        tx.emit("case.accepted", at, call.device.name, {
            "case": number, "number": row["number"], "business": business.code, "window": window,
            "clerk_id": clerk, "day": day.isoformat(), "due_date": due.isoformat()})
        return self._case_view(tx.conn, number)

    def _case_view(self, conn: sqlite3.Connection, number: str) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM cases WHERE number=?", (number,)).fetchone()
        assert row is not None
        business = self.config.business(row["business"])
        history = [{"at": h["at"], "stage": h["stage"], "stage_name": cases.STAGES[h["stage"]][0],
                    "note": h["note"]}
                   for h in conn.execute("SELECT * FROM case_history WHERE number=? ORDER BY id", (number,))]
        return {"number": number, "business": row["business"], "business_name": business.name if business else "",
                "holder_masked": row["holder_masked"], "accepted_at": row["accepted_at"],
                "due_date": row["due_date"], "stage": row["stage"], "stage_name": cases.STAGES[row["stage"]][0],
                "stage_name_en": cases.STAGES[row["stage"]][1], "window": row["window"], "history": history}

    @staticmethod
    def _case_unknown() -> DomainError:
        # one answer for "no such case" and "not your case": nobody can probe case numbers with a stranger's ID
        return _err("CASE_NOT_FOUND", "没有查到与您身份相符的这个办件编号，请核对受理回执上的编号，或到服务台咨询。",
                    "No case with this number for this identity. Check the number on your receipt, or ask staff.",
                    status=404)

    def op_query_case(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        person = self.identity(body.get("identity"), call.now)
        number = str(body.get("case_number") or "").strip()
        if not cases.valid_case_number(number):
            raise _err("CASE_NUMBER_INVALID", "办件编号是受理回执上的12位数字。",
                       "The case number is the 12 digits on your receipt.", status=422)
        party = tx.one("SELECT 1 FROM case_parties WHERE number=? AND holder_hash=?", (number, person.hash))
        if party is None:
            tx.emit("case.query_refused", self.iso(call.now), call.device.name, {"case": number})
            raise self._case_unknown()
        self._read_logged(tx, call, "case_progress", {"case": number})
        return 200, {"case": self._case_view(tx.conn, number)}

    def op_case_progress(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        """The registration system reports a case's progress (a supervisor-role integration)."""
        number = str(body["_number"])[:20]
        row = tx.one("SELECT stage FROM cases WHERE number=?", (number,))
        if row is None:
            raise _err("CASE_NOT_FOUND", "没有这个办件编号。", "No case with this number.", status=404)
        stage = body.get("stage")
        if stage not in cases.STAGES:
            raise _err("STAGE_UNKNOWN", f"办件阶段应为：{'、'.join(cases.STAGES)}。",
                       f"stage must be one of {', '.join(cases.STAGES)}.", status=422)
        if cases.stage_index(str(stage)) <= cases.stage_index(row["stage"]):
            raise _err("STAGE_BACKWARDS", "办件只能向后推进。", "A case only moves forward.", status=409)
        note = clean_text(body.get("note"), 200) or ""
        at = self.iso(call.now)
        tx.execute("UPDATE cases SET stage=? WHERE number=?", (stage, number))
        tx.execute("INSERT INTO case_history (number, at, stage, note) VALUES (?,?,?,?)", (number, at, stage, note))
        tx.emit("case.progressed", at, call.device.name, {"case": number, "stage": stage})
        return 200, {"case": self._case_view(tx.conn, number)}

    def op_pause(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        reason = _reason(body)
        self._idle_window(tx, wrow)
        tx.execute("UPDATE windows SET state='paused', pause_reason=? WHERE number=?", (reason, window))
        tx.emit("window.paused", self.iso(call.now), call.device.name,
                {"window": window, "clerk_id": clerk, "reason": reason})
        return 200, {"window": {"number": window, "state": "paused", "reason": reason}}

    def op_resume(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, _ = self._clerk(tx, call, window)
        tx.execute("UPDATE windows SET state='open', pause_reason=NULL WHERE number=?", (window,))
        tx.emit("window.resumed", self.iso(call.now), call.device.name,
                {"window": window, "clerk_id": clerk, "reason": clean_text(body.get("reason"), 500)})
        return 200, {"window": {"number": window, "state": "open"}}

    def op_logout(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        clerk, wrow = self._clerk(tx, call, window)
        if wrow["state"] != "paused":
            self._idle_window(tx, wrow)
        tx.execute("UPDATE sessions SET ended=1 WHERE window=?", (window,))
        tx.execute("UPDATE windows SET state='closed', clerk_id=NULL WHERE number=?", (window,))
        tx.emit("window.closed", self.iso(call.now), call.device.name, {"window": window, "clerk_id": clerk})
        return 200, {"window": {"number": window, "state": "closed"}}

    # -- ratings ----------------------------------------------------------------------
    def op_rate(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        now = call.now
        day = self.day(now).isoformat()
        ref = body.get("ticket")
        if isinstance(ref, str) and ref.startswith(codes.TICKET_TAG + ":"):
            code = codes.read_ticket_qr(self.code_key, self.config.hall_id, ref)
            if code.day != self.day(now):
                raise codes.qr_invalid("这是以前日期的小票，已失效", "the ticket is from an earlier day", "expired")
            ref = code.number
        level = body.get("level")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            raise _err("LEVEL_INVALID", "评价等级应为1到5。", "level must be 1 to 5.", status=422)
        source = body.get("source")
        if source not in ("keypad", "kiosk"):
            raise _err("SOURCE_INVALID", "评价来源应为 keypad 或 kiosk。", "source must be keypad or kiosk.", status=422)
        reasons = body.get("reasons") or []
        if not isinstance(reasons, list) or len(reasons) > 10:
            raise bad_request("reasons 应为文本列表", "reasons must be a list of strings")
        reasons = [r for r in (clean_text(x, 200) for x in reasons) if r]
        row = self._ticket_row(tx.conn, day, ref)
        if tx.one("SELECT 1 FROM ratings WHERE ticket_id=?", (row["id"],)) is not None:
            raise _err("RATING_EXISTS", "这次服务已经评价过了，每次服务只能评价一次。谢谢您！",
                       "This service was already rated; one rating per service. Thank you!")
        if row["state"] != "done":
            raise _err("NOT_RATABLE", "这个号的服务还没有办结，办结后才能评价。",
                       "The service of this ticket has not finished yet; rate it after it ends.",
                       state=row["state"])
        digest = hashlib.sha256(f"{self.config.hall_id}:{day}:{row['number']}".encode()).digest()
        sample = int.from_bytes(digest[:2], "big") % 100 < self.config.ratings.callback_sample_percent
        at = self.iso(now)
        cur = tx.execute("INSERT INTO ratings (ticket_id, level, source, reasons, at, day, window, clerk_id, business,"
                         " callback_sample) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (row["id"], level, source, json.dumps(reasons, ensure_ascii=False), at, day, row["window"],
                          row["clerk_id"], row["business"], int(sample)))
        followup = None
        if ratings.is_bad(level):
            deadline = self.deadline(tx, now, self.day(now), self.config.ratings.followup_days)
            tx.execute("INSERT INTO followups (rating_id, ticket, day, deadline, status, opened_at) "
                       "VALUES (?,?,?,?,'opened',?)", (cur.lastrowid, row["number"], day, deadline.isoformat(), at))
            followup = {"deadline": deadline.isoformat(), "status": "opened"}
        tx.emit("rating.recorded", at, call.device.name,
                {"number": row["number"], "day": day, "level": level, "source": source, "reasons": reasons,
                 "window": row["window"], "clerk_id": row["clerk_id"], "business": row["business"],
                 "bad": ratings.is_bad(level), "callback_sample": sample,
                 "followup_deadline": followup["deadline"] if followup else None})
        return 201, {"rating": {"ticket": row["number"], "level": level, "label": RATING_LEVELS[str(level)],
                                "source": source, "at": at, "followup": followup, "callback_sample": sample}}

    # -- unresolved matters ("办不成事") ---------------------------------------------------
    def op_report_matter(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        now = call.now
        raw_category = body.get("category")
        category = self.config.category(raw_category) if isinstance(raw_category, str) else None
        if category is None:
            names = "、".join(c.name for c in self.config.matters.categories)
            raise _err("CATEGORY_UNKNOWN", f"请选择问题类别：{names}。",
                       "Choose a category: " + ", ".join(c.id for c in self.config.matters.categories),
                       status=422, categories=[c.id for c in self.config.matters.categories])
        description = clean_text(body.get("description"), 1000)
        if description is None:
            raise _err("DESCRIPTION_REQUIRED", "请简单描述遇到的问题（不超过1000字）。",
                       "Describe what happened (up to 1000 characters).", status=422)
        contact = body.get("contact")
        if contact in ("", None):
            contact = None
        elif not isinstance(contact, str) or not valid_phone(contact):
            raise _err("CONTACT_INVALID", "联系电话格式不正确，可以不填。", "The phone number is not valid (optional).",
                       status=422)
        ticket = body.get("ticket")
        ticket = ticket.strip().upper()[:12] if isinstance(ticket, str) and ticket.strip() else None
        day = self.day(now)
        count = tx.one("SELECT COUNT(*) FROM matters WHERE day=?", (day.isoformat(),))
        assert count is not None
        number = f"M{day:%Y%m%d}-{count[0] + 1:03d}"
        deadline = self.deadline(tx, now, day, self.config.matters.deadline_days)
        at = self.iso(now)
        tx.execute("INSERT INTO matters (number, day, category, description, contact, contact_masked, ticket, status,"
                   " opened_at, deadline, device) VALUES (?,?,?,?,?,?,?,'opened',?,?,?)",
                   (number, day.isoformat(), category.id, description, contact,
                    mask_phone(contact) if contact else None, ticket, at, deadline.isoformat(), call.device.name))
        tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                   (number, at, "opened", description, call.device.name))
        tx.emit("matter.opened", at, call.device.name,
                {"matter": number, "category": category.id, "description": description, "ticket": ticket,
                 "has_contact": contact is not None, "deadline": deadline.isoformat()})
        return 201, {"matter": self._matter_view(tx.conn, number, now)}

    def _matter_view(self, conn: sqlite3.Connection, number: str, now: datetime) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM matters WHERE number=?", (number,)).fetchone()
        if row is None:
            raise _err("MATTER_NOT_FOUND", "没有这个问题编号，请核对。", "No matter with this number.", status=404)
        category = self.config.category(row["category"])
        history = [{"at": h["at"], "status": h["status"], "note": h["note"], "by": h["by"]}
                   for h in conn.execute("SELECT * FROM matter_history WHERE number=? ORDER BY id", (number,))]
        overdue = row["status"] in MATTER_OPEN and self.day(now).isoformat() > row["deadline"]
        return {"number": row["number"], "category": row["category"],
                "category_name": category.name if category else row["category"], "description": row["description"],
                "contact_masked": row["contact_masked"], "ticket": row["ticket"], "status": row["status"],
                "opened_at": row["opened_at"], "deadline": row["deadline"], "owner": row["owner"],
                "overdue": overdue, "escalated": bool(row["escalated"]), "history": history,
                # printed on the receipt; the kiosk scans it back (POST /api/v1/matters/verify)
                "qr": codes.matter_qr(self.code_key, self.config.hall_id, row["number"])}

    def get_matter(self, now: datetime, number: str) -> dict[str, Any]:
        return {"matter": self._matter_view(self.store.reader(), number[:40], now)}

    def verify_matter_qr(self, now: datetime, qr: object) -> dict[str, Any]:
        number = codes.read_matter_qr(self.code_key, self.config.hall_id, qr)
        return self.get_matter(now, number)

    def op_transition_matter(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        number = str(body["_number"])[:40]
        row = tx.one("SELECT status FROM matters WHERE number=?", (number,))
        if row is None:
            raise _err("MATTER_NOT_FOUND", "没有这个问题编号，请核对。", "No matter with this number.", status=404)
        to = body.get("to")
        if to == "note":  # the duty desk adds what it learned or did, without moving the matter on
            note = _reason(body, "note")
            at = self.iso(call.now)
            by = clean_text(body.get("by"), 60) or call.device.name
            tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                       (number, at, row["status"], note, by))
            tx.emit("matter.noted", at, call.device.name, {"matter": number, "status": row["status"], "note": note,
                                                           "by": by})
            return 200, {"matter": self._matter_view(tx.conn, number, call.now)}
        if MATTER_FLOW.get(row["status"]) != to:
            raise _err("TRANSITION_INVALID", f"当前状态“{row['status']}”的下一步应为“{MATTER_FLOW.get(row['status'])}”。",
                       f"From {row['status']} the next step is {MATTER_FLOW.get(row['status'])}.",
                       status=409, current=row["status"], allowed=MATTER_FLOW.get(row["status"]))
        note = clean_text(body.get("note"), 1000) or ""
        by = clean_text(body.get("by"), 60) or call.device.name
        at = self.iso(call.now)
        owner_sql = ", owner=?" if to == "claimed" else ""
        params: tuple[Any, ...] = (to, by, number) if to == "claimed" else (to, number)
        tx.execute(f"UPDATE matters SET status=?{owner_sql} WHERE number=?", params)
        tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                   (number, at, to, note, by))
        tx.emit("matter.transitioned", at, call.device.name,
                {"matter": number, "from": row["status"], "to": to, "note": note, "by": by})
        return 200, {"matter": self._matter_view(tx.conn, number, call.now)}

    def op_escalate_overdue(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        today = self.day(call.now).isoformat()
        at = self.iso(call.now)
        escalated = []
        for row in tx.all("SELECT number, deadline, status FROM matters WHERE escalated=0 AND status IN "
                          "('opened','claimed') AND deadline<?", (today,)):
            tx.execute("UPDATE matters SET escalated=1 WHERE number=?", (row["number"],))
            tx.execute("INSERT INTO matter_history (number, at, status, note, by) VALUES (?,?,?,?,?)",
                       (row["number"], at, row["status"], "逾期未办结，已升级 / overdue, escalated", "system"))
            tx.emit("matter.escalated", at, None, {"matter": row["number"], "deadline": row["deadline"],
                                                   "status": row["status"]})
            escalated.append(row["number"])
        for row in tx.all("SELECT id, ticket, deadline FROM followups WHERE status='opened' AND deadline<?", (today,)):
            tx.execute("UPDATE followups SET status='overdue' WHERE id=?", (row["id"],))
            tx.emit("followup.overdue", at, None, {"ticket": row["ticket"], "deadline": row["deadline"]})
        return 200, {"escalated": escalated}

    # -- help ------------------------------------------------------------------------------
    def op_call_staff(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        """呼叫工作人员: the duty desk follows this event and goes to the kiosk."""
        if "screen" in body and not isinstance(body["screen"], str):
            raise bad_request("screen 应为文本", "screen must be text")
        screen = clean_text(body.get("screen"), 40)
        tx.emit("kiosk.help_requested", self.iso(call.now), call.device.name, {"screen": screen})
        return 201, {"help": {"device": call.device.name, "at": self.iso(call.now),
                              "message": "已通知工作人员，请稍候。", "message_en": "Staff have been called; please wait."}}

    # -- blocklist ---------------------------------------------------------------------
    def op_blocklist_add(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        person = self.identity(body.get("identity"), call.now)
        reason = _reason(body)
        tx.execute("INSERT OR REPLACE INTO blocklist (holder_hash, masked, reason, added_at) VALUES (?,?,?,?)",
                   (person.hash, person.masked, reason, self.iso(call.now)))
        self._audit(tx, call, "blocklist_add", None, None, None, reason, {"holder": person.hash})
        tx.emit("blocklist.added", self.iso(call.now), call.device.name, {"holder": person.hash, "reason": reason})
        return 201, {"blocked": {"holder_masked": person.masked, "reason": reason}}

    # -- the duty desk: decisions for a surge, follow-ups ------------------------------------
    def op_extend_hours(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        cal = self.config.calendar
        day = self.day(call.now)
        closing = cal.closing_time(call.now)
        reason = _reason(body)
        raw = str(body.get("until", ""))
        try:
            hh, mm = (int(x) for x in raw.split(":"))
            until = datetime.combine(day, datetime.min.time(), cal.tz).replace(hour=hh, minute=mm)
        except ValueError:
            raise _err("UNTIL_INVALID", "请填写延长到的时间，如 18:30。", "until must be a time such as 18:30.",
                       status=422) from None
        if closing is None:
            raise _err("HALL_CLOSED", "今天不是办公日，不能延时。", "The hall does not open today.", status=409)
        if not closing < until <= closing.replace(hour=22, minute=0):
            raise _err("UNTIL_INVALID", f"延时应晚于今天的下班时间 {closing:%H:%M}，且不晚于 22:00。",
                       f"until must be after today's closing ({closing:%H:%M}) and no later than 22:00.", status=422)
        at = self.iso(call.now)
        tx.execute("INSERT INTO decisions (day, kind, until_epoch, reason, at, device) VALUES (?,?,?,?,?,?)",
                   (day.isoformat(), "extend_hours", until.timestamp(), reason, at, call.device.name))
        self._audit(tx, call, "extend_hours", None, None, None, reason, {"until": f"{until:%H:%M}"})
        tx.emit("hall.hours_extended", at, call.device.name, {"day": day.isoformat(), "until": self.iso(until),
                                                              "reason": reason})
        return 200, {"decision": {"kind": "extend_hours", "until": self.iso(until), "reason": reason, "at": at}}

    def op_open_temporary(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        window = int(body["_window"])
        if self.config.window(window) is None:
            raise _err("WINDOW_UNKNOWN", f"没有 {window} 号窗口。", f"There is no window {window}.", status=404)
        raw = body.get("businesses")
        codes_ = list(dict.fromkeys(self.business_or_fail(c).code for c in raw)) if isinstance(raw, list) and raw \
            else None  # each business once, however often it was listed
        if not codes_:
            raise _err("BUSINESSES_REQUIRED", "请选择这个窗口临时加办的业务。", "Choose the businesses this window takes on.",
                       status=422)
        reason = _reason(body)
        day = self.day(call.now).isoformat()
        at = self.iso(call.now)
        tx.execute("INSERT INTO decisions (day, kind, window, businesses, reason, at, device) VALUES (?,?,?,?,?,?,?)",
                   (day, "temporary_window", window, json.dumps(codes_), reason, at, call.device.name))
        self._audit(tx, call, "temporary_window", window, None, None, reason, {"businesses": codes_})
        tx.emit("window.temporary", at, call.device.name, {"day": day, "window": window, "businesses": codes_,
                                                           "reason": reason})
        return 200, {"decision": {"kind": "temporary_window", "window": window, "businesses": codes_,
                                  "serves": list(self.served_by(tx.conn, window, day)), "reason": reason, "at": at}}

    def op_close_followup(self, tx: Tx, call: Call, body: dict[str, Any]) -> Reply:
        """A bad rating's follow-up is closed with what was verified, rectified and said on the callback."""
        fid = body["_number"]
        row = tx.one("SELECT * FROM followups WHERE id=?", (int(fid) if str(fid).isdigit() else -1,))
        if row is None:
            raise _err("FOLLOWUP_NOT_FOUND", "没有这条差评跟进记录。", "No such follow-up.", status=404)
        if row["status"] == "closed":
            raise _err("FOLLOWUP_CLOSED", "这条差评已办结。", "This follow-up is already closed.")
        note = _reason(body, "note")
        at = self.iso(call.now)
        late = self.day(call.now).isoformat() > row["deadline"]
        tx.execute("UPDATE followups SET status='closed', closed_at=?, note=? WHERE id=?", (at, note, row["id"]))
        tx.emit("followup.closed", at, call.device.name, {"ticket": row["ticket"], "day": row["day"],
                                                          "deadline": row["deadline"], "late": late, "note": note})
        return 200, {"followup": {"id": row["id"], "ticket": row["ticket"], "status": "closed", "closed_at": at,
                                  "late": late, "note": note}}

    def decisions(self, conn: sqlite3.Connection, day: str) -> list[dict[str, Any]]:
        tz = self.config.calendar.tz
        return [{"kind": r["kind"], "window": r["window"], "businesses": json.loads(r["businesses"] or "[]"),
                 "until": self.iso(datetime.fromtimestamp(r["until_epoch"], tz)) if r["until_epoch"] else None,
                 "reason": r["reason"], "at": r["at"], "device": r["device"]}
                for r in conn.execute("SELECT * FROM decisions WHERE day=? ORDER BY id", (day,))]

    # -- reads ---------------------------------------------------------------------------
    def window_summary(self, now: datetime, window: int) -> dict[str, Any]:
        """Everything a clerk needs at a glance: the current ticket, who waits for this window, today's work."""
        w = self.config.window(window)
        if w is None:
            raise _err("WINDOW_UNKNOWN", f"没有 {window} 号窗口。", f"There is no window {window}.", status=404)
        conn = self.store.reader()
        day = self.day(now).isoformat()
        row = conn.execute("SELECT * FROM windows WHERE number=?", (window,)).fetchone()
        today = row is not None and row["day"] == day
        state = row["state"] if today else "closed"
        clerk = conn.execute("SELECT id, name FROM clerks WHERE id=?", (row["clerk_id"],)).fetchone() \
            if today and row["clerk_id"] else None
        current = None
        if today and row["current_ticket"]:
            t = conn.execute("SELECT * FROM tickets WHERE id=?", (row["current_ticket"],)).fetchone()
            if t is not None and t["state"] in ("called", "serving"):
                earlier = self._earlier_notice(conn, self._holder_case_key(t), now)
                current = self.ticket_view(conn, t) | {"earlier_notice": earlier["number"] if earlier else None}
        served = self.served_by(conn, window, day)
        waiting = [b for b in self.queue_status(now)["businesses"] if b["code"] in served]
        marks = ",".join("?" * len(served))
        tickets = [{"number": t["number"], "business": t["business"], "priority": t["priority"],
                    "channel": t["channel"], "issued_at": t["issued_at"],
                    "waited_min": round((now.timestamp() - t["issued_epoch"]) / 60)}
                   for t in conn.execute(f"SELECT * FROM tickets WHERE day=? AND state IN ('waiting','transferred') "
                                         f"AND business IN ({marks}) ORDER BY id LIMIT 50", (day, *served))]
        done = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND window=? AND state='done'",
                            (day, window)).fetchone()[0]
        levels = {str(r[0]): r[1] for r in conn.execute(
            "SELECT level, COUNT(*) FROM ratings WHERE day=? AND window=? GROUP BY level", (day, window))}
        count = sum(levels.values())
        average = round(sum(int(k) * v for k, v in levels.items()) / count, 2) if count else None
        return {"window": {"number": window, "name": w.name, "businesses": list(served), "state": state,
                           "pause_reason": row["pause_reason"] if today else None,
                           "clerk_id": clerk["id"] if clerk else None, "clerk_name": clerk["name"] if clerk else None},
                "current": current, "waiting": waiting, "waiting_tickets": tickets,
                "today": {"served": done, "ratings": levels, "rated": count, "average": average}}

    def matters(self, now: datetime, open_only: bool) -> list[dict[str, Any]]:
        conn = self.store.reader()
        sql = "SELECT number FROM matters" + (" WHERE status != 'closed'" if open_only else "")
        rows = conn.execute(sql + " ORDER BY deadline, number LIMIT 500").fetchall()
        views = [self._matter_view(conn, r[0], now) for r in rows]
        return sorted(views, key=lambda m: (not m["overdue"], m["deadline"], m["number"]))

    def catalog(self) -> dict[str, Any]:
        fees = self.config.fees
        out = []
        for b in self.config.businesses:
            share = {"standard": 1.0, "half": 0.5}.get(b.fee, 0.0)
            amounts = {"residential_yuan": yuan(int(fees.residential_fen * share)),
                       "non_residential_yuan": yuan(int(fees.non_residential_fen * share))}
            out.append({
                "code": b.code, "key": b.key, "name": b.name, "name_en": b.name_en, "description": b.description,
                "materials": [{"id": m.id, "name": m.name, "name_en": m.name_en} for m in b.materials],
                "time_limit_days": b.time_limit_days,
                "fees": {"kind": b.fee, **amounts,
                         "extra_certificate_yuan": yuan(fees.extra_certificate_fen) if b.certificates else 0,
                         "basis": fees.basis},
                "windows": self.config.windows_for(b.code),
            })
        return {"hall": {"id": self.config.hall_id, "name": self.config.name}, "businesses": out,
                "reductions": [{"id": r.id, "name": r.name, "name_en": r.name_en, "effect": r.effect,
                                "basis": r.basis} for r in fees.reductions],
                "matter_categories": [{"id": c.id, "name": c.name, "name_en": c.name_en}
                                      for c in self.config.matters.categories],
                # what screens and slips tell citizens, from the hall's own rules (never a copy in a screen)
                "rules": {"checkin_early_minutes": self.config.booking.checkin_early_minutes,
                          "checkin_late_minutes": self.config.booking.checkin_late_minutes,
                          "bad_rating_at_most": ratings.BAD_AT_MOST}}

    def fee_quote(self, body: dict[str, Any]) -> dict[str, Any]:
        business = self.business_or_fail(body.get("business"))
        reductions = body.get("reductions", [])
        if reductions is None:
            reductions = []
        if not isinstance(reductions, list) or not all(isinstance(r, str) for r in reductions):
            raise bad_request("reductions 应为减免编号列表", "reductions must be a list of ids")
        certificates = body.get("certificates", 1)
        items, total = quote_fee(business, self.config.fees, body.get("property_kind", "residential"),
                                 certificates, reductions)
        return {"business": business.code, "items": [i.as_dict() for i in items], "total_yuan": yuan(total),
                "basis": self.config.fees.basis}

    def queue_status(self, now: datetime) -> dict[str, Any]:
        conn = self.store.reader()
        day = self.day(now).isoformat()
        counts = {r[0]: r[1] for r in conn.execute(
            "SELECT business, SUM(n) FROM waiting WHERE day=? GROUP BY business", (day,))}
        oldest = {r[0]: r[1] for r in conn.execute(
            "SELECT business, MIN(issued_epoch) FROM tickets WHERE day=? AND state IN ('waiting','transferred') "
            "GROUP BY business", (day,))}
        businesses = []
        for b in self.config.businesses:
            waiting = counts.get(b.code, 0)
            longest = round((now.timestamp() - oldest[b.code]) / 60) if b.code in oldest else 0
            businesses.append({
                "code": b.code, "name": b.name, "waiting": waiting,
                "expected_wait_min": queue.expected_wait_minutes(waiting, self.service_minutes(conn, b, day),
                                                                 self.open_windows(conn, b.code, day)),
                "longest_wait_min": longest,
                "long_wait": longest >= self.config.calling.long_wait_minutes,
            })
        rows = {r["number"]: r for r in conn.execute("SELECT * FROM windows")}
        windows = []
        for w in self.config.windows:
            r = rows.get(w.number)
            current = None
            state = "closed"
            if r is not None and r["day"] == day:
                state = r["state"]
                if r["current_ticket"]:
                    t = conn.execute("SELECT number, state FROM tickets WHERE id=?", (r["current_ticket"],)).fetchone()
                    if t is not None and t["state"] in ("called", "serving"):
                        current = t["number"]
            windows.append({"number": w.number, "name": w.name, "businesses": list(self.served_by(conn, w.number, day)),
                            "state": state,
                            "current": current, "clerk_id": r["clerk_id"] if r is not None and state != "closed"
                            else None})
        recent = [{"number": r["number"], "window": r["window"], "at": r["called_at"], "state": r["state"]}
                  for r in conn.execute("SELECT number, window, called_at, state FROM tickets WHERE day=? AND "
                                        "called_at IS NOT NULL ORDER BY called_at DESC LIMIT 10", (day,))]
        served = conn.execute("SELECT COUNT(*) FROM tickets WHERE day=? AND state='done'", (day,)).fetchone()[0]
        return {"hall": self.config.hall_id, "day": day, "at": self.iso(now), "open": self._is_issuing(now, conn),
                "businesses": businesses, "windows": windows, "recent_calls": recent, "served_today": served,
                "decisions": self.decisions(conn, day),
                # a display starts following the event feed from here, without replaying the day's calls
                "event_seq": conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]}

    def _is_issuing(self, now: datetime, conn: sqlite3.Connection) -> bool:
        try:
            self._issuing_open(now, conn)
        except DomainError:
            return False
        return True

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        rows = self.store.reader().execute(
            "SELECT * FROM events WHERE seq>? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [{"seq": r["seq"], "id": r["id"], "type": r["type"], "at": r["at"], "device": r["device"],
                 "payload": json.loads(r["payload"]), "prev_hash": r["prev_hash"], "hash": r["hash"]} for r in rows]

    def audit(self, day: str | None, kind: str | None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit WHERE 1=1"
        params: list[Any] = []
        if day:
            sql += " AND day=?"
            params.append(day)
        if kind:
            sql += " AND kind=?"
            params.append(kind)
        rows = self.store.reader().execute(sql + " ORDER BY id DESC LIMIT 1000", params).fetchall()
        return [{"id": r["id"], "at": r["at"], "kind": r["kind"], "window": r["window"], "clerk_id": r["clerk_id"],
                 "device": r["device"], "ticket": r["ticket"], "reason": r["reason"],
                 "detail": json.loads(r["detail"])} for r in rows]

    def followups(self) -> list[dict[str, Any]]:
        rows = self.store.reader().execute(
            "SELECT f.*, r.level, r.window, r.clerk_id, r.business FROM followups f JOIN ratings r "
            "ON r.id=f.rating_id ORDER BY f.status='closed', f.status='overdue' DESC, f.deadline").fetchall()
        return [{"id": r["id"], "ticket": r["ticket"], "day": r["day"], "level": r["level"], "window": r["window"],
                 "clerk_id": r["clerk_id"], "business": r["business"], "deadline": r["deadline"],
                 "status": r["status"], "opened_at": r["opened_at"], "closed_at": r["closed_at"], "note": r["note"]}
                for r in rows]

    def outbox_pending(self) -> int:
        conn = self.store.reader()
        row = conn.execute("SELECT value FROM meta WHERE key='synced_seq'").fetchone()
        synced = int(row[0]) if row else 0
        head = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        return int(head) - synced


RATING_LEVELS = {str(level): name for level, name in labels.RATING_LEVELS.items()}
