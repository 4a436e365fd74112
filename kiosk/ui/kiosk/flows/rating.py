"""Rating a finished service at the kiosk (the window's keypad is the usual way): five faces, and for a
bad rating the reasons, which open a follow-up the duty desk must close.

Only the citizen rates (hall-api.md): the slip's scanned QR is their proof; a ticket number typed on the
keys is not, so the flow then asks for the holder's ID card, which goes with the rating (memory only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.contract.client import Reply
from kiosk.contract.requests import Rate
from kiosk.domain.labels import RATING_LEVELS, RATING_LEVELS_EN, RATING_REASONS
from kiosk.domain.ratings import BAD_AT_MOST
from kiosk.ui.kiosk.flows.shell import Shell
from kiosk.ui.palette import paint, paint_face

REASONS = RATING_REASONS


class RateScreen(Screen):
    ticket = StringProperty("")


class RatingFlow:
    def __init__(self, app: Shell, identify: Callable[[Callable[[dict[str, str]], None]], None]) -> None:
        self.app = app
        self.identify = identify  # the identify screen, for the holder of a typed ticket number
        self.rating: dict[str, Any] = {}  # the ticket (its signed code, or its number and the holder's identity)

    def build(self, root: Any) -> None:
        faces = root.get_screen("rate").ids.faces
        for level in (5, 4, 3, 2, 1):
            zh, en = RATING_LEVELS[level], RATING_LEVELS_EN[level]
            button = paint_face(Button(text=f"{zh}\n[size=18sp]{en}[/size]", markup=True, font_size="30sp",
                                       halign="center"), self.app.palette, level)
            button.level = level
            button.bind(on_release=lambda b: self.choose_level(b.level))
            faces.add_widget(button)

    def reset(self) -> None:
        self.rating = {}

    def _done(self, ticket: dict[str, Any]) -> bool:
        app = self.app
        if ticket["state"] != "done":
            app.show_message(app.tr("暂不能评价", "Not yet"), "这个号的服务还没有结束，办结后再来评价。",
                             "The service of this ticket has not finished yet.")
            return False
        return True

    def rate_if_done(self, ticket: dict[str, Any]) -> None:
        """A ticket found by its scanned QR: the slip's signed code goes with the rating."""
        if self._done(ticket):
            self.rate_ticket(ticket["number"], {"ticket": ticket["qr"]})

    def typed_ticket(self, ticket: dict[str, Any]) -> None:
        """A typed number proves nothing: the holder lays their ID card first (RATING_NEEDS_SLIP otherwise)."""
        if self._done(ticket):
            number = ticket["number"]
            self.identify(lambda identity: self.rate_ticket(number, {"ticket": number, "identity": identity}))

    def rate_ticket(self, number: str, proof: dict[str, Any]) -> None:
        self.rating = {**proof, "number": number, "level": 0, "reasons": []}
        screen = self.app.root.get_screen("rate")
        screen.ticket = number
        screen.ids.reasons.clear_widgets()
        self.app.root.current = "rate"

    def choose_level(self, level: int) -> None:
        self.rating["level"] = level
        if level > self.app.rule("bad_rating_at_most", BAD_AT_MOST):  # a bad rating asks for the reasons first
            self.send()
            return
        box = self.app.root.get_screen("rate").ids.reasons
        box.clear_widgets()
        for reason in REASONS:
            chip = paint(Button(text=reason, font_size="22sp"), self.app.palette, "chip")
            chip.bind(on_release=self._toggle_reason)
            box.add_widget(chip)
        send = paint(Button(text="提交评价 Submit", font_size="24sp"), self.app.palette, "primary")
        send.bind(on_release=lambda _b: self.send())
        box.add_widget(send)

    def _toggle_reason(self, chip: Button) -> None:
        reasons: list[str] = self.rating["reasons"]
        if chip.text in reasons:
            reasons.remove(chip.text)
            paint(chip, self.app.palette, "chip")
        else:
            reasons.append(chip.text)
            paint(chip, self.app.palette, "chosen")

    def send(self) -> None:
        app = self.app
        request = Rate(ticket=self.rating["ticket"], level=self.rating["level"], source="kiosk",
                       reasons=list(self.rating["reasons"]), identity=self.rating.get("identity") or None)

        def done(reply: Reply) -> None:
            self.rating = {}  # the holder's identity is not kept past the answer
            if reply.ok:
                followup = reply.body["rating"].get("followup")
                extra = f"\n我们会在 {followup['deadline']} 前核实整改并回访。" if followup else ""
                app.show_message(app.tr("感谢您的评价", "Thank you"), f"您的评价已记录。{extra}",
                                 "Your rating was recorded." + (" We will follow up." if followup else ""))
            else:
                app.refused("未能评价", "Not recorded", reply)

        app.ask(lambda: app.client.send(request), done)
