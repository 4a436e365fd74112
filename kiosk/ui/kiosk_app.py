"""The citizen kiosk: take a ticket by ID card or typed ID number; see it on screen and on paper.

The app is a thin listener: hall calls and device reads run on a worker thread and come back
through the Kivy clock. A raw ID number lives only in memory for the current action and is
wiped when the citizen leaves, the idle timer runs out, or the ticket is issued. Screens show
masked forms only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.widget import Widget

from drivers.errors import DeviceError
from drivers.factory import Devices
from drivers.printer import layouts
from kiosk.domain.labels import MATTER_STATUS_FOR_CITIZENS, RATING_LEVELS, RATING_LEVELS_EN
from kiosk.domain.ratings import BAD_AT_MOST
from kiosk.ui import guide, pinyin
from kiosk.ui.base import HallApp, TourStep, qr_texture, unreachable_transport
from kiosk.ui.client import HallClient, HallUnreachable, Reply
from kiosk.ui.report_flow import ReportFlow, ReportScreen

ID_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "删除"]


class HomeScreen(Screen):
    pass


class BusinessScreen(Screen):
    pass


class IdentifyScreen(Screen):
    business_name = StringProperty("")
    heading = StringProperty("")
    purpose = StringProperty("ticket")  # ticket | agent | principal | case
    masked = StringProperty("")
    warning = StringProperty("")


class TicketScreen(Screen):
    number = StringProperty("")
    details = StringProperty("")
    printed = StringProperty("")
    print_ok = BooleanProperty(True)


class ScanScreen(Screen):
    mode = StringProperty("checkin")
    title = StringProperty("")
    hint = StringProperty("")
    status = StringProperty("")


class RateScreen(Screen):
    ticket = StringProperty("")


class EnquiryScreen(Screen):
    title = StringProperty("")
    detail = StringProperty("")


class MessageScreen(Screen):
    title = StringProperty("")
    message = StringProperty("")
    message_en = StringProperty("")
    show_qr = BooleanProperty(False)


class CategoryScreen(Screen):
    pass


class EntryScreen(Screen):
    """Typing a short number on large keys: a case number, or a ticket number to rate."""

    purpose = StringProperty("rate")
    title = StringProperty("")
    hint = StringProperty("")
    shown = StringProperty("")
    warning = StringProperty("")


Action = tuple[str, Callable[[], None]]


def masked_entry(typed: str) -> str:
    """What the screen shows while a number is typed: never the middle digits."""
    if len(typed) <= 6:
        return typed[:4] + "*" * max(0, len(typed) - 4)
    return typed[:4] + "*" * (len(typed) - 6) + typed[-2:]


class KioskApp(HallApp):
    hall_name = StringProperty("不动产登记大厅")

    def __init__(self, client: HallClient, devices: Devices, tour_dir: Path | None = None,
                 idle_seconds: float = 90.0, demo: Any = None, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.locked = locked  # kiosk deployment (--fullscreen): no way out by keyboard or window close
        self.demo = demo  # the embedded hall, in the demo and the tour: plays the rest of the hall
        self.devices = devices
        self.idle_seconds = idle_seconds
        # the ID reader and the scanner wait on their wires on their own threads: a slow read never delays a hall call
        self.pollers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kiosk-poll")
        self.catalog: list[dict[str, Any]] = []
        self.catalog_body: dict[str, Any] = {}
        self.report = ReportFlow(self)
        # raw identities of the current action: memory only, wiped on leaving (see _wipe)
        self._agent: dict[str, str] | None = None
        self._principals: list[dict[str, str]] = []
        self._pending: dict[str, str] | None = None  # the identity an on-site booking offer was made to
        self._pending_agent: dict[str, Any] | None = None
        self._offer: dict[str, Any] = {}
        self._case_number = ""
        self._entry = ""
        self._hid = ""  # characters typed by a USB-HID (keyboard-wedge) scanner, until its Enter
        self._prewarmed = False
        self._prewarm_scheduled = False
        self._action_buttons: dict[str, Button] = {}  # drawn once, shown again without redrawing
        self.business: dict[str, Any] | None = None
        self._typed = ""  # raw digits being typed: memory only, wiped on leaving
        self._action_key = ""
        self._busy = False  # a ticket request is in flight
        self._reading = False  # the ID reader is being asked
        self._scanning = False  # the scanner is being asked
        self._flush_scanner = False
        self._last_touch = time.monotonic()
        self._last_ticket: dict[str, Any] = {}
        self._rating: dict[str, Any] = {}
        self._fee: dict[str, Any] = {"property_kind": "residential", "certificates": 1}
        self._card_at = 0.0
        self.title = "不动产登记 自助取号"

    # -- small helpers used by the .kv ----------------------------------------------------------
    def toggle_large(self) -> None:
        self.scale = 1.0 if self.scale > 1.0 else 1.3

    # -- app life ---------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in (HomeScreen(), BusinessScreen(), IdentifyScreen(), TicketScreen(), MessageScreen(),
                       ScanScreen(), RateScreen(), EnquiryScreen(), EntryScreen(), ReportScreen(), CategoryScreen()):
            sm.add_widget(screen)
        self._build_keys(sm.get_screen("identify"))
        self.report.build(sm.get_screen("report"))
        Window.bind(on_textinput=self._hid_text, on_key_down=self._hid_key)
        self._build_demo_cards(sm.get_screen("identify"))
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_request_close=lambda *_: self.locked)  # True vetoes: a deployed kiosk cannot be closed
        Clock.schedule_interval(self._idle_check, 1.0)
        Clock.schedule_interval(self._poll_reader, 0.5)
        Clock.schedule_interval(self._poll_scanner, 0.5)
        self._build_faces(sm.get_screen("rate"))
        self.load_catalog()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        super().on_stop()
        self.pollers.shutdown(wait=False, cancel_futures=True)

    def _touched(self, *_args: Any) -> None:
        self._last_touch = time.monotonic()

    def _idle_check(self, _dt: float) -> None:
        if self.root.current != "home" and time.monotonic() - self._last_touch > self.idle_seconds:
            self.go_home()

    def unreachable(self) -> None:
        self._busy = False
        self.offline()

    def rule(self, name: str, default: int) -> int:
        """One of the hall's rules as its catalog states them; ``default`` only until the catalog has come."""
        return int(self.catalog_body.get("rules", {}).get(name, default))

    def refused(self, title: str, title_en: str, reply: Reply) -> None:
        """The hall's own reason, in Chinese with English below."""
        self.show_message(self.tr(title, title_en), reply.error.get("message", ""), reply.error.get("message_en", ""))

    # -- navigation ------------------------------------------------------------------------------
    def go_home(self) -> None:
        self._wipe()
        self.root.current = "home"

    def _wipe(self) -> None:
        """Personal data off the screen and out of memory."""
        self._typed = ""
        self._agent, self._principals, self._pending, self._pending_agent, self._offer = None, [], None, None, {}
        self._case_number = self._entry = self._hid = ""
        self._card_at = 0.0
        self.report.reset()
        self.root.get_screen("message").show_qr = False
        self.root.get_screen("entry").shown = ""
        sim = self.devices.simulators.get("idcard")
        if sim is not None and self.tour_dir is None:
            sim.remove()  # the demo's sample card is taken off the reader
        identify = self.root.get_screen("identify")
        identify.masked = ""
        ticket = self.root.get_screen("ticket")
        ticket.number = ticket.details = ticket.printed = ""
        self._busy = False

    def show_message(self, title: str, message: str, message_en: str = "", actions: list[Action] | None = None) -> None:
        """A message, with large choices under it when the citizen has something to decide."""
        screen = self.root.get_screen("message")
        screen.title, screen.message, screen.message_en = title, message, message_en
        screen.show_qr = False
        box = screen.ids.actions
        box.clear_widgets()
        for text, action in actions or []:
            button = self._action_button(text)
            button.action = action
            box.add_widget(button)
        self.root.current = "message"

    def _action_button(self, text: str) -> Button:
        key = f"{self.scale}:{text}"
        button = self._action_buttons.get(key)
        if button is None:
            if len(self._action_buttons) > 200:
                self._action_buttons.clear()
            # choices are short lines: not wrapped to the button's width, so the text is drawn once, at
            # prewarm or first use, and not again whenever a layout gives the button its size
            button = Button(text=text, markup=True, font_size=f"{24 * self.scale:.0f}sp", halign="center",
                            background_normal="", background_color=(0.08, 0.36, 0.72, 1))
            button.bind(on_release=lambda b: b.action())
            self._action_buttons[key] = button
        return button

    def show_qr(self, text: str) -> None:
        """The code that should have been printed, on screen to photograph."""
        screen = self.root.get_screen("message")
        screen.ids.qr.texture = qr_texture(text)
        screen.show_qr = True

    def show_progress(self, text: str) -> None:
        self.show_message(text, self.tr("请稍候…", "One moment…"))

    @staticmethod
    def new_action_key() -> str:
        return uuid.uuid4().hex

    def offline(self) -> None:
        self.show_message(self.tr("暂时无法办理", "Service unavailable"),
                          "暂时连接不上大厅系统，请到服务台由工作人员协助。本机会自动恢复。",
                          "The kiosk cannot reach the hall system. Please ask staff; it will recover by itself.")
        Clock.schedule_once(lambda _dt: self.load_catalog(), 5.0)

    def call_staff(self) -> None:
        screen = self.root.current

        def done(f: Future[Any]) -> None:
            try:
                reply: Reply = f.result()
                ok = reply.ok
            except HallUnreachable:
                ok = False
            self.show_message(self.tr("呼叫工作人员", "Call staff"),
                              "已通知工作人员，请在原地稍候。" if ok else "请直接到服务台找工作人员。",
                              "Staff have been called; please wait here." if ok else "Please go to the service desk.")

        self.background(lambda: self.client.post("/api/v1/help", {"screen": screen}), done)

    def show_queue(self) -> None:
        def done(reply: Reply) -> None:
            lines = [f"{b['name']}：等候 {b['waiting']} 人，约 {b['expected_wait_min']} 分钟"
                     for b in reply.body.get("businesses", []) if b["waiting"]]
            self.show_message(self.tr("排队情况", "Queue status"), "\n".join(lines) or "目前没有人排队，可以直接取号。",
                              "Waiting per business, with the expected wait.")

        self.ask(lambda: self.client.get("/api/v1/queue"), done)

    # -- catalog --------------------------------------------------------------------------------------
    def load_catalog(self) -> None:
        def done(f: Future[Any]) -> None:
            try:
                reply: Reply = f.result()
            except HallUnreachable:
                if self.root.current == "home":
                    self.offline()
                return
            if reply.ok:
                self.catalog_body = reply.body
                self.catalog = reply.body["businesses"]
                self.hall_name = reply.body["hall"]["name"].split(" ")[0]
                self._build_tiles()
                self.report.build_categories(self.root.get_screen("categories"), reply.body.get("matter_categories", []))
                if not self._prewarm_scheduled:
                    self._prewarm_scheduled = True
                    self.first_frame()
                    Clock.schedule_once(self._prewarm, 0.5)
                if self.root.current == "message" and not self._busy:
                    self.root.current = "home"

        self.background(lambda: self.client.get("/api/v1/catalog"), done)

    def _prewarm(self, _dt: float) -> None:
        """Once, soon after start, while nobody is touching yet: make the menu buttons that are built
        on demand (their first drawing is what makes a menu's first showing slow), and load the pinyin
        model (its JSON parse holds the interpreter for half a second)."""
        for a in guide.ROOT.answers:
            self._action_button(f"{a.zh}\n[size=16sp]{a.en}[/size]").texture_update()

        def warmed(_f: Future[Any]) -> None:
            self._prewarmed = True

        self.background(pinyin.warm_up, warmed)

    def _build_tiles(self) -> None:
        tiles = self.root.get_screen("business").ids.tiles
        tiles.clear_widgets()
        for business in self.catalog:
            button = Button(text=f"{business['name']}\n[size=18sp]{business['name_en']}[/size]", markup=True,
                            font_size="26sp", halign="center", valign="middle", background_normal="",
                            background_color=(0.08, 0.36, 0.72, 1))
            button.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
            button.business_code = business["code"]
            button.bind(on_release=lambda b: self.choose_business(b.business_code))
            tiles.add_widget(button)
        helper = Button(text="不知道办什么？\n[size=18sp]Not sure? Answer two questions[/size]", markup=True,
                        font_size="26sp", halign="center", valign="middle", background_normal="",
                        background_color=(0.85, 0.5, 0.05, 1))
        helper.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
        helper.business_code = ""
        helper.bind(on_release=lambda _b: self.ask_guide(guide.ROOT))
        tiles.add_widget(helper)

    def ask_guide(self, question: guide.Question) -> None:
        """The "不知道办什么" helper: each answer leads to another question or straight to the business."""

        def answer(a: guide.Answer) -> Callable[[], None]:
            if a.next is not None:
                nxt = a.next
                return lambda: self.ask_guide(nxt)
            return lambda: self.choose_business(a.business)

        self.show_message(self.tr(question.zh, question.en), "", question.en if self.lang == "zh" else question.zh,
                          actions=[(f"{a.zh}\n[size=16sp]{a.en}[/size]", answer(a)) for a in question.answers])

    # -- taking a ticket --------------------------------------------------------------------------
    def start_ticket(self) -> None:
        if not self.catalog:
            self.offline()
            return
        self.root.current = "business"

    def choose_business(self, code: str) -> None:
        self.business = next(b for b in self.catalog if b["code"] == code)
        self._agent, self._principals = None, []
        self._action_key = uuid.uuid4().hex  # one ticket per action, however often it is retried
        self.identify("ticket")
        self.background(self.devices.printer.status, self._printer_checked)

    def identify(self, purpose: str) -> None:
        """The one identification screen (card, typed number, or an appointment QR), for every purpose."""
        screen = self.root.get_screen("identify")
        screen.purpose = purpose
        name = self.business["name"] if self.business else ""
        screen.business_name = name
        screen.heading = {
            "ticket": self.tr(f"请确认身份：{name}", f"Identify yourself: {name}"),
            "agent": self.tr("代办取号：请先确认代办人（您本人）身份", "Agent: first identify yourself"),
            "principal": self.tr(f"请录入第 {len(self._principals) + 1} 位被代办人（当事人）身份",
                                 f"Identify person {len(self._principals) + 1} you represent"),
            "case": self.tr("办件进度：请确认您是办件的申请人", "Case progress: identify yourself as the applicant"),
        }[purpose]
        self._typed = ""
        screen.masked = ""
        screen.warning = ""
        self.root.current = "identify"

    def identified(self, identity: dict[str, str]) -> None:
        purpose = self.root.get_screen("identify").purpose
        if purpose != "ticket":
            self._card_at = 0.0  # the ID-read-to-printer timing is of a card read straight to a ticket
        if purpose == "agent":
            self._agent = identity
            self.identify("principal")
        elif purpose == "principal":
            if self._agent is not None and identity["id_number"] == self._agent["id_number"]:
                self.root.get_screen("identify").warning = self.tr(
                    "被代办人不能是代办人本人，请录入当事人的身份证。", "The person represented cannot be you.")
                return
            if all(p["id_number"] != identity["id_number"] for p in self._principals):
                self._principals.append(identity)
            self._principals_added()
        elif purpose == "case":
            self.query_case(identity)
        else:
            self.submit(identity)

    def start_agent(self) -> None:
        self._agent, self._principals = None, []
        self.identify("agent")

    def _principals_added(self) -> None:
        from kiosk.domain.identity import mask_number

        listed = "\n".join(f"{i}. {mask_number(p['id_number'])}" for i, p in enumerate(self._principals, start=1))
        self.show_message(self.tr("已录入被代办人", "People you represent"),
                          f"{listed}\n代办人本人的取号次数不受影响；每位当事人按本人计数。",
                          "Each person represented counts against their own limits.",
                          actions=[(self.tr("再录入一位", "Add another person"), lambda: self.identify("principal")),
                                   (self.tr("为以上当事人取号", "Take the ticket"), self._submit_agent)])

    def _submit_agent(self) -> None:
        assert self._agent is not None
        self.identify("ticket")  # the progress shows on the identify screen, as for one's own ticket
        self.submit(self._agent, agent={"identity": self._agent, "principals": list(self._principals)})

    def _printer_checked(self, f: Future[Any]) -> None:
        try:
            status = f.result()
            ok = status.can_print
        except DeviceError:
            ok = False
        self.root.get_screen("identify").warning = "" if ok else self.tr(
            "打印机暂时不能打印：号码将显示在屏幕上，请拍照留存。",
            "The printer cannot print now: your number will be shown on screen; take a photo.")

    def _build_demo_cards(self, screen: IdentifyScreen) -> None:
        """In the demo the ID reader is simulated: visitors pick a sample card to lay on it."""
        sim = self.devices.simulators.get("idcard")
        if sim is None:
            return
        from drivers.idcard.simulator import SAMPLE_CARDS
        from kiosk.domain.identity import mask_name

        for key, card in SAMPLE_CARDS.items():
            button = Button(text=f"演示身份证 Demo ID：{mask_name(card.name)}", font_size="20sp", background_normal="",
                            background_color=(0.45, 0.3, 0.6, 1))
            button.bind(on_release=lambda _b, k=key: sim.place(k))
            screen.ids.demo_cards.add_widget(button)

    def _build_keys(self, screen: IdentifyScreen) -> None:
        for key in [*ID_KEYS, "确认 OK"]:
            button = Button(text=key, font_size="34sp", background_normal="", background_color=(0.2, 0.24, 0.3, 1))
            button.bind(on_release=lambda b: self.key(b.text))
            screen.ids.keypad.add_widget(button)

    def key(self, key: str) -> None:
        if self._busy:
            return  # a second tap while the ticket is being issued does nothing
        if key == "删除":
            self._typed = self._typed[:-1]
        elif key.startswith("确认"):
            if len(self._typed) != 18:
                self.root.get_screen("identify").warning = self.tr(
                    f"身份证号应为18位，已输入{len(self._typed)}位。", f"18 characters needed; {len(self._typed)} typed.")
                return
            self.identified({"id_number": self._typed, "name": "", "source": "typed"})
            return
        elif len(self._typed) < 18:
            self._typed += key
        self.root.get_screen("identify").masked = masked_entry(self._typed)

    def _poll_reader(self, _dt: float) -> None:
        if self.root is None or self.root.current != "identify" or self._busy or self._reading \
                or self.devices.idcard is None:
            return
        reader = self.devices.idcard

        def done(f: Future[Any]) -> None:
            try:
                card = f.result()
            except DeviceError:
                return  # the typed way still works; probe tells the technician
            if card is None or self.root.current != "identify" or self._busy:
                return
            self._card_at = time.monotonic()
            # the card's valid-until date goes with it: the hall refuses an expired card (ID_EXPIRED), for the
            # kiosk and the counter alike; card entry is never rate-limited
            self.identified(card.identity())

        def finished(f: Future[Any]) -> None:
            self._reading = False  # a read in progress must not block the typed way
            done(f)

        self._reading = True
        self.background(reader.read_card, finished, self.pollers)

    def submit(self, identity: dict[str, str], agent: dict[str, Any] | None = None, accept_wait: bool = False) -> None:
        assert self.business is not None
        self._busy = True
        # the citizen sees at once that the kiosk is working; the keys stay inert until the answer
        self.root.get_screen("identify").warning = self.tr("正在取号，请稍候…", "Taking your ticket, one moment…")
        body: dict[str, Any] = {"business": self.business["code"], "identity": identity}
        if agent is not None:
            body["agent"] = agent
        if accept_wait:
            body["accept_wait"] = True
        key = self._action_key
        self._typed = ""  # the request holds the number now; the screen state need not

        def done(reply: Reply) -> None:
            self._busy = reply.status == 201  # until the slip is printed
            if reply.status == 201:
                self._agent, self._principals, self._pending = None, [], None
                self._issued(reply.body["ticket"])
            elif reply.ok and reply.body.get("over_capacity"):
                self._pending, self._offer = identity, reply.body["booking_offer"]
                self._pending_agent = agent
                self._offered(reply.body)
            else:
                self.refused("暂不能取号", "No ticket this time", reply)

        self.ask(lambda: self.client.post("/api/v1/tickets", body, idempotency_key=key), done)

    # -- over capacity: an on-site booking, or a ticket for today anyway ---------------------------------
    def _offered(self, reply: dict[str, Any]) -> None:
        offer = reply["booking_offer"]
        start = datetime.fromisoformat(offer["slot_start"])
        end = datetime.fromisoformat(offer["slot_end"])
        self._offer["slot"] = f"{start:%m月%d日 %H:%M}–{end:%H:%M}"
        self._offer["day"], self._offer["time"] = layouts.day_text(start), f"{start:%H:%M}–{end:%H:%M}"
        self.show_message(self.tr("今天排队人数较多", "Busy today"), reply["message"], reply.get("message_en", ""),
                          actions=[(self.tr(f"预约 {self._offer['slot']}\n[size=18sp]打印预约凭条[/size]",
                                            f"Book {start:%d %b %H:%M}\n[size=18sp]prints a booking slip[/size]"),
                                    self.accept_booking),
                                   (self.tr("仍要今天排队\n[size=18sp]可能等候较久[/size]",
                                            "Wait today anyway\n[size=18sp]the wait may be long[/size]"),
                                    self.wait_today)])

    def wait_today(self) -> None:
        assert self._pending is not None
        self._action_key = uuid.uuid4().hex  # a new decision, so a new request
        identity, agent = self._pending, self._pending_agent
        self.identify("ticket")
        self.submit(identity, agent=agent, accept_wait=True)

    def accept_booking(self) -> None:
        assert self._pending is not None and self.business is not None
        body = {"offer_id": self._offer["offer_id"], "identity": self._pending}
        business_name = self.business["name"]
        self.show_progress(self.tr("正在预约…", "Booking…"))

        def done(reply: Reply) -> None:
            self._pending = None
            if not reply.ok:
                self.refused("未能预约", "Not booked", reply)
                return
            booking = reply.body["booking"]
            early, late = self.rule("checkin_early_minutes", 30), self.rule("checkin_late_minutes", 15)
            slip = layouts.BookingSlip(self.hall_name, business_name, self._offer["day"], self._offer["time"],
                                       booking["holder_masked"], booking["code"], early, late)
            text = (f"{business_name}\n预约时间：{self._offer['day']} {self._offer['time']}\n"
                    f"请在预约时间前后到取号机扫凭条上的二维码签到（提前{early}分钟至迟到{late}分钟内有效）。")
            en = "Booked. Scan the slip's QR code at a kiosk around your time to check in."
            self.show_message(self.tr("预约成功", "Booked"), text + "\n" + self.tr("正在打印凭条…", "Printing…"), en)

            def printed(f: Future[Any]) -> None:
                screen = self.root.get_screen("message")
                try:
                    f.result()
                    screen.message = text + "\n" + self.tr("请取走预约凭条。", "Take your booking slip.")
                except DeviceError:
                    screen.message = text + "\n" + self.tr("凭条未能打印，请拍下二维码。",
                                                             "The slip did not print: photograph the code.")
                    self.show_qr(booking["code"])

            self.background(lambda: self.devices.printer.print_slip(layouts.booking(slip)), printed)

        self.ask(lambda: self.client.post("/api/v1/bookings", body, idempotency_key=self._action_key + "-b"), done)

    def _issued(self, ticket: dict[str, Any]) -> None:
        self._busy = True  # until the slip is printed
        self._last_ticket = ticket
        screen = self.root.get_screen("ticket")
        screen.number = ticket["number"]
        ahead, wait = ticket["ahead"], ticket["expected_wait_min"]
        holder = ticket["holder_masked"] or "（预约签到 appointment）"
        screen.details = (f"{ticket['business_name']}\n前面还有 {ahead} 人，预计等候 {wait} 分钟"
                          f"\n{ahead} ahead · about {wait} min\n{'代办人' if ticket.get('agent') else '取号人'} {holder}")
        screen.printed = self.tr("正在打印小票…", "Printing your slip…")
        self.root.current = "ticket"
        issued = datetime.fromisoformat(ticket["issued_at"])
        slip = layouts.TicketSlip(self.hall_name, ticket["number"], ticket["business_name"], ticket["ahead"],
                                  ticket["expected_wait_min"], ticket["holder_masked"], f"{issued:%Y-%m-%d %H:%M}",
                                  ticket["qr"], ticket.get("priority"))
        card_at = self._card_at

        def print_it() -> None:
            self.devices.printer.print_slip(layouts.ticket(slip))
            if card_at:
                self.timing("id_read_to_printer_bytes_ms", card_at)

        self._card_at = 0.0
        self.background(print_it, lambda f: self._printed(f, ticket))

    def _printed(self, f: Future[Any], ticket: dict[str, Any]) -> None:
        screen = self.root.get_screen("ticket")
        self._busy = False
        try:
            f.result()
            screen.print_ok = True
            screen.printed = self.tr("请取走小票，留意叫号。", "Take your slip and listen for your number.")
        except DeviceError:
            screen.print_ok = False
            screen.printed = self.tr("小票未能打印：请拍下号码和二维码；任何取号机可凭身份证补打。",
                                     "The slip could not print: take a photo; any kiosk can reprint it with your ID.")
            screen.ids.qr.texture = qr_texture(ticket["qr"])
            self.background(lambda: self.client.post("/api/v1/help", {"screen": "printer"}), lambda _f: None)

    # -- scanning: appointment check-in and rating -------------------------------------------------
    def start_scan(self, mode: str) -> None:
        screen = self.root.get_screen("scan")
        screen.mode = mode
        screen.status = ""
        self._flush_scanner = True  # codes scanned before this screen are not for it
        if mode == "checkin":
            screen.title = self.tr("预约签到", "Appointment check-in")
            early, late = self.rule("checkin_early_minutes", 30), self.rule("checkin_late_minutes", 15)
            screen.hint = self.tr("请把手机上的预约二维码对准扫码口（网上或微信预约）。\n"
                                  f"签到时间：预约时间前{early}分钟至后{late}分钟。",
                                  "Hold the appointment QR code on your phone to the scanner.\n"
                                  f"Check in from {early} min before to {late} min after your time.")
        else:
            screen.title = self.tr("服务评价", "Rate a service")
            screen.hint = self.tr("请扫描排队小票上的二维码，为刚才的服务评价。",
                                  "Scan the QR code on your ticket to rate the service.")
        self.root.current = "scan"
        self._poll_scanner(0)  # flush at once: a code shown right after the tap is for this screen

    def _poll_scanner(self, _dt: float) -> None:
        """The serial or camera scanner, on the screens that take a code: the scan screen, and the
        identify screen (an appointment QR there checks in instead of taking a walk-in ticket)."""
        if self.root is None or self.root.current not in ("scan", "identify") or self._busy or self._scanning \
                or self.devices.scanner is None:
            return
        scanner = self.devices.scanner
        screen_name = self.root.current

        def done(f: Future[Any]) -> None:
            self._scanning = False
            try:
                code = f.result()
            except DeviceError:
                if screen_name == "scan":
                    self.root.get_screen("scan").status = self.tr("扫码器暂时不可用，请到服务台。",
                                                                  "The scanner is not working; ask staff.")
                return
            if code and self.root.current == screen_name and not self._busy:
                self.scanned(self._scan_mode(), code)

        flush, self._flush_scanner = self._flush_scanner, False

        def read() -> str | None:
            if flush:
                scanner.flush()
            return scanner.read_code(0.3)

        self._scanning = True
        self.background(read, done, self.pollers)

    def _scan_mode(self) -> str:
        return "checkin" if self.root.current == "identify" else str(self.root.get_screen("scan").mode)

    # a USB-HID scanner is a keyboard: it types the code and presses Enter (a kiosk has no other keyboard)
    def _hid_text(self, _window: Any, text: str) -> None:
        if self.root is not None and self.root.current in ("scan", "identify"):
            self._hid = (self._hid + text)[-512:]

    def _hid_key(self, _window: Any, key: int, *_args: Any) -> bool:
        if key not in (13, 271) or not self._hid:  # Enter, keypad Enter
            return False
        code, self._hid = self._hid.strip(), ""
        if code and self.root.current in ("scan", "identify") and not self._busy:
            self.scanned(self._scan_mode(), code)
        return True

    def scanned(self, mode: str, code: str) -> None:
        self._busy = True
        if code.startswith("HM1:"):  # a 办不成事 receipt: the hall checks its signature, then shows the report

            def shown(reply: Reply) -> None:
                if reply.ok:
                    self._show_matter(reply)
                else:
                    self._busy = False
                    self.refused("未能识别", "Not accepted", reply)

            self.ask(lambda: self.client.post("/api/v1/matters/verify", {"qr": code}), shown)
            return
        checkin = mode == "checkin" or code.startswith("HA1")
        path, body = (("/api/v1/appointments/check-in", {"code": code}) if checkin
                      else ("/api/v1/tickets/verify", {"qr": code}))

        def done(reply: Reply) -> None:
            self._busy = False
            if not reply.ok:
                self.refused("未能识别", "Not accepted", reply)
            elif checkin:
                self._issued(reply.body["ticket"])
            else:
                self._rate_if_done(reply.body["ticket"])

        self.ask(lambda: self.client.post(path, body), done)

    def _rate_if_done(self, ticket: dict[str, Any]) -> None:
        if ticket["state"] != "done":
            self.show_message(self.tr("暂不能评价", "Not yet"), "这个号的服务还没有结束，办结后再来评价。",
                              "The service of this ticket has not finished yet.")
        else:
            self.rate_ticket(ticket["number"])

    def _show_matter(self, reply: Reply) -> None:
        self._busy = False
        if not reply.ok:
            self.refused("未找到", "Not found", reply)
            return
        m = reply.body["matter"]
        steps = MATTER_STATUS_FOR_CITIZENS
        history = "\n".join(f"{h['at'][5:16].replace('T', ' ')}  {steps.get(h['status'], h['status'])}"
                            for h in m["history"])
        self.show_message(self.tr(f"反映进度：{m['number']}", f"Report {m['number']}"),
                          f"{m['category_name']}\n当前：{steps.get(m['status'], m['status'])}；承诺 {m['deadline']} 前答复"
                          f"\n{history}", f"Status: {m['status']}; answer due by {m['deadline']}.")

    # -- typing a short number: a ticket to rate, a case to follow -------------------------------------------
    def start_entry(self, purpose: str) -> None:
        screen = self.root.get_screen("entry")
        screen.purpose, screen.shown, screen.warning = purpose, "", ""
        self._entry = ""
        if purpose == "rate":
            screen.title = self.tr("输入排队号评价", "Type your ticket number")
            screen.hint = self.tr("小票上的号码，如 B012", "The number on your slip, such as B012")
            letters = sorted({b["code"] for b in self.catalog})
        else:
            screen.title = self.tr("办件进度查询", "Case progress")
            screen.hint = self.tr("请输入受理回执上的12位办件编号", "Type the 12-digit case number on your receipt")
            letters = []
        keys = screen.ids.entry_keys
        keys.clear_widgets()
        keys.cols = 7
        for key in [*letters, *"1234567890", "删除", "确认 OK"]:
            button = Button(text=key, font_size="32sp", background_normal="",
                            background_color=(0.08, 0.36, 0.72, 1) if key.startswith("确认") else (0.2, 0.24, 0.3, 1))
            button.bind(on_release=lambda b: self.entry_key(b.text))
            keys.add_widget(button)
        self.root.current = "entry"

    def entry_key(self, key: str) -> None:
        screen = self.root.get_screen("entry")
        limit = 6 if screen.purpose == "rate" else 12
        if key == "删除":
            self._entry = self._entry[:-1]
        elif key.startswith("确认"):
            self._entry_done(screen)
            return
        elif len(self._entry) < limit:
            self._entry += key
        screen.shown, screen.warning = self._entry, ""

    def _entry_done(self, screen: EntryScreen) -> None:
        typed = self._entry
        if screen.purpose == "case":
            if len(typed) != 12:
                screen.warning = self.tr(f"办件编号为12位数字，已输入{len(typed)}位。", f"12 digits needed; {len(typed)} typed.")
                return
            self._case_number = typed
            self.business = None
            self.identify("case")
            return

        def done(reply: Reply) -> None:
            if reply.ok:
                self._rate_if_done(reply.body["ticket"])
            else:
                screen.warning = reply.error.get("message", "")

        self.ask(lambda: self.client.get(f"/api/v1/tickets/{typed}"), done)

    def query_case(self, identity: dict[str, str]) -> None:
        self._busy = True
        body = {"case_number": self._case_number, "identity": identity}
        self.root.get_screen("identify").warning = self.tr("正在查询…", "Looking it up…")

        def done(reply: Reply) -> None:
            self._busy = False
            if not reply.ok:
                self.refused("未查到办件", "Case not found", reply)
                return
            case = reply.body["case"]
            history = "\n".join(f"{h['at'][5:16].replace('T', ' ')}  {h['stage_name']}  {h['note']}"
                                for h in case["history"])
            self.show_message(self.tr(f"办件进度：{case['number']}", f"Case {case['number']}"),
                              f"{case['business_name']}　申请人 {case['holder_masked']}\n当前：{case['stage_name']}"
                              f"；法定办结期限 {case['due_date']}\n{history}",
                              f"Now: {case['stage_name_en']}; due by {case['due_date']}.")

        self.ask(lambda: self.client.post("/api/v1/cases/query", body), done)

    def rate_ticket(self, number: str) -> None:
        self._rating = {"ticket": number, "level": 0, "reasons": []}
        self.root.get_screen("rate").ticket = number
        self.root.get_screen("rate").ids.reasons.clear_widgets()
        self.root.current = "rate"

    def _build_faces(self, screen: RateScreen) -> None:
        colours = {5: (0.1, 0.55, 0.25, 1), 4: (0.35, 0.6, 0.2, 1), 3: (0.6, 0.6, 0.2, 1), 2: (0.8, 0.45, 0.1, 1),
                   1: (0.75, 0.15, 0.1, 1)}
        for level in (5, 4, 3, 2, 1):
            zh, en = RATING_LEVELS[level], RATING_LEVELS_EN[level]
            button = Button(text=f"{zh}\n[size=18sp]{en}[/size]", markup=True, font_size="30sp", halign="center",
                            background_normal="", background_color=colours[level])
            button.level = level
            button.bind(on_release=lambda b: self.choose_level(b.level))
            screen.ids.faces.add_widget(button)

    def choose_level(self, level: int) -> None:
        self._rating["level"] = level
        if level > self.rule("bad_rating_at_most", BAD_AT_MOST):  # a bad rating asks for the reasons first
            self.send_rating()
            return
        box = self.root.get_screen("rate").ids.reasons
        box.clear_widgets()
        for reason in ("等候时间太长", "服务态度不好", "反复要求补材料", "办理效率低"):
            chip = Button(text=reason, font_size="22sp", background_normal="", background_color=(0.4, 0.4, 0.45, 1))
            chip.bind(on_release=self._toggle_reason)
            box.add_widget(chip)
        send = Button(text="提交评价 Submit", font_size="24sp", background_normal="", background_color=(0.08, 0.36, 0.72, 1))
        send.bind(on_release=lambda _b: self.send_rating())
        box.add_widget(send)

    def _toggle_reason(self, chip: Button) -> None:
        reasons: list[str] = self._rating["reasons"]
        if chip.text in reasons:
            reasons.remove(chip.text)
            chip.background_color = (0.4, 0.4, 0.45, 1)
        else:
            reasons.append(chip.text)
            chip.background_color = (0.8, 0.45, 0.1, 1)

    def send_rating(self) -> None:
        body = {"ticket": self._rating["ticket"], "level": self._rating["level"], "source": "kiosk",
                "reasons": list(self._rating["reasons"])}

        def done(reply: Reply) -> None:
            if reply.ok:
                followup = reply.body["rating"].get("followup")
                extra = f"\n我们会在 {followup['deadline']} 前核实整改并回访。" if followup else ""
                self.show_message(self.tr("感谢您的评价", "Thank you"), f"您的评价已记录。{extra}",
                                  "Your rating was recorded." + (" We will follow up." if followup else ""))
            else:
                self.refused("未能评价", "Not recorded", reply)

        self.ask(lambda: self.client.post("/api/v1/ratings", body), done)

    # -- enquiry: materials, time limits, fees ----------------------------------------------------------
    def start_enquiry(self) -> None:
        if not self.catalog:
            self.offline()
            return
        screen = self.root.get_screen("enquiry")
        screen.title = self.tr("自助查询：申请材料、办理时限、收费标准", "Materials, time limits and fees")
        screen.detail = self.tr("请在左侧选择业务。", "Choose a business on the left.")
        box = screen.ids.list
        box.clear_widgets()
        for text, action in ((self.tr("办件进度查询", "Case progress"), lambda _b: self.start_entry("case")),
                             (self.tr("大厅指引：哪个窗口办什么", "Hall guide: which window"), lambda _b: self.hall_guide())):
            button = Button(text=text, font_size="22sp", background_normal="", background_color=(0.08, 0.36, 0.72, 1))
            button.bind(on_release=action)
            box.add_widget(button)
        for business in self.catalog:
            button = Button(text=business["name"], font_size="22sp", background_normal="",
                            background_color=(0.1, 0.5, 0.35, 1))
            button.business_code = business["code"]
            button.bind(on_release=lambda b: self.show_business(b.business_code))
            box.add_widget(button)
        screen.ids.fee_controls.clear_widgets()
        self.root.current = "enquiry"

    def hall_guide(self) -> None:
        """Which window does what, and whether it is open now (from the live queue)."""
        names = {b["code"]: b["name"] for b in self.catalog}
        states = {"open": "办理中", "serving": "办理中", "paused": "暂停", "closed": "未开放"}

        def done(reply: Reply) -> None:
            if not reply.ok:
                return
            lines = ["【大厅指引 Hall guide】", "取号 → 在等候区留意叫号屏和语音 → 到所叫窗口办理 → 在窗口评价器上评价", ""]
            for w in reply.body["windows"]:
                served = "、".join(names.get(c, c) for c in w["businesses"])
                lines.append(f"{w['name']}（{states.get(w['state'], w['state'])}）\n    {served}")
            lines += ["", "需要帮办：点下方“呼叫工作人员”，工作人员会到您身边。", "办不成事：可在本机首页直接反映，专人跟进。"]
            screen = self.root.get_screen("enquiry")
            screen.detail = "\n".join(lines)
            screen.ids.fee_controls.clear_widgets()

        self.ask(lambda: self.client.get("/api/v1/queue"), done)

    def show_business(self, code: str) -> None:
        business = next(b for b in self.catalog if b["code"] == code)
        self.business = business
        fees = business["fees"]
        lines = [f"【{business['name']}】{business.get('description', '')}", "", "申请材料（一次性告知）："]
        lines += [f"{i}. {m['name']}" for i, m in enumerate(business["materials"], start=1)]
        limit = business["time_limit_days"]
        lines += ["", f"办理时限：{'即时办结' if limit == 0 else f'{limit} 个工作日'}",
                  f"收费：住宅 {fees['residential_yuan']} 元/件，非住宅 {fees['non_residential_yuan']} 元/件"
                  if fees["kind"] in ("standard", "half") else "收费：免收登记费",
                  f"办理窗口：{'、'.join(str(w) for w in business['windows'])} 号窗口"]
        screen = self.root.get_screen("enquiry")
        screen.detail = "\n".join(lines)
        controls = screen.ids.fee_controls
        controls.clear_widgets()
        if fees["kind"] in ("standard", "half"):
            for text, action in (("住宅 / 非住宅", self._toggle_kind), ("证书 +1", lambda _b: self._certs(1)),
                                 ("证书 -1", lambda _b: self._certs(-1)), ("计算费用 Fee", lambda _b: self.quote())):
                button = Button(text=text, font_size="22sp", background_normal="", background_color=(0.2, 0.24, 0.3, 1))
                button.bind(on_release=action)
                controls.add_widget(button)

    def _toggle_kind(self, _b: Any) -> None:
        kind = self._fee["property_kind"]
        self._fee["property_kind"] = "non_residential" if kind == "residential" else "residential"
        self.quote()

    def _certs(self, delta: int) -> None:
        self._fee["certificates"] = max(1, min(20, int(self._fee["certificates"]) + delta))
        self.quote()

    def quote(self) -> None:
        assert self.business is not None
        body = {"business": self.business["code"], **self._fee, "reductions": []}

        def done(reply: Reply) -> None:
            if not reply.ok:
                return
            kind = "住宅" if self._fee["property_kind"] == "residential" else "非住宅"
            lines = [f"— 费用计算：{kind}，证书 {self._fee['certificates']} 本 —"]
            lines += [f"{i['name']}：{i['amount_yuan']} 元" for i in reply.body["items"]]
            lines += [f"合计：{reply.body['total_yuan']} 元", f"依据：{reply.body['basis']}",
                      "除登记费外不收取任何其他费用。"]
            screen = self.root.get_screen("enquiry")
            screen.detail = screen.detail.split("\n— 费用计算")[0] + "\n" + "\n".join(lines)

        self.ask(lambda: self.client.post("/api/v1/fees/quote", body), done)

    # -- the tour: every screen, offscreen, one PNG each ----------------------------------------------
    def tour_steps(self) -> Iterator[TourStep]:
        sims = self.devices.simulators
        yield "01-home", lambda: bool(self.catalog) and self._prewarmed  # as a citizen arrives: start-up done
        self.press(self.root.get_screen("home").ids.take)
        yield "02-choose-business", lambda: self.root.current == "business"
        tile = next(w for w in self.root.get_screen("business").ids.tiles.children
                    if getattr(w, "business_code", "") == "B")
        self.press(tile)
        yield "03-identify", lambda: self.root.current == "identify"
        keys = {b.text: b for b in self.root.get_screen("identify").ids.keypad.children}
        for ch in "110105":
            self.press(keys[ch])
        yield "04-identify-typing", lambda: self.root.get_screen("identify").masked != ""
        sims["idcard"].place("zhang")
        yield "05-ticket", lambda: self.root.current == "ticket" and not self._busy
        self._first_ticket = dict(self._last_ticket)
        sims["idcard"].remove()
        self.go_home()
        self.start_ticket()
        self.choose_business("B")
        sims["idcard"].place("zhang")
        yield "06-refused-same-business", lambda: self.root.current == "message"
        sims["idcard"].remove()
        sims["printer"].state.paper_out = True
        self.go_home()
        self.start_ticket()
        self.choose_business("D")
        yield "07-identify-printer-warning", lambda: self.root.get_screen("identify").warning != ""
        sims["idcard"].place("rare")
        yield "08-ticket-not-printed", lambda: self.root.current == "ticket" and not self._busy
        sims["idcard"].remove()
        sims["printer"].state.paper_out = False
        self.go_home()
        self.toggle_lang()
        self.toggle_large()
        yield "09-home-english-large", lambda: True
        self.toggle_lang()
        self.toggle_large()
        self.press(self.root.get_screen("home").ids.status)
        yield "10-queue-status", lambda: self.root.current == "message"
        self.go_home()
        yield "_home", lambda: self.root.current == "home"
        if self.demo is not None:
            self.press(self.root.get_screen("home").ids.checkin)
            yield "13-checkin-scan", lambda: self.root.current == "scan"
            sims["scanner"].scan(self.demo.sample_appointment("D"))
            yield "14-checkin-ticket", lambda: self.root.current == "ticket" and not self._busy
            self._phone_away()
            first = self._first_ticket
            case = self.demo.serve(first["number"], accepted=True)  # the application is accepted: a case opens
            assert case is not None
            self._tour_case = str(case["number"])
            self.demo.progress_case(self._tour_case, "reviewing", "材料齐全，审核中")
            self.go_home()
            yield "_home-again", lambda: self.root.current == "home"
            self.press(self.root.get_screen("home").ids.rate)
            yield "15-rate-scan", lambda: self.root.current == "scan"
            sims["scanner"].scan(first["qr"])
            yield "16-rate-faces", lambda: self.root.current == "rate"
            self._phone_away()
            bad = next(b for b in self.root.get_screen("rate").ids.faces.children if getattr(b, "level", 0) == 2)
            self.press(bad)
            yield "17-rate-reasons", lambda: len(self.root.get_screen("rate").ids.reasons.children) > 0
            yield "_reasons-laid-out", lambda: True
            self.press(self.root.get_screen("rate").ids.reasons.children[-1])  # 等候时间太长
            self.press(self.root.get_screen("rate").ids.reasons.children[0])  # submit
            yield "18-rate-thanks", lambda: self.root.current == "message"
            self.go_home()
            yield "_home-third", lambda: self.root.current == "home"
        self.press(self.root.get_screen("home").ids.enquiry)
        yield "19-enquiry", lambda: self.root.current == "enquiry"
        self.show_business("B")
        self.quote()
        yield "20-enquiry-fees", lambda: "合计" in self.root.get_screen("enquiry").detail
        self.go_home()
        yield from self._tour_more()
        self.go_home()
        self.start_ticket()
        self.choose_business("A")
        sims["idcard"].place("expired")
        yield "11-expired-card", lambda: self.root.current == "message"
        sims["idcard"].remove()
        self.go_home()
        self.client.transport = unreachable_transport  # the hall service goes away
        self.catalog = []
        self.load_catalog()
        yield "12-hall-unreachable", lambda: self.root.current == "message"

    def _tour_more(self) -> Iterator[TourStep]:
        """The helper, agents, bookings, reports, typed numbers, cases, the hall guide and a USB-HID scan."""
        sims = self.devices.simulators
        message = self.root.get_screen("message")

        def action(label: str) -> Widget:
            return next(b for b in message.ids.actions.children if b.text.startswith(label))

        self.start_ticket()
        yield "_business", lambda: self.root.current == "business"
        self.press(next(w for w in self.root.get_screen("business").ids.tiles.children
                        if getattr(w, "business_code", None) == ""))
        yield "21-not-sure-question", lambda: self.root.current == "message" and len(message.ids.actions.children) > 3
        self.press(action("贷款、抵押"))
        yield "22-not-sure-followup", lambda: "还清" in message.title
        self.press(action("贷款已还清"))
        yield "23-identify-from-helper", lambda: self.root.current == "identify"
        self.go_home()
        self.start_ticket()
        self.choose_business("G")
        yield "_identify", lambda: self.root.current == "identify"
        self.press(self.root.get_screen("identify").ids.agent)
        yield "24-agent-identify", lambda: self.root.get_screen("identify").purpose == "agent"
        sims["idcard"].place("elder")
        yield "25-agent-principal", lambda: self.root.get_screen("identify").purpose == "principal"
        sims["idcard"].remove()
        from kiosk.domain.identity import check_char

        first17 = "11010819600214007"
        keys = {b.text: b for b in self.root.get_screen("identify").ids.keypad.children}
        for ch in first17 + check_char(first17):
            self.press(keys[ch])
        self.press(keys["确认 OK"])
        yield "26-agent-principals", lambda: self.root.current == "message" and len(message.ids.actions.children) == 2
        self.press(action("为以上当事人取号"))
        yield "27-agent-ticket", lambda: self.root.current == "ticket" and not self._busy
        agent_ticket = dict(self._last_ticket)
        self.go_home()
        assert self.demo is not None
        self.demo.crowd("K", 40)  # a surge: today cannot serve everyone waiting for K
        self.start_ticket()
        self.choose_business("K")
        sims["idcard"].place("zhang")
        yield "28-booking-offer", lambda: self.root.current == "message" and bool(self._offer)
        sims["idcard"].remove()
        self.press(action("预约"))
        yield "29-booking-slip", lambda: "请取走预约凭条" in message.message
        self.go_home()
        yield "_home-report", lambda: self.root.current == "home"
        self.press(self.root.get_screen("home").ids.report)
        yield "30-report-category", lambda: self.root.current == "categories"
        self.press(next(b for b in self.root.get_screen("categories").ids.categories.children
                        if b.text.startswith("材料要求不清")))
        yield "_report", lambda: self.root.current == "report"
        keyboard = {getattr(b, "key", ""): b for b in self.root.get_screen("report").ids.keyboard.children}
        for ch in "buzhidao":
            self.press(keyboard[ch])
        yield "31-report-pinyin", lambda: len(self.root.get_screen("report").ids.candidates.children) > 0
        self.press(self.root.get_screen("report").ids.candidates.children[-1])  # the first candidate: 不知道
        self.press(self.root.get_screen("report").ids.phrases.children[-2])  # 材料要求前后不一致
        fields = {getattr(b, "field", "send"): b for b in self.root.get_screen("report").ids.fields.children}
        self.press(fields["contact"])
        for ch in "13812345678":
            self.press(keyboard[ch])
        self.press(fields["ticket"])
        for ch in agent_ticket["number"]:
            self.press(keyboard[ch.lower()])
        yield "32-report-filled", lambda: self.report.values["contact"] == "13812345678"
        self.press(fields["send"])
        yield "33-report-receipt", lambda: self.report.receipt_printed is not None
        self._tour_matter_code = self.report.receipt_qr  # the receipt's signed QR, for the HID scan below
        self.go_home()
        self.demo.serve(agent_ticket["number"], window=4)
        yield "_home-rate", lambda: self.root.current == "home"
        self.press(self.root.get_screen("home").ids.rate)
        yield "_rate-scan", lambda: self.root.current == "scan"
        self.press(self.root.get_screen("scan").ids.type_number)
        yield "34-rate-type-number", lambda: self.root.current == "entry"
        entry_keys = {b.text: b for b in self.root.get_screen("entry").ids.entry_keys.children}
        for ch in agent_ticket["number"]:
            self.press(entry_keys[ch])
        self.press(entry_keys["确认 OK"])
        yield "35-rate-typed-faces", lambda: self.root.current == "rate"
        self.go_home()
        yield "_home-enquiry", lambda: self.root.current == "home"
        self.press(self.root.get_screen("home").ids.enquiry)
        yield "_enquiry", lambda: self.root.current == "enquiry"
        self.press(self.root.get_screen("enquiry").ids.list.children[-2])  # 大厅指引
        yield "36-hall-guide", lambda: "大厅指引" in self.root.get_screen("enquiry").detail
        self.press(self.root.get_screen("enquiry").ids.list.children[-1])  # 办件进度查询
        yield "_case-entry", lambda: self.root.current == "entry"
        entry_keys = {b.text: b for b in self.root.get_screen("entry").ids.entry_keys.children}
        for ch in self._tour_case:
            self.press(entry_keys[ch])
        yield "37-case-number", lambda: self.root.get_screen("entry").shown == self._tour_case
        self.press(entry_keys["确认 OK"])
        yield "_case-identify", lambda: self.root.get_screen("identify").purpose == "case"
        sims["idcard"].place("zhang")
        yield "38-case-progress", lambda: self.root.current == "message" and "审核中" in message.message
        sims["idcard"].remove()
        self.go_home()
        self.start_scan("rate")
        yield "_scan-hid", lambda: self.root.current == "scan"
        for ch in self._tour_matter_code:  # the receipt's QR, read by a USB-HID scanner that types, then Enter
            Window.dispatch("on_textinput", ch)
        Window.dispatch("on_key_down", 13, 40, None, [])
        yield "39-report-status-by-scan", lambda: "反映进度" in message.title

    def _phone_away(self) -> None:
        """With a camera, the citizen lowers the phone after the scan (a serial scanner's code is simply read)."""
        take_away = getattr(self.devices.simulators["scanner"], "take_away", None)
        if take_away is not None:
            take_away()
