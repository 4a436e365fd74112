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
                 idle_seconds: float = 90.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.devices = devices
        self.tour_dir = tour_dir
        self.idle_seconds = idle_seconds
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-io")
        self.catalog: list[dict[str, Any]] = []
        self.business: dict[str, Any] | None = None
        self._typed = ""  # raw digits being typed: memory only, wiped on leaving
        self._action_key = ""
        self._busy = False
        self._last_touch = time.monotonic()
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
        for screen in (HomeScreen(), BusinessScreen(), IdentifyScreen(), TicketScreen(), MessageScreen()):
            sm.add_widget(screen)
        self._build_keys(sm.get_screen("identify"))
        self._build_demo_cards(sm.get_screen("identify"))
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_request_close=lambda *_: self.tour_dir is None and False)
        Clock.schedule_interval(self._idle_check, 1.0)
        Clock.schedule_interval(self._poll_reader, 0.5)
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

    def background(self, work: Callable[[], Any], done: Callable[[Future[Any]], None]) -> None:
        future = self.worker.submit(work)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda _dt: done(f)))

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
        def done(f: Future[Any]) -> None:
            try:
                reply: Reply = f.result()
            except HallUnreachable:
                self.offline()
                return
            lines = [f"{b['name']}：等候 {b['waiting']} 人，约 {b['expected_wait_min']} 分钟"
                     for b in reply.body.get("businesses", []) if b["waiting"]]
            self.show_message(self.tr("排队情况", "Queue status"), "\n".join(lines) or "目前没有人排队，可以直接取号。",
                              "Waiting per business, with the expected wait.")

        self.background(lambda: self.client.get("/api/v1/queue"), done)

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
        if self.root is None or self.root.current != "identify" or self._busy or self.devices.idcard is None:
            return
        reader = self.devices.idcard

        def done(f: Future[Any]) -> None:
            try:
                card = f.result()
            except DeviceError:
                return  # the typed way still works; probe tells the technician
            if card is None or self.root.current != "identify" or self._busy:
                return
            if card.expired(date.today()):
                self.show_message(self.tr("身份证已过期", "ID card expired"),
                                  "这张身份证已过有效期，不能用于取号。请使用有效身份证件，或到服务台由工作人员协助。",
                                  "This ID card has expired. Use a valid ID, or ask staff at the service desk.")
                return
            self.submit(card.identity())

        def finished(f: Future[Any]) -> None:
            self._busy = False
            done(f)

        self._busy = True
        self.background(reader.read_card, finished)

    def submit(self, identity: dict[str, str]) -> None:
        assert self.business is not None
        self._busy = True
        body = {"business": self.business["code"], "identity": identity}
        key = self._action_key

        def done(f: Future[Any]) -> None:
            self._typed = ""
            try:
                reply: Reply = f.result()
            except HallUnreachable:
                self._busy = False
                self.offline()
                return
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
                error = reply.error
                self.show_message(self.tr("暂不能取号", "No ticket this time"), error.get("message", ""),
                                  error.get("message_en", ""))

        self.background(lambda: self.client.post("/api/v1/tickets", body, idempotency_key=key), done)

    def _issued(self, ticket: dict[str, Any]) -> None:
        screen = self.root.get_screen("ticket")
        screen.number = ticket["number"]
        ahead, wait = ticket["ahead"], ticket["expected_wait_min"]
        screen.details = (f"{ticket['business_name']}\n前面还有 {ahead} 人，预计等候 {wait} 分钟"
                          f"\n{ahead} ahead · about {wait} min\n取号人 {ticket['holder_masked']}")
        screen.printed = self.tr("正在打印小票…", "Printing your slip…")
        self.root.current = "ticket"
        issued = datetime.fromisoformat(ticket["issued_at"])
        slip = layouts.TicketSlip(self.hall_name, ticket["number"], ticket["business_name"], ticket["ahead"],
                                  ticket["expected_wait_min"], ticket["holder_masked"], f"{issued:%Y-%m-%d %H:%M}",
                                  ticket["qr"], ticket.get("priority"))
        self.background(lambda: self.devices.printer.print_slip(layouts.ticket(slip)),
                        lambda f: self._printed(f, ticket))

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
                Clock.schedule_once(lambda _dt: self._shoot(name), 0.3)  # let a frame render
            else:
                Clock.schedule_once(wait, 0.1)

        Clock.schedule_once(wait, 0.1)

    def _shoot(self, name: str) -> None:
        assert self.tour_dir is not None
        self.tour_dir.mkdir(parents=True, exist_ok=True)
        self._screen_texts[name] = [w.text for w in self.root.walk() if isinstance(w, Label) and w.text]
        (self.tour_dir / "tour.json").write_text(json.dumps(self._screen_texts, ensure_ascii=False, indent=1))
        taken = Window.screenshot(name=str(self.tour_dir / f"{name}.png"))  # Kivy adds a counter
        if taken:
            Path(taken).replace(self.tour_dir / f"{name}.png")
        self._tour_next()


def _unreachable(method: str, path: str, body: Any, headers: Any) -> tuple[int, dict[str, Any]]:
    raise HallUnreachable(path)


def _qr_texture(text: str) -> Any:
    import io

    import qrcode

    buf = io.BytesIO()
    qrcode.make(text.encode("utf-8"), box_size=8, border=2).save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture

