"""Typing a short number on large keys: a ticket's number to rate it, or a case number to follow it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.contract.client import Reply
from kiosk.contract.requests import GetTicket
from kiosk.ui.kiosk.flows.shell import Shell
from kiosk.ui.palette import paint

LIMITS = {"rate": 6, "case": 12}


class EntryScreen(Screen):
    purpose = StringProperty("rate")
    title = StringProperty("")
    hint = StringProperty("")
    shown = StringProperty("")
    warning = StringProperty("")


class EntryFlow:
    def __init__(self, app: Shell, on_ticket: Callable[[dict[str, Any]], None],
                 on_case: Callable[[str], None]) -> None:
        self.app = app
        self.on_ticket = on_ticket  # the typed ticket, as the hall knows it
        self.on_case = on_case  # a well-formed case number; the enquiry asks who is asking
        self.entry = ""

    def build(self, _root: Any) -> None:
        pass

    def reset(self) -> None:
        self.entry = ""
        self.app.root.get_screen("entry").shown = ""

    def start(self, purpose: str) -> None:
        app = self.app
        screen = app.root.get_screen("entry")
        screen.purpose, screen.shown, screen.warning = purpose, "", ""
        self.entry = ""
        if purpose == "rate":
            screen.title = app.tr("输入排队号评价", "Type your ticket number")
            screen.hint = app.tr("小票上的号码，如 B012", "The number on your slip, such as B012")
            letters = sorted({b["code"] for b in app.catalog})
        else:
            screen.title = app.tr("办件进度查询", "Case progress")
            screen.hint = app.tr("请输入受理回执上的12位办件编号", "Type the 12-digit case number on your receipt")
            letters = []
        keys = screen.ids.entry_keys
        keys.clear_widgets()
        keys.cols = 7
        for key in [*letters, *"1234567890", "删除", "确认 OK"]:
            button = paint(Button(text=key, font_size="32sp"), app.palette,
                           "primary" if key.startswith("确认") else "key")
            button.bind(on_release=lambda b: self.key(b.text))
            keys.add_widget(button)
        app.root.current = "entry"

    def key(self, key: str) -> None:
        screen = self.app.root.get_screen("entry")
        if key == "删除":
            self.entry = self.entry[:-1]
        elif key.startswith("确认"):
            self._done(screen)
            return
        elif len(self.entry) < LIMITS.get(screen.purpose, 12):
            self.entry += key
        screen.shown, screen.warning = self.entry, ""

    def _done(self, screen: EntryScreen) -> None:
        app = self.app
        typed = self.entry
        if screen.purpose == "case":
            if len(typed) != 12:
                screen.warning = app.tr(f"办件编号为12位数字，已输入{len(typed)}位。", f"12 digits needed; {len(typed)} typed.")
                return
            self.on_case(typed)
            return

        def done(reply: Reply) -> None:
            if reply.ok:
                self.on_ticket(reply.body["ticket"])
            else:
                screen.warning = reply.error.get("message", "")

        app.ask(lambda: app.client.send(GetTicket(number=typed)), done)
