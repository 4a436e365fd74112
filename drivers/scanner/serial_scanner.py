"""A serial QR/barcode scanner: each code arrives as one line ended by CR, LF or CR LF."""

from __future__ import annotations

import time

import serial

from drivers.errors import DeviceAbsent, ProtocolError
from drivers.scanner.text import decode_scan
from drivers.serialport import PORT_GONE, close_serial, open_serial

MAX_CODE = 4096


class SerialScanner:
    def __init__(self, url: str, baudrate: int = 9600, suffix: bytes = b"\r") -> None:
        if suffix not in (b"\r", b"\n", b"\r\n"):
            raise ValueError("suffix must be CR, LF or CR LF")
        self.url = url
        self.baudrate = baudrate
        self.suffix = suffix
        self.port: serial.SerialBase | None = None
        self._buf = bytearray()

    def open(self) -> None:
        """Open the port now (opening flushes what arrived before, as any serial port does)."""
        if self.port is None:
            self.port = open_serial(self.url, self.baudrate, 0.05)

    def flush(self) -> None:
        """Forget codes scanned while nobody was asking (a scan belongs to the screen that asked for it)."""
        self._buf.clear()
        if self.port is not None:
            try:
                self.port.reset_input_buffer()
            except PORT_GONE:
                self.close()

    def close(self) -> None:
        close_serial(self.port)
        self.port = None

    def read_code(self, timeout: float) -> str | None:
        """The next scanned code, or None if nothing was scanned within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            code = self._take()
            if code is not None:
                return code
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.open()
            assert self.port is not None
            try:
                self._buf += self.port.read(256)
            except PORT_GONE:
                self.close()
                raise DeviceAbsent("扫码枪连接已断开，请检查连线。", "The scanner went away; check its cable.") from None

    def _take(self) -> str | None:
        while True:
            ends = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
            if not ends:
                if len(self._buf) > MAX_CODE:
                    self._buf.clear()
                    raise ProtocolError("扫码数据过长或没有结束符：请检查扫码枪的后缀设置（CR 或 CR LF）。",
                                        "Scan too long or unterminated: check the scanner's suffix (CR or CR LF).")
                return None
            end = min(ends)
            line = bytes(self._buf[:end])
            del self._buf[:end + 1]
            text = decode_scan(line)
            if text:  # the LF of a CR LF, or noise, leaves nothing: skip it
                return text
