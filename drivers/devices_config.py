"""A terminal's devices.toml: which devices it has and where, each checked with the file, the key and what
is expected named (a misspelt key names the nearest known one), never a silent default."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.errors import DeviceError
from kiosk.domain.config_problems import did_you_mean

SIM = "simulator://"


class DevicesConfigInvalid(DeviceError):
    pass


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
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Windows Notepad writes a byte order mark
    except FileNotFoundError:
        raise DevicesConfigInvalid(f"设备配置文件不存在：{path}", f"Device configuration not found: {path}") from None
    except OSError as exc:  # a folder, no permission
        raise DevicesConfigInvalid(f"设备配置文件无法读取（是目录或没有权限）：{path}",
                                   f"Device configuration cannot be read: {path}: {exc.strerror}") from None
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
