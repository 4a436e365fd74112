"""The embedded default: a hall service in this process, on loopback, for a one-kiosk hall and the demo; and the
rest of the hall for the demo and the tours (kiosk/ui/stage.py: other citizens, clerks at other windows, the
registration and booking systems), played through the hall's operations as the API runs them."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import uvicorn

from kiosk.clock import HallClock
from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.contract.requests import (
    AcceptBooking,
    CallNext,
    CallTicket,
    CaseProgress,
    CreateAppointment,
    EscalateOverdue,
    Finish,
    IssueTicket,
    Login,
    Logout,
    Rate,
    Recall,
    ReportMatter,
    StartService,
)
from kiosk.domain.errors import DomainError
from kiosk.files import write_private
from kiosk.hall import enrolment
from kiosk.hall.api import create_app
from kiosk.hall.context import HallContext
from kiosk.hall.datadir import open_hall
from kiosk.hall.operations import OPERATIONS
from kiosk.hall.outcomes import body_of, status_of
from kiosk.ui.stage import DEMO_CLERK, OPEN_MONDAY


class EmbeddedHall:
    def __init__(self, data: Path, config_path: Path = DEFAULT_CONFIG, port: int = 0,
                 now: str | None = None, throwaway: bool = False) -> None:
        from kiosk.clock import parse_now

        config = load_config(config_path)
        self.service: HallContext = open_hall(config, data)
        start = parse_now(now, config.calendar.tz) if now else None
        self.clock = HallClock(config.calendar.tz, start)
        self.data = data
        self.throwaway = throwaway  # a tour's own folder, removed when the hall stops
        self.url = ""
        self._crowd = 0
        self._sessions: dict[int, str] = {}
        self.kiosk_token = self.token("kiosk")
        app = create_app(self.service, self.clock)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="embedded-hall", daemon=True)

    def token(self, role: str) -> str:
        """This process's device token for a role, enrolled once per data folder."""
        path = self.data / f"embedded-{role}.token"
        if path.exists():
            return path.read_text().strip()
        token = enrolment.enroll_device(self.service, role, f"embedded-{role}", self.clock.now())
        write_private(path, token.encode())  # 0600 from its first byte (kiosk/files.py)
        return token

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        requests.get(self.url + "/health", timeout=5)
        return self.url

    def do(self, call: Any, req: object) -> tuple[int, dict[str, Any]]:
        """An operation run in this process as the API runs it (what other people in the demo hall do)."""
        from kiosk.contract.routes import BY_REQUEST

        op = OPERATIONS[type(req)]
        outcome = self.service.run(op, call, req) if BY_REQUEST[type(req)].kind == "change" else op(self.service, call, req)
        return status_of(outcome), body_of(outcome)

    # -- demo helpers: what other people in the hall would do --------------------------------------
    def sample_appointment(self, business: str = "D") -> str:
        """An online appointment starting now, as the WeChat booking system would register it."""
        from datetime import timedelta

        from kiosk.hall.context import Call, Device

        now = self.clock.now()
        req = CreateAppointment(business=business, slot_start=(now + timedelta(minutes=10)).isoformat(),
                                slot_end=(now + timedelta(minutes=40)).isoformat())
        status, reply = self.do(Call(Device(0, "wechat-booking", "supervisor"), now), req)
        assert status == 201, reply
        return str(reply["appointment"]["code"])

    def ensure_clerk(self) -> None:
        clerk_id, name, pin = DEMO_CLERK
        if self.service.store.reader().execute("SELECT 1 FROM clerks WHERE id=?", (clerk_id,)).fetchone() is None:
            enrolment.add_clerk(self.service, clerk_id, name, pin, self.clock.now())

    def prepare_counter(self, window: int) -> str:
        """The demo clerk, and citizens already waiting for this window's businesses. Outside opening hours no
        one can take a ticket: the counter starts with an empty queue, and what is returned says so."""
        self.ensure_clerk()
        w = self.service.config.window(window)
        try:
            for business in (w.businesses if w else ("B",))[:2]:
                self.crowd(business, 3)
        except DomainError as exc:
            if exc.code != "HALL_CLOSED":
                raise
            return (f"{exc.message} 演示队列为空；看营业中的大厅：--now {OPEN_MONDAY} / the demo queue is empty "
                    f"(hall closed); for an open hall: --now {OPEN_MONDAY}")
        return ""

    def prepare_duty(self) -> None:
        """What a duty desk finds in the morning, made through the hall service as the other apps would:
        a bad rating from ten days ago whose follow-up is overdue, today's bad rating, an out-of-order call,
        an identity mismatch served with a reason, and a report."""
        from datetime import timedelta

        from kiosk.domain.errors import DomainError
        from kiosk.hall.context import Call, Device

        counter = Device(0, "counter-2", "counter")
        today = self.clock.now()
        earlier = today - timedelta(days=10)
        for when in (earlier, today):
            numbers = self.crowd("B", 2, now=when)
            self.serve(numbers[1], window=2, now=when)  # the second first: out of order, with its reason
            self.do(Call(counter, when),
                             Rate(ticket=numbers[1], level=1, source="keypad", reasons=["服务态度不好"]))
        d = self.crowd("D", 1)[0]
        call = self._window_call(3)
        self.do(call, CallTicket(window=3, number=d, reason="预约群众到场"))
        stranger = {"id_number": "11010519491231002X", "name": ""}
        try:
            self.do(call, StartService(window=3, identity=stranger))
        except DomainError:
            pass
        self.do(call, StartService(window=3, identity=stranger,
                                                                   override_reason="当事人本人到场，取号为家属"))
        self.do(Call(Device(0, "duty-desk", "supervisor"), today), EscalateOverdue())
        self.report("materials", "窗口第三次让我补材料，每次说的不一样", ticket=numbers[0])

    def report(self, category: str, description: str, ticket: str | None = None) -> None:
        """A citizen reports at a kiosk."""
        from kiosk.hall.context import Call, Device

        req = ReportMatter(category=category, description=description, ticket=ticket)
        self.do(Call(Device(0, "kiosk-1", "kiosk"), self.clock.now()), req)

    def typed_burst(self, kiosk: str = "kiosk-2") -> None:
        """Someone types other people's ID numbers at one kiosk until the hall pauses typed entry there."""
        from kiosk.domain.identity import check_char
        from kiosk.hall.context import Call, Device

        device = Device(0, kiosk, "kiosk")
        burst = self.service.config.limits.kiosk_burst
        for i in range((burst.identities if burst else 0) + 1):
            first17 = f"370203{1970 + i}0606{i:03d}"
            identity = {"id_number": first17 + check_char(first17), "name": "", "source": "typed"}
            status, _ = self.do(Call(device, self.clock.now()),
                                         IssueTicket(business="Q", identity=identity, accept_wait=True))
            if status == 409:
                return

    def held_booking(self, holder: str, kiosk: str = "kiosk-2") -> str:
        """A full day for K, and someone typing numbers at one kiosk to book its slots, ``holder``'s first,
        until the kiosk bursts: the typed bookings are on hold (checked in with the holder's card only).
        Returns the QR text of ``holder``'s booking."""
        from kiosk.domain.identity import check_char
        from kiosk.hall.context import Call, Device

        self.crowd("K", 40)
        device = Device(0, kiosk, "kiosk")
        burst = self.service.config.limits.kiosk_burst
        numbers = [holder] + [f"{p}{check_char(p)}" for p in (f"370203{1960 + i}0707{i:03d}" for i in range(9))]
        code = ""
        for number in numbers[:(burst.identities if burst else 0) + 1]:
            identity = {"id_number": number, "name": "", "source": "typed"}
            status, body = self.do(Call(device, self.clock.now()),
                                            IssueTicket(business="K", identity=identity))
            if status != 200:
                break  # the burst: typed entry paused here, the bookings before it held
            _, booked = self.do(Call(device, self.clock.now()),
                                         AcceptBooking(offer_id=body["booking_offer"]["offer_id"], identity=identity))
            code = code or str(booked["booking"]["code"])
        assert code, "no booking was offered: the day is not full for K (an elderly holder is served today)"
        return code

    def crowd(self, business: str, people: int, now: datetime | None = None) -> list[str]:
        """Other citizens take tickets at another kiosk; their numbers."""
        from kiosk.domain.identity import check_char
        from kiosk.hall.context import Call, Device

        kiosk = Device(0, "demo-crowd", "counter")  # not a kiosk: the burst limit is about one kiosk's screen
        first, self._crowd = self._crowd, self._crowd + people  # new people each time
        numbers: list[str] = []
        for i in range(first, first + people):
            first17 = f"3701{i // 100:02d}19850101{i % 100:03d}"
            identity = {"id_number": first17 + check_char(first17), "name": ""}
            status, body = self.do(Call(kiosk, now or self.clock.now()),
                                            IssueTicket(business=business, identity=identity, accept_wait=True))
            if status == 201:
                numbers.append(str(body["ticket"]["number"]))
        return numbers

    def _window_call(self, window: int, now: datetime | None = None) -> Any:
        """The demo clerk at a window: logged in once per window (a past moment gets a login of its own)."""
        from kiosk.hall.context import Call, Device

        self.ensure_clerk()
        counter = Device(0, f"demo-counter-{window}", "counter")
        when = now or self.clock.now()
        if now is not None or window not in self._sessions:
            clerk_id, _name, pin = DEMO_CLERK
            _, login = self.do(Call(counter, when), Login(window=window, clerk_id=clerk_id, pin=pin))
            if now is None:
                self._sessions[window] = login["session"]
            else:
                self._sessions.pop(window, None)  # that login ended the window's earlier session
            return Call(counter, when, login["session"])
        return Call(counter, when, self._sessions[window])

    def call_next(self, window: int) -> str:
        """A window calls its next ticket, finishing the one before (as a clerk at that window would)."""
        from kiosk.domain.errors import DomainError

        call = self._window_call(window)
        try:
            self.do(call, Finish(window=window))
        except DomainError:
            pass  # nobody at the window yet
        status, body = self.do(call, CallNext(window=window))
        assert status == 200, body
        return str(body["ticket"]["number"])

    def close_window(self, window: int) -> None:
        """The clerk at a window, having worked today, finishes the citizen there and goes home (logs out)."""
        call = self._window_call(window)
        try:
            self.do(call, Finish(window=window))
        except DomainError:
            pass  # nobody at the window
        self.do(call, Logout(window=window))
        self._sessions.pop(window, None)

    def recall(self, window: int) -> None:
        self.do(self._window_call(window), Recall(window=window))

    def progress_case(self, number: str, stage: str, note: str) -> None:
        """The registration system reports a case's progress."""
        from kiosk.hall.context import Call, Device

        self.do(Call(Device(0, "registration-system", "supervisor"),
                                                             self.clock.now()),
                         CaseProgress(number=number, stage=stage, note=note))

    def serve(self, number: str, window: int = 2, accepted: bool = False,
              now: datetime | None = None) -> dict[str, Any] | None:
        """A clerk calls, serves and finishes a ticket (so that it can be rated); returns the case opened."""
        call = self._window_call(window, now)
        self.do(call,
                         CallTicket(window=window, number=number, reason="群众反映材料已备齐，先行办理"))
        _, finished = self.do(call, Finish(window=window, accepted=accepted))
        case: dict[str, Any] | None = finished.get("case")
        return case

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.service.store.close()
        if self.throwaway:
            shutil.rmtree(self.data, ignore_errors=True)
