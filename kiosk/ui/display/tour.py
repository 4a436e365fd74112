"""The display app's tour: every screen, offscreen, one PNG each, driven by real touches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kiosk.ui.tour_runner import TourStep

if TYPE_CHECKING:
    from kiosk.ui.display.app import DisplayApp


def steps(app: DisplayApp) -> Iterator[TourStep]:
    board = app.board
    yield "01-board", lambda: app.events.seq >= 0 and "等候" in board.waiting
    assert app.demo is not None, "the display's tour plays the rest of the hall with the embedded hall"
    app.demo.prepare_counter(2)
    first = demo_call(app, 2)
    yield "02-call-flashing", lambda: any(c.number == first and c.flash for c in board.ids.calls.children)
    second = demo_call(app, 3, business="D")
    third = demo_call(app, 1)
    yield "03-three-calls", lambda: {second, third} <= {c.number for c in board.ids.calls.children}
    app.demo.recall(2)
    yield "_recalled", lambda: app.calls[0]["number"] == first
    yield "_spoken", lambda: app.voice.spoken >= 2 * app.voice.repeat  # two calls said, in turn
    for window in (1, 3, 2, 1, 3):
        demo_call(app, window, business="D" if window == 3 else "")
    yield "04-busy-board", lambda: bool(board.recent)
    yield "05-calm", lambda: not any(c["flash_until"] for c in app.calls)


def demo_call(app: DisplayApp, window: int, business: str = "") -> str:
    """Another window calls its next ticket (through the hall service, as a counter would)."""
    assert app.demo is not None
    if business:
        app.demo.crowd(business, 1)
    started = time.monotonic()
    number: str = app.demo.call_next(window)
    app.called_at[number] = started
    return number
