"""The clerk signs in at the window with id and PIN (the window opens), and signs out (it closes). The hall
checks the PIN; the session it answers goes with every later action of this window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.contract.client import Reply
from kiosk.contract.requests import Login, Logout
from kiosk.ui.counter.flows.shell import Desk
from kiosk.ui.fitting import keep_fitting

KEYS = [*"1234567890", "删除", "登录 Log in"]


class LoginScreen(Screen):
    clerk_id = StringProperty("")
    pin = StringProperty("")
    field = StringProperty("clerk")
    message = StringProperty("")


class LoginFlow:
    def __init__(self, desk: Desk, on_login: Callable[[], None], on_logout: Callable[[], None]) -> None:
        self.desk = desk
        self.on_login = on_login
        self.on_logout = on_logout

    def build(self, root: Any) -> None:
        keys = root.get_screen("login").ids.login_keys
        for key in KEYS:
            button = Button(text=key, font_size="32sp", background_normal="",
                            background_color=(0.1, 0.5, 0.35, 1) if key.startswith("登录") else (0.2, 0.24, 0.3, 1))
            button.bind(on_release=lambda b: self.key(b.text))
            keys.add_widget(keep_fitting(button))

    @property
    def signed_in(self) -> bool:
        return "X-Clerk-Session" in self.desk.client.headers

    def key(self, key: str) -> None:
        screen: LoginScreen = self.desk.root.get_screen("login")
        field = "clerk_id" if screen.field == "clerk" else "pin"
        value = getattr(screen, field)
        if key == "删除":
            setattr(screen, field, value[:-1])
        elif key.startswith("登录"):
            self.login(screen)
        elif len(value) < 12:
            setattr(screen, field, value + key)

    def login(self, screen: LoginScreen) -> None:
        desk = self.desk
        request = Login(window=desk.window, clerk_id=screen.clerk_id, pin=screen.pin)
        screen.pin = ""

        def done(reply: Reply) -> None:
            if not reply.ok:
                screen.message = reply.error.get("message", "")
                return
            desk.client = desk.client.with_session(reply.body["session"])
            desk.clerk = {"id": request.clerk_id or "", "name": reply.body.get("clerk", {}).get("name", "")}
            screen.message = ""
            desk.root.current = "desk"
            desk.say(desk.tr("已登录，窗口开始服务。", "Logged in; the window is open."))
            self.on_login()

        desk.ask(lambda: desk.client.send(request), done)

    def logout(self) -> None:
        desk = self.desk

        def done(_reply: Reply) -> None:
            desk.client = desk.client.with_session(None)
            desk.clerk = {}
            self.on_logout()
            desk.root.current = "login"

        desk.window_send(Logout(window=desk.window), done)
