"""The device side of a pseudo-terminal: simulators sit here, the real driver opens ``path``.

We keep our own handle on the driver's side open so that the driver closing and reopening
the port (as it does after an error) never tears the pseudo-terminal down.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from typing import Self


class PtyLink:
    def __init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)
        self.closed = False

    def read(self, timeout: float) -> bytes:
        if self.closed:
            return b""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        if not self.closed:
            os.write(self.master, data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self._slave)


class PtyDevice:
    """A simulated serial device: a thread reads what the host writes on the pseudo-terminal and
    answers on the same line. Subclasses say what they do with the bytes (``received``) and,
    if they have a clock of their own, what happens as time passes (``tick``)."""

    gap = 0.0
    """Seconds of silence that end a frame on this line (Modbus RTU: 3.5 characters); 0: not framed by silence."""

    def __init__(self, name: str) -> None:
        self.link = PtyLink()
        self.path = self.link.path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.link.close()

    def tick(self, now: float) -> None:
        """Called about every 50 ms, bytes or not."""

    def received(self, chunk: bytes, now: float) -> None:
        raise NotImplementedError

    def silence(self, now: float) -> None:
        """The line has been quiet for ``gap`` seconds after bytes came: what came is complete."""

    def _serve(self) -> None:
        heard = False  # bytes came and no silence has followed them yet
        while not self._stop.is_set():
            chunk = self.link.read(self.gap if heard and self.gap else 0.05)
            now = time.monotonic()
            self.tick(now)
            if chunk:
                self.received(chunk, now)
                heard = True
            elif heard:
                heard = False
                self.silence(now)
