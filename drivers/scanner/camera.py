"""Reading QR codes from a camera: OpenCV frames, grayscale first, decoded with pyzbar."""

from __future__ import annotations

import time
from typing import Any, Protocol

from pyzbar.pyzbar import ZBarSymbol, decode

from drivers.errors import DeviceAbsent
from drivers.scanner.text import decode_scan


class FrameSource(Protocol):
    def read(self) -> tuple[bool, Any]: ...

    def release(self) -> None: ...


def decode_frame(frame: Any) -> list[str]:
    """Every QR code in a BGR (or gray) frame. A 3-channel array must be made gray first:
    zbar would otherwise read only its blue channel."""
    import cv2  # imported on use: OpenCV costs a tenth of a second at every kiosk start

    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    found = decode(gray, symbols=[ZBarSymbol.QRCODE])
    if not found:  # small or soft codes: try once more, sharpened by a simple threshold
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        found = decode(binary, symbols=[ZBarSymbol.QRCODE])
    return [decode_scan(symbol.data) for symbol in found]


class CameraScanner:
    """A camera sees the same phone in frame after frame: a code is reported once, and again only
    after it has been out of sight for ``repeat_after`` seconds (as scan engines' "same code delay")."""

    def __init__(self, source: FrameSource | int | str, repeat_after: float = 3.0) -> None:
        if isinstance(source, (int, str)):
            import cv2

            self.source: FrameSource = cv2.VideoCapture(source)
        else:
            self.source = source
        self.repeat_after = repeat_after
        self._last = ""
        self._last_seen = 0.0

    def read_code(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        failures = 0
        while time.monotonic() < deadline:
            ok, frame = self.source.read()
            if not ok:
                failures += 1
                if failures > 30:
                    raise DeviceAbsent("摄像头没有画面：请检查摄像头连接或被其他程序占用。",
                                       "The camera gives no frames: check its cable, or another program holds it.")
                time.sleep(0.01)
                continue
            codes = decode_frame(frame)
            if codes:
                now = time.monotonic()
                again = codes[0] == self._last and now - self._last_seen < self.repeat_after
                self._last, self._last_seen = codes[0], now
                if not again:
                    return codes[0]
        return None

    def flush(self) -> None:
        """A camera has no backlog: frames are read when asked."""

    def close(self) -> None:
        self.source.release()
