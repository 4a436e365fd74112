"""Scanning a code: an appointment's QR checks in, a ticket's QR leads to its rating, a 办不成事 receipt's
QR shows the report's progress. Codes come from a serial or camera scanner (polled on its own thread)
or a USB-HID scanner that types them like a keyboard; the hall checks every signature.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from kivy.core.window import Window
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from drivers.errors import DeviceError
from kiosk.contract.client import Reply
from kiosk.contract.requests import CheckIn, VerifyMatter, VerifyQr
from kiosk.domain.codes import code_of
from kiosk.domain.labels import MATTER_STATUS_FOR_CITIZENS
from kiosk.ui.kiosk.flows.shell import Shell

SCAN_SCREENS = ("scan", "identify")  # an appointment QR on the identify screen checks in instead


class ScanScreen(Screen):
    mode = StringProperty("checkin")
    title = StringProperty("")
    hint = StringProperty("")
    status = StringProperty("")


class ScanFlow:
    def __init__(self, app: Shell, on_ticket: Callable[[dict[str, Any]], None],
                 on_rate: Callable[[dict[str, Any]], None],
                 identify: Callable[[Callable[[dict[str, str]], None]], None] | None = None) -> None:
        self.app = app
        self.on_ticket = on_ticket  # a checked-in appointment's ticket, to show and print
        self.on_rate = on_rate  # a scanned ticket, to rate once its service is done
        self.identify = identify  # a booking on hold is checked in with the holder's own card
        self.scanning = False  # the scanner is being asked
        self.flush = False
        self.hid = ""  # characters typed by a USB-HID (keyboard-wedge) scanner, until its Enter

    def build(self, _root: Any) -> None:
        Window.bind(on_textinput=self.hid_text, on_key_down=self.hid_key)

    def reset(self) -> None:
        self.hid = ""

    def start(self, mode: str) -> None:
        app = self.app
        screen = app.root.get_screen("scan")
        screen.mode = mode
        screen.status = ""
        self.flush = True  # codes scanned before this screen are not for it
        if mode == "checkin":
            screen.title = app.tr("预约签到", "Appointment check-in")
            early, late = app.rule("checkin_early_minutes", 30), app.rule("checkin_late_minutes", 15)
            screen.hint = app.tr("请把手机上的预约二维码对准扫码口（网上或微信预约）。\n"
                                 f"签到时间：预约时间前{early}分钟至后{late}分钟。",
                                 "Hold the appointment QR code on your phone to the scanner.\n"
                                 f"Check in from {early} min before to {late} min after your time.")
        else:
            screen.title = app.tr("服务评价", "Rate a service")
            screen.hint = app.tr("请扫描排队小票上的二维码，为刚才的服务评价。",
                                 "Scan the QR code on your ticket to rate the service.")
        app.root.current = "scan"
        self.poll(0)  # flush at once: a code shown right after the tap is for this screen

    def poll(self, _dt: float) -> None:
        """The serial or camera scanner, on the screens that take a code."""
        app = self.app
        if app.root is None or app.root.current not in SCAN_SCREENS or app.busy or self.scanning \
                or app.devices.scanner is None:
            return
        scanner = app.devices.scanner
        screen_name = app.root.current

        def done(f: Future[Any]) -> None:
            self.scanning = False
            try:
                code = f.result()
            except DeviceError:
                if screen_name == "scan":
                    app.root.get_screen("scan").status = app.tr("扫码器暂时不可用，请到服务台。",
                                                                "The scanner is not working; ask staff.")
                return
            if code and app.root.current == screen_name and not app.busy:
                self.scanned(self.mode(), code)

        flush, self.flush = self.flush, False

        def read() -> str | None:
            if flush:
                scanner.flush()
            return scanner.read_code(0.3)

        self.scanning = True
        app.background(read, done, app.pollers)

    def mode(self) -> str:
        app = self.app
        return "checkin" if app.root.current == "identify" else str(app.root.get_screen("scan").mode)

    # a USB-HID scanner is a keyboard: it types the code and presses Enter (a kiosk has no other keyboard)
    def hid_text(self, _window: Any, text: str) -> None:
        if self.app.root is not None and self.app.root.current in SCAN_SCREENS:
            self.hid = (self.hid + text)[-512:]

    def hid_key(self, _window: Any, key: int, *_args: Any) -> bool:
        if key not in (13, 271) or not self.hid:  # Enter, keypad Enter
            return False
        code, self.hid = self.hid.strip(), ""
        if code and self.app.root.current in SCAN_SCREENS and not self.app.busy:
            self.scanned(self.mode(), code)
        return True

    def scanned(self, mode: str, scanned: str) -> None:
        app = self.app
        app.busy = True
        code = code_of(scanned)  # a slip's QR may be the hall's queue page address with the code inside
        if code.startswith("HM1:"):  # a 办不成事 receipt: the hall checks its signature, then shows the report
            app.ask(lambda: app.client.send(VerifyMatter(qr=code)), self._show_matter)
            return
        checkin = mode == "checkin" or code.startswith("HA1")
        request: CheckIn | VerifyQr = CheckIn(code=code) if checkin else VerifyQr(qr=code)

        def done(reply: Reply) -> None:
            app.busy = False
            if checkin and reply.error.get("code") == "CARD_REQUIRED" and self.identify is not None:
                self.identify(lambda identity: self.check_in_with(code, identity))  # the holder lays the card
            elif not reply.ok:
                app.refused("未能识别", "Not accepted", reply)
            elif checkin:
                self.on_ticket(reply.body["ticket"])
            else:
                self.on_rate(reply.body["ticket"])

        app.ask(lambda: app.client.send(request), done)

    def check_in_with(self, code: str, identity: dict[str, str]) -> None:
        app = self.app
        app.busy = True

        def done(reply: Reply) -> None:
            app.busy = False
            if reply.ok:
                self.on_ticket(reply.body["ticket"])
            else:
                app.refused("未能签到", "Not checked in", reply)

        app.ask(lambda: app.client.send(CheckIn(code=code, identity=identity)), done)

    def _show_matter(self, reply: Reply) -> None:
        app = self.app
        app.busy = False
        if not reply.ok:
            app.refused("未能识别", "Not accepted", reply)
            return
        m = reply.body["matter"]
        steps = MATTER_STATUS_FOR_CITIZENS
        history = "\n".join(f"{h['at'][5:16].replace('T', ' ')}  {steps.get(h['status'], h['status'])}"
                            for h in m["history"])
        app.show_message(app.tr(f"反映进度：{m['number']}", f"Report {m['number']}"),
                         f"{m['category_name']}\n当前：{steps.get(m['status'], m['status'])}；承诺 {m['deadline']} 前答复"
                         f"\n{history}", f"Status: {m['status']}; answer due by {m['deadline']}.")
