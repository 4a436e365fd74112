"""The citizen kiosk's shell: navigation, messages, the idle timer, the catalog, calling staff.

What a citizen does lives in flows (kiosk/ui/kiosk/flows/): taking a ticket, scanning a code, rating, typing a
short number, the enquiry and the 办不成事 report. Each owns its state and wipes it in ``reset()``; the
shell calls every flow's ``reset()`` when the citizen leaves or the idle timer runs out, so a raw ID
number lives only in memory for the current action. Screens show masked forms only.

The app is a thin listener: hall calls and device reads run on worker threads and come back through the
Kivy clock.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from drivers.factory import Devices
from kiosk.contract.client import HallClient, HallUnreachable, Reply
from kiosk.contract.requests import CallStaff, GetCatalog, QueueStatus
from kiosk.domain import labels
from kiosk.ui.hall_app import HallApp, qr_texture
from kiosk.ui.input import pinyin
from kiosk.ui.kiosk import finder
from kiosk.ui.kiosk.flows.enquiry import EnquiryFlow, EnquiryScreen
from kiosk.ui.kiosk.flows.entry import EntryFlow, EntryScreen
from kiosk.ui.kiosk.flows.rating import RateScreen, RatingFlow
from kiosk.ui.kiosk.flows.report import CategoryScreen, ReportFlow, ReportScreen
from kiosk.ui.kiosk.flows.scan import ScanFlow, ScanScreen
from kiosk.ui.kiosk.flows.shell import Action, Flow
from kiosk.ui.kiosk.flows.ticket import BusinessScreen, IdentifyScreen, TicketFlow, TicketScreen
from kiosk.ui.palette import HIGH_CONTRAST, NORMAL, Palette, paint, repaint
from kiosk.ui.stage import Stage
from kiosk.ui.voice.calls import spoken_number
from kiosk.ui.voice.prompts import PROMPTS, Guidance, speakable


class HomeScreen(Screen):
    pass


class MessageScreen(Screen):
    title = StringProperty("")
    message = StringProperty("")
    message_en = StringProperty("")
    show_qr = BooleanProperty(False)


SCREENS = (HomeScreen, BusinessScreen, IdentifyScreen, TicketScreen, MessageScreen, ScanScreen, RateScreen,
           EnquiryScreen, EntryScreen, ReportScreen, CategoryScreen)


ELDERLY_SCALE = 1.35
ELDERLY_IDLE_FACTOR = 2.5  # an elderly citizen gets more time before the kiosk gives up and wipes
ELDERLY_ACTIONS = ("take", "checkin", "staff_big")  # the three most used, large, in elderly mode


class KioskApp(HallApp):
    hall_name = StringProperty("不动产登记大厅")
    elderly = BooleanProperty(False)

    def __init__(self, client: HallClient, devices: Devices, tour_dir: Path | None = None,
                 idle_seconds: float = 90.0, demo: Stage | None = None, locked: bool = False,
                 guide: Guidance | None = None, voice_mode: str = "elderly", **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.voice_mode = voice_mode  # on | off | elderly (spoken only in elderly mode)
        self.base_palette: Palette = NORMAL  # the kiosk's own (high contrast for a low-vision desk), kept by mode
        self.guide = guide or Guidance(engine="off")
        self.guide.enabled = voice_mode == "on"
        self.locked = locked  # kiosk deployment (--fullscreen): no way out by keyboard or window close
        self.demo = demo  # the embedded hall, in the demo and the tour: plays the rest of the hall
        self.devices = devices
        self.idle_seconds = idle_seconds
        # the ID reader and the scanner wait on their wires on their own threads: a slow read never delays a hall call
        self.pollers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kiosk-poll")
        self.catalog: list[dict[str, Any]] = []
        self.catalog_body: dict[str, Any] = {}
        self.busy = False  # a request is in flight
        self.prewarmed = False
        self._prewarm_scheduled = False
        self._action_buttons: dict[str, Button] = {}  # drawn once, shown again without redrawing
        self._last_touch = time.monotonic()
        self.title = "不动产登记 自助取号"
        # the flows, wired where one leads into another
        self.ticket = TicketFlow(self)
        self.rating = RatingFlow(self, identify=lambda then: self.ticket.identify("rate", then=then))
        self.entry = EntryFlow(self, on_ticket=self.rating.typed_ticket, on_case=lambda n: self.enquiry.case_typed(n))
        self.enquiry = EnquiryFlow(self, start_case=lambda: self.entry.start("case"),
                                   identify=lambda then: self.ticket.identify("case", then=then))
        self.scan = ScanFlow(self, on_ticket=self.ticket.issued, on_rate=self.rating.rate_if_done,
                             identify=lambda then: self.ticket.identify("checkin", then=then))
        self.report = ReportFlow(self)
        self.flows: list[Flow] = [self.ticket, self.scan, self.rating, self.entry, self.enquiry, self.report]

    # -- small helpers used by the .kv ----------------------------------------------------------
    def toggle_large(self) -> None:
        self.scale = 1.0 if self.scale > 1.0 else 1.3

    def toggle_contrast(self) -> None:
        self.set_palette(NORMAL if self.palette is HIGH_CONTRAST else HIGH_CONTRAST)

    def set_palette(self, palette: Palette) -> None:
        self.palette = palette
        if self.root is not None:
            repaint(self.root, palette)
            for screen in self.root.screens:  # screens not shown now are outside root.walk()
                repaint(screen, palette)

    def toggle_elderly(self) -> None:
        """适老化: one button for larger text, high contrast, voice, more time, and a home screen with the
        three most used actions made large. Pressed again (or when the citizen leaves), all go back."""
        self.set_elderly(not self.elderly)

    def set_elderly(self, on: bool) -> None:
        self.elderly = on
        self.scale = ELDERLY_SCALE if on else 1.0
        self.set_palette(HIGH_CONTRAST if on else self.base_palette)
        self._layout_home()
        self.guide.enabled = self.voice_mode == "on" or (self.voice_mode == "elderly" and on)
        if self.root is not None and self.root.current == "home":
            self.guide.screen_opened("home", self.prompt("home"))

    @property
    def idle_limit(self) -> float:
        return self.idle_seconds * (ELDERLY_IDLE_FACTOR if self.elderly else 1.0)

    def _layout_home(self) -> None:
        if self.root is None:
            return
        home = self.root.get_screen("home")
        self._staff_big.text = self.tr("呼叫工作人员\n[size=20sp]有人来帮您[/size]",
                                       "Call staff\n[size=20sp]someone will come[/size]")
        buttons = {**home.ids, "staff_big": self._staff_big}
        grid = home.ids.actions
        grid.clear_widgets()
        for button in ([buttons[name] for name in ELDERLY_ACTIONS] if self.elderly else self._home_buttons):
            grid.add_widget(button)

    # -- app life ---------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in SCREENS:
            sm.add_widget(screen())
        for flow in self.flows:
            flow.build(sm)
        self._home_buttons = list(reversed(sm.get_screen("home").ids.actions.children))  # the usual home, in order
        self._staff_big = paint(Factory.BigButton(markup=True), self.palette, "warn")  # elderly mode's third action
        self._staff_big.bind(on_release=lambda _b: self.call_staff())
        sm.bind(current=self._screen_opened)
        Clock.schedule_once(lambda _dt: self._screen_opened(sm, sm.current))  # the first screen opens too
        Window.bind(on_touch_down=self._touched)
        Window.bind(on_request_close=lambda *_: self.locked)  # True vetoes: a deployed kiosk cannot be closed
        Clock.schedule_interval(self._idle_check, 1.0)
        Clock.schedule_interval(self.ticket.poll_reader, 0.5)
        Clock.schedule_interval(self.scan.poll, 0.5)
        self.load_catalog()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        super().on_stop()
        self.pollers.shutdown(wait=False, cancel_futures=True)
        self.guide.close()

    # -- voice guidance -------------------------------------------------------------------------------
    def prompt(self, screen: str) -> str:
        """What is said when ``screen`` opens: its fixed prompt (and a ticket's number, which is not personal)."""
        text = PROMPTS.get(screen, PROMPTS["message"])
        if screen == "ticket" and self.root is not None:
            ticket = self.root.get_screen("ticket")
            text = f"您的号码是 {spoken_number(ticket.number)}。{ticket.spoken_wait}" + text if ticket.number else text
        return text

    def _screen_opened(self, _sm: Any, name: str) -> None:
        if name != "message":  # a message speaks its own title (show_message)
            self.guide.screen_opened(name, self.prompt(name))

    def listen_again(self) -> None:
        self.guide.again(self.root.current)

    def _touched(self, *_args: Any) -> None:
        self._last_touch = time.monotonic()

    def _idle_check(self, _dt: float) -> None:
        idle = time.monotonic() - self._last_touch
        if self.root.current != "home" and idle > self.idle_limit:
            self.go_home()
        elif self.elderly and self.root.current == "home" and idle > self.idle_limit:
            self.set_elderly(False)  # the next citizen finds the usual kiosk

    def unreachable(self) -> None:
        self.busy = False
        self.offline()

    def rule(self, name: str, default: int) -> int:
        """One of the hall's rules as its catalog states them; ``default`` only until the catalog has come."""
        return int(self.catalog_body.get("rules", {}).get(name, default))

    def refused(self, title: str, title_en: str, reply: Reply) -> None:
        """The hall's own reason, in Chinese with English below."""
        self.show_message(self.tr(title, title_en), reply.error.get("message", ""), reply.error.get("message_en", ""))

    # -- navigation ------------------------------------------------------------------------------
    def go_home(self) -> None:
        """The citizen left (or went idle): every flow forgets what was entered, then the home screen."""
        for flow in self.flows:
            flow.reset()
        self.root.get_screen("message").show_qr = False
        self.busy = False
        self.root.current = "home"

    def show_message(self, title: str, message: str, message_en: str = "", actions: list[Action] | None = None) -> None:
        """A message, with large choices under it when the citizen has something to decide."""
        screen = self.root.get_screen("message")
        screen.title, screen.message, screen.message_en = title, message, message_en
        screen.show_qr = False
        self.guide.screen_opened("message", title if speakable(title) else PROMPTS["message"])
        box = screen.ids.actions
        box.clear_widgets()
        for text, action in actions or []:
            button = self._action_button(text)
            button.action = action
            box.add_widget(button)
        self.root.current = "message"

    def _action_button(self, text: str) -> Button:
        key = f"{self.scale}:{self.palette.name}:{text}"
        button = self._action_buttons.get(key)
        if button is None:
            if len(self._action_buttons) > 200:
                self._action_buttons.clear()
            # choices are short lines, drawn once at prewarm or first use; only on a narrow screen (where a
            # line would not fit) are they wrapped to the button's width
            button = paint(Button(text=text, markup=True, font_size=f"{24 * self.scale:.0f}sp", halign="center"),
                           self.palette, "primary")
            button.bind(width=self._wrap_if_narrow, texture_size=self._wrap_if_narrow)
            button.bind(on_release=lambda b: b.action())
            self._action_buttons[key] = button
        return button

    @staticmethod
    def _wrap_if_narrow(button: Button, *_args: Any) -> None:
        """Once a line is too wide for the button, the button wraps (and keeps wrapping to its width)."""
        room = button.width - dp(16)
        if button.text_size[0] is not None:
            if abs(button.text_size[0] - room) > 1:
                button.text_size = (room, None)
        elif button.width > 100 and button.texture_size[0] > room:
            button.text_size = (room, None)

    def show_qr(self, text: str) -> None:
        """The code that should have been printed, on screen to photograph."""
        screen = self.root.get_screen("message")
        screen.ids.qr.texture = qr_texture(text)
        screen.show_qr = True

    def show_progress(self, text: str) -> None:
        self.show_message(text, self.tr("请稍候…", "One moment…"))

    def new_action_key(self) -> str:
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

        self.background(lambda: self.client.send(CallStaff(screen=screen)), done)

    def show_queue(self) -> None:
        def done(reply: Reply) -> None:
            lines = [f"{b['name']}：等候 {b['waiting']} 人，{labels.wait_words(b)[0]}"
                     for b in reply.body.get("businesses", []) if b["waiting"]]
            self.show_message(self.tr("排队情况", "Queue status"), "\n".join(lines) or "目前没有人排队，可以直接取号。",
                              "Waiting per business, with the expected wait.")

        self.ask(lambda: self.client.send(QueueStatus()), done)

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
                self.ticket.build_tiles()
                self.report.build_categories(self.root.get_screen("categories"), reply.body.get("matter_categories", []))
                if not self._prewarm_scheduled:
                    self._prewarm_scheduled = True
                    self.timings.first_frame()
                    Clock.schedule_once(self._prewarm, 0.5)
                if self.root.current == "message" and not self.busy:
                    self.root.current = "home"

        self.background(lambda: self.client.send(GetCatalog()), done)

    def _prewarm(self, _dt: float) -> None:
        """Once, soon after start, while nobody is touching yet: make the menu buttons that are built
        on demand (their first drawing is what makes a menu's first showing slow), and load the pinyin
        model (its JSON parse holds the interpreter for half a second)."""
        for a in finder.ROOT.answers:
            self._action_button(f"{a.zh}\n[size=16sp]{a.en}[/size]").texture_update()

        def warmed(_f: Future[Any]) -> None:
            self.prewarmed = True

        self.background(pinyin.warm_up, warmed)
