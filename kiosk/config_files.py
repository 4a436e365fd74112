"""Reading the hall's TOML files from disk and turning them into a validated HallConfig."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from kiosk.domain.config import ConfigInvalid, ConfigProblem, HallConfig, NationalCalendar, parse_catalog, parse_hall

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hall.toml"


def _load(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "(file)", "存在的文件", "an existing file", "文件不存在 not found"))
    except PermissionError:
        problems.append(ConfigProblem(str(path), "(file)", "可读取的文件", "a readable file", "无权限 permission denied"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(ConfigProblem(str(path), "(syntax)", "合法的 TOML 语法", "valid TOML syntax", str(exc)))
    except UnicodeDecodeError:
        problems.append(ConfigProblem(str(path), "(encoding)", "UTF-8 编码的文本", "UTF-8 text", "无法解码 not UTF-8"))
    return None


@lru_cache(maxsize=1)
def national_calendar() -> NationalCalendar:
    """China's statutory holidays and make-up working days from the chinesecalendar package (maintained,
    updated each year when the State Council publishes the next year's arrangement)."""
    try:
        from chinese_calendar import constants
    except ImportError:  # the product's set-up installs it; without it, every year is "not covered"
        return NationalCalendar()
    holidays = frozenset(constants.holidays)
    return NationalCalendar(holidays, frozenset(constants.workdays), frozenset(d.year for d in holidays))


def load_config(path: Path | str) -> HallConfig:
    """Load and validate; raise ConfigInvalid listing every problem found."""
    path = Path(path)
    problems: list[ConfigProblem] = []
    doc = _load(path, problems)
    if doc is None:
        raise ConfigInvalid(problems)
    hall = doc.get("hall") if isinstance(doc.get("hall"), dict) else {}
    catalog_name = hall.get("catalog", "catalog.toml") if isinstance(hall, dict) else "catalog.toml"
    if not isinstance(catalog_name, str):
        problems.append(ConfigProblem(str(path), "hall.catalog", "文件名", "a file name", repr(catalog_name)))
        raise ConfigInvalid(problems)
    catalog_path = path.parent / catalog_name
    catalog_doc = _load(catalog_path, problems)
    catalog = parse_catalog(catalog_doc or {}, str(catalog_path), problems) if catalog_doc is not None else ((), None)
    config = parse_hall(doc, str(path), catalog, problems, national_calendar())
    if config is None or problems:
        raise ConfigInvalid(problems)
    return config


def file_kind(doc: dict[str, Any]) -> str | None:
    """Which of the product's files a TOML document is, from its tables."""
    if "hall" in doc:
        return "hall"
    if "business" in doc or "fees" in doc:
        return "catalog"
    if "drill" in doc:
        return "drill"
    if doc and set(doc) <= {"printer", "idcard", "scanner", "keypad", "voice", "screen"}:
        return "devices"
    return None


KIND_NAMES = {"hall": "大厅配置 hall", "catalog": "业务目录 catalog", "devices": "设备配置 devices",
              "drill": "演练场景 drill scenario"}


LOOK_AHEAD_DAYS = 120

FileCheck = Callable[[Path, dict[str, Any]], tuple[list[str], str]]
"""(path, parsed TOML) -> (problems, summary): the check of a kind of file that another part of the product owns."""


def check_file(path: Path, today: date | None = None,
               others: Mapping[str, FileCheck] | None = None) -> tuple[str | None, list[str], str]:
    """(kind, problems, summary) for any configuration file the product reads; each checked as what it is.
    A hall file's summary warns when the next LOOK_AHEAD_DAYS reach a year whose holidays are unknown.
    ``others``: checks for kinds owned elsewhere, by kind (the drill checks its scenarios: kiosk/drill/cli.py),
    so that this module, which the drill reads the hall's config with, never imports the drill."""
    problems: list[ConfigProblem] = []
    doc = _load(path, problems)
    if doc is None:
        return None, [str(p) for p in problems], ""
    kind = file_kind(doc)
    if kind == "hall":
        try:
            config = load_config(path)
        except ConfigInvalid as exc:
            return kind, [str(p) for p in exc.problems], ""
        summary = f"{config.name}（{len(config.businesses)} 项业务 businesses, {len(config.windows)} 个窗口 windows）"
        missing = config.calendar.uncovered_years(today or date.today(), LOOK_AHEAD_DAYS)
        if missing:
            years = "、".join(str(y) for y in missing)
            summary += (f"\n  ⚠ 警告：未来 {LOOK_AHEAD_DAYS} 天内的 {years} 年法定节假日尚未知晓，法定期限将只按周末计算。"
                        f"请更新 chinesecalendar（运行安装命令），或在 [calendar] 列出该年全部节假日与调休日并加入 years。"
                        f"\n  ⚠ warning: the statutory holidays of {years} (within {LOOK_AHEAD_DAYS} days) are not known; "
                        "update chinesecalendar, or list them in [calendar] and add the year to years.")
        return kind, [], summary
    if kind == "catalog":
        businesses, _fees = parse_catalog(doc, str(path), problems)
        return kind, [str(p) for p in problems], f"{len(businesses)} 项业务 businesses"
    if kind == "devices":
        from drivers.devices_config import DevicesConfigInvalid, load_devices_config

        try:
            load_devices_config(path)
        except DevicesConfigInvalid as exc:
            return kind, [line for line in exc.message.splitlines()[1:] if line] or [exc.message], ""
        return kind, [], "、".join(t for t in ("printer", "idcard", "scanner", "keypad") if t in doc)
    if kind is not None and others and kind in others:
        problems_found, summary = others[kind](path, doc)
        return kind, problems_found, summary
    if kind is not None:
        return kind, [f"{path}: 此处无法检查{KIND_NAMES[kind]}文件 / a {kind} file cannot be checked here"], ""
    return None, [f"{path}: 无法判断是哪种配置文件（应含 [hall]、[[business]]、[drill] 或 [printer]/[keypad] 等设备表）"
                  f" / not a hall, catalog, drill or devices file"], ""
