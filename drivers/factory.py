"""Opening a terminal's devices from its devices.toml: real drivers, or a simulator behind the
same driver when a device says ``simulator://`` (the OctoPrint virtual-printer idea: the
simulator sits behind the same factory as the real port, and the real parser is what runs)."""

from __future__ import annotations

import contextlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.errors import DeviceError
from drivers.idcard.driver import IdCardReader
from drivers.keypad.driver import KeypadBus
from drivers.printer import connection
from drivers.printer.connection import PrinterStatus
from drivers.printer.layouts import Element
from drivers.printer.render import render
from drivers.printer.simulator import PrinterSimulator
from drivers.scanner.camera import CameraScanner
from drivers.scanner.serial_scanner import SerialScanner
from kiosk.domain.config import did_you_mean

SIM = "simulator://"


class DevicesConfigInvalid(DeviceError):
    pass


class PrinterNotReady(DeviceError):
    """Paper out or cover open: the slip was not printed."""


@dataclass(frozen=True)
class DevicesConfig:
    printer_url: str = SIM
    paper: int = 80
    mode: str = "text"
    idcard_port: str | None = SIM
    idcard_baud: int = 115200
    scanner_port: str | None = SIM
    scanner_baud: int = 9600
    scanner_suffix: bytes = b"\r"
    keypad_port: str | None = None
    keypad_baud: int = 9600
    keypad_addresses: tuple[int, ...] = (1,)
    voice_guide: str = "elderly"  # spoken prompts at a kiosk: on, off, or in elderly mode only
    voice_volume: int = 100  # espeak-ng amplitude, 0–200
    screen_dpi: float = 0.0  # the panel's real dots per inch (a 21.5" 1080×1920 panel: 102); 0: as the system says


def load_devices_config(path: Path | str) -> DevicesConfig:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DevicesConfigInvalid(f"设备配置文件不存在：{path}", f"Device configuration not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DevicesConfigInvalid(f"设备配置文件格式错误：{path}：{exc}",
                                   f"Device configuration is not valid TOML: {path}: {exc}") from None
    problems: list[str] = []
    known = {"printer": ("url", "paper", "mode"), "idcard": ("port", "baud"), "scanner": ("port", "baud", "suffix"),
             "keypad": ("port", "baud", "addresses"), "voice": ("guide", "volume"), "screen": ("dpi",)}
    for table, value in doc.items():
        keys = known.get(table)
        if keys is None:
            hint, hint_en = did_you_mean(table, known)
            problems.append(f"{path}: {table}: 未知的设备表{hint} unknown device table{hint_en}")
            continue
        for key in value if isinstance(value, dict) else {}:
            if key not in keys:
                hint, hint_en = did_you_mean(key, keys)
                problems.append(f"{path}: {table}.{key}: 未知的键{hint} unknown key{hint_en}")

    def get(table: str, key: str, kind: type, default: Any, allowed: tuple[Any, ...] = ()) -> Any:
        value = doc.get(table, {}).get(key, default) if isinstance(doc.get(table, {}), dict) else default
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int) or (allowed and value not in allowed):
            problems.append(f"{path}: {table}.{key}: 应为 expected {kind.__name__}"
                            f"{' ' + '/'.join(map(str, allowed)) if allowed else ''}, 实际 got {value!r}")
            return default
        return value

    def in_range(table: str, key: str, default: int, lo: int, hi: int) -> int:
        value: int = get(table, key, int, default)
        if not lo <= value <= hi:
            problems.append(f"{path}: {table}.{key}: 应为 {lo}–{hi} 的整数 / expected a whole number {lo}-{hi}, "
                            f"实际 got {value!r}")
            return default
        return value

    addresses = get("keypad", "addresses", list, [1])
    if not addresses or not all(isinstance(a, int) and 1 <= a <= 247 for a in addresses):
        problems.append(f"{path}: keypad.addresses: 应为 1–247 的地址列表 / expected a list of addresses 1-247")
        addresses = [1]
    config = DevicesConfig(
        printer_url=get("printer", "url", str, SIM),
        paper=get("printer", "paper", int, 80, (58, 80)),
        mode=get("printer", "mode", str, "text", ("text", "raster")),
        idcard_port=get("idcard", "port", str, SIM) if "idcard" in doc else None,
        idcard_baud=get("idcard", "baud", int, 115200),
        scanner_port=get("scanner", "port", str, SIM) if "scanner" in doc else None,
        scanner_baud=get("scanner", "baud", int, 9600),
        scanner_suffix={"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}[get("scanner", "suffix", str, "cr",
                                                                      ("cr", "lf", "crlf"))],
        keypad_port=get("keypad", "port", str, SIM) if "keypad" in doc else None,
        keypad_baud=get("keypad", "baud", int, 9600),
        keypad_addresses=tuple(addresses),
        voice_guide=get("voice", "guide", str, "elderly", ("on", "off", "elderly")),
        voice_volume=in_range("voice", "volume", 100, 0, 200),
        screen_dpi=float(in_range("screen", "dpi", 0, 0, 600)),
    )
    if problems:
        raise DevicesConfigInvalid("设备配置有错误：\n" + "\n".join(problems), "The device configuration has errors.")
    return config


class Printer:
    """A ticket printer behind a URL; ``simulator://`` keeps the slips (and PNGs, if asked) in memory."""

    def __init__(self, url: str, paper: int, mode: str, png_dir: Path | None = None) -> None:
        self.url = url
        self.paper = paper
        self.mode = mode
        self.caps = connection.capabilities(url, paper)
        self.png_dir = png_dir
        self.simulator = PrinterSimulator(paper) if url == SIM else None
        self.printed = 0

    def status(self) -> PrinterStatus:
        if self.simulator is not None:
            from drivers.printer import escpos

            reply = self.simulator.feed(escpos.STATUS_OFFLINE + escpos.STATUS_PAPER)
            if self.simulator.state.unplugged:
                return PrinterStatus(False, False, False, False)
            return PrinterStatus(**escpos.parse_paper_status(reply[0], reply[1]))
        return connection.status(self.url)

    def print_slip(self, elements: list[Element]) -> None:
        """Print, or raise a DeviceError saying why not: never print into nothing (paper out, cover open)."""
        status = self.status()
        if status.answered and not status.can_print:
            raise PrinterNotReady(status.sentence(), status.sentence())
        data = render(elements, self.mode, self.paper)
        self.printed += 1
        if self.simulator is None:
            connection.send(self.url, data)
            return
        if self.simulator.state.unplugged:
            from drivers.errors import DeviceAbsent

            raise DeviceAbsent("打印机未连接。", "The printer is not connected.")
        sim = PrinterSimulator(self.paper)
        sim.feed(data)
        self.simulator.received += data
        if self.png_dir is not None:
            self.png_dir.mkdir(parents=True, exist_ok=True)
            sim.save_png(self.png_dir / f"slip-{self.printed:04d}.png")


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
    devices = Devices(printer=Printer(config.printer_url, config.paper, config.mode, png_dir))
    if devices.printer.simulator is not None:
        devices.simulators["printer"] = devices.printer.simulator
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
