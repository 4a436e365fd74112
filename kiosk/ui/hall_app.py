"""What every hall app shares (kiosk, counter, duty desk, display board): hall calls on an I/O thread
that report back through the Kivy clock, and the offscreen tour that plays every flow with real
touches and leaves one PNG per screen (with the texts, touch-target sizes and timings in tour.json).

The apps are thin listeners (as Electrum's GUI is over its core): no hall rule lives here.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.contract.client import HallClient, HallUnreachable, Reply
from kiosk.contract.requests import ListEvents
from kiosk.ui import fitting
from kiosk.ui.palette import NORMAL

COMMON_KV = Path(__file__).with_name("common.kv")
TourStep = tuple[str, Callable[[], bool]]
STEP_TIMEOUT = 30.0


class HallApp(App):
    lang = StringProperty("zh")
    scale = NumericProperty(1.0)
    palette = ObjectProperty(NORMAL)  # the .kv files read app.palette["<role>"]
    portrait = BooleanProperty(False)  # a tall screen (a standing kiosk): layouts stack rather than spread

    def __init__(self, client: HallClient, tour_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.tour_dir = tour_dir
        # the tour's steps (kiosk/ui/<app>/tour.py), handed in by whoever starts a tour: an app knows no tour
        self.tour_plan: Callable[[Any], Iterator[TourStep]] | None = None
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hall-io")  # hall calls, printing
        self.timings: dict[str, list[float]] = {}  # measured during the tour, for bench/
        self.missed: list[str] = []  # tour steps whose screen never came: the tour fails
        self._screen_texts: dict[str, list[str]] = {}
        self._targets: dict[str, list[list[Any]]] = {}
        self._text_boxes: dict[str, list[dict[str, Any]]] = {}
        self._palettes: dict[str, str] = {}  # the palette each screenshot was taken in
        self._tour: Iterator[TourStep] | None = None
        self._touch: Any = None

    def tr(self, zh: str, en: str, _lang: str = "") -> str:
        """Chinese first; the .kv passes app.lang so that texts follow the language switch."""
        return zh if self.lang == "zh" else en

    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"

    def load_kv(self, filename: str | None = None) -> Any:
        if str(COMMON_KV) not in Builder.files:
            Builder.load_file(str(COMMON_KV))
        Window.bind(size=self._window_resized)
        self._window_resized(Window, Window.size)
        return super().load_kv(filename)

    def _window_resized(self, _window: Any, size: tuple[int, int]) -> None:
        self.portrait = size[1] > size[0]

    @staticmethod
    def fit(text: str, width: float, size: float) -> float:
        """For the .kv: a font size ≤ ``size`` at which each line of ``text`` fits ``width``."""
        return fitting.fit(text, width, size)

    @staticmethod
    def fit_box(text: str, width: float, height: float, size: float) -> float:
        """For the .kv: a font size ≤ ``size`` at which wrapped ``text`` fits the box."""
        return fitting.fit_box(text, width, height, size, wrap=True)

    def start_tour(self, delay: float = 0.5) -> None:
        """Called at the end of build() when a tour folder was given."""
        if self.tour_dir is None:
            return
        from kivy.tests.common import UnitTestTouch  # tour only (it imports pytest): before any press is timed

        self._touch = UnitTestTouch
        assert self.tour_plan is not None, "a tour folder was given without the tour's steps"
        self._tour = self.tour_plan(self)
        Clock.schedule_once(lambda _dt: self._tour_next(), delay)

    def on_start(self) -> None:
        # SDL turns SIGTERM into a request to close the window, which a deployed kiosk vetoes (no way out by
        # keyboard): systemd's stop would wait its 90 s and then kill, mid-print. A stop asked by the system ends
        # the app the orderly way (devices closed, the embedded hall stopped).
        signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda _dt: self.stop()))

    def on_stop(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)

    # -- I/O off the UI thread ---------------------------------------------------------------------------
    def background(self, work: Callable[[], Any], done: Callable[[Future[Any]], None],
                   pool: ThreadPoolExecutor | None = None) -> None:
        future = (pool or self.worker).submit(work)
        future.add_done_callback(lambda f: Clock.schedule_once(lambda _dt: done(f)))

    def ask(self, work: Callable[[], Reply], on_reply: Callable[[Reply], None]) -> None:
        """A hall call off the UI thread; if the hall cannot be reached, ``unreachable`` instead."""

        def done(f: Future[Any]) -> None:
            try:
                reply: Reply = f.result()
            except HallUnreachable:
                self.unreachable()
                return
            on_reply(reply)

        self.background(work, done)

    def unreachable(self) -> None:
        raise NotImplementedError

    def timing(self, name: str, since: float) -> None:
        self.timings.setdefault(name, []).append(round((time.monotonic() - since) * 1000, 2))

    def first_frame(self) -> None:
        """Cold start: from the process's start to the first frame of a usable screen."""
        if "cold_start_ms" in self.timings:
            return

        def flipped(*_a: Any) -> None:
            Window.unbind(on_flip=flipped)
            self.timings["cold_start_ms"] = [round((time.time() - process_started()) * 1000, 1)]

        Window.bind(on_flip=flipped)

    # -- the tour ------------------------------------------------------------------------------------------
    def touch_at(self, x: float, y: float) -> Any:
        """A finger at a window position (the tour's; real touches come from the screen)."""
        return self._touch(x, y)

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
        touch = self._touch(x, y)
        touch.touch_down()
        touch.touch_up()

    def _tour_next(self) -> None:
        assert self._tour is not None
        try:
            name, ready = next(self._tour)
        except StopIteration:
            self._write_record()
            self.stop()
            return
        deadline = time.monotonic() + STEP_TIMEOUT

        def wait(_dt: float) -> None:
            done = ready()
            if done or time.monotonic() > deadline:
                if not done:
                    self.missed.append(name)
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
        self._targets[name] = [[w.text.split("\n")[0][:24], round(min(w.size), 1)]
                               for w in self.root.current_screen.walk()
                               if isinstance(w, Button) and w.opacity > 0 and not w.disabled and min(w.size) > 1]
        self._text_boxes[name] = text_boxes(self.root.current_screen)
        self._palettes[name] = self.palette.name
        self._write_record()
        taken = Window.screenshot(name=str(self.tour_dir / f"{name}.png"))  # Kivy adds a counter
        if taken:
            Path(taken).replace(self.tour_dir / f"{name}.png")
        self._tour_next()

    def _write_record(self) -> None:
        from kivy.metrics import Metrics

        assert self.tour_dir is not None
        self.tour_dir.mkdir(parents=True, exist_ok=True)
        record = {**self._screen_texts, "_timings": self.timings, "_touch_targets": self._targets,
                  "_text_boxes": self._text_boxes, "_window": list(Window.size), "_dpi": Metrics.dpi,
                  "_palettes": self._palettes, "_missed": self.missed}
        (self.tour_dir / "tour.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))


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


class EventFollower:
    """The hall's event feed, long-polled on its own thread from the feed's head (never the day's past);
    each batch is handed to the UI thread. A dropped connection is retried, and said once."""

    def __init__(self, client: HallClient, on_events: Callable[[list[dict[str, Any]]], None],
                 on_unreachable: Callable[[], None], wait: float = 4.0) -> None:
        # the long-poll's wait stays under the client's 5 s request timeout: an idle hall is not an absent one
        self.client = client
        self.on_events = on_events
        self.on_unreachable = on_unreachable
        self.wait = wait
        self.seq = -1  # unknown until start(head)
        self._closing = threading.Event()

    def start(self, head: int) -> None:
        if self.seq >= 0:
            return
        self.seq = head
        threading.Thread(target=self._run, name="hall-events", daemon=True).start()

    def stop(self) -> None:
        self._closing.set()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                reply = self.client.send(ListEvents(after=self.seq, wait=self.wait, limit=200))
            except HallUnreachable:
                Clock.schedule_once(lambda _dt: self.on_unreachable())
                self._closing.wait(2.0)
                continue
            if not reply.ok:
                self._closing.wait(2.0)
                continue
            events = reply.body.get("events", [])
            if events:
                self.seq = int(events[-1]["seq"])
                Clock.schedule_once(lambda _dt, batch=events: self.on_events(batch))


def process_started() -> float:
    """This process's start, as wall-clock seconds (Linux /proc): cold start counts from here."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime"))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def unreachable_transport(method: str, path: str, body: Any, headers: Any) -> tuple[int, dict[str, Any]]:
    """The tour's way of pulling the network cable."""
    raise HallUnreachable(path)


def qr_texture(text: str) -> Any:
    import io

    import qrcode
    from kivy.core.image import Image as CoreImage

    buf = io.BytesIO()
    qrcode.make(text.encode("utf-8"), box_size=8, border=2).save(buf, format="PNG")
    buf.seek(0)
    return CoreImage(buf, ext="png").texture
