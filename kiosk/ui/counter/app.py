"""The window terminal (窗口终端): a clerk calls, checks identity, serves, gives the one-time notice,
transfers, finishes; the citizen rates on the window's keypad.

This is the shell: the desk (the window at a glance), the banner, the question screen and the wiring. What the
clerk does lives in flows (counter/flows/): login, calling, the notice and the keypad's rating relay. Every
rule (order, reasons, identity match, repeat notices) is the hall's: the app shows what the hall answers.
The keypad and the ID reader run on their own threads and report through the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from drivers.factory import Devices
from kiosk.contract.client import HallClient, HallUnreachable, Reply
from kiosk.contract.requests import GetCatalog, QueueStatus, WindowSummary
from kiosk.domain import labels
from kiosk.domain.labels import RATING_LEVELS as LEVELS
from kiosk.ui.choice import ChoicePanel, ChoiceScreen
from kiosk.ui.counter.flows.calling import CallingFlow
from kiosk.ui.counter.flows.login import LoginFlow, LoginScreen
from kiosk.ui.counter.flows.notice import NoticeFlow
from kiosk.ui.counter.flows.rating import RatingFlow, RatingRelay
from kiosk.ui.hall_app import HallApp
from kiosk.ui.stage import Stage

STATES = {"open": "办理中", "paused": "暂停服务", "closed": "未开窗"}


class DeskScreen(Screen):
    clerk = StringProperty("")
    state_text = StringProperty("")
    pause_label = StringProperty("暂停服务")
    number = StringProperty("")
    state = StringProperty("")  # the current ticket's: called | serving | ""
    ticket_detail = StringProperty("")
    warning = StringProperty("")
    waiting = StringProperty("")
    today = StringProperty("")
    banner = StringProperty("")
    banner_bad = BooleanProperty(False)
    busy_window = BooleanProperty(False)  # a ticket is at the window, or the window is paused


class InfoScreen(Screen):
    title = StringProperty("")
    body = StringProperty("")


class CounterApp(HallApp):
    window_name = StringProperty("")

    def __init__(self, client: HallClient, devices: Devices, window: int, tour_dir: Path | None = None,
                 demo: Stage | None = None, state_dir: Path = Path("data/window"), **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.devices = devices
        self.window = window
        self.demo = demo  # the in-process hall of the demo and the tour (kiosk/ui/stage.py)
        self.window_name = f"{window}号窗口"
        self.title = f"不动产登记 {window}号窗口"
        self.pollers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="counter-reader")
        self.catalog: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] = {}
        self.windows: list[dict[str, Any]] = []  # the hall's windows, for transfers
        self.clerk: dict[str, str] = {}
        self.choices = ChoicePanel(self, on_cancel=self.choice_cancel)
        keypad = devices.keypad
        # presses wait on this PC's disk until the hall has them; the keypad is acknowledged only then
        relay = RatingRelay(state_dir / f"window-{window}-ratings.db", client,
                            acknowledge=(lambda a, seq: keypad.acknowledge(a, seq)) if keypad else (lambda a, s: None))
        # the flows, wired where one leads into another
        self.rating = RatingFlow(self, relay)
        self.login = LoginFlow(self, on_login=lambda: self.refresh(welcome=True), on_logout=self.rating.idle)
        self.calling = CallingFlow(self, on_finished=self.rating.finished, on_paused=self.rating.paused,
                                   on_resumed=self.rating.welcome)
        self.notice = NoticeFlow(self)

    @property
    def keypad_address(self) -> int | None:
        return self.rating.address

    # -- life ----------------------------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in (LoginScreen(), DeskScreen(), ChoiceScreen(), InfoScreen()):
            sm.add_widget(screen)
        self.login.build(sm)
        if self.devices.keypad is not None:
            self.devices.keypad.on_event = lambda e: Clock.schedule_once(lambda _dt: self.rating.keypad_event(e))
            self.devices.keypad.start()
        self.rating.start()
        Clock.schedule_interval(lambda _dt: self.refresh(), 3.0)
        Clock.schedule_interval(lambda _dt: self.calling.poll_reader(), 0.4)
        self.ask(lambda: self.client.send(GetCatalog()), self._catalog)
        self.timings.first_frame()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        super().on_stop()
        self.pollers.shutdown(wait=False, cancel_futures=True)
        self.rating.relay.close()

    def _catalog(self, reply: Reply) -> None:
        if reply.ok:
            self.catalog = {b["code"]: b for b in reply.body["businesses"]}
            self.ask(lambda: self.client.send(QueueStatus()), self._queue)

    def _queue(self, reply: Reply) -> None:
        if reply.ok:
            self.windows = reply.body["windows"]

    @property
    def desk(self) -> DeskScreen:
        screen: DeskScreen = self.root.get_screen("desk")
        return screen

    def say(self, text: str, bad: bool = False) -> None:
        self.desk.banner, self.desk.banner_bad = text, bad

    def later(self, seconds: float, then: Callable[[], None]) -> None:
        Clock.schedule_once(lambda _dt: then(), seconds)

    def unreachable(self) -> None:
        self.say(self.tr("连接不上大厅服务，请稍后重试或联系技术人员；本机会自动重连。",
                         "The hall service cannot be reached; it will reconnect by itself."), bad=True)
        if self.root.current != "login":
            self.root.current = "desk"

    # -- the window at a glance ------------------------------------------------------------------------------
    def refresh(self, welcome: bool = False) -> None:
        if not self.login.signed_in:
            return

        def done(reply: Reply) -> None:
            if reply.ok:
                self.summary = reply.body
                self._show_summary(welcome)

        def work() -> Reply:
            return self.client.send(WindowSummary(window=self.window))

        def safe(f: Future[Any]) -> None:
            try:
                done(f.result())
            except HallUnreachable:
                self.unreachable()

        self.background(work, safe)

    def _show_summary(self, welcome: bool) -> None:
        s, desk = self.summary, self.desk
        w = s["window"]
        self.window_name = w["name"]
        name = w["clerk_name"] or self.clerk.get("name", "")
        self.clerk["name"] = name
        desk.clerk = f"{name}（工号 {w['clerk_id'] or self.clerk.get('id', '')}）"
        desk.state_text = STATES.get(w["state"], w["state"]) + (f"：{w['pause_reason']}" if w["state"] == "paused" else "")
        desk.pause_label = self.tr("恢复服务", "Resume") if w["state"] == "paused" else self.tr("暂停服务", "Pause")
        current = s["current"]
        desk.number = current["number"] if current else ""
        desk.state = current["state"] if current else ""
        desk.busy_window = current is not None or w["state"] == "paused"
        if current:
            kind = {"called": "已叫号，等候群众到窗口", "serving": "办理中"}.get(current["state"], current["state"])
            agent = "（代办）" if current.get("agent") else ""
            desk.ticket_detail = (f"{current['business_name']}　{kind}\n取号人 {current['holder_masked'] or '预约签到'}{agent}"
                                  f"　呼叫 {current.get('calls', 0)} 次")
            earlier = current.get("earlier_notice")
            desk.warning = f"注意：此人此业务已出具过一次性告知（{earlier}），再出具将记录为补充告知。" if earlier else ""
        else:
            desk.ticket_detail, desk.warning = "", ""
        lines = [f"{b['name']}：{b['waiting']} 人，{labels.wait_words(b)[0]}" for b in s["waiting"]]
        tickets = "  ".join(t["number"] + ("优" if t["priority"] else "") for t in s["waiting_tickets"][:12])
        desk.waiting = "\n".join(lines) + (f"\n\n排队中：{tickets}" if tickets else "\n\n目前无人等候")
        today = s["today"]
        levels = "  ".join(f"{LEVELS[int(k)]} {v}" for k, v in sorted(today["ratings"].items(), reverse=True))
        desk.today = (f"今日已办 {today['served']} 件，评价 {today['rated']} 次"
                      + (f"，平均 {today['average']} 分\n{levels}" if today["rated"] else ""))
        if welcome:
            self.rating.welcome()

    # -- what the flows share ----------------------------------------------------------------------------------
    def window_send(self, request: object, on_ok: Callable[[Reply], None],
                    on_refused: Callable[[Reply], None] | None = None) -> None:
        key = f"{type(request).__name__}-{time.monotonic_ns()}"  # one key per tap: a retry after a lost answer changes nothing

        def done(reply: Reply) -> None:
            if reply.ok:
                on_ok(reply)
                self.refresh()
            elif on_refused is not None:
                on_refused(reply)
            else:
                self.root.current = "desk"
                self.say(reply.error.get("message", ""), bad=True)

        self.ask(lambda: self.client.send(request, idempotency_key=key), done)

    def choice_cancel(self) -> None:
        self.calling.reset()
        self.root.current = "desk"

    def back(self, text: str, bad: bool = False) -> None:
        self.root.current = "desk"
        self.say(text, bad)

    def show_info(self, title: str, body: str) -> None:
        screen: InfoScreen = self.root.get_screen("info")
        screen.title, screen.body = title, body
        self.root.current = "info"

    def back_to_desk(self) -> None:
        self.root.current = "desk"
