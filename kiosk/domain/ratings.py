"""What a rating means (R6) and who may give it.

A bad rating (不满意, 非常不满意) opens a follow-up with a working-day deadline, asks the citizen for
reasons at the kiosk, is shown to the clerk in red and is counted as such by the ledger.

A rating is the citizen's act (好差评: staff never rate or interfere), so each channel is bound to the device
that can only carry the citizen's own hand: the window's keypad (through the counter that finished the
service, for a press made soon after it), a kiosk shown the slip or the holder's card, and the phone that
opened the slip's code. Pure: the hall gathers the facts, these rules decide.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.domain.errors import fail

BAD_AT_MOST = 2  # levels 1 and 2 are bad ratings (差评)
CHANNELS = ("keypad", "kiosk", "phone")
# the one channel each kind of device carries: a kiosk or phone cannot claim the keypad, a counter cannot claim
# the kiosk or the phone
CHANNEL_OF_ROLE = {"counter": "keypad", "kiosk": "kiosk", "phone": "phone"}
CLOCK_SLACK = timedelta(seconds=60)  # a window PC's clock may run a little ahead of the hall's: read as now
DELIVERY_GRACE = timedelta(minutes=2)  # a press reaches a running hall within this (the relay retries every 2 s)
APPEAL_STEPS = {"none": ("appealed",), "appealed": ("upheld", "overturned")}


def is_bad(level: int) -> bool:
    return level <= BAD_AT_MOST


def check_channel(role: str, source: str) -> None:
    """A rating claims the channel of the device that sends it, or it is not the citizen's."""
    if CHANNEL_OF_ROLE.get(role) != source:
        raise fail("RATING_NOT_YOURS", f"本设备不能提交“{source}”渠道的评价：评价只能由群众本人在评价器、自助机或手机上作出。",
                   f"This device cannot give a {source} rating: only the citizen rates, on the keypad, a kiosk or "
                   "their phone.", source=source)


def rating_closes(last_day: date, tz: ZoneInfo) -> datetime:
    """The end of ``last_day`` (the last working day a late rating is taken), in the hall's time zone."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tz)


def check_open(now: datetime, closes: datetime) -> None:
    if now >= closes:
        raise fail("RATING_CLOSED", f"这次服务的评价已于 {closes - timedelta(seconds=1):%m月%d日 %H:%M} 截止。",
                   f"Ratings for this service closed at {closes:%Y-%m-%d %H:%M}.")


def check_press(finished: datetime, pressed: datetime, now: datetime, keypad_minutes: int,
                up_since: datetime | None = None) -> datetime:
    """A keypad press by its own time (a press kept on the window PC while the hall was down still counts):
    made after the finish, not in the future, within ``keypad_minutes``. Returns the press time as counted.

    ``up_since``: when this hall process started. A press claimed to have been made while the hall was running
    reaches it within ``DELIVERY_GRACE``; one that comes later was not kept "while the hall was down", and a
    window PC that names an old time for a press it never had is refused (None: not known, not judged)."""
    if pressed > now + CLOCK_SLACK or pressed < finished:
        raise fail("PRESS_TIME_INVALID", "评价器按键时间不在这次服务办结之后，不能作为这次服务的评价。",
                   "The press time is not after this service's finish (or lies in the future).")
    if pressed - finished > timedelta(minutes=keypad_minutes):
        raise fail("RATING_CLOSED", f"评价器只在办结后 {keypad_minutes} 分钟内接受评价；群众可以在手机或自助机上评价。",
                   f"The keypad takes a rating within {keypad_minutes} minutes of the finish; the citizen can "
                   "still rate on their phone or at a kiosk.", keypad_minutes=keypad_minutes)
    if up_since is not None and pressed >= up_since and now - pressed > DELIVERY_GRACE:
        raise fail("RATING_CLOSED", "这个评价器按键是在大厅服务运行时按下的，却没有及时送达，不能作为这次服务的评价。",
                   "The press was made while the hall was running but arrived long after: it is not taken.")
    return min(pressed, now)


def next_appeal_state(current: str, level: int, step: str) -> str:
    """申诉复核: a bad rating is appealed, then upheld (it stands) or overturned (kept on record, out of counts)."""
    if not is_bad(level):
        raise fail("APPEAL_INVALID", "只有差评（不满意、非常不满意）可以申诉复核。", "Only a bad rating can be appealed.")
    if step not in APPEAL_STEPS.get(current, ()):
        names = {"none": "未申诉", "appealed": "申诉中", "upheld": "已维持", "overturned": "已撤销"}
        act = "申诉" if step == "appealed" else "作出复核结论"
        raise fail("APPEAL_INVALID", f"这条评价当前为“{names.get(current, current)}”，不能{act}。",
                   f"The rating's appeal is {current}: it cannot be {step} now.", appeal=current)
    return step
