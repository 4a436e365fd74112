"""The device side of a pseudo-terminal: simulators sit here, the real driver opens ``path``.

We keep our own handle on the driver's side open so that the driver closing and reopening
the port (as it does after an error) never tears the pseudo-terminal down.
"""

from __future__ import annotations

import os
import pty
import select
import tty


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
