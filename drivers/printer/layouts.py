"""The hall's slips as lists of elements, pure: ticket, one-time notice, matter receipt, booking slip."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain import labels


@dataclass(frozen=True)
class Line:
    text: str
    size: int = 1  # 1 normal, 2 double, 3 triple (height and width)
    align: str = "left"
    bold: bool = False


@dataclass(frozen=True)
class QR:
    content: str
    modules_px: int = 6


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    pass


Element = Line | QR | Rule | Feed | Cut
PAPER_COLUMNS = {58: 32, 80: 48}
PRIORITY_LABELS = {"elderly": "老年人优先", "disabled": "残疾人优先", "military": "军人优先", "pregnant": "孕妇优先",
                   "appointment": "预约优先"}  # half-width columns of the standard 12×24 font


def columns(text: str) -> int:
    # ambiguous ones (“ ” · — ×) are two columns too: the printer's GB18030 font prints them full width
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns, the later ones indented. Chinese breaks between any two characters;
    an English word is kept whole, moved to the next line at its space (a slip that reads "transferab" is
    a slip nobody trusts)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if columns(current + ch) > width:
            head, _, word = current.rpartition(" ")
            if ch == " ":  # the break falls on a space: it is dropped
                lines.append(current)
                current = "  "
            elif word and head.strip() and (word + ch).isascii() and columns("  " + word + ch) <= width:
                lines.append(head)
                current = "  " + word + ch
            else:
                lines.append(current)
                current = "  " + ch
        else:
            current += ch
    return [*lines, current] if current.strip() else lines


def _wrapped(text: str, paper: int, size: int = 1, **kw: object) -> list[Element]:
    return [Line(t, size, **kw) for t in wrap(text, PAPER_COLUMNS[paper] // size)]  # type: ignore[arg-type]


@dataclass(frozen=True)
class TicketSlip:
    hall_name: str
    number: str
    business_name: str
    ahead: int
    expected_wait_min: int
    holder_masked: str
    issued_at: str  # "2026-11-23 10:05"
    qr: str
    priority: str | None = None
    expected_wait_range: tuple[int, int] | None = None  # the hall's range, "约 25–40 分钟"
    expected_today: bool = True  # False: its windows have gone home, and the slip says so instead of a range


def ticket(slip: TicketSlip, paper: int = 80) -> list[Element]:
    out: list[Element] = [*_wrapped(slip.hall_name, paper, align="center", bold=True), Rule(),
                          Line("排队号 Ticket", 1, "center"), Line(slip.number, 3, "center", True),
                          *_wrapped(slip.business_name, paper, 2, align="center")]
    if slip.priority:
        label = PRIORITY_LABELS.get(slip.priority, slip.priority)
        out.append(Line(f"{label} Priority ({slip.priority})", 1, "center"))
    low, high = slip.expected_wait_range or (slip.expected_wait_min, slip.expected_wait_min)
    out.append(Line(f"前面等候 {slip.ahead} 人", 1, "center"))
    if slip.expected_today:
        out += [Line(f"预计等候{labels.range_text(low, high)}", 1, "center", True),
                Line(f"{slip.ahead} ahead, {labels.range_text_en(low, high)}", 1, "center")]
    else:
        out += [*_wrapped(labels.NOT_TODAY_SLIP, paper, align="center", bold=True),
                Line(f"{slip.ahead} ahead;", 1, "center"), Line(labels.NOT_TODAY_SHORT_EN, 1, "center")]
    out += [Line(f"取号人：{slip.holder_masked}"), Line(f"取号时间：{slip.issued_at}"), QR(slip.qr)]
    if slip.qr.startswith(("https://", "http://")):  # the hall has a public queue page
        out += [*_wrapped("手机扫码查看排队进度", paper, align="center", bold=True),
                *_wrapped("Scan with your phone to follow the queue", paper, align="center")]
    out += [*_wrapped("本号仅限本人使用，过号请重新取号", paper, align="center", bold=True),
            *_wrapped("For the holder only; not transferable", paper, align="center"), Feed(2), Cut()]
    return out


@dataclass(frozen=True)
class NoticeSlip:
    hall_name: str
    number: str
    business_name: str
    missing: list[str]
    window: int
    clerk_id: str
    issued_at: str
    holder_masked: str
    time_limit_days: int
    repeat: bool = False


def notice(slip: NoticeSlip, paper: int = 80) -> list[Element]:
    out: list[Element] = [*_wrapped(slip.hall_name, paper, align="center", bold=True),
                          Line("一次性告知单", 2, "center", True),
                          *_wrapped("One-time notice of missing materials", paper, align="center"),
                          Rule(), Line(f"编号：{slip.number}"), *_wrapped(f"业务：{slip.business_name}", paper),
                          Line(f"申请人：{slip.holder_masked}"), Rule(), Line("您还需要补齐以下全部材料：", 1, bold=True)]
    for i, name in enumerate(slip.missing, start=1):
        out += _wrapped(f"{i}. {name}", paper)
    out += [Rule(), *_wrapped(f"材料齐全后，{slip.time_limit_days} 个工作日内办结。本单已列明全部所缺材料，"
                              "不会再要求其他材料。", paper),
            Line(f"窗口：{slip.window} 号   工号：{slip.clerk_id}"), Line(f"日期：{slip.issued_at}")]
    if slip.repeat:
        out.append(Line("（补充告知，已记录）", 1, "center"))
    return [*out, Feed(2), Cut()]


@dataclass(frozen=True)
class MatterSlip:
    hall_name: str
    number: str
    category_name: str
    opened_at: str
    deadline: str
    qr: str


def matter(slip: MatterSlip, paper: int = 80) -> list[Element]:
    return [*_wrapped(slip.hall_name, paper, align="center", bold=True),
            *_wrapped("“办不成事”反映回执", paper, 2, align="center", bold=True),
            Line("Unresolved matter receipt", 1, "center"), Rule(), Line("受理编号 Tracking number", 1, "center"),
            Line(slip.number, 2, "center", True), *_wrapped(f"类别：{slip.category_name}", paper),
            Line(f"反映时间：{slip.opened_at}"), Line(f"承诺办结：{slip.deadline} 前"), QR(slip.qr),
            *_wrapped("凭编号在自助终端或窗口查询办理进度；专人负责到底。", paper), Feed(2), Cut()]


@dataclass(frozen=True)
class BookingSlip:
    hall_name: str
    business_name: str
    day: str  # "2026年11月24日 星期二": a booking is usually for another day, so the date is printed large
    slot: str  # "09:00–09:30"
    holder_masked: str
    code: str
    early_minutes: int = 30  # the hall's [booking] check-in window, as configured
    late_minutes: int = 15
    principals_masked: tuple[str, ...] = ()  # an agent's (代办) booking: the people represented, masked


def booking(slip: BookingSlip, paper: int = 80) -> list[Element]:
    window = f"请在预约时间前后到取号机扫码签到（提前{slip.early_minutes}分钟至迟到{slip.late_minutes}分钟内有效）。"
    if slip.principals_masked:  # the agent checks in, for the people named on the slip
        who = [Line(f"代办人：{slip.holder_masked}"),
               *_wrapped(f"被代办人：{'、'.join(slip.principals_masked)}", paper)]
        only = "本凭条仅限代办人为以上当事人使用"
    else:
        who, only = [Line(f"预约人：{slip.holder_masked}")], "本凭条仅限本人使用"
    return [*_wrapped(slip.hall_name, paper, align="center", bold=True), Line("现场预约凭条", 2, "center", True),
            Line("On-site booking", 1, "center"), Rule(), *_wrapped(f"业务：{slip.business_name}", paper),
            Line("预约日期 Date", 1, "center"), Line(slip.day, 1, "center", True),
            Line("预约时间 Time", 1, "center"), Line(slip.slot, 2, "center", True), *who,
            QR(slip.code), *_wrapped(window, paper),
            Line(only, 1, "center", True), Feed(2), Cut()]


WEEKDAYS_ZH = "一二三四五六日"


def day_text(moment: datetime) -> str:
    return f"{moment:%Y年%m月%d日} 星期{WEEKDAYS_ZH[moment.weekday()]}"
