"""Playing a planned hall day through the hall's HTTP API, as the hall's devices would.

Kiosks take tickets (one thread plays every kiosk's visitors in arrival order), each window's
clerk calls, checks identity, notices, finishes and has the keypad rate (one thread per
window), and a sampler watches the queue. Nothing reaches into the hall's store: the drill
is a client with enrolled device tokens, like a kiosk.

Everything the drill observes goes into :class:`Record`, from which the report is computed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kiosk.contract import requests as rq
from kiosk.contract.client import HallClient
from kiosk.domain.codes import code_of
from kiosk.drill.day import DrillClock, Record, TicketLog
from kiosk.drill.insiders import Insiders
from kiosk.drill.link import Api, Tokens
from kiosk.drill.scenario import Scenario, Visit
from kiosk.drill.waits import WaitWatch


class DayRunner:
    """One hall day: ``visits`` from the plan, ``periods`` the hall's opening hours that day."""

    def __init__(self, api: Api, tokens: Tokens, scenario: Scenario, visits: list[Visit],
                 periods: list[tuple[datetime, datetime]], clock: DrillClock, windows: list[int],
                 progress: Callable[[str], None] = print) -> None:
        self.api, self.tokens, self.sc, self.visits = api, tokens, scenario, visits
        self.periods, self.clock, self.windows, self.progress = periods, clock, windows, progress
        self.record = Record()
        self.stop = threading.Event()
        self.insiders = Insiders(self)
        self.arrivals_done = threading.Event()
        self.materials: dict[str, list[str]] = {}
        self.categories: list[str] = []
        self.appointment_codes: dict[int, str] = {}
        self.pausing: set[int] = set()
        closing = periods[-1][1] if periods else clock.now()
        until = datetime.combine(scenario.day, scenario.until, closing.tzinfo) if scenario.until else None
        self.arrivals_end = min(until, closing) if until else closing
        # a morning-only drill stops its arrivals at ``until``; the windows still serve everyone holding a ticket
        # (after the lunch break if need be), so that every wait told is a wait that ends
        self.service_end = closing + timedelta(minutes=scenario.serve_after_close_minutes)
        self.waits = self.record.waits = WaitWatch(api, clock, self.record, self.stop, tokens.display,
                                                   periods[-1][1] if periods else None)

    # -- the day -----------------------------------------------------------------------------------------------
    def run(self) -> Record:
        reply = self.api.client(self.tokens.kiosks[0]).send(rq.GetCatalog())
        catalog = reply.body
        if reply.status != 200:
            raise RuntimeError(f"大厅服务无法访问 / the hall cannot be reached: {reply.status} {catalog}")
        self.materials = {b["code"]: [m["id"] for m in b["materials"]] for b in catalog["businesses"]}
        self.categories = [c["id"] for c in catalog["matter_categories"]]
        self.waits.read_catalog(catalog)
        self._make_appointments()
        self._announce_roster()
        threads = [threading.Thread(target=self.guard(self._kiosks), name="kiosks")]
        threads += [threading.Thread(target=self.guard(self._window_player(w)), name=f"window-{w}")
                    for w in self.windows]
        watchers = [threading.Thread(target=self.guard(fn), name=name, daemon=True)
                    for fn, name in ((self._sample, "sampler"), (self.waits.run, "phones"))]
        padders = self.insiders.threads()
        for t in threads + watchers + padders:
            t.start()
        for t in threads:
            t.join()
        self.waits.last_looks()  # every window has gone home: what do the phones of those never called say?
        self.stop.set()
        for t in padders:
            t.join()
        for t in watchers:
            t.join(5)
        self.insiders.finish()
        return self.record

    def guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except Exception:
                self.stop.set()  # one broken player ends the day rather than leaving the others waiting
                raise
        return run

    def _window_player(self, w: int) -> Callable[[], None]:
        return lambda: self._window(w)

    def _make_appointments(self) -> None:
        """Online appointments registered before the day, as the WeChat booking system would."""
        desk = self.api.client(self.tokens.supervisor)
        for i, v in enumerate(self.visits):
            if v.kind != "appointment" or v.slot is None:
                continue
            reply = desk.send(rq.CreateAppointment(business=v.business, slot_start=v.slot[0].isoformat(),
                                                   slot_end=v.slot[1].isoformat(), identity=v.person.identity("qr")))
            if reply.status == 201:
                self.appointment_codes[i] = reply.body["appointment"]["code"]

    def _announce_roster(self) -> None:
        """The duty desk knows the day's roster in the morning: a window whose clerk goes home before the hall
        closes is recorded as leaving then, and a staggered lunch as an absence, so that the waits told before
        either already count on it."""
        if not self.periods:
            return
        desk = self.api.client(self.tokens.supervisor)
        closing = self.periods[-1][1].timetz().replace(tzinfo=None)
        for w in sorted(self.sc.window_hours):
            leaves = self.sc.goes_home(w, closing)
            if leaves is not None:
                desk.send(rq.WindowLeaves(window=w, at=f"{leaves:%H:%M}", reason="今日排班 the day's roster"))
        for w, pauses in sorted(self.sc.window_pauses.items()):
            for a, b in pauses:
                desk.send(rq.WindowLeaves(window=w, at=f"{a:%H:%M}", back=f"{b:%H:%M}", reason="错峰午休 lunch"))

    # -- kiosks ------------------------------------------------------------------------------------------------
    def _kiosks(self) -> None:
        moved = 0  # a typed-numbers scalper stopped at one kiosk walks on to the next
        for i, v in enumerate(self.visits):
            if not self.clock.sleep_until(v.at, self.stop):
                break
            with self.record.lock:
                self.record.arrivals.append(self.clock.now())
            if v.kind == "appointment" and i in self.appointment_codes:
                self._check_in(v, self.appointment_codes[i])
                continue
            if v.strategy == "slot_hoarder":
                self.insiders.hoard(v)
                continue
            if v.kind == "scalper" and v.strategy == "typed_numbers":
                v.kiosk = (v.kiosk - 1 + moved) % len(self.tokens.kiosks) + 1
            code = self._take(v, v.entry)
            if code == "KIOSK_BURST" and v.kind == "scalper":
                moved += 1
        self.arrivals_done.set()

    def _kiosk(self, v: Visit) -> HallClient:
        return self.api.client(self.tokens.kiosks[(v.kiosk - 1) % len(self.tokens.kiosks)])

    def _take(self, v: Visit, entry: str, accept_wait: bool = False) -> str:
        identity = v.person.identity(entry)
        agent = (rq.Agent(identity=identity, principals=[p.identity("typed") for p in v.principals])
                 if v.principals else None)
        self.waits.before_issue()
        kiosk = self._kiosk(v)
        reply = kiosk.send(rq.IssueTicket(business=v.business, identity=identity, agent=agent,
                                          priority=v.priority or None, accept_wait=True if accept_wait else None))
        status = reply.status
        if status == 201:
            self.issued(v, reply.body["ticket"])
            return "ISSUED"
        if status == 200 and reply.body.get("over_capacity"):
            with self.record.lock:
                self.record.offered.append(v)
            if v.book_if_offered and v.kind != "scalper":
                booked = kiosk.send(rq.AcceptBooking(offer_id=reply.body["booking_offer"]["offer_id"], identity=identity))
                if booked.status == 201:
                    with self.record.lock:
                        self.record.booked.append(v)
                    return "BOOKED"
            return self._take(v, entry, accept_wait=True)
        code = str(reply.error.get("code", f"HTTP_{status}"))
        if code == "KIOSK_BURST" and v.kind != "scalper" and entry == "typed":
            # the refusal tells the citizen to lay their own card on the reader, which they carry for the window
            with self.record.lock:
                self.record.redirected.append(v)
            return self._take(v, "card", accept_wait)
        with self.record.lock:
            self.record.refusals.append((v, code))
        return code

    def _check_in(self, v: Visit, qr: str) -> None:
        reply = self._kiosk(v).send(rq.CheckIn(code=qr, identity=v.person.identity("card")))
        if reply.status == 201:
            self.issued(v, reply.body["ticket"])
        else:
            with self.record.lock:
                self.record.refusals.append((v, str(reply.error.get("code", f"HTTP_{reply.status}"))))

    def issued(self, v: Visit, ticket: dict[str, Any]) -> None:
        with self.record.lock:
            self.record.tickets[ticket["number"]] = TicketLog(v, ticket["number"], self.clock.now(),
                                                             qr=str(ticket.get("qr", "")))
            offered = any(o is v for o in self.record.offered)
        self.waits.issued(v, ticket, offered)

    # -- windows -----------------------------------------------------------------------------------------------
    def _window_open(self, w: int, at: datetime) -> bool:
        if w in self.sc.closed_windows:
            return False
        if not any(a <= at < b for a, b in self.periods):
            return False
        spans = self.sc.window_hours.get(w)
        if spans is None:
            return True
        local = at.timetz().replace(tzinfo=None)
        return any(a <= local < b for a, b in spans)

    def _window(self, w: int) -> None:
        counter = self.api.client(self.tokens.counters[w])
        desk: HallClient | None = None  # the counter with the clerk's session, while signed in
        after_close_idle = 0
        since = self.clock.now()

        def leave(desk: HallClient) -> None:
            with self.record.lock:
                self.record.window_staffed[w] += (self.clock.now() - since).total_seconds() / 60
            desk.send(rq.Logout(window=w))

        while not self.stop.is_set():
            now = self.clock.now()
            if now >= self.service_end:
                break
            closed_day = self.periods and now >= self.periods[-1][1]
            if self.arrivals_done.is_set() and after_close_idle >= 2:
                break  # once nobody comes any more, a window goes home when nobody waits for it
            if not closed_day and not self._window_open(w, now):
                if desk is not None:
                    leave(desk)
                    desk = None
                self.clock.sleep(1, self.stop)
                continue
            if closed_day and (w in self.sc.closed_windows or self.sc.goes_home(
                    w, self.periods[-1][1].timetz().replace(tzinfo=None)) is not None):
                break  # a clerk who went home early does not come back to finish the queue
            if desk is None:
                clerk, pin = self.tokens.clerks[w]
                login = counter.send(rq.Login(window=w, clerk_id=clerk, pin=pin))
                if login.status != 200:
                    raise RuntimeError(f"{w}号窗口无法登录 / window {w} cannot log in: {login.body}")
                desk = counter.with_session(login.body["session"])
                since = self.clock.now()
            if self._paused(w, now, desk):
                continue
            reply = desk.send(rq.CallNext(window=w))
            status = reply.status
            if status == 404:
                after_close_idle += 1 if closed_day or self.arrivals_done.is_set() else 0
                self.clock.sleep(1, self.stop)
                continue
            if status != 200:
                self.clock.sleep(1, self.stop)
                continue
            after_close_idle = 0
            self._serve(w, desk, reply.body["ticket"]["number"])
        if desk is not None:
            leave(desk)

    def _paused(self, w: int, now: datetime, desk: HallClient) -> bool:
        """A planned pause (a clerk's lunch while the hall stays open): paused and resumed through the API."""
        local = now.timetz().replace(tzinfo=None)
        span = next(((a, b) for a, b in self.sc.window_pauses.get(w, ()) if a <= local < b), None)
        inside = span is not None
        if inside != (w in self.pausing):
            if span is not None:  # the clerk says how long, as the counter's reasons do
                left = (datetime.combine(now.date(), span[1]) - datetime.combine(now.date(), local)).total_seconds()
                desk.send(rq.Pause(window=w, reason="午休 lunch", minutes=max(1, round(left / 60))))
            else:
                desk.send(rq.Resume(window=w, reason="午休 lunch"))
            (self.pausing.add if inside else self.pausing.discard)(w)
        if inside:
            self.clock.sleep(1, self.stop)
        return inside

    def _log_for(self, number: str) -> TicketLog | None:
        deadline = time.monotonic() + 5  # the kiosk thread records a ticket just after the hall answers
        while time.monotonic() < deadline:
            with self.record.lock:
                log = self.record.tickets.get(number)
            if log is not None:
                return log
            time.sleep(0.005)
        return None

    def _serve(self, w: int, desk: HallClient, number: str) -> None:
        log = self._log_for(number)
        called = self.clock.now()
        if log is None:  # a ticket the drill did not take (a remote hall's own traffic): served briefly
            desk.send(rq.StartService(window=w))
            self.clock.sleep(5, self.stop)
            desk.send(rq.Finish(window=w, accepted=False))
            return
        log.called_at, log.window = called, w
        v = log.visit
        if v.no_show:
            self.clock.sleep(3, self.stop)  # called, waited for, nobody came
            desk.send(rq.NoShow(window=w))
            log.outcome = "no_show"
            return
        presenter = v.buyer if v.kind == "scalper" and v.buyer is not None else v.person
        status = desk.send(rq.StartService(window=w, identity=presenter.identity("card"))).status
        if status == 409:
            # 人证不符: the clerk does not serve a resold ticket; the holder has not come, so the ticket lapses
            with self.record.lock:
                self.record.mismatches += 1
            log.outcome = "mismatch"
            self.clock.sleep(1, self.stop)
            desk.send(rq.NoShow(window=w))
            return
        log.started_at = self.clock.now()
        self.clock.sleep(v.service_minutes / 2, self.stop)
        if v.notice and self.materials.get(v.business):
            desk.send(rq.Notice(window=w, missing=self.materials[v.business][:1]))
        self.clock.sleep(v.service_minutes / 2, self.stop)
        desk.send(rq.Finish(window=w, accepted=v.accepted))
        log.finished_at, log.outcome = self.clock.now(), "served"
        status = 0  # the keypad, or later the phone page; or the citizen left without rating
        if v.keypad:
            status = desk.send(rq.Rate(ticket=number, level=v.rating, source="keypad")).status
        elif v.phone and log.qr:
            status = self.api.public().send(rq.PhoneRate(c=code_of(log.qr), level=v.rating)).status
        log.rating_done = True
        with self.record.lock:
            self.record.window_busy[w] += (log.finished_at - log.started_at).total_seconds() / 60
            if status in (200, 201):
                self.record.ratings[v.rating] += 1
        if v.report_matter and self.categories:
            status = self.api.client(self.tokens.kiosks[0]).send(rq.ReportMatter(
                category=self.categories[hash(number) % len(self.categories)],
                description="演练：材料要求前后不一致，希望说明清楚", ticket=number)).status
            if status == 201:
                with self.record.lock:
                    self.record.matters += 1

    # -- watching --------------------------------------------------------------------------------------------------
    def _sample(self) -> None:
        last_print = 0.0
        board = self.api.client(self.tokens.display)
        while not self.stop.is_set():
            reply = board.send(rq.QueueStatus())
            now = self.clock.now()
            if reply.status == 200:
                waiting = {b["code"]: int(b["waiting"]) for b in reply.body["businesses"]}
                with self.record.lock:
                    self.record.queue.append((now, waiting))
                    issued = len(self.record.tickets)
                    served = sum(1 for t in self.record.tickets.values() if t.outcome == "served")
                if time.monotonic() - last_print >= 2:
                    last_print = time.monotonic()
                    self.progress(f"大厅时间 {now:%H:%M}  已取号 issued {issued}  正在等候 waiting {sum(waiting.values())}"
                                  f"  已办结 served {served}")
            self.clock.sleep(5, self.stop)
