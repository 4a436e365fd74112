"""The Chinese names of the hall's codes, one place for every screen and page that shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RATING_LEVELS_EN = {5: "Very satisfied", 4: "Satisfied", 3: "Fair", 2: "Dissatisfied", 1: "Very dissatisfied"}
# what a citizen may tick with a bad rating, the same at the kiosk and on the phone
RATING_REASONS = ("等候时间太长", "服务态度不好", "反复要求补材料", "办理效率低")

# the same states in the words the citizen who reported reads at the kiosk
MATTER_STATUS_FOR_CITIZENS = {"opened": "已登记", "claimed": "专人办理中", "resolved": "已解决", "called_back": "已回访",
                              "closed": "已办结"}
FOLLOWUP_STATUS = {"opened": "跟进中", "overdue": "已逾期", "closed": "已办结", "overturned": "申诉复核已撤销"}

MATTER_STATUS = {"opened": "待领办", "claimed": "办理中", "resolved": "已解决待回访", "called_back": "已回访待销号",
                 "closed": "已销号"}

EXCEPTION_KINDS = {"out_of_order_call": "不按顺序叫号", "identity_mismatch": "人证不一致",
                   "identity_override": "人证不一致仍办理", "transfer": "转办", "repeat_notice": "重复告知",
                   "extend_hours": "延时服务", "temporary_window": "临时开窗",
                   "window_leaves": "窗口提前下班", "blocklist_add": "列入黑名单",
                   "pause": "暂停服务", "data_read": "查阅登记数据", "rating_refused": "非本人评价被拒",
                   "rating_appealed": "差评申诉", "rating_appeal_decided": "差评申诉复核"}
def decision_text(d: Mapping[str, Any]) -> str:
    """A duty-desk decision as the desk and the queue screens say it ("until" is an ISO time today)."""
    if d["kind"] == "temporary_window":
        return f"{d['window']}号窗口临时加办 {'、'.join(d['businesses'])}"
    if d["kind"] == "window_leaves" and d.get("back"):
        return f"{d['window']}号窗口 {str(d['until'])[11:16]}–{str(d['back'])[11:16]} 暂离（排班）"
    if d["kind"] == "window_leaves":
        return f"{d['window']}号窗口 {str(d['until'])[11:16]} 下班（提前关闭）"
    return f"延时服务到 {str(d['until'])[11:16]}"


APPEAL_STATES = {"none": "", "appealed": "申诉中", "upheld": "申诉复核：维持", "overturned": "申诉复核：已撤销"}



# -- a wait as the citizen reads and hears it (kiosk/domain/waits.py makes the figures) -------------------------
def range_of(view: Mapping[str, object]) -> tuple[int, int]:
    """The range a hall answer carries (a ticket, a business of the queue), or its single figure (an older hall)."""
    told = view.get("expected_wait_range_min")
    if isinstance(told, list | tuple) and len(told) == 2 and all(isinstance(x, int) for x in told):
        return int(told[0]), int(told[1])
    minutes = view.get("expected_wait_min")
    return (minutes, minutes) if isinstance(minutes, int) else (0, 0)


def expected_today(view: Mapping[str, object]) -> bool:
    """Whether a hall answer expects the ticket (or a ticket of the business) to be called today: false once the
    windows that serve it have gone home, when no figure inside the day is true. An older hall does not say."""
    return view.get("expected_today") is not False


# what is shown and said instead of a figure when nobody is expected to call the ticket today
NOT_TODAY = "该业务窗口今天已下班，此号今天可能叫不到，请到服务台咨询或预约其他日期"
NOT_TODAY_EN = "The windows for this business are done for today: this number may not be called today. " \
               "Please ask at the service desk, or book another day."
NOT_TODAY_SLIP = "该业务窗口今天已下班，此号今天可能叫不到"
NOT_TODAY_SHORT = "今天可能叫不到"
NOT_TODAY_SHORT_EN = "may not be called today"
NOT_TODAY_SPOKEN = "该业务窗口今天已经下班，您的号今天可能叫不到，请到服务台咨询。"


def wait_words(view: Mapping[str, object]) -> tuple[str, str]:
    """A wait as one line reads it, in Chinese and English: "约 25–40 分钟", or that it may not be today."""
    if not expected_today(view):
        return NOT_TODAY_SHORT, NOT_TODAY_SHORT_EN
    low, high = range_of(view)
    return range_text(low, high), range_text_en(low, high)


def range_text(low: int, high: int) -> str:
    """"约 25–40 分钟" on the slip, the kiosk and the phone page."""
    return f"约 {low} 分钟" if low == high else f"约 {low}–{high} 分钟"


def range_text_en(low: int, high: int) -> str:
    return f"about {low} min" if low == high else f"about {low}–{high} min"


DIGITS = "零一二三四五六七八九"


def number_words(n: int) -> str:
    """A count as it is said in Mandarin (0–9999): 25 → 二十五, 105 → 一百零五, 12 → 十二."""
    if n < 0 or n > 9999:
        return str(n)
    if n < 10:
        return DIGITS[n]
    if n < 20:
        return "十" + (DIGITS[n % 10] if n % 10 else "")
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit:
            if zero and out:
                out += "零"
            out += ("两" if digit == 2 and value >= 1000 else DIGITS[digit]) + unit
            zero = False
        elif out:
            zero = True
    return out


def spoken_range(low: int, high: int) -> str:
    """The range in words for voice guidance: "大约二十五到四十分钟"."""
    if low == high:
        return f"大约{number_words(low)}分钟"
    return f"大约{number_words(low)}到{number_words(high)}分钟"
