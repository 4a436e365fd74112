"""Printer ports: one connector per transport (network 9100, serial, USB, device file, simulator), chosen
from the printer's ``Capabilities`` by a table, never by looking at the URL again.

The URL is read once, into ``Capabilities`` (what the printer can do and where it is). A port is opened
from that record for one job (a status request, or one slip) and closed after it: a network printer
drops idle connections and a USB printer is shared with the status light, so nothing is held between
slips. Every port carries bytes only; the slip's bytes are ours (Chinese as GB18030 or raster,
see escpos.py and render.py). The simulator is a port like the others: it answers status requests
and interprets what it is sent, so the kiosk runs the same code path on a demo as in a hall.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from drivers.errors import DeviceAbsent, DeviceError, DeviceTimeout
from drivers.printer import escpos

if TYPE_CHECKING:
    from drivers.printer.simulator import SimulatedPrinter


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


UNANSWERED = PrinterStatus(answered=False, paper_out=False, paper_low=False, cover_open=False)


@dataclass(frozen=True)
class Address:
    """Where a printer is, as its URL said: a host and port, a device path (or simulator name) and baud rate,
    or a USB vendor and product."""

    host: str = ""
    port: int = 0
    path: str = ""
    baud: int = 9600
    usb: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Capabilities:
    """What one printer can do and where it is, decided once from its URL and the configured paper."""

    transport: str  # network | serial | usb | file | simulator
    paper_mm: int  # 58 or 80
    dots: int  # printable width in dots at 203 dpi
    answers_status: bool  # DLE EOT: paper and cover can be asked before a ticket is committed
    address: Address = field(default_factory=Address)
    url: str = ""

    @property
    def asks_before_printing(self) -> str:
        return ("查询纸张和机盖状态 / asks paper and cover" if self.answers_status
                else "无法查询状态，出纸后请看一眼 / cannot be asked: look at the first slip")


DOTS = {58: 384, 80: 576}
FORMATS = "network://host:9100、serial:///dev/ttyUSB0?baud=9600、usb://04b8:0202、file:///dev/usb/lp0、simulator://"


def _bad_url(url: str) -> DeviceAbsent:
    return DeviceAbsent(f"打印机地址格式不对：{url}（{FORMATS}）。", f"Unknown printer URL {url} ({FORMATS}).")


def _address(transport: str, url: str) -> Address:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    try:
        if transport == "network":
            return Address(host=parts.hostname or "127.0.0.1", port=parts.port or 9100)
        if transport == "usb":
            vendor, product = (int(x, 16) for x in parts.netloc.split(":"))
            return Address(usb=(vendor, product))
        baud = int(query.get("baud", 9600))
    except ValueError:
        raise _bad_url(url) from None
    # serial and file: a device path; the simulator: a name, so that two simulated printers stay apart
    return Address(path=parts.netloc + parts.path, baud=baud)


# each transport, and whether a printer on it answers DLE EOT: a USB printer class device and a character
# device file take bytes but answer nothing back
TRANSPORTS = {"network": True, "serial": True, "usb": False, "file": False, "simulator": True}


def capabilities(url: str, paper: int) -> Capabilities:
    transport = urlparse(url).scheme
    if transport not in TRANSPORTS:
        raise _bad_url(url)
    return Capabilities(transport, paper, DOTS.get(paper, 576), TRANSPORTS[transport], _address(transport, url), url)


# -- the ports: python-escpos's connectors, extended the way it is meant to be (an Escpos subclass implements
# open/_raw/_read/close). The mixin gives each the two things this product asks of a printer: send bytes, and
# answer the paper and cover status request.
class Port:
    if TYPE_CHECKING:  # python-escpos's connector provides these (stubs here would shadow them)
        def open(self) -> None: ...
        def close(self) -> None: ...
        def _raw(self, msg: bytes) -> None: ...

    def send(self, data: bytes) -> None:
        self._raw(data)

    def ask(self, request: bytes, n: int) -> bytes:
        """Send ``request`` and read up to ``n`` bytes of answer (b"" if the printer said nothing in time)."""
        raise NotImplementedError

    def status(self) -> PrinterStatus:
        reply = self.ask(escpos.STATUS_OFFLINE + escpos.STATUS_PAPER, 2)
        if not reply:
            raise DeviceTimeout("打印机没有回应状态查询：检查电源、连线和波特率。",
                                "The printer did not answer the status request: check power, cable and baud rate.")
        return PrinterStatus(**escpos.parse_paper_status(reply[0], reply[1] if len(reply) > 1 else None))


def _ports() -> dict[str, Callable[[Capabilities, float], Port]]:
    """The connectors, made on first use: python-escpos (and pyusb) load only when a printer is opened."""
    from escpos.escpos import Escpos
    from escpos.printer import File, Network, Usb

    class NetworkPort(Port, Network):  # type: ignore[misc]

        def ask(self, request: bytes, n: int) -> bytes:
            self._raw(request)
            reply = b""
            with contextlib.suppress(TimeoutError):
                while len(reply) < n:
                    chunk = self.device.recv(n - len(reply))
                    if not chunk:
                        break
                    reply += chunk
            return reply

    class SerialPort(Port, Escpos):  # type: ignore[misc]
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

        def ask(self, request: bytes, n: int) -> bytes:
            from drivers.serialport import PORT_GONE

            try:
                self.device.reset_input_buffer()
                self._raw(request)
                return bytes(self.device.read(n))
            except PORT_GONE:
                raise DeviceAbsent(f"串口打印机 {self.url} 已断开。", f"The serial printer on {self.url} went away.") from None

        def close(self) -> None:
            device = getattr(self, "_device", None)
            if device:
                device.close()
            self._device = False

    class UsbPort(Port, Usb):  # type: ignore[misc]
        pass

    class FilePort(Port, File):  # type: ignore[misc]
        pass

    class SimulatorPort(Port, Escpos):  # type: ignore[misc]
        """The simulated printer named in the URL, as a port: what it is asked it answers, what it is sent in
        one job it prints as one slip, and an unplugged one cannot be opened."""

        def __init__(self, printer: SimulatedPrinter) -> None:
            Escpos.__init__(self)
            self.printer = printer
            self.job = bytearray()

        def open(self) -> None:
            if self.printer.state.unplugged:
                raise DeviceAbsent("打印机未连接。", "The printer is not connected.")

        def _raw(self, msg: bytes) -> None:
            self.job += msg

        def ask(self, request: bytes, n: int) -> bytes:
            return self.printer.ask(request)[:n]

        def close(self) -> None:
            if self.job:
                self.printer.print_job(bytes(self.job))
                self.job.clear()

    def simulator(caps: Capabilities, _timeout: float) -> Port:
        from drivers.printer.simulator import plugged

        return SimulatorPort(plugged(caps.address.path, caps.paper_mm))

    return {
        "network": lambda c, t: NetworkPort(c.address.host, port=c.address.port, timeout=t),
        "serial": lambda c, t: SerialPort(c.address.path, c.address.baud, t),
        "usb": lambda c, t: UsbPort(*c.address.usb, timeout=int(t * 1000)),
        "file": lambda c, t: FilePort(c.address.path),
        "simulator": simulator,
    }


_CONNECT: dict[str, Callable[[Capabilities, float], Port]] = {}


@contextlib.contextmanager
def open_port(caps: Capabilities, timeout: float = 3.0) -> Iterator[Port]:
    """The printer's port for one job; any failure to reach it is one sentence for the technician."""
    if not _CONNECT:
        _CONNECT.update(_ports())
    try:
        port = _CONNECT[caps.transport](caps, timeout)
        port.open()
    except DeviceError:
        raise
    except Exception as exc:  # noqa: BLE001 - every connection failure becomes one sentence
        raise DeviceAbsent(f"无法连接打印机 {caps.url}：请检查电源、连线和地址。",
                           f"Cannot reach the printer at {caps.url}: check power, cable and address "
                           f"({exc.__class__.__name__}).") from None
    try:
        yield port
    except (DeviceError, TimeoutError):
        raise
    except OSError as exc:
        raise DeviceAbsent(f"打印机 {caps.url} 连接中断：请检查电源和连线。",
                           f"The printer at {caps.url} went away ({exc.__class__.__name__}).") from None
    finally:
        with contextlib.suppress(Exception):
            port.close()


def ask_status(caps: Capabilities) -> PrinterStatus:
    """Paper and cover status; a USB or file printer cannot be asked (answered=False)."""
    if not caps.answers_status:
        return UNANSWERED
    try:
        with open_port(caps, timeout=1.0) as port:
            return port.status()
    except TimeoutError:
        raise DeviceTimeout("打印机没有回应状态查询。", "The printer did not answer the status request.") from None


def status(url: str, paper: int = 80) -> PrinterStatus:
    return ask_status(capabilities(url, paper))


def send_to(caps: Capabilities, data: bytes) -> None:
    try:
        with open_port(caps) as port:
            port.send(data)
    except DeviceError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DeviceAbsent(f"向打印机发送数据失败：{caps.url}。",
                           f"Sending to the printer failed: {caps.url} ({exc.__class__.__name__}).") from None


def send(url: str, data: bytes, paper: int = 80) -> None:
    send_to(capabilities(url, paper), data)


