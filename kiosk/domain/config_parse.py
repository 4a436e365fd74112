"""Reading a hall's configuration out of its TOML documents, every problem named.

Parsing works on already-loaded TOML documents (dicts) so that it stays pure; reading the files is
kiosk.config_files' job. Every problem is collected, not just the first, and each names the file, the key
as the file shows it and what was expected, in Chinese and English (kiosk.domain.config_problems),
because the person reading it is a technician installing a hall, not the author. The shape and the
defaults are kiosk.domain.config's: a table's known keys are its dataclass's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.domain.calendar import WEEKDAYS, HallCalendar, Period
from kiosk.domain.catalog import FEE_KINDS, Business, FeeSchedule, Material, Reduction
from kiosk.domain.config import (
    BookingRules,
    CallingRules,
    HallConfig,
    KioskBurst,
    Limits,
    MatterCategory,
    MatterRules,
    NationalCalendar,
    PriorityRules,
    RatingRules,
    SecurityRules,
    Window,
)
from kiosk.domain.config_problems import ConfigProblem, did_you_mean

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_MISSING = object()
_HALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CODE = re.compile(r"^[A-Z]$")
_MATERIAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_ID_NAME = ("id", "name", "name_en")
_BUSINESS_KEYS = ("code", "key", "name", "name_en", "description", "materials", "time_limit_days", "fee",
                  "certificates", "service_minutes")

# The range of every whole-number rule, by its key in hall.toml. The defaults are the dataclasses' (kiosk.domain.
# config), and the keys their fields' names: a new rule without a range here fails every parse, in the tests.
_RANGES: dict[str, tuple[int, int]] = {
    "limits.per_person_per_day": (1, 100),
    "limits.per_person_per_business": (1, 100),
    "limits.agent_principals_per_day": (0, 1000),
    "limits.no_show_cooldown_minutes": (0, 1440),
    "limits.no_show_cooldown_after": (1, 100),
    "priority.elderly_age": (50, 120),
    "priority.max_consecutive": (1, 100),
    "calling.no_show_after_calls": (1, 10),
    "calling.long_wait_minutes": (1, 1440),
    "booking.slot_minutes": (5, 240),
    "booking.per_slot": (1, 1000),
    "booking.checkin_early_minutes": (0, 1440),
    "booking.checkin_late_minutes": (0, 1440),
    "booking.offer_valid_minutes": (1, 1440),
    "booking.over_capacity_slack_minutes": (0, 600),
    "ratings.followup_days": (1, 60),
    "ratings.callback_sample_percent": (0, 100),
    "ratings.keypad_minutes": (1, 120),
    "ratings.late_days": (0, 10),
    "matters.deadline_days": (1, 60),
    "security.pin_max_failures": (1, 100),
    "security.pin_lockout_minutes": (1, 1440),
    "security.session_hours": (1, 48),
}


def _show(value: Any) -> str:
    if value is _MISSING:
        return "（缺失 missing）"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Reads typed values out of a TOML table, recording every problem it meets."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems

    def fail(self, key: str, expected: str, expected_en: str, got: Any) -> None:
        self.problems.append(ConfigProblem(self.file, key, expected, expected_en, _show(got)))

    def known(self, doc: dict[str, Any], path: str, keys: list[str] | tuple[str, ...]) -> None:
        """Every key not in ``keys`` is a mistake, named with the nearest known key: a misspelt limit
        must not silently fall back to its default."""
        for key in doc:
            if key in keys:
                continue
            where = f"{path}.{key}" if path else str(key)
            hint, hint_en = did_you_mean(str(key), keys)
            self.problems.append(ConfigProblem(self.file, where, f"已知的键{hint}", f"a known key{hint_en}",
                                               "未知的键 unknown key"))

    def table(self, doc: dict[str, Any], key: str, path: str, required: bool = False) -> dict[str, Any]:
        value = doc.get(key, _MISSING)
        if value is _MISSING and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "一个表（[table]）", "a table ([table])", value)
            return {}
        return value

    def int_(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING,
             lo: int = 0, hi: int = 1_000_000) -> int:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(path, f"{lo} 到 {hi} 之间的整数", f"a whole number from {lo} to {hi}", value)
            return lo
        return value

    def bool_(self, doc: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = doc.get(key, default)
        if not isinstance(value, bool):
            self.fail(path, "true 或 false", "true or false", value)
            return default
        return value

    def str_(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING,
             pattern: re.Pattern[str] | None = None, what: str = "文本", what_en: str = "text") -> str:
        value = doc.get(key, default)
        if not isinstance(value, str) or not value.strip() or (pattern and not pattern.match(value)):
            self.fail(path, what, what_en, value)
            return ""
        return value

    def text(self, doc: dict[str, Any], key: str, path: str, default: str = "") -> str:
        """An optional text (an English name, a description): absent is the default, but a number or a list
        where a name belongs is a mistake, not text to print on a slip."""
        value = doc.get(key, default)
        if not isinstance(value, str):
            self.fail(path, "文本（用引号括起来）", "text (in quotes)", value)
            return default
        return value

    def unique(self, path: str, value: str, seen: set[str], expected: str, expected_en: str) -> None:
        """A name that finds one thing (a business's letter or key, a category's id) must not find two: the
        second would never be reached."""
        if value and value in seen:
            self.fail(path, expected, expected_en, value)
        seen.add(value)

    def list_(self, doc: dict[str, Any], key: str, path: str, expected: str, expected_en: str,
              default: Any = _MISSING, least: int = 0) -> list[Any]:
        value = doc.get(key, default)
        if not isinstance(value, list) or len(value) < least:
            self.fail(path, expected, expected_en, value)
            return []
        return value

    def each(self, items: list[Any], path: str, what: str, what_en: str,
             keys: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
        """The tables of a list (``[[business]]``, ``materials = [ { … } ]``) with where each stands; an item
        that is not a table, or a key a table does not know, is a problem."""
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.fail(where, what, what_en, item)
                continue
            self.known(item, where, keys)
            yield where, item

    def str_list(self, doc: dict[str, Any], key: str, path: str, default: Any = _MISSING) -> list[str]:
        value = doc.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, "文本列表", "a list of strings", value)
            return []
        return list(value)

    def date_list(self, doc: dict[str, Any], key: str, path: str) -> frozenset[date]:
        value = doc.get(key, [])
        out: set[date] = set()
        if not isinstance(value, list):
            self.fail(path, "日期列表，如 [2026-10-01]", "a list of dates such as [2026-10-01]", value)
            return frozenset()
        for i, item in enumerate(value):
            # a date with a time (2027-01-01T00:00:00) would never equal the day it means: not a holiday at all
            if isinstance(item, date) and not isinstance(item, datetime):
                out.add(item)
                continue
            try:
                if not isinstance(item, str):
                    raise ValueError
                out.add(date.fromisoformat(item))
            except ValueError:
                self.fail(f"{path}[{i}]", "日期，如 2026-10-01", "a date such as 2026-10-01", item)
        return frozenset(out)


def _parse_spans(r: _Reader, value: Any, path: str) -> tuple[Period, ...]:
    if not isinstance(value, list):
        r.fail(path, '时段列表，如 ["09:00-12:00", "13:30-17:00"]',
               'a list of spans such as ["09:00-12:00", "13:30-17:00"]', value)
        return ()
    spans: list[Period] = []
    for i, item in enumerate(value):
        m = _SPAN.match(item) if isinstance(item, str) else None
        try:
            if not m:
                raise ValueError
            a = time(int(m[1]), int(m[2]))
            b = time(int(m[3]), int(m[4]))
            if b <= a or (spans and a < spans[-1][1]):
                raise ValueError
        except ValueError:
            r.fail(f"{path}[{i}]", "“HH:MM-HH:MM”格式、按时间先后排列的时段",
                   "an 'HH:MM-HH:MM' span, in order, not overlapping", item)
            continue
        spans.append((a, b))
    return tuple(spans)


def _materials(r: _Reader, b: dict[str, Any], p: str) -> tuple[Material, ...]:
    materials: list[Material] = []
    mids: set[str] = set()
    mats = r.list_(b, "materials", f"{p}.materials", "材料列表", "a list of materials")
    for mp, m in r.each(mats, f"{p}.materials", '{ id = "…", name = "…" }', '{ id = "…", name = "…" }', _ID_NAME):
        mid = r.str_(m, "id", f"{mp}.id", pattern=_MATERIAL_ID, what="材料编号（字母数字）",
                     what_en="a material id (letters, digits)")
        r.unique(f"{mp}.id", mid, mids, "本业务内唯一的材料编号", "an id unique within the business")
        name = r.str_(m, "name", f"{mp}.name")
        materials.append(Material(mid, name, r.text(m, "name_en", f"{mp}.name_en", name)))
    return tuple(materials)


def _business(r: _Reader, b: dict[str, Any], p: str, seen: set[str]) -> Business:
    """``seen``: the letters and keys of the businesses before; a business is found by either
    (HallConfig.business), so all of them must name one business."""
    code = r.str_(b, "code", f"{p}.code", pattern=_CODE, what="一个大写字母（取号前缀）",
                  what_en="one capital letter (the ticket prefix)")
    r.unique(f"{p}.code", code, seen, "各业务不同的前缀字母", "a prefix letter not used by another business")
    key = r.str_(b, "key", f"{p}.key", pattern=_MATERIAL_ID, what="英文业务标识", what_en="an English business key")
    r.unique(f"{p}.key", key, seen, "各业务不同的英文业务标识（也不同于其他业务的前缀字母）",
             "a business key not used by another business (as its key or its letter)")
    materials = _materials(r, b, p)
    fee = b.get("fee", "standard")
    if fee not in FEE_KINDS:
        r.fail(f"{p}.fee", "standard、half、free 或 none 之一", "one of standard, half, free, none", fee)
    minutes = b.get("service_minutes", 15)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= 480:
        r.fail(f"{p}.service_minutes", "大于0的分钟数", "minutes greater than 0", minutes)
        minutes = 15
    certificates = b.get("certificates", fee in ("standard", "half"))
    if not isinstance(certificates, bool):
        r.fail(f"{p}.certificates", "true 或 false", "true or false", certificates)
        certificates = False
    return Business(
        code=code,
        key=key,
        name=r.str_(b, "name", f"{p}.name"),
        name_en=r.text(b, "name_en", f"{p}.name_en"),
        materials=materials,
        time_limit_days=r.int_(b, "time_limit_days", f"{p}.time_limit_days", lo=0, hi=365),
        fee=str(fee),
        certificates=certificates,
        service_minutes=float(minutes),
        description=r.text(b, "description", f"{p}.description"),
    )


def _fees(r: _Reader, fees_doc: dict[str, Any]) -> FeeSchedule:
    reductions: list[Reduction] = []
    ids: set[str] = set()
    items = r.list_(fees_doc, "reductions", "fees.reductions", '减免表的列表，如 [ { id = "…", effect = "free", … } ]',
                    'a list of reduction tables such as [ { id = "…", effect = "free", … } ]', default=[])
    for p, red in r.each(items, "fees.reductions", "减免表", "a reduction table", (*_ID_NAME, "effect", "basis")):
        effect = red.get("effect")
        if effect not in ("free", "half"):
            r.fail(f"{p}.effect", "free 或 half", "free or half", effect)
        rid = r.str_(red, "id", f"{p}.id", pattern=_MATERIAL_ID, what="减免编号", what_en="a reduction id")
        r.unique(f"{p}.id", rid, ids, "不重复的减免编号", "a reduction id not used twice")
        reductions.append(Reduction(
            id=rid,
            name=r.str_(red, "name", f"{p}.name"),
            name_en=r.text(red, "name_en", f"{p}.name_en"),
            effect=str(effect),
            basis=r.str_(red, "basis", f"{p}.basis", what="政策依据", what_en="the legal basis"),
        ))
    return FeeSchedule(
        residential_fen=r.int_(fees_doc, "residential_yuan", "fees.residential_yuan", lo=0, hi=100000) * 100,
        non_residential_fen=r.int_(fees_doc, "non_residential_yuan", "fees.non_residential_yuan",
                                   lo=0, hi=100000) * 100,
        extra_certificate_fen=r.int_(fees_doc, "extra_certificate_yuan", "fees.extra_certificate_yuan",
                                     lo=0, hi=1000) * 100,
        basis=r.str_(fees_doc, "basis", "fees.basis", what="收费依据", what_en="the legal basis"),
        reductions=tuple(reductions),
    )


def parse_catalog(doc: dict[str, Any], file: str, problems: list[ConfigProblem]) -> tuple[
        tuple[Business, ...], FeeSchedule | None]:
    r = _Reader(file, problems)
    r.known(doc, "", ("fees", "business"))
    raw = r.list_(doc, "business", "business", "至少一个 [[business]] 业务表", "at least one [[business]] table",
                  least=1)
    seen: set[str] = set()
    businesses = tuple(_business(r, b, p, seen)
                       for p, b in r.each(raw, "business", "一个业务表", "a business table", _BUSINESS_KEYS))
    fees_doc = r.table(doc, "fees", "fees", required=True)
    r.known(fees_doc, "fees", ("residential_yuan", "non_residential_yuan", "extra_certificate_yuan", "basis",
                               "reductions"))
    return businesses, _fees(r, fees_doc) if fees_doc else None


def _calendar(r: _Reader, doc: dict[str, Any], tz: ZoneInfo, national: NationalCalendar) -> HallCalendar:
    hours_doc = r.table(doc, "hours", "hours", required=True)
    r.known(hours_doc, "hours", WEEKDAYS)
    hours = {day: _parse_spans(r, hours_doc.get(day, []), f"hours.{day}") for day in WEEKDAYS}
    cal_doc = r.table(doc, "calendar", "calendar")
    r.known(cal_doc, "calendar", ("holidays", "working_days", "years"))
    local_years = cal_doc.get("years", [])
    if not isinstance(local_years, list) or not all(
            isinstance(y, int) and not isinstance(y, bool) and 2000 <= y <= 2100 for y in local_years):
        r.fail("calendar.years", "年份列表，如 [2027]（本文件已列全这些年份的节假日）",
               "a list of years such as [2027] (this file lists their holidays in full)", local_years)
        local_years = []
    return HallCalendar(
        tz=tz,
        hours=hours,
        holidays=national.holidays | r.date_list(cal_doc, "holidays", "calendar.holidays"),
        working_days=national.working_days | r.date_list(cal_doc, "working_days", "calendar.working_days"),
        covered_years=national.years | frozenset(local_years),
    )


def _windows(r: _Reader, doc: dict[str, Any], businesses: tuple[Business, ...]) -> tuple[Window, ...]:
    """Each window serves businesses of the catalog (by letter or key; kept as letters)."""
    letter = {b.code: b.code for b in businesses} | {b.key: b.code for b in businesses}
    windows: list[Window] = []
    numbers: set[int] = set()
    raw = r.list_(doc, "windows", "windows", "至少一个 [[windows]] 窗口表", "at least one [[windows]] table", least=1)
    for p, w in r.each(raw, "windows", "窗口表", "a window table", ("number", "name", "businesses")):
        number = r.int_(w, "number", f"{p}.number", lo=1, hi=999)
        if number in numbers:
            r.fail(f"{p}.number", "不重复的窗口号", "a window number not used twice", number)
        numbers.add(number)
        served = r.str_list(w, "businesses", f"{p}.businesses")
        for code in served:
            if code not in letter:
                r.fail(f"{p}.businesses", "业务目录中存在的业务代码", "business codes from the catalog", code)
        resolved = tuple(letter[code] for code in served if code in letter)
        windows.append(Window(number, r.text(w, "name", f"{p}.name", f"{number}号窗口"), resolved))
    return tuple(windows)


_Rules = TypeVar("_Rules", bound="DataclassInstance")


def _rules(r: _Reader, table: dict[str, Any], name: str, kind: type[_Rules], **read: Any) -> _Rules:
    """One table of rules (``[booking]``): its keys are ``kind``'s fields, a switch is true or false, a whole
    number is within its range (_RANGES), and what is left out is the dataclass's default. ``read``: the
    fields of another shape, read by the caller."""
    r.known(table, name, [f.name for f in fields(kind)])
    default = kind()
    values = dict(read)
    for f in fields(kind):
        if f.name in read:
            continue
        path, fallback = f"{name}.{f.name}", getattr(default, f.name)
        if isinstance(fallback, bool):
            values[f.name] = r.bool_(table, f.name, path, fallback)
        else:
            values[f.name] = r.int_(table, f.name, path, fallback, *_RANGES[path])
    return kind(**values)


def _kiosk_burst(r: _Reader, lim: dict[str, Any]) -> KioskBurst | None:
    default = Limits().kiosk_burst
    raw = lim.get("kiosk_burst", {"identities": default.identities, "minutes": default.minutes} if default else False)
    if raw is False:
        return None
    if not isinstance(raw, dict):
        r.fail("limits.kiosk_burst", "{ identities = 4, minutes = 10 } 或 false",
               "{ identities = 4, minutes = 10 } or false", raw)
        return None
    r.known(raw, "limits.kiosk_burst", ("identities", "minutes"))
    return KioskBurst(r.int_(raw, "identities", "limits.kiosk_burst.identities", lo=1, hi=10000),
                      r.int_(raw, "minutes", "limits.kiosk_burst.minutes", lo=1, hi=1440))


def _categories(r: _Reader, ma: dict[str, Any]) -> tuple[MatterCategory, ...]:
    cats: list[MatterCategory] = []
    ids: set[str] = set()
    raw = ma.get("categories", _MISSING)
    items = r.list_(ma, "categories", "matters.categories", '问题类别的列表，如 [ { id = "…", name = "…" } ]',
                    'a list of categories such as [ { id = "…", name = "…" } ]', default=[])
    for p, c in r.each(items, "matters.categories", '{ id = "…", name = "…" }', '{ id = "…", name = "…" }', _ID_NAME):
        cid = r.str_(c, "id", f"{p}.id", pattern=_MATERIAL_ID, what="类别编号", what_en="a category id")
        r.unique(f"{p}.id", cid, ids, "不重复的类别编号", "a category id not used twice")
        cats.append(MatterCategory(cid, r.str_(c, "name", f"{p}.name"), r.text(c, "name_en", f"{p}.name_en")))
    if not cats and (raw is _MISSING or isinstance(raw, list)):
        r.fail("matters.categories", "至少一个问题类别", "at least one category", raw)
    return tuple(cats)


def parse_hall(doc: dict[str, Any], file: str, catalog: tuple[tuple[Business, ...], FeeSchedule | None],
               problems: list[ConfigProblem], national: NationalCalendar | None = None) -> HallConfig | None:
    """``national``: the country's calendar; the hall's [calendar] adds local days and the years it lists
    itself (``years``), for a year the package does not know yet."""
    r = _Reader(file, problems)
    r.known(doc, "", ("hall", "hours", "calendar", "windows", "limits", "priority", "calling", "booking", "ratings",
                      "matters", "security"))
    hall = r.table(doc, "hall", "hall", required=True)
    r.known(hall, "hall", ("id", "name", "region", "timezone", "catalog", "public_url"))
    hall_id = r.str_(hall, "id", "hall.id", pattern=_HALL_ID, what="大厅编号（字母、数字、-、_）",
                     what_en="a hall id (letters, digits, - and _)")
    name = r.str_(hall, "name", "hall.name", what="大厅名称", what_en="the hall's name")
    region = r.text(hall, "region", "hall.region")
    public_url = hall.get("public_url", "")
    if not isinstance(public_url, str) or (public_url and not re.fullmatch(r"https?://[^\s?#]+", public_url)):
        r.fail("hall.public_url", "手机访问大厅的网址，如 https://dengji.example.gov.cn/hall",
               "the address phones reach the hall at, such as https://dengji.example.gov.cn/hall", public_url)
        public_url = ""
    tz_name = hall.get("timezone", "Asia/Shanghai")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        r.fail("hall.timezone", "时区名称，如 Asia/Shanghai", "a time zone such as Asia/Shanghai", tz_name)
        tz = ZoneInfo("Asia/Shanghai")
    calendar = _calendar(r, doc, tz, national or NationalCalendar())
    businesses, fees = catalog
    windows = _windows(r, doc, businesses)
    lim, pr, ma = (r.table(doc, key, key) for key in ("limits", "priority", "matters"))
    limits = _rules(r, lim, "limits", Limits, kiosk_burst=_kiosk_burst(r, lim))
    groups = tuple(r.str_list(pr, "groups", "priority.groups", list(PriorityRules().groups)))
    priority = _rules(r, pr, "priority", PriorityRules, groups=groups)
    calling = _rules(r, r.table(doc, "calling", "calling"), "calling", CallingRules)
    booking = _rules(r, r.table(doc, "booking", "booking"), "booking", BookingRules)
    ratings = _rules(r, r.table(doc, "ratings", "ratings"), "ratings", RatingRules)
    matters = _rules(r, ma, "matters", MatterRules, categories=_categories(r, ma))
    security = _rules(r, r.table(doc, "security", "security"), "security", SecurityRules)
    if problems or fees is None:
        return None
    return HallConfig(
        hall_id=hall_id, name=name, region=region, calendar=calendar, windows=windows,
        businesses=businesses, fees=fees, limits=limits, priority=priority, calling=calling,
        booking=booking, ratings=ratings, matters=matters, security=security, public_url=public_url.rstrip("/"),
    )
