"""The hall's call display (叫号显示屏): current calls in large type, recent calls, waiting per business;
each call and recall flashes and is spoken aloud, queued so that calls never talk over each other.

It follows the hall's event feed by long-polling (ListEvents with after and wait) on its own thread,
starting from the feed's head, so a restarted display does not replay the morning's calls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from kiosk.contract.client import HallClient, Reply
from kiosk.contract.requests import GetCatalog, QueueStatus
from kiosk.ui.hall_app import EventFollower, HallApp
from kiosk.ui.stage import Stage
from kiosk.ui.voice.calls import Voice

CARDS = 4  # current calls shown large
FLASH_SECONDS = 6.0


class BoardScreen(Screen):
    status = StringProperty("")
    problem = StringProperty("")
    recent = StringProperty("")
    waiting = StringProperty("")


class DisplayApp(HallApp):
    hall_name = StringProperty("不动产登记大厅")

    def __init__(self, client: HallClient, voice: Voice, tour_dir: Path | None = None, demo: Stage | None = None,
                 **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.voice = voice
        self.demo = demo
        self.title = "叫号显示屏 Call display"
        self.calls: list[dict[str, Any]] = []  # newest first
        self.events = EventFollower(client, self._events, self.unreachable)
        self.called_at: dict[str, float] = {}  # tour: when a call was made, to time it onto the board

    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        board = BoardScreen()
        sm.add_widget(board)
        for _ in range(CARDS):
            board.ids.calls.add_widget(Factory.CallCard())
        Clock.schedule_interval(lambda _dt: self.refresh(), 5.0)
        Clock.schedule_interval(self._tick, 0.5)
        self.refresh()
        self.ask(lambda: self.client.send(GetCatalog()), self._catalog)
        self.timings.first_frame()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        self.events.stop()
        super().on_stop()
        self.voice.close()

    @property
    def board(self) -> BoardScreen:
        screen: BoardScreen = self.root.get_screen("board")
        return screen

    def unreachable(self) -> None:
        self.board.status, self.board.problem = "暂时连接不上大厅服务，正在重连…", "offline"

    def _catalog(self, reply: Reply) -> None:
        if reply.ok:
            self.hall_name = reply.body["hall"]["name"].split(" ")[0]

    # -- the queue: waiting per business, and where the event feed is ----------------------------------------
    def refresh(self) -> None:
        self.ask(lambda: self.client.send(QueueStatus()), self._queue)

    def _queue(self, reply: Reply) -> None:
        if not reply.ok:
            return
        body = reply.body
        if self.events.seq < 0:
            self.events.start(int(body.get("event_seq", 0)))
            for call in reversed(body["recent_calls"]):
                if call["state"] in ("called", "serving"):
                    self._add(call["number"], int(call["window"]), flash=False)
        waiting = [f"{b['name']} {b['waiting']}人" for b in body["businesses"] if b["waiting"]]
        self.board.waiting = "等候：" + ("　".join(waiting) if waiting else "目前无人等候")
        self.board.problem = self.voice.problem
        at = body.get("at", "")[11:16]
        self.board.status = self.voice.problem or at

    # -- the hall's events ----------------------------------------------------------------------------------------
    def _events(self, events: list[dict[str, Any]]) -> None:
        changed = False
        for event in events:
            kind, payload = event["type"], event["payload"]
            if kind in ("ticket.called", "ticket.recalled"):
                recall = kind == "ticket.recalled"
                self._add(payload["number"], int(payload["window"]), flash=True)
                self.voice.announce(payload["number"], int(payload["window"]), recall)
                changed = True
            elif kind in ("service.finished", "ticket.no_show", "ticket.transferred", "ticket.issued"):
                changed = True
        if changed:
            self.refresh()

    def _add(self, number: str, window: int, flash: bool) -> None:
        self.calls = [c for c in self.calls if c["number"] != number]
        self.calls.insert(0, {"number": number, "window": window, "flash_until": time.monotonic() + FLASH_SECONDS
                              if flash else 0.0})
        self.calls = self.calls[:12]
        self._render()
        started = self.called_at.pop(number, None)
        if started is not None:
            self.timings.took("call_to_display_ms", started)

    def _tick(self, _dt: float) -> None:
        """New calls blink between two bright shades for a few seconds, then settle."""
        now = time.monotonic()
        for call in self.calls:
            if call["flash_until"] and call["flash_until"] < now:
                call["flash_until"] = 0.0
        flashing = {c["number"] for c in self.calls if c["flash_until"]}
        for card in self.board.ids.calls.children:
            card.flash = (2 if card.flash == 1 else 1) if card.number in flashing else 0

    def _render(self) -> None:
        cards = list(reversed(self.board.ids.calls.children))  # top to bottom
        for card, call in zip(cards, self.calls[:CARDS] + [None] * CARDS, strict=False):
            card.number = call["number"] if call else ""
            card.window = str(call["window"]) if call else ""
            card.flash = 1 if call and call["flash_until"] else 0
        self.board.recent = "\n".join(f"{c['number']}  →  {c['window']}号窗口" for c in self.calls[CARDS:CARDS + 8])
