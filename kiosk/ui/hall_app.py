"""What every hall app shares (kiosk, counter, duty desk, display board): hall calls on an I/O thread
that report back through the Kivy clock, the timings a tour records, and the events a screen follows. The
offscreen tour itself is kiosk/ui/tour_runner.py.

The apps are thin listeners (as Electrum's GUI is over its core): no hall rule lives here.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.contract.client import HallClient, HallUnreachable, Reply
from kiosk.contract.requests import ListEvents
from kiosk.ui.palette import NORMAL

if TYPE_CHECKING:
    from kiosk.ui.tour_runner import Tour

COMMON_KV = Path(__file__).with_name("common.kv")


class HallApp(App):
    lang = StringProperty("zh")
    scale = NumericProperty(1.0)
    palette = ObjectProperty(NORMAL)  # the .kv files read app.palette["<role>"]
    portrait = BooleanProperty(False)  # a tall screen (a standing kiosk): layouts stack rather than spread

    def __init__(self, client: HallClient, tour_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.tour_dir = tour_dir
        self.tour: Tour | None = None  # handed in by whoever starts a tour (kiosk/ui/run.py): an app knows no tour
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hall-io")  # hall calls, printing
        self.timings = Timings()  # measured during the tour, for bench/

    def tr(self, zh: str, en: str, _lang: str = "") -> str:
        """Chinese first; the .kv passes app.lang so that texts follow the language switch."""
        return zh if self.lang == "zh" else en

    def toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"

    def load_kv(self, filename: str | None = None) -> Any:
        if str(COMMON_KV) not in Builder.files:
            Builder.load_file(str(COMMON_KV))
        Window.bind(size=lambda _window, size: setattr(self, "portrait", size[1] > size[0]))
        self.portrait = Window.size[1] > Window.size[0]
        return super().load_kv(filename)

    def start_tour(self, delay: float = 0.5) -> None:
        """Called at the end of build(): a tour, if one was handed in, begins once the first screen is up."""
        if self.tour is not None:
            self.tour.start(delay)

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


class Timings:
    """What an app measures of itself (cold start, screen switches, ID read to printer bytes, call to board,
    keypad press to stored), in milliseconds; a tour writes them into tour.json for bench/app_timing.py."""

    def __init__(self) -> None:
        self.measured: dict[str, list[float]] = {}

    def took(self, name: str, since: float) -> None:
        """``since``: a time.monotonic() reading at the start of what is measured."""
        self.measured.setdefault(name, []).append(round((time.monotonic() - since) * 1000, 2))

    def first_frame(self) -> None:
        """Cold start: from the process's start to the first frame of a usable screen."""
        if "cold_start_ms" in self.measured:
            return

        def flipped(*_a: Any) -> None:
            Window.unbind(on_flip=flipped)
            self.measured["cold_start_ms"] = [round((time.time() - process_started()) * 1000, 1)]

        Window.bind(on_flip=flipped)


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
