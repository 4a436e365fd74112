"""Reading the hall's TOML files from disk and turning them into a validated HallConfig."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from kiosk.domain.config import HallConfig, NationalCalendar
from kiosk.domain.config_parse import parse_catalog, parse_hall
from kiosk.domain.config_problems import ConfigInvalid, ConfigProblem

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hall.toml"


# tomllib's messages, said in Chinese for the technician (the English stays beside them)
_TOML_MISTAKES = (
    ("Invalid value", "值的写法不对（文本要加引号，日期如 2026-10-01，数字不加引号）"),
    ("Invalid statement", "无法识别的一行（应为 键 = 值，或 [表名]）"),
    ("Expected '=' after a key", "键的后面缺少 = 号"),
    ("Cannot overwrite a value", "同一个键写了两次"),
    ("Cannot declare", "同一个表或键写了两次"),
    ("Duplicate inline table key", "花括号里同一个键写了两次"),
    ("Unterminated string", "引号没有配对（文本只能在一行之内）"),
    ("Unclosed array", "方括号 [ ] 没有配对"),
    ("Unclosed inline table", "花括号 { } 没有配对（花括号里不能换行）"),
    ("Expected ']' at the end of a table declaration", "表名缺少右方括号 ]"),
    ("Expected ']]' at the end of an array declaration", "表名缺少右方括号 ]]"),
    ("Invalid date or datetime", "日期或时间的写法不对，如 2026-10-01"),
    ("Expected newline or end of document", "一行只能写一个 键 = 值"),
    ("Illegal character", "有不允许的字符"),
    ("Found invalid character", "有不允许的字符"),
)
_AT = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.S)


def _syntax_problem(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigProblem:
    """Where the mistake is and what kind, in Chinese and English; the line itself as it stands."""
    message = str(exc)
    key, got = "(syntax)", message
    at = _AT.match(message)
    if at:
        message, line, column = at[1], int(at[2]), int(at[3])
        key = f"第 {line} 行第 {column} 列 (line {line}, column {column})"
        lines = text.splitlines()
        got = repr(lines[line - 1].strip()[:60]) if 0 < line <= len(lines) else message
    elif message.endswith(" (at end of document)"):
        message, key = message.removesuffix(" (at end of document)"), "文件末尾 (end of file)"
    zh = next((zh for en, zh in _TOML_MISTAKES if message.startswith(en)), "语法错误")
    return ConfigProblem(str(path), key, f"合法的 TOML 语法：{zh}", f"valid TOML syntax: {message}", got)


def _load(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    """The TOML document of one file, or None with the problem named: a missing, unreadable or garbled file
    is a problem like any other, reported with the rest, never a stack trace or the system's English."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "(file)", "存在的文件", "an existing file", "文件不存在 not found"))
        return None
    except PermissionError:
        problems.append(ConfigProblem(str(path), "(file)", "可读取的文件", "a readable file", "无权限 permission denied"))
        return None
    except IsADirectoryError:
        problems.append(ConfigProblem(str(path), "(file)", "可读取的文件", "a readable file", "这是一个目录 a folder"))
        return None
    except OSError as exc:
        problems.append(ConfigProblem(str(path), "(file)", "可读取的文件", "a readable file",
                                      f"无法读取 cannot be read: {exc.strerror or exc}"))
        return None
    try:
        text = raw.decode("utf-8-sig")  # Windows Notepad writes UTF-8 with a byte order mark
    except UnicodeDecodeError:
        try:
            raw.decode("gb18030")
            got = "GBK（GB18030）编码，请另存为 UTF-8 / GBK (GB18030): save it as UTF-8"
        except UnicodeDecodeError:
            got = "无法解码 not UTF-8"
        problems.append(ConfigProblem(str(path), "(encoding)", "UTF-8 编码的文本", "UTF-8 text", got))
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_syntax_problem(path, text, exc))
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
