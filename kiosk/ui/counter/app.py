"""The window terminal (窗口终端): a clerk calls, checks identity, serves, gives the one-time notice,
transfers, finishes; the citizen rates on the window's keypad, and the clerk sees the rating but can
neither enter nor change it (there is no control for it here).

Every rule (order, reasons, identity match, repeat notices) is the hall's: this app shows what the
hall answers. The keypad and the ID reader run on their own threads and report through the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from drivers.errors import DeviceError
from drivers.factory import Devices
from drivers.keypad import protocol as keypad_protocol
from drivers.keypad.driver import KeypadEvent, KeypadOffline, KeypadOnline, KeyPress, RatingTimedOut
from drivers.printer import layouts
from kiosk.domain import labels
from kiosk.domain.labels import RATING_LEVELS as LEVELS
from kiosk.domain.ratings import is_bad
from kiosk.ui.choice import ChoicePanel, ChoiceScreen
from kiosk.ui.client import HallClient, HallUnreachable, Reply
from kiosk.ui.counter.flows.rating import Pending, RatingRelay
from kiosk.ui.fitting import keep_fitting
from kiosk.ui.hall_app import HallApp, TourStep

STATES = {"open": "办理中", "paused": "暂停服务", "closed": "未开窗"}
OUT_OF_ORDER_REASONS = ["老年人、残疾人等优先", "预约群众到场", "转办回本窗口", "简单事项即办", "前号已过号后到场"]
OVERRIDE_REASONS = ["代办人持授权委托书", "当事人本人到场，取号为家属", "身份证丢失，持临时身份证明"]
TRANSFER_REASONS = ["业务不属本窗口", "需其他窗口协办", "群众要求改办其他业务"]
PAUSE_REASONS = ["临时离开（10分钟内）", "系统或设备故障", "业务会商"]


class LoginScreen(Screen):
    clerk_id = StringProperty("")
    pin = StringProperty("")
    field = StringProperty("clerk")
    message = StringProperty("")


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
                 demo: Any = None, state_dir: Path = Path("data/window"), **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.devices = devices
        self.window = window
        self.demo = demo
        self.window_name = f"{window}号窗口"
        self.title = f"不动产登记 {window}号窗口"
        self.pollers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="counter-reader")
        self.catalog: dict[str, dict[str, Any]] = {}
        self.summary: dict[str, Any] = {}
        self.windows: list[dict[str, Any]] = []  # the hall's windows, for transfers
        self.clerk: dict[str, str] = {}
        self.choices = ChoicePanel(self, on_cancel=self.choice_cancel)
        self.rating: dict[str, Any] = {}  # the rating the keypad was asked for
        self.keypad_address = devices.keypad.addresses[0] if devices.keypad is not None else None
        self.keypad_online = devices.keypad is not None
        self._reading = False
        self._identity: dict[str, str] | None = None  # read for the identity match: memory only, wiped after
        keypad = devices.keypad
        # presses wait on this PC's disk until the hall has them; the keypad is acknowledged only then
        self.relay = RatingRelay(state_dir / f"window-{window}-ratings.db", client,
                                 acknowledge=(lambda a, seq: keypad.acknowledge(a, seq)) if keypad else (lambda a, s: None))

    # -- life ----------------------------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in (LoginScreen(), DeskScreen(), ChoiceScreen(), InfoScreen()):
            sm.add_widget(screen)
        keys = sm.get_screen("login").ids.login_keys
        for key in [*"1234567890", "删除", "登录 Log in"]:
            button = Button(text=key, font_size="32sp", background_normal="",
                            background_color=(0.1, 0.5, 0.35, 1) if key.startswith("登录") else (0.2, 0.24, 0.3, 1))
            button.bind(on_release=lambda b: self.login_key(b.text))
            keys.add_widget(keep_fitting(button))
        if self.devices.keypad is not None:
            self.devices.keypad.on_event = lambda e: Clock.schedule_once(lambda _dt: self.keypad_event(e))
            self.devices.keypad.start()
        for pending in self.relay.unsent():  # ratings pressed before a restart, not yet in the hall
            self._store_rating(pending, time.monotonic())
        Clock.schedule_interval(lambda _dt: self.refresh(), 3.0)
        Clock.schedule_interval(self._poll_reader, 0.4)
        self.ask(lambda: self.client.get("/api/v1/catalog"), self._catalog)
        self.first_frame()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        super().on_stop()
        self.pollers.shutdown(wait=False, cancel_futures=True)
        self.relay.close()

    def _catalog(self, reply: Reply) -> None:
        if reply.ok:
            self.catalog = {b["code"]: b for b in reply.body["businesses"]}
            self.ask(lambda: self.client.get("/api/v1/queue"), self._queue)

    def _queue(self, reply: Reply) -> None:
        if reply.ok:
            self.windows = reply.body["windows"]

    @property
    def desk(self) -> DeskScreen:
        screen: DeskScreen = self.root.get_screen("desk")
        return screen

    def say(self, text: str, bad: bool = False) -> None:
        self.desk.banner, self.desk.banner_bad = text, bad

    def unreachable(self) -> None:
        self.say(self.tr("连接不上大厅服务，请稍后重试或联系技术人员；本机会自动重连。",
                         "The hall service cannot be reached; it will reconnect by itself."), bad=True)
        if self.root.current != "login":
            self.root.current = "desk"

    # -- login ------------------------------------------------------------------------------------------------
    def login_key(self, key: str) -> None:
        screen: LoginScreen = self.root.get_screen("login")
        field = "clerk_id" if screen.field == "clerk" else "pin"
        value = getattr(screen, field)
        if key == "删除":
            setattr(screen, field, value[:-1])
        elif key.startswith("登录"):
            self.login(screen)
        elif len(value) < 12:
            setattr(screen, field, value + key)

    def login(self, screen: LoginScreen) -> None:
        body = {"clerk_id": screen.clerk_id, "pin": screen.pin}
        screen.pin = ""

        def done(reply: Reply) -> None:
            if not reply.ok:
                screen.message = reply.error.get("message", "")
                return
            self.client.headers["X-Clerk-Session"] = reply.body["session"]
            self.clerk = {"id": body["clerk_id"], "name": reply.body.get("clerk", {}).get("name", "")}
            screen.message = ""
            self.root.current = "desk"
            self.say(self.tr("已登录，窗口开始服务。", "Logged in; the window is open."))
            self.refresh(welcome=True)

        self.ask(lambda: self.client.post(f"/api/v1/windows/{self.window}/login", body), done)

    def logout(self) -> None:
        def done(reply: Reply) -> None:
            self.client.headers.pop("X-Clerk-Session", None)
            self.clerk = {}
            if self.keypad_address is not None and self.devices.keypad is not None:
                self.devices.keypad.set_mode(self.keypad_address, keypad_protocol.Mode.IDLE)
            self.root.current = "login"

        self.window_post("logout", {}, done)

    # -- the window at a glance ------------------------------------------------------------------------------
    def refresh(self, welcome: bool = False) -> None:
        if "X-Clerk-Session" not in self.client.headers:
            return

        def done(reply: Reply) -> None:
            if reply.ok:
                self.summary = reply.body
                self._show_summary(welcome)

        def work() -> Reply:
            return self.client.get(f"/api/v1/windows/{self.window}/summary")

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
        lines = [f"{b['name']}：{b['waiting']} 人，{labels.range_text(*labels.range_of(b))}" for b in s["waiting"]]
        tickets = "  ".join(t["number"] + ("优" if t["priority"] else "") for t in s["waiting_tickets"][:12])
        desk.waiting = "\n".join(lines) + (f"\n\n排队中：{tickets}" if tickets else "\n\n目前无人等候")
        today = s["today"]
        levels = "  ".join(f"{LEVELS[int(k)]} {v}" for k, v in sorted(today["ratings"].items(), reverse=True))
        desk.today = (f"今日已办 {today['served']} 件，评价 {today['rated']} 次"
                      + (f"，平均 {today['average']} 分\n{levels}" if today["rated"] else ""))
        if welcome and self.keypad_address is not None and self.devices.keypad is not None:
            self.devices.keypad.welcome(self.keypad_address, name, self._clerk_number(), self.window)

    def _clerk_number(self) -> int:
        clerk_id = self.clerk.get("id", "")
        return int(clerk_id) if clerk_id.isdigit() and int(clerk_id) < 65536 else 0

    # -- actions ----------------------------------------------------------------------------------------------------
    def window_post(self, op: str, body: dict[str, Any], on_ok: Callable[[Reply], None],
                    on_refused: Callable[[Reply], None] | None = None) -> None:
        key = f"{op}-{time.monotonic_ns()}"  # one key per tap: a retry after a lost answer changes nothing

        def done(reply: Reply) -> None:
            if reply.ok:
                on_ok(reply)
                self.refresh()
            elif on_refused is not None:
                on_refused(reply)
            else:
                self.root.current = "desk"
                self.say(reply.error.get("message", ""), bad=True)

        self.ask(lambda: self.client.post(f"/api/v1/windows/{self.window}/{op}", body, idempotency_key=key), done)

    def call_next(self) -> None:
        def called(reply: Reply) -> None:
            self.say(f"已呼叫 {reply.body['ticket']['number']}，请等候群众到窗口。")

        def empty(reply: Reply) -> None:
            self.say(reply.error.get("message", ""), bad=reply.error.get("code") != "QUEUE_EMPTY")

        self.window_post("call-next", {}, called, empty)

    def recall(self) -> None:
        self.window_post("recall", {}, lambda r: self.say(f"已重呼 {r.body['ticket']['number']}。"))

    def no_show(self) -> None:
        self.window_post("no-show", {}, lambda r: self.say(f"{r.body['ticket']['number']} 已记为过号。"))

    def call_specific(self) -> None:
        waiting = self.summary.get("waiting_tickets", [])
        if not waiting:
            self.say(self.tr("目前没有等候的号。", "Nobody is waiting."), bad=True)
            return
        options = [(f"{t['number']}\n等候 {t['waited_min']} 分钟", t["number"]) for t in waiting[:15]]
        self.choices.ask(self.tr("指定叫号：选择号码", "Call out of order: choose the number"),
                        "不按顺序叫号需要填写原因，原因会记录在审计中（谁、何时、为何）。", options,
                        lambda chosen, _t: self._call_reason(chosen[0]))

    def _call_reason(self, number: str) -> None:
        self.choices.ask_reason(f"指定呼叫 {number} 的原因", "此次不按顺序叫号将被记录。", OUT_OF_ORDER_REASONS,
                        lambda reason: self.window_post("call", {"number": number, "reason": reason},
                                                        lambda r: self._back(f"已指定呼叫 {number}（原因已记录）。")))

    def start_service(self) -> None:
        """The identity match (人证合一): the citizen lays the ID card on the window's reader."""
        self._identity = None
        options = [(self.tr("不读卡，直接开始", "Start without the card"), "skip")]
        self.choices.ask(self.tr("核验身份（人证合一）", "Identity check"),
                        "请群众将身份证放在窗口读卡器上，读到后自动核验。" if self.devices.idcard is not None
                        else "本窗口未配置读卡器。", options,
                        lambda _c, _t: self.window_post("start", {}, lambda r: self._back("已开始办理（未读卡核验）。")))

    def _poll_reader(self, _dt: float) -> None:
        if self.root is None or self.root.current != "choice" or self._reading or self.devices.idcard is None \
                or self.root.get_screen("choice").title not in ("核验身份（人证合一）", "Identity check"):
            return
        reader = self.devices.idcard

        def done(f: Future[Any]) -> None:
            self._reading = False
            try:
                card = f.result()
            except DeviceError as exc:
                self.root.get_screen("choice").note = f"读卡器无响应：{exc}。可选择“不读卡，直接开始”。"
                return
            if card is not None and self.root.current == "choice":
                self._identity = card.identity()
                self._start_with(None)

        self._reading = True
        self.background(reader.read_card, done, self.pollers)

    def _start_with(self, override: str | None) -> None:
        identity = self._identity
        body: dict[str, Any] = {"identity": identity}
        if override:
            body["override_reason"] = override

        def ok(reply: Reply) -> None:
            self._identity = None
            matched = bool(reply.body.get("identity_match"))
            self._back("人证一致，开始办理。" if matched else f"已开始办理（人证不一致，原因已记录：{override}）。",
                       bad=not matched)

        def refused(reply: Reply) -> None:
            if reply.error.get("code") == "IDENTITY_MISMATCH":
                self.choices.ask_reason("人证不一致", f"来人证件 {reply.error.get('masked', '')} 与取号人不符。"
                                "请核实；确需办理的，选择或填写原因后继续，原因将被记录。",
                                OVERRIDE_REASONS, self._start_with)
            else:
                self._identity = None
                self._back(reply.error.get("message", ""), bad=True)

        self.window_post("start", body, ok, refused)

    def notice(self) -> None:
        current = self.summary.get("current") or {}
        business = self.catalog.get(current.get("business", ""), {})
        options = [(m["name"], m["id"]) for m in business.get("materials", [])]
        earlier = current.get("earlier_notice")
        note = (f"此人此业务已于 {earlier} 出具过一次性告知；再次出具将记录为补充告知。" if earlier
                else "请一次勾选全部所缺材料：一次性告知后不得再要求其他材料。")
        self.choices.ask(self.tr("一次性告知：勾选所缺材料", "One-time notice: tick what is missing"), note, options,
                        lambda chosen, _t: self.window_post("notice", {"missing": chosen}, self._notice_issued),
                        multi=True)

    def _notice_issued(self, reply: Reply) -> None:
        n = reply.body["notice"]
        issued = datetime.fromisoformat(n["issued_at"])
        slip = layouts.NoticeSlip(self.window_name.split(" ")[0], n["number"], n["business_name"],
                                  [m["name"] for m in n["missing"]], n["window"], n["clerk_id"],
                                  f"{issued:%Y-%m-%d %H:%M}", n["holder_masked"], n["time_limit_days"], n["repeat"])
        text = "\n".join([f"编号 {n['number']}　{n['business_name']}　申请人 {n['holder_masked']}", "您还需要补齐以下全部材料：",
                          *[f"{i}. {m['name']}" for i, m in enumerate(n["missing"], start=1)],
                          f"材料齐全后 {n['time_limit_days']} 个工作日内办结。本单已列明全部所缺材料。"])

        def printed(f: Future[Any]) -> None:
            try:
                f.result()
                self._back(f"一次性告知单 {n['number']} 已打印" + ("（补充告知，已记录）。" if n["repeat"] else "。"))
            except DeviceError as exc:
                self.show_info(self.tr("一次性告知单（请群众拍照留存）", "One-time notice (to photograph)"),
                               f"{text}\n\n打印机不可用：{exc}")

        self.background(lambda: self.devices.printer.print_slip(layouts.notice(slip)), printed)

    def transfer(self) -> None:
        current = self.summary.get("current") or {}
        windows = [w for w in self.windows if w["number"] != self.window]
        options: list[tuple[str, Any]] = [(f"转到 {w['name']}", ("window", w["number"])) for w in windows]
        options += [(f"改办 {b['name']}", ("business", code)) for code, b in self.catalog.items()
                    if code != current.get("business") and code not in ("X",)][:6]

        def chosen(values: list[Any], _t: str) -> None:
            kind, target = values[0]
            body = {"to_window": target} if kind == "window" else {"to_business": target}
            self.choices.ask_reason("转办原因", "转办后群众保留原排队位置；原因将被记录。", TRANSFER_REASONS,
                            lambda reason: self.window_post("transfer", {**body, "reason": reason},
                                                            lambda r: self._back(f"已转办 {r.body['ticket']['number']}。")))

        self.choices.ask(self.tr("转办：选择窗口或业务", "Transfer to a window or business"), "", options, chosen)

    def finish(self) -> None:
        options = [(self.tr("已受理：出具办件编号", "Application accepted: open a case"), True),
                   (self.tr("未受理：结束本次服务", "Not accepted: end the service"), False)]
        self.choices.ask(self.tr("办结", "Finish"), "办结后，评价器将请群众评价；工作人员不能代为评价。", options,
                        lambda chosen, _t: self.window_post("finish", {"accepted": chosen[0]}, self._finished))

    def _finished(self, reply: Reply) -> None:
        request = reply.body["rating_request"]
        case = reply.body.get("case")
        case_text = f"办件编号 {case['number']}，法定办结期限 {case['due_date']}。" if case else ""
        self.rating = {"ticket": request["ticket"], "asked": time.monotonic()}
        if self.devices.keypad is None or self.keypad_address is None or not self.keypad_online:
            self._keypad_down(case_text)
            return
        # before the keypad asks: the press is this ticket's, timed from the hall's finish
        self.relay.asked(self.keypad_address, request["ticket"], request.get("finished_at"))
        self.devices.keypad.please_rate(self.keypad_address, request["clerk_name"], self._clerk_number(), self.window)
        self._back(f"{request['ticket']} 已办结。{case_text}请群众在评价器上评价……")

    def _keypad_down(self, before: str = "") -> None:
        self._back(f"{before}评价器离线：请引导群众到自助机“服务评价”扫码评价；已通知技术人员检修评价器。", bad=True)
        self.background(lambda: self.client.post("/api/v1/help", {"screen": "keypad"}), lambda _f: None)

    def keypad_event(self, event: KeypadEvent) -> None:
        if event.address != self.keypad_address:
            return
        if isinstance(event, KeyPress):
            pending = self.relay.pressed(event.address, event.seq, event.level)
            self.rating = {}
            if pending is None:  # nobody was asked to rate: not a rating, drop it from the keypad
                if self.devices.keypad is not None:
                    self.devices.keypad.acknowledge(event.address, event.seq)
                return
            self._store_rating(pending, time.monotonic())
        elif isinstance(event, RatingTimedOut):
            self.relay.timed_out(event.address)
            if self.rating:
                self.say(f"{self.rating['ticket']} 群众未在评价器上评价（已超时），可到自助机补评。", bad=True)
                self.rating = {}
        elif isinstance(event, KeypadOffline):
            self.keypad_online = False
            if self.rating:
                self._keypad_down()
            else:
                self.say("评价器离线：已通知技术人员检修。", bad=True)
                self.background(lambda: self.client.post("/api/v1/help", {"screen": "keypad"}), lambda _f: None)
        elif isinstance(event, KeypadOnline):
            self.keypad_online = True
            self.say("评价器已恢复连接。")

    def _store_rating(self, pending: Pending, pressed: float) -> None:
        """The press is the citizen's: on disk already, it is sent until the hall has it (retried while the
        hall cannot be reached), and only then acknowledged to the keypad."""

        def done(f: Future[Any]) -> None:
            state, reply = f.result()
            if state == "retry":
                self.say("评价暂存本机，大厅服务恢复后自动提交。", bad=True)
                Clock.schedule_once(lambda _dt: self._store_rating(pending, pressed), 2.0)
                return
            self.timing("keypad_event_to_stored_ms", pressed)
            if state == "stored":
                followup = reply.body.get("rating", {}).get("followup") if reply is not None and reply.ok else None
                extra = f"（差评，已转值班长跟进，期限 {followup['deadline']}）" if followup else ""
                self.say(f"{pending.ticket} 群众评价：{LEVELS[pending.level]}{extra}", bad=is_bad(pending.level))
                self.refresh()
            elif reply is not None:
                self.say(reply.error.get("message", ""), bad=True)

        self.background(lambda: self.relay.deliver(pending), done)

    def pause_or_resume(self) -> None:
        if self.summary.get("window", {}).get("state") == "paused":
            self.window_post("resume", {"reason": "恢复服务"}, lambda r: self._back("已恢复服务。"))
            if self.keypad_address is not None and self.devices.keypad is not None:
                self.devices.keypad.welcome(self.keypad_address, self.clerk.get("name", ""), self._clerk_number(),
                                            self.window)
            return

        def paused(reason: str) -> None:
            def ok(_r: Reply) -> None:
                self._back(f"已暂停服务：{reason}")
                if self.keypad_address is not None and self.devices.keypad is not None:
                    self.devices.keypad.set_mode(self.keypad_address, keypad_protocol.Mode.PAUSED)

            self.window_post("pause", {"reason": reason}, ok)

        self.choices.ask_reason("暂停服务的原因", "暂停期间本窗口不叫号；原因将被记录。", PAUSE_REASONS, paused)

    def choice_cancel(self) -> None:
        self._identity = None
        self.root.current = "desk"

    def _back(self, text: str, bad: bool = False) -> None:
        self.root.current = "desk"
        self.say(text, bad)

    def show_info(self, title: str, body: str) -> None:
        screen: InfoScreen = self.root.get_screen("info")
        screen.title, screen.body = title, body
        self.root.current = "info"

    def back_to_desk(self) -> None:
        self.root.current = "desk"

    # -- the tour (kiosk/ui/tours/) --------------------------------------------------------------
    def tour_steps(self) -> Iterator[TourStep]:
        from kiosk.ui.counter.tour import steps

        return steps(self)
