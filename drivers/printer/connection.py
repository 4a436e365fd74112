"""Real printer connections through python-escpos (USB, serial, network 9100, file), chosen
by a URL in config, and the paper/cover status check done before a ticket is committed."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from drivers.errors import DeviceAbsent, DeviceError, DeviceTimeout
from drivers.printer import escpos


@dataclass(frozen=True)
class PrinterStatus:
    answered: bool
    paper_out: bool
    paper_low: bool
    cover_open: bool

    @property
    def can_print(self) -> bool:
        return self.answered and not self.paper_out and not self.cover_open

    def sentence(self) -> str:
        if not self.answered:
            return "打印机没有回应状态查询 / the printer did not answer the status request"
        if self.cover_open:
            return "打印机盖未关好，请合上机盖 / the cover is open: close it"
        if self.paper_out:
            return "打印机缺纸，请装纸 / out of paper: load a new roll"
        if self.paper_low:
            return "打印纸快用完了，请准备换纸 / paper is low: prepare a new roll"
        return "打印机正常 / printer OK"


@dataclass(frozen=True)
class Capabilities:
    """What one printer can do, decided once from its URL and the configured paper, not guessed at each use."""

    transport: str  # network | serial | usb | file | simulator
    paper_mm: int  # 58 or 80
    dots: int  # printable width in dots at 203 dpi
    answers_status: bool  # DLE EOT: paper and cover can be asked before a ticket is committed

    @property
    def asks_before_printing(self) -> str:
        return ("查询纸张和机盖状态 / asks paper and cover" if self.answers_status
                else "无法查询状态，出纸后请看一眼 / cannot be asked: look at the first slip")


DOTS = {58: 384, 80: 576}
TRANSPORTS = ("network", "serial", "usb", "file")


def capabilities(url: str, paper: int) -> Capabilities:
    scheme = "simulator" if url.startswith("simulator:") else urlparse(url).scheme
    if scheme not in (*TRANSPORTS, "simulator"):
        raise DeviceAbsent(f"打印机地址格式不对：{url}（network://、serial://、usb://、file://）。",
                           f"Unknown printer URL {url} (network://, serial://, usb://, file://).")
    # a USB printer class device and a character device file take bytes but answer nothing back
    return Capabilities(scheme, paper, DOTS.get(paper, 576), scheme in ("network", "serial", "simulator"))


# python-escpos's connectors, extended the way it is meant to be: Escpos subclasses implement open/_raw/_read/
# close. The mixin gives them the one public method this product needs, ``send``: its bytes are rendered here
# (Chinese as GB18030 or raster, see escpos.py), so python-escpos only carries them.
class Sends:
    if TYPE_CHECKING:  # python-escpos's connector provides it (a stub here would shadow it)
        def _raw(self, msg: bytes) -> None: ...

    def send(self, data: bytes) -> None:
        self._raw(data)


def _connectors() -> dict[str, type[Any]]:
    from escpos.escpos import Escpos
    from escpos.printer import File, Network, Usb

    class SerialUrl(Sends, Escpos):  # type: ignore[misc]
        """A serial printer at any pyserial URL (a /dev path, a pty, rfc2217://): escpos.printer.Serial opens
        only device files."""

        def __init__(self, url: str, baudrate: int, timeout: float) -> None:
            Escpos.__init__(self)
            self.url, self.baudrate, self.timeout = url, baudrate, timeout

        def open(self) -> None:
            import serial as pyserial

            self.device = pyserial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.timeout)

        def _raw(self, msg: bytes) -> None:
            self.device.write(msg)
            self.device.flush()

        def _read(self) -> bytes:
            return bytes(self.device.read(16))

        def close(self) -> None:
            device = getattr(self, "_device", None)
            if device:
                device.close()
            self._device = False

    class NetworkPort(Sends, Network):  # type: ignore[misc]
        pass

    class UsbPort(Sends, Usb):  # type: ignore[misc]
        pass

    class FilePort(Sends, File):  # type: ignore[misc]
        pass

    return {"network": NetworkPort, "serial": SerialUrl, "usb": UsbPort, "file": FilePort}


def open_printer(url: str, timeout: float = 3.0) -> Sends:
    """``network://host:9100``, ``serial:///dev/ttyUSB0?baud=9600``, ``usb://04b8:0202``, ``file:///dev/usb/lp0``."""
    transport = capabilities(url, 80).transport
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    connector = _connectors()[transport]
    try:
        printer: Sends
        if transport == "network":
            printer = connector(parts.hostname or "127.0.0.1", port=parts.port or 9100, timeout=timeout)
        elif transport == "serial":
            printer = connector(parts.path, int(query.get("baud", 9600)), timeout)
        elif transport == "usb":
            vendor, product = (int(x, 16) for x in parts.netloc.split(":"))
            printer = connector(vendor, product, timeout=int(timeout * 1000))
        else:
            printer = connector(parts.path)
        printer.open()  # type: ignore[attr-defined]
        return printer
    except Exception as exc:  # noqa: BLE001 - every connection failure becomes one sentence
        kind = exc.__class__.__name__
        raise DeviceAbsent(f"无法连接打印机 {url}：请检查电源、连线和地址。",
                           f"Cannot reach the printer at {url}: check power, cable and address ({kind}).") from None


def network_status(host: str, port: int = 9100, timeout: float = 1.0) -> PrinterStatus:
    """DLE EOT 2 and 4 over TCP: paper and cover, before a ticket is committed."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(escpos.STATUS_OFFLINE + escpos.STATUS_PAPER)
            reply = b""
            while len(reply) < 2:
                chunk = conn.recv(2 - len(reply))
                if not chunk:
                    break
                reply += chunk
    except TimeoutError:
        raise DeviceTimeout("打印机没有回应状态查询。", "The printer did not answer the status request.") from None
    except OSError:
        raise DeviceAbsent(f"连不上网络打印机 {host}:{port}：请检查电源和网线。",
                           f"Cannot reach the network printer {host}:{port}: check power and cable.") from None
    offline = reply[0] if len(reply) > 0 else None
    paper = reply[1] if len(reply) > 1 else None
    return PrinterStatus(**escpos.parse_paper_status(offline, paper))


def serial_status(path: str, baudrate: int = 9600, timeout: float = 1.0) -> PrinterStatus:
    """DLE EOT 2 and 4 on a serial printer."""
    from drivers.serialport import PORT_GONE, open_serial

    port = open_serial(path, baudrate, timeout)
    try:
        port.reset_input_buffer()
        port.write(escpos.STATUS_OFFLINE + escpos.STATUS_PAPER)
        reply = port.read(2)
    except PORT_GONE:
        raise DeviceAbsent(f"串口打印机 {path} 已断开。", f"The serial printer on {path} went away.") from None
    finally:
        port.close()
    if not reply:
        raise DeviceTimeout("打印机没有回应状态查询：检查电源、串口线和波特率。",
                            "The printer did not answer the status request: check power, cable and baud rate.")
    return PrinterStatus(**escpos.parse_paper_status(reply[0], reply[1] if len(reply) > 1 else None))


def status(url: str) -> PrinterStatus:
    """Paper and cover status for a printer URL; file and USB printers cannot be asked (answered=False)."""
    parts = urlparse(url)
    if parts.scheme == "network":
        return network_status(parts.hostname or "127.0.0.1", parts.port or 9100)
    if parts.scheme == "serial":
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return serial_status(parts.path, int(query.get("baud", 9600)))
    return PrinterStatus(answered=False, paper_out=False, paper_low=False, cover_open=False)


def send(url: str, data: bytes) -> None:
    printer = open_printer(url)
    try:
        printer.send(data)
    except DeviceError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DeviceAbsent(f"向打印机发送数据失败：{url}。",
                           f"Sending to the printer failed: {url} ({exc.__class__.__name__}).") from None
    finally:
        try:
            printer.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass
