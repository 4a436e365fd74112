"""Opening a terminal's devices from its devices.toml: real drivers, or a simulator behind the
same driver when a device says ``simulator://`` (the OctoPrint virtual-printer idea: the
simulator sits behind the same factory as the real port, and the real parser is what runs)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.devices_config import SIM, DevicesConfig
from drivers.errors import DeviceError
from drivers.idcard.driver import IdCardReader
from drivers.keypad.driver import KeypadBus
from drivers.printer import ports
from drivers.printer.layouts import Element
from drivers.printer.ports import Capabilities, PrinterStatus
from drivers.printer.render import render
from drivers.scanner.camera import CameraScanner
from drivers.scanner.serial_scanner import SerialScanner


class PrinterNotReady(DeviceError):
    """Paper out or cover open: the slip was not printed."""


class Printer:
    """A ticket printer: its capabilities (read once from its URL) and a port opened for each job."""

    def __init__(self, caps: Capabilities, mode: str) -> None:
        self.caps = caps
        self.mode = mode
        self.printed = 0

    def status(self) -> PrinterStatus:
        return ports.ask_status(self.caps)

    def print_slip(self, elements: list[Element]) -> None:
        """Print, or raise a DeviceError saying why not: never print into nothing (paper out, cover open)."""
        status = self.status()
        if status.answered and not status.can_print:
            raise PrinterNotReady(status.sentence(), status.sentence())
        data = render(elements, self.mode, self.caps.paper_mm)
        self.printed += 1
        ports.send_to(self.caps, data)


@dataclass
class Devices:
    printer: Printer
    idcard: IdCardReader | None = None
    scanner: SerialScanner | CameraScanner | None = None
    keypad: KeypadBus | None = None
    simulators: dict[str, Any] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.keypad is not None:
                self.keypad.stop()
        for device in (self.idcard, self.scanner):
            if device is not None:
                with contextlib.suppress(Exception):
                    device.close()
        self._stack.close()


def open_devices(config: DevicesConfig, png_dir: Path | None = None) -> Devices:
    """``png_dir``: where a simulated printer draws each slip it prints."""
    caps = ports.capabilities(config.printer_url, config.paper)
    devices = Devices(printer=Printer(caps, config.mode))
    if caps.transport == "simulator":
        from drivers.printer.simulator import SimulatedPrinter, plug_in

        devices.simulators["printer"] = plug_in(caps.address.path, SimulatedPrinter(caps.paper_mm, tray=png_dir))
    if config.idcard_port:
        port = config.idcard_port
        if port == SIM:
            from drivers.idcard.simulator import IdCardSimulator

            sim = devices._stack.enter_context(IdCardSimulator())
            devices.simulators["idcard"] = sim
            port = sim.path
        devices.idcard = IdCardReader(port, config.idcard_baud)
    if config.scanner_port:
        port = config.scanner_port
        if port == "camera://simulator":
            from drivers.scanner.simulator import CameraSimulator

            camera_sim = CameraSimulator()
            devices.simulators["scanner"] = camera_sim
            devices.scanner = CameraScanner(camera_sim)
        elif port.startswith("camera://"):
            devices.scanner = CameraScanner(int(port[9:] or 0))
        else:
            if port == SIM:
                from drivers.scanner.simulator import ScannerSimulator

                scanner_sim = devices._stack.enter_context(ScannerSimulator(config.scanner_suffix))
                devices.simulators["scanner"] = scanner_sim
                port = scanner_sim.path
            serial_scanner = SerialScanner(port, config.scanner_baud, config.scanner_suffix)
            devices.scanner = serial_scanner
            with contextlib.suppress(DeviceError):
                serial_scanner.open()  # absent now is reported by probe; reading retries
    if config.keypad_port:
        port = config.keypad_port
        if port == SIM:
            from drivers.keypad.simulator import KeypadBusSimulator

            keypad_sim = devices._stack.enter_context(KeypadBusSimulator(list(config.keypad_addresses)))
            devices.simulators["keypad"] = keypad_sim
            port = keypad_sim.path
        devices.keypad = KeypadBus(port, list(config.keypad_addresses), config.keypad_baud)
    return devices


Probe = tuple[str, bool, str]  # (device, answered, a sentence for the technician)


def probe_idcard(reader: IdCardReader) -> Probe:
    try:
        return ("idcard", True, reader.probe())
    except DeviceError as exc:
        return ("idcard", False, str(exc))


def probe_keypads(bus: KeypadBus) -> list[Probe]:
    bus.offline_after = 1  # one unanswered poll is an answer here
    bus.poll_once()
    return [(f"keypad {a}", True, f"{a} 号评价器应答正常 / keypad {a} answers") if bus.online[a] else
            (f"keypad {a}", False, f"{a} 号评价器没有应答：检查电源、接线（RS-485 A/B 是否接反）、地址和波特率 / "
                                   f"keypad {a} does not answer: check power, wiring (A/B swapped?), address, baud rate")
            for a in bus.addresses]


def probe(devices: Devices) -> list[Probe]:
    """Every configured device, in turn."""
    out: list[Probe] = []
    try:
        st = devices.printer.status()
        caps = devices.printer.caps
        out.append(("printer", st.can_print or (not st.answered and not caps.answers_status),
                    f"{st.sentence()}（{caps.transport}，{caps.paper_mm} mm，{caps.asks_before_printing}）"))
    except DeviceError as exc:
        out.append(("printer", False, str(exc)))
    if devices.idcard is not None:
        out.append(probe_idcard(devices.idcard))
    if devices.scanner is not None:
        if isinstance(devices.scanner, SerialScanner):
            try:
                devices.scanner.open()
                out.append(("scanner", True, f"扫码枪串口已打开 / scanner port open: {devices.scanner.url}"))
            except DeviceError as exc:
                out.append(("scanner", False, str(exc)))
        else:
            out.append(("scanner", True, "摄像头已配置 / camera configured"))
    if devices.keypad is not None:
        out += probe_keypads(devices.keypad)
    return out
