"""Real printer connections through python-escpos (USB, serial, network 9100, file), chosen
by a URL in config, and the paper/cover status check done before a ticket is committed."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
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


def open_printer(url: str, timeout: float = 3.0) -> Any:
    """``network://host:9100``, ``serial:///dev/ttyUSB0?baud=9600``, ``usb://04b8:0202``, ``file:///dev/usb/lp0``."""
    from escpos import printer as ep

    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    try:
        if parts.scheme == "network":
            return ep.Network(parts.hostname or "127.0.0.1", port=parts.port or 9100, timeout=timeout)
        if parts.scheme == "serial":
            import serial as pyserial

            printer = ep.Serial(devfile=parts.path, baudrate=int(query.get("baud", 9600)), timeout=timeout)
            printer.device = pyserial.serial_for_url(parts.path, baudrate=int(query.get("baud", 9600)),
                                                     timeout=timeout)  # any path or URL, ptys included
            return printer
        if parts.scheme == "usb":
            vendor, product = (int(x, 16) for x in parts.netloc.split(":"))
            return ep.Usb(vendor, product, timeout=int(timeout * 1000))
        if parts.scheme == "file":
            return ep.File(parts.path)
    except Exception as exc:  # noqa: BLE001 - every connection failure becomes one sentence
        kind = exc.__class__.__name__
        raise DeviceAbsent(f"无法连接打印机 {url}：请检查电源、连线和地址。",
                           f"Cannot reach the printer at {url}: check power, cable and address ({kind}).") from None
    raise DeviceAbsent(f"打印机地址格式不对：{url}（network://、serial://、usb://、file://）。",
                       f"Unknown printer URL {url} (network://, serial://, usb://, file://).")


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
        printer._raw(data)  # the bytes are ours: python-escpos only carries them
    except DeviceError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DeviceAbsent(f"向打印机发送数据失败：{url}。",
                           f"Sending to the printer failed: {url} ({exc.__class__.__name__}).") from None
    finally:
        try:
            printer.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass
