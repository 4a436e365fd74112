"""Host driver of a resident ID card reader on a serial port (GA/T 467 framing)."""

from __future__ import annotations

import time

import serial

from drivers.errors import DeviceAbsent, DeviceError, DeviceTimeout, ProtocolError
from drivers.idcard import protocol as p
from drivers.serialport import PORT_GONE, close_serial, open_serial


class CardReadError(DeviceError):
    """The reader answered with a status that means: place the card again."""


class IdCardReader:
    def __init__(self, url: str, baudrate: int = 115200, timeout: float = 0.5, retries: int = 1) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries
        self.port: serial.SerialBase | None = None

    def close(self) -> None:
        close_serial(self.port)
        self.port = None

    def probe(self) -> str:
        """Ask the SAM module for its status: a sentence for the technician."""
        sw3, _ = self.command(p.SAM_STATUS)
        if sw3 != p.SW_OK:
            zh, en = p.STATUS_TEXT.get(sw3, ("状态未知", "unknown status"))
            raise CardReadError(f"读卡器安全模块状态异常：{zh}（{sw3:#04x}）。", f"SAM status {sw3:#04x}: {en}.")
        return "读卡器正常 / reader OK"

    def read_card(self) -> p.CardData | None:
        """The card on the reader, or None when there is none."""
        sw3, _ = self.command(p.FIND_CARD)
        if sw3 == p.SW_FIND_FAILED:
            return None
        if sw3 != p.SW_CARD_FOUND:
            raise self._status_error(sw3)
        sw3, _ = self.command(p.SELECT_CARD)
        if sw3 != p.SW_OK:
            raise self._status_error(sw3)
        sw3, payload = self.command(p.READ_BASE)
        if sw3 != p.SW_OK:
            raise self._status_error(sw3)
        return p.parse_read(payload)

    @staticmethod
    def _status_error(sw3: int) -> CardReadError:
        zh, en = p.STATUS_TEXT.get(sw3, ("读卡器返回未知状态", "unknown status"))
        return CardReadError(f"{zh}（{sw3:#04x}）。", f"{en} ({sw3:#04x}).")

    def command(self, command: tuple[int, int]) -> tuple[int, bytes]:
        """Send one command; (SW3, full payload). Retries line errors, never card statuses."""
        last: DeviceError | None = None
        for _ in range(self.retries + 1):
            if self.port is None:
                self.port = open_serial(self.url, self.baudrate, 0.05)
            try:
                self.port.reset_input_buffer()
                self.port.write(p.request(command))
                payload = self._read_frame()
            except PORT_GONE:
                self.close()
                last = DeviceAbsent("身份证阅读器连接已断开，请检查 USB/串口线。",
                                    "The ID card reader went away; check its cable.")
                continue
            except ProtocolError as exc:
                last = exc
                continue
            if len(payload) < 3:
                last = p.TruncatedFrame()
                continue
            if payload[2] in (p.SW_CHECKSUM, p.SW_LENGTH):  # the reader did not understand us: resend
                last = ProtocolError("读卡器未能识别命令（线路干扰）。", "The reader did not get the command (line noise).")
                continue
            return payload[2], payload
        assert last is not None
        raise last

    def _read_frame(self) -> bytes:
        assert self.port is not None
        buf = bytearray()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            chunk = self.port.read(4096)
            if chunk:
                buf += chunk
                frame = p.take_frame(buf)
                if frame is not None:
                    return frame
        if buf:
            raise p.TruncatedFrame()
        raise DeviceTimeout("身份证阅读器没有应答：请检查电源、连线和串口设置（常见为 115200 波特）。",
                            "The ID card reader did not answer: check power, cable and port settings (often 115200).")
