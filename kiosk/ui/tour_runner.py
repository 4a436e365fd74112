"""An app's offscreen tour: its steps (kiosk/ui/<app>/tour.py) played with real touches on the real app, one
PNG per screen, and tour.json with every screen's texts, their boxes and colours, touch-target sizes, the
palette and the timings the app measured. The tests read it for contrast, clipping, overlap and reach; the
benches for timings. Handed to an app by whoever starts a tour (kiosk/ui/run.py); the app knows no tour.

A tour that only lays its screens out (``draw=False``) lays out, shapes every text into its texture and
records it all, but draws no frame and takes no picture: the screen-size tests check geometry, not pixels,
and on a machine without a GPU drawing a 1080×1920 frame is most of a tour's cost."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.widget import Widget

TourStep = tuple[str, Callable[[], bool]]
STEP_TIMEOUT = 30.0


def tour_of(app: Any) -> Tour:
    """The tour an app is playing (a tour's steps run only inside one)."""
    tour: Tour | None = app.tour
    assert tour is not None, "a tour step ran in an app without a tour"
    return tour


class Tour:
    def __init__(self, app: Any, folder: Path, plan: Callable[[Any], Iterator[TourStep]], draw: bool = True) -> None:
        self.app = app
        self.folder = folder
        self.plan = plan
        self.draw = draw
        self.missed: list[str] = []  # steps whose screen never came: the tour fails
        self._screen_texts: dict[str, list[str]] = {}
        self._targets: dict[str, list[list[Any]]] = {}
        self._text_boxes: dict[str, list[dict[str, Any]]] = {}
        self._palettes: dict[str, str] = {}  # the palette each screenshot was taken in
        self._steps: Iterator[TourStep] | None = None
        self._touch: Any = None

    @property
    def screens(self) -> int:
        """Screens recorded so far."""
        return len(self._text_boxes)

    def start(self, delay: float = 0.5) -> None:
        from kivy.tests.common import UnitTestTouch  # tour only (it imports pytest): before any press is timed

        self._touch = UnitTestTouch
        self._steps = self.plan(self.app)
        if not self.draw:
            Window.fbind("on_draw", lambda *_a: True)  # handled: the window's own drawing is not called
        Clock.schedule_once(lambda _dt: self._next(), delay)

    def touch_at(self, x: float, y: float) -> Any:
        """A finger at a window position (the tour's; real touches come from the screen)."""
        return self._touch(x, y)

    def press(self, widget: Widget) -> None:
        """A real touch at the widget's centre, as a finger would."""
        before = self.app.root.current
        pressed = time.monotonic()

        def flipped(*_a: Any) -> None:
            if self.app.root.current != before:  # the first frame drawn with the new screen
                self.app.timings.took("screen_switch_ms", pressed)
            Window.unbind(on_flip=flipped)

        Window.bind(on_flip=flipped)
        x, y = widget.to_window(*widget.center)
        touch = self._touch(x, y)
        touch.touch_down()
        touch.touch_up()

    def _next(self) -> None:
        assert self._steps is not None
        try:
            name, ready = next(self._steps)
        except StopIteration:
            self._write_record()
            self.app.stop()
            return
        deadline = time.monotonic() + STEP_TIMEOUT

        def wait(_dt: float) -> None:
            done = ready()
            if done or time.monotonic() > deadline:
                if not done:
                    self.missed.append(name)
                if name.startswith("_"):  # only let the screen settle: a touch needs laid-out widgets
                    Clock.schedule_once(lambda _dt: self._next(), 0.2)
                else:
                    Clock.schedule_once(lambda _dt: self._shoot(name), 0.3)  # let a frame render
            else:
                Clock.schedule_once(wait, 0.1)

        Clock.schedule_once(wait, 0.1)

    def _shoot(self, name: str) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self._screen_texts[name] = [w.text for w in self.app.root.walk() if isinstance(w, Label) and w.text]
        self._targets[name] = [[w.text.split("\n")[0][:24], round(min(w.size), 1)]
                               for w in self.app.root.current_screen.walk()
                               if isinstance(w, Button) and w.opacity > 0 and not w.disabled and min(w.size) > 1]
        self._text_boxes[name] = text_boxes(self.app.root.current_screen)
        self._palettes[name] = self.app.palette.name
        self._write_record()
        if self.draw:
            taken = Window.screenshot(name=str(self.folder / f"{name}.png"))  # Kivy adds a counter
            if taken:
                Path(taken).replace(self.folder / f"{name}.png")
        self._next()

    def _write_record(self) -> None:
        from kivy.metrics import Metrics

        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {**self._screen_texts, "_timings": self.app.timings.measured, "_touch_targets": self._targets,
                  "_text_boxes": self._text_boxes, "_window": list(Window.size), "_dpi": Metrics.dpi,
                  "_palettes": self._palettes, "_missed": self.missed}
        (self.folder / "tour.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))


def text_boxes(screen: Widget) -> list[dict[str, Any]]:
    """Every text a person can see on ``screen``: where it is in the window, how big its text is drawn, and
    its colours, for the tests that check contrast, clipping and overlap from the tour."""
    boxes = []
    for w in screen.walk():
        if not isinstance(w, Label) or not w.text.strip() or w.disabled or min(w.size) <= 1:
            continue
        if any(getattr(a, "opacity", 1) == 0 for a in _ancestors(w)):
            continue
        x, y = w.to_window(*w.pos)
        seen = _visible(w, (x, y, x + w.width, y + w.height))
        if seen is None:
            continue  # scrolled out of its view: not drawn
        painted = isinstance(w, Button) and w.background_normal == ""
        boxes.append({"text": w.text.split("\n")[0][:30], "box": [round(x), round(y), round(w.width), round(w.height)],
                      "visible": [round(v) for v in seen], "scrolled": seen != (x, y, x + w.width, y + w.height),
                      "texture": [round(w.texture_size[0]), round(w.texture_size[1])],
                      "wraps": w.text_size[0] is not None, "color": [round(c, 3) for c in w.color],
                      "bg": [round(c, 3) for c in w.background_color] if painted else None,
                      "button": isinstance(w, Button)})
    return boxes


def _visible(w: Widget, rect: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """The part of ``rect`` (window coordinates) that the ScrollViews around ``w`` let be drawn, or None
    when less than half of it is."""
    from kivy.uix.scrollview import ScrollView

    x0, y0, x1, y1 = rect
    for a in _ancestors(w)[1:]:
        if isinstance(a, ScrollView):
            ax, ay = a.to_window(*a.pos)
            x0, y0, x1, y1 = max(x0, ax), max(y0, ay), min(x1, ax + a.width), min(y1, ay + a.height)
    area = (rect[2] - rect[0]) * (rect[3] - rect[1])
    if x1 <= x0 or y1 <= y0 or (x1 - x0) * (y1 - y0) < 0.5 * area:
        return None
    return x0, y0, x1, y1


def _ancestors(w: Widget) -> list[Widget]:
    out = [w]
    while w.parent is not None and w.parent is not w:
        w = w.parent
        out.append(w)
    return out
