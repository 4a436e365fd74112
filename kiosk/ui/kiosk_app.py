"""The citizen kiosk: take a ticket by ID card or typed ID number; see it on screen and on paper.

The app is a thin listener: hall calls and device reads run on a worker thread and come back
through the Kivy clock. A raw ID number lives only in memory for the current action and is
wiped when the citizen leaves, the idle timer runs out, or the ticket is issued. Screens show
masked forms only.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.tests.common import UnitTestTouch
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.widget import Widget

from drivers.errors import DeviceError
from drivers.factory import Devices
from drivers.printer import layouts
from kiosk.ui.client import HallClient, HallUnreachable, Reply

ID_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "删除"]


class HomeScreen(Screen):
    pass


class BusinessScreen(Screen):
    pass


class IdentifyScreen(Screen):
    business_name = StringProperty("")
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


def masked_entry(typed: str) -> str:
    """What the screen shows while a number is typed: never the middle digits."""
    if len(typed) <= 6:
        return typed[:4] + "*" * max(0, len(typed) - 4)
    return typed[:4] + "*" * (len(typed) - 6) + typed[-2:]


class KioskApp(App):
    lang = StringProperty("zh")
    scale = NumericProperty(1.0)
    hall_name = StringProperty("不动产登记大厅")

    def __init__(self, client: HallClient, devices: Devices, tour_dir: Path | None = None,
                 idle_seconds: float = 90.0, demo: Any = None, locked: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.locked = locked  # kiosk deployment (--fullscreen): no way out by keyboard or window close
        self.demo = demo  # the embedded hall, in the demo and the tour: plays the rest of the hall
        self.client = client
        self.devices = devices
        self.tour_dir = tour_dir
        self.idle_seconds = idle_seconds
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-io")
        self.catalog: list[dict[str, Any]] = []
        self.business: dict[str, Any] | None = None
        self._typed = ""  # raw digits being typed: memory only, wiped on leaving
        self._action_key = ""
        self._busy = False  # a ticket request is in flight
        self._reading = False  # the ID reader is being asked
        self._last_touch = time.monotonic()
        self._last_ticket: dict[str, Any] = {}
        self._rating: dict[str, Any] = {}
        self._fee: dict[str, Any] = {"property_kind": "residential", "certificates": 1}
        self.timings: dict[str, list[float]] = {}  # measured during the tour, for bench/kiosk_timing.py
        self._pressed_at = 0.0
        self._card_at = 0.0
        self.title = "不动产登记 自助取号"

    # -- small helpers used by the .kv ----------------------------------------------------------
    def tr(self, zh: str, en: str, _lang: str = "") -> str:
        return zh if self.lang == "zh" else en

    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"

    def toggle_large(self) -> None:
        self.scale = 1.0 if self.scale > 1.0 else 1.3

    # -- app life ---------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in (HomeScreen(), BusinessScreen(), IdentifyScreen(), TicketScreen(), MessageScreen(),
                       ScanScreen(), RateScreen(), EnquiryScreen()):
            sm.add_widget(screen)
        self._build_keys(sm.get_screen("identify"))
        self._build_demo_cards(sm.get_screen("identify"))
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_request_close=lambda *_: self.locked)  # True vetoes: a deployed kiosk cannot be closed
        Clock.schedule_interval(self._idle_check, 1.0)
        Clock.schedule_interval(self._poll_reader, 0.5)
        Clock.schedule_interval(self._poll_scanner, 0.5)
        self._build_faces(sm.get_screen("rate"))
        self.load_catalog()
        if self.tour_dir is not None:
            self._screen_texts: dict[str, list[str]] = {}
            self._tour = self._tour_steps()
            Clock.schedule_once(lambda _dt: self._tour_next(), 0.5)
        return sm

    def on_stop(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)

    def _touched(self, *_args: Any) -> None:
        self._last_touch = time.monotonic()

    def _idle_check(self, _dt: float) -> None:
        if self.root.current != "home" and time.monotonic() - self._last_touch > self.idle_seconds:
            self.go_home()

    def timing(self, name: str, since: float) -> None:
        self.timings.setdefault(name, []).append(round((time.monotonic() - since) * 1000, 2))

    def background(self, work: Callable[[], Any], done: Callable[[Future[Any]], None]) -> None:
        future = self.worker.submit(work)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda _dt: done(f)))

    def ask(self, work: Callable[[], Reply], on_reply: Callable[[Reply], None]) -> None:
        """A hall call off the UI thread; if the hall cannot be reached, the offline screen instead."""

        def done(f: Future[Any]) -> None:
            try:
                reply: Reply = f.result()
            except HallUnreachable:
                self._busy = False
                self.offline()
                return
            on_reply(reply)

        self.background(work, done)

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
        sim = self.devices.simulators.get("idcard")
        if sim is not None and self.tour_dir is None:
            sim.remove()  # the demo's sample card is taken off the reader
        identify = self.root.get_screen("identify")
        identify.masked = ""
        ticket = self.root.get_screen("ticket")
        ticket.number = ticket.details = ticket.printed = ""
        self._busy = False

    def show_message(self, title: str, message: str, message_en: str = "") -> None:
        screen = self.root.get_screen("message")
        screen.title, screen.message, screen.message_en = title, message, message_en
        self.root.current = "message"

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
                self.catalog = reply.body["businesses"]
                self.hall_name = reply.body["hall"]["name"].split(" ")[0]
                self._build_tiles()
                if self.root.current == "message" and not self._busy:
                    self.root.current = "home"

        self.background(lambda: self.client.get("/api/v1/catalog"), done)

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

    # -- taking a ticket --------------------------------------------------------------------------
    def start_ticket(self) -> None:
        if not self.catalog:
            self.offline()
            return
        self.root.current = "business"

    def choose_business(self, code: str) -> None:
        self.business = next(b for b in self.catalog if b["code"] == code)
        identify = self.root.get_screen("identify")
        identify.business_name = self.business["name"]
        self._typed = ""
        identify.masked = ""
        self._action_key = uuid.uuid4().hex  # one ticket per action, however often it is retried
        identify.warning = ""
        self.root.current = "identify"
        self.background(self.devices.printer.status, self._printer_checked)

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
            self.submit({"id_number": self._typed, "name": ""})
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
            if card.expired(date.today()):
                self.show_message(self.tr("身份证已过期", "ID card expired"),
                                  "这张身份证已过有效期，不能用于取号。请使用有效身份证件，或到服务台由工作人员协助。",
                                  "This ID card has expired. Use a valid ID, or ask staff at the service desk.")
                return
            self.submit(card.identity())

        def finished(f: Future[Any]) -> None:
            self._reading = False  # a read in progress must not block the typed way
            done(f)

        self._reading = True
        self.background(reader.read_card, finished)

    def submit(self, identity: dict[str, str]) -> None:
        assert self.business is not None
        self._busy = True
        # the citizen sees at once that the kiosk is working; the keys stay inert until the answer
        self.root.get_screen("identify").warning = self.tr("正在取号，请稍候…", "Taking your ticket, one moment…")
        body = {"business": self.business["code"], "identity": identity}
        key = self._action_key
        self._typed = ""  # the request holds the number now; the screen state need not

        def done(reply: Reply) -> None:
            if reply.status == 201:
                self._issued(reply.body["ticket"])
            elif reply.ok and reply.body.get("over_capacity"):
                self._busy = False
                offer = reply.body["booking_offer"]
                self.show_message(self.tr("今天人数较多", "Busy today"),
                                  f"{reply.body['message']}\n可预约时间：{offer['slot_start'][5:16].replace('T', ' ')}",
                                  reply.body.get("message_en", ""))
            else:
                self._busy = False
                self.refused("暂不能取号", "No ticket this time", reply)

        self.ask(lambda: self.client.post("/api/v1/tickets", body, idempotency_key=key), done)

    def _issued(self, ticket: dict[str, Any]) -> None:
        self._last_ticket = ticket
        screen = self.root.get_screen("ticket")
        screen.number = ticket["number"]
        ahead, wait = ticket["ahead"], ticket["expected_wait_min"]
        screen.details = (f"{ticket['business_name']}\n前面还有 {ahead} 人，预计等候 {wait} 分钟"
                          f"\n{ahead} ahead · about {wait} min\n取号人 {ticket['holder_masked'] or '（预约签到 appointment）'}")
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
            screen.ids.qr.texture = _qr_texture(ticket["qr"])
            self.background(lambda: self.client.post("/api/v1/help", {"screen": "printer"}), lambda _f: None)

    # -- scanning: appointment check-in and rating -------------------------------------------------
    def start_scan(self, mode: str) -> None:
        screen = self.root.get_screen("scan")
        screen.mode = mode
        screen.status = ""
        if self.devices.scanner is not None:
            scanner = self.devices.scanner
            self.background(scanner.flush, lambda _f: None)  # codes scanned before this screen are not for it
        if mode == "checkin":
            screen.title = self.tr("预约签到", "Appointment check-in")
            screen.hint = self.tr("请把手机上的预约二维码对准扫码口（网上或微信预约）。\n签到时间：预约时间前30分钟至后15分钟。",
                                  "Hold the appointment QR code on your phone to the scanner.\n"
                                  "Check in from 30 min before to 15 min after your time.")
        else:
            screen.title = self.tr("服务评价", "Rate a service")
            screen.hint = self.tr("请扫描排队小票上的二维码，为刚才的服务评价。",
                                  "Scan the QR code on your ticket to rate the service.")
        self.root.current = "scan"

    def _poll_scanner(self, _dt: float) -> None:
        if self.root is None or self.root.current != "scan" or self._busy or self.devices.scanner is None:
            return
        scanner = self.devices.scanner
        mode = self.root.get_screen("scan").mode

        def done(f: Future[Any]) -> None:
            self._busy = False
            try:
                code = f.result()
            except DeviceError:
                self.root.get_screen("scan").status = self.tr("扫码器暂时不可用，请到服务台。",
                                                              "The scanner is not working; ask staff.")
                return
            if code and self.root.current == "scan":
                self.scanned(mode, code)

        self._busy = True
        self.background(lambda: scanner.read_code(0.3), done)

    def scanned(self, mode: str, code: str) -> None:
        self._busy = True
        path, body = (("/api/v1/appointments/check-in", {"code": code}) if mode == "checkin"
                      else ("/api/v1/tickets/verify", {"qr": code}))

        def done(reply: Reply) -> None:
            self._busy = False
            if not reply.ok:
                self.refused("未能识别", "Not accepted", reply)
            elif mode == "checkin":
                self._issued(reply.body["ticket"])
            elif reply.body["ticket"]["state"] != "done":
                self.show_message(self.tr("暂不能评价", "Not yet"), "这个号的服务还没有结束，办结后再来评价。",
                                  "The service of this ticket has not finished yet.")
            else:
                self.rate_ticket(reply.body["ticket"]["number"])

        self.ask(lambda: self.client.post(path, body), done)

    def rate_ticket(self, number: str) -> None:
        self._rating = {"ticket": number, "level": 0, "reasons": []}
        self.root.get_screen("rate").ticket = number
        self.root.get_screen("rate").ids.reasons.clear_widgets()
        self.root.current = "rate"

    def _build_faces(self, screen: RateScreen) -> None:
        colours = {5: (0.1, 0.55, 0.25, 1), 4: (0.35, 0.6, 0.2, 1), 3: (0.6, 0.6, 0.2, 1), 2: (0.8, 0.45, 0.1, 1),
                   1: (0.75, 0.15, 0.1, 1)}
        labels = {5: ("非常满意", "Very satisfied"), 4: ("满意", "Satisfied"), 3: ("基本满意", "Fair"),
                  2: ("不满意", "Dissatisfied"), 1: ("非常不满意", "Very dissatisfied")}
        for level in (5, 4, 3, 2, 1):
            zh, en = labels[level]
            button = Button(text=f"{zh}\n[size=18sp]{en}[/size]", markup=True, font_size="30sp", halign="center",
                            background_normal="", background_color=colours[level])
            button.level = level
            button.bind(on_release=lambda b: self.choose_level(b.level))
            screen.ids.faces.add_widget(button)

    def choose_level(self, level: int) -> None:
        self._rating["level"] = level
        if level > 2:
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
        for business in self.catalog:
            button = Button(text=business["name"], font_size="22sp", size_hint_y=None, height="58dp",
                            background_normal="", background_color=(0.1, 0.5, 0.35, 1))
            button.business_code = business["code"]
            button.bind(on_release=lambda b: self.show_business(b.business_code))
            box.add_widget(button)
        screen.ids.fee_controls.clear_widgets()
        self.root.current = "enquiry"

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
    def _tour_steps(self) -> Iterator[tuple[str, Callable[[], bool]]]:
        sims = self.devices.simulators
        yield "01-home", lambda: bool(self.catalog)
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
            first = self._first_ticket
            self.demo.serve(first["number"])
            self.go_home()
            yield "_home-again", lambda: self.root.current == "home"
            self.press(self.root.get_screen("home").ids.rate)
            yield "15-rate-scan", lambda: self.root.current == "scan"
            sims["scanner"].scan(first["qr"])
            yield "16-rate-faces", lambda: self.root.current == "rate"
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
        self.start_ticket()
        self.choose_business("A")
        sims["idcard"].place("expired")
        yield "11-expired-card", lambda: self.root.current == "message"
        sims["idcard"].remove()
        self.go_home()
        self.client.transport = _unreachable  # the hall service goes away
        self.catalog = []
        self.load_catalog()
        yield "12-hall-unreachable", lambda: self.root.current == "message"

    def press(self, widget: Widget) -> None:
        """A real touch at the widget's centre, as a finger would."""
        before = self.root.current
        pressed = time.monotonic()

        def flipped(*_a: Any) -> None:
            if self.root.current != before:  # the first frame drawn with the new screen
                self.timing("screen_switch_ms", pressed)
            Window.unbind(on_flip=flipped)

        Window.bind(on_flip=flipped)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()

    def _tour_next(self) -> None:
        try:
            name, ready = next(self._tour)
        except StopIteration:
            self.stop()
            return
        deadline = time.monotonic() + 15

        def wait(_dt: float) -> None:
            if ready() or time.monotonic() > deadline:
                if name.startswith("_"):  # only let the screen settle: a touch needs laid-out widgets
                    Clock.schedule_once(lambda _dt: self._tour_next(), 0.2)
                else:
                    Clock.schedule_once(lambda _dt: self._shoot(name), 0.3)  # let a frame render
            else:
                Clock.schedule_once(wait, 0.1)

        Clock.schedule_once(wait, 0.1)

    def _shoot(self, name: str) -> None:
        assert self.tour_dir is not None
        self.tour_dir.mkdir(parents=True, exist_ok=True)
        self._screen_texts[name] = [w.text for w in self.root.walk() if isinstance(w, Label) and w.text]
        if name == "01-home":
            self.timings["cold_start_to_home_ms"] = [round((time.time() - _process_started()) * 1000, 1)]
        record = {**self._screen_texts, "_timings": self.timings}
        (self.tour_dir / "tour.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))
        taken = Window.screenshot(name=str(self.tour_dir / f"{name}.png"))  # Kivy adds a counter
        if taken:
            Path(taken).replace(self.tour_dir / f"{name}.png")
        self._tour_next()


def _process_started() -> float:
    """This process's start, as wall-clock seconds (Linux /proc): cold start counts from here."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime"))
    import os

    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _unreachable(method: str, path: str, body: Any, headers: Any) -> tuple[int, dict[str, Any]]:
    raise HallUnreachable(path)


def _qr_texture(text: str) -> Any:
    import io

    import qrcode

    buf = io.BytesIO()
    qrcode.make(text.encode("utf-8"), box_size=8, border=2).save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture

