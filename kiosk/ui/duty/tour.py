"""The duty app's tour: every screen, offscreen, one PNG each, driven by real touches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from kiosk.ui.tour_runner import TourStep, tour_of

if TYPE_CHECKING:
    from kiosk.ui.duty.app import DutyApp, FollowupsScreen, LoadScreen, MattersScreen


def steps(app: DutyApp) -> Iterator[TourStep]:
    matters: MattersScreen = app.root.get_screen("matters")
    followups: FollowupsScreen = app.root.get_screen("followups")
    load: LoadScreen = app.root.get_screen("load")
    yield "01-matters", lambda: bool(app.matters) and app.events.seq >= 0
    tour_of(app).press(matters.ids.list.ids.rows.children[-1])
    yield "02-matter-detail", lambda: bool(matters.selected)
    tour_of(app).press(matters.ids.next_step)  # 领办
    yield "03-matter-claimed", lambda: "办理中" in matters.detail
    for to, note in (("note", "已联系2号窗口负责人了解情况"), ("next", "已协调窗口一次性告知全部材料"),
                     ("next", "电话回访，群众表示满意"), ("next", "销号")):
        matters.ids.note.text = note
        tour_of(app).press(matters.ids.add_note if to == "note" else matters.ids.next_step)
        yield "_step", _shows(matters, note)
    yield "04-matter-closed", lambda: "已销号" in matters.detail
    if app.demo is not None:  # against a real hall, reports come when citizens make them
        app.demo.report("waiting", "排队两个小时还没叫到号", ticket="B004")
        yield "05-new-report-alert", lambda: "新的办不成事反映" in app.banner
        app.demo.typed_burst()
        yield "05b-kiosk-burst-alert", lambda: "疑似代他人占号" in app.banner
        app.demo.close_window(5)  # its clerk has worked and gone home: the Q tickets typed above are stranded
    tour_of(app).press(matters.ids.tabs.ids.tab_followups)
    yield "06-followups", lambda: app.root.current == "followups" and bool(app.followups)
    overdue = next((f for f in app.followups if f["status"] == "overdue"), app.followups[0])
    app.select_followup(str(overdue["id"]))
    followups.ids.note.text = "已核实：窗口解释不清；已整改并电话回访"
    tour_of(app).press(followups.ids.close)
    yield "07-followup-closed", lambda: any(f["status"] == "closed" for f in app.followups)
    pending = [f for f in app.followups if f["status"] == "opened"]
    if pending:  # 申诉复核 of a bad rating still open: appealed, then overturned, each with its reason
        app.select_followup(str(pending[0]["id"]))
        tour_of(app).press(followups.ids.appeal)  # no reason yet: refused, nothing recorded
        yield "07a-appeal-needs-reason", lambda: "原因" in app.banner
        followups.ids.note.text = "窗口申诉：群众误按，现场已当面说明"
        tour_of(app).press(followups.ids.appeal)
        yield "07b-rating-appealed", lambda: followups.appeal == "appealed"
        followups.ids.note.text = "调取录像核实为误按，撤销差评"
        tour_of(app).press(followups.ids.overturn)
        yield "07c-rating-overturned", lambda: any(f.get("appeal") == "overturned" for f in app.followups)
    tour_of(app).press(followups.ids.tabs.ids.tab_audit)
    yield "08-audit", lambda: app.root.current == "audit"
    tour_of(app).press(app.root.get_screen("audit").ids.tabs.ids.tab_load)
    yield "09-load", lambda: app.root.current == "load" and bool(load.ids.windows.children)
    tour_of(app).press(next(b for b in load.ids.windows.children if b.window == 5))
    tour_of(app).press(next(b for b in load.ids.businesses.children if b.code == "B"))
    tour_of(app).press(load.ids.open_window)  # no reason yet: refused, nothing recorded
    yield "10-reason-required", lambda: "原因" in load.result
    load.ids.reason.text = "转移登记排队超过40人"
    tour_of(app).press(load.ids.open_window)
    yield "11-temporary-window", lambda: load.result.startswith("已记录")
    load.ids.until.text = "18:30"
    load.ids.reason.text = "下午取号人数多，延时至全部办完"
    tour_of(app).press(load.ids.extend)
    yield "12-hours-extended", lambda: "延时服务到 18:30" in load.result
    load.ids.until.text = "15:00"  # window 5 (still chosen) goes home at 15:00 by today's roster
    load.ids.reason.text = "5号窗口人员下午培训"
    tour_of(app).press(load.ids.leaves)
    yield "13-window-leaves-early", lambda: "5号窗口 15:00 下班" in load.result
    load.ids.until.text = "11:15-12:00"  # and is away for an early lunch
    load.ids.reason.text = "错峰午休"
    tour_of(app).press(load.ids.leaves)
    yield "14-window-away", lambda: "5号窗口 11:15–12:00 暂离" in load.result


def _shows(screen: MattersScreen, text: str) -> Callable[[], bool]:
    return lambda: text in screen.detail
