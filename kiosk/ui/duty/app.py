"""The duty desk (值班台): new 办不成事 reports arrive at once (banner and chime) and are followed to
closure; today's bad ratings with their follow-up against the deadline, and their 申诉复核 (appealed, then
upheld or overturned, each with its reason); a device rating what is not its own; the audit list of every
exception with who, when and why; the hall's load, and the decisions a surge calls for (a temporary
window, longer hours), which the hall records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager

from kiosk.contract.client import HallClient, Reply
from kiosk.contract.requests import (
    AppealRating,
    CloseFollowup,
    DecideAppeal,
    ExtendHours,
    GetCatalog,
    ListAudit,
    ListFollowups,
    ListMatters,
    OpenTemporary,
    QueueStatus,
    TransitionMatter,
    WindowLeaves,
)
from kiosk.domain.labels import (
    APPEAL_STATES,
    EXCEPTION_KINDS,
    FOLLOWUP_STATUS,
    MATTER_STATUS,
    RATING_LEVELS,
    decision_text,
    expected_today,
)
from kiosk.ui.fitting import keep_fitting
from kiosk.ui.hall_app import EventFollower, HallApp
from kiosk.ui.stage import Stage
from kiosk.ui.voice.sound import chime

MatterStep = Literal["claimed", "resolved", "called_back", "closed", "note"]
MATTER_STEPS: dict[str, tuple[MatterStep, str]] = {
    "opened": ("claimed", "领办"), "claimed": ("resolved", "已解决"), "resolved": ("called_back", "已回访"),
    "called_back": ("closed", "销号")}


class MattersScreen(Screen):
    detail = StringProperty("请在左侧选择一条反映。")
    next_label = StringProperty("")
    selected = StringProperty("")


class FollowupsScreen(Screen):
    selected = StringProperty("")
    appeal = StringProperty("")  # the selected bad rating's 申诉复核: none, appealed, upheld, overturned


class AuditScreen(Screen):
    pass


class LoadScreen(Screen):
    load = StringProperty("")
    result = StringProperty("")


class DutyApp(HallApp):
    banner = StringProperty("")
    flash = BooleanProperty(False)

    def __init__(self, client: HallClient, tour_dir: Path | None = None, demo: Stage | None = None,
                 sound_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(client, tour_dir, **kwargs)
        self.demo = demo
        self.sound_dir = sound_dir
        self.title = "值班台 Duty desk"
        self.matters: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.queue: dict[str, Any] = {}
        self.catalog: list[dict[str, Any]] = []
        self.categories: dict[str, str] = {}
        self.window_choice: int | None = None
        self.business_choice: set[str] = set()
        self.events = EventFollower(client, self._events, self.unreachable)
        self.counts: dict[str, int] = {}  # open items per tab
        self._banner_until = 0.0

    def build(self) -> ScreenManager:
        sm = ScreenManager(transition=NoTransition())
        for screen in (MattersScreen(), FollowupsScreen(), AuditScreen(), LoadScreen()):
            sm.add_widget(screen)
        self.ask(lambda: self.client.send(GetCatalog()), self._catalog)
        self.refresh_all()
        Clock.schedule_interval(lambda _dt: self.refresh_all(), 30.0)
        Clock.schedule_interval(self._blink, 0.5)
        self.timings.first_frame()
        self.start_tour()
        return sm

    def on_stop(self) -> None:
        self.events.stop()
        super().on_stop()

    def unreachable(self) -> None:
        self.banner = "暂时连接不上大厅服务，正在重连……"

    def _catalog(self, reply: Reply) -> None:
        if reply.ok:
            self.catalog = reply.body["businesses"]
            self.categories = {c["id"]: c["name"] for c in reply.body["matter_categories"]}
            self._build_load_choices()

    def open_tab(self, name: str) -> None:
        self.root.current = name
        self._tabs()
        self.refresh_all()

    def _tabs(self) -> None:
        """Every screen's tab bar: the open tab marked, and how many items wait in each."""
        labels = {"matters": "办不成事", "followups": "差评跟进", "audit": "审计记录", "load": "大厅负荷"}
        for screen in self.root.screens:
            for name, label in labels.items():
                tab = screen.ids.tabs.ids[f"tab_{name}"]
                count = self.counts.get(name, 0)
                tab.text = f"{label}（{count}）" if count else label
                tab.background_color = (0.7, 0.2, 0.15, 1) if self.root.current == name else (0.35, 0.38, 0.45, 1)

    # -- data ------------------------------------------------------------------------------------------------------
    def refresh_all(self) -> None:
        self.ask(lambda: self.client.send(ListMatters(open="0")), self._matters)
        self.ask(lambda: self.client.send(ListFollowups()), self._followups)
        self.ask(lambda: self.client.send(ListAudit()), self._audit)
        self.ask(lambda: self.client.send(QueueStatus()), self._queue)

    def _events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind, payload = event["type"], event["payload"]
            if kind == "matter.opened":
                ticket = f"，票号 {payload['ticket']}" if payload.get("ticket") else ""
                category = self.categories.get(payload["category"], payload["category"])
                self.alert(f"新的办不成事反映 {payload['matter']}：{category}{ticket}，"
                           f"{event['at'][11:16]}")
            elif kind == "rating.recorded" and payload.get("bad"):
                self.alert(f"差评：{payload['number']}（{payload['window']}号窗口），{event['at'][11:16]}，请跟进")
            elif kind == "rating.refused":
                self.alert(f"{event['device']} 试图评价不是本人办理的业务（{payload.get('number') or '扫码'}），"
                           f"评价只能由群众本人作出，请前往查看（{event['at'][11:16]}）")
            elif kind == "kiosk.burst":
                self.alert(f"{event['device']} 短时间内手工输入多个不同身份证号取号，已暂停该机手工输入，"
                           f"疑似代他人占号，请前往查看（{event['at'][11:16]}）")
            elif kind == "calendar.not_covered":
                self.alert(f"{payload['year']} 年法定节假日尚未配置：办理期限暂按周末推算，请通知技术人员更新节假日数据")
            elif kind == "kiosk.help_requested":
                self.alert(f"{event['device']} 呼叫工作人员（{payload.get('screen', '')}），请前往")
            elif kind == "enroll.attempts_exceeded":
                where = "全厅" if payload.get("scope") == "hall" else f"来自 {payload.get('client', '')}"
                self.alert(f"终端登记码多次输错（{where}），已暂停登记 {payload.get('minutes', '')} 分钟，"
                           f"疑似有人猜测登记码，请通知技术人员（{event['at'][11:16]}）")
        if any(e["type"] != "data.read" for e in events):  # its own reads are logged as events: not news
            self.refresh_all()

    def alert(self, text: str) -> None:
        self.banner, self.flash = text, True
        self._banner_until = time.monotonic() + 60
        sound_dir = self.sound_dir
        self.background(lambda: chime(sound_dir), lambda _f: None)

    def _blink(self, _dt: float) -> None:
        if self.banner and time.monotonic() < self._banner_until:
            self.flash = not self.flash
        else:
            self.flash = False

    # -- 办不成事 --------------------------------------------------------------------------------------------------------
    def _matters(self, reply: Reply) -> None:
        if not reply.ok:
            return
        self.matters = reply.body["matters"]
        open_ = [m for m in self.matters if m["status"] != "closed"]
        self.counts["matters"] = len(open_)
        self._tabs()
        rows = self.root.get_screen("matters").ids.list.ids.rows
        rows.clear_widgets()
        for m in self.matters:
            late = "【逾期】" if m["overdue"] else ""
            button = Button(text=f"{late}{m['number']} {m['category_name']}\n{MATTER_STATUS[m['status']]}　"
                                 f"{m['opened_at'][5:16].replace('T', ' ')}　截止 {m['deadline'][5:]}",
                            font_size="18sp", halign="left", background_normal="",
                            background_color=(0.8, 0.2, 0.15, 1) if m["overdue"] else
                            (0.5, 0.52, 0.56, 1) if m["status"] == "closed" else (0.08, 0.36, 0.72, 1))
            button.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
            button.matter = m["number"]
            button.bind(on_release=lambda b: self.select_matter(b.matter))
            rows.add_widget(button)
        screen = self.root.get_screen("matters")
        if screen.selected:
            self.select_matter(screen.selected)

    def select_matter(self, number: str) -> None:
        screen = self.root.get_screen("matters")
        m = next((x for x in self.matters if x["number"] == number), None)
        if m is None:
            return
        screen.selected = number
        step = MATTER_STEPS.get(m["status"])
        screen.next_label = step[1] if step else ""
        # full-width spaces: a line breaks where it must, not after the time
        history = "\n".join(f"{h['at'][5:16].replace('T', '　')}　{MATTER_STATUS.get(h['status'], h['status'])}"
                            f"（{h['by']}）{h['note']}" for h in m["history"])
        ticket = f"　票号 {m['ticket']}" if m["ticket"] else ""
        contact = f"　联系电话 {m['contact_masked']}" if m["contact_masked"] else ""
        screen.detail = (f"{m['number']}　{m['category_name']}{ticket}{contact}\n"
                         f"状态：{MATTER_STATUS[m['status']]}　负责人：{m['owner'] or '未领办'}　"
                         f"截止：{m['deadline']}{'（已逾期）' if m['overdue'] else ''}\n"
                         f"反映内容：{m['description']}\n\n处理记录：\n{history}")

    def matter_next(self) -> None:
        screen = self.root.get_screen("matters")
        m = next((x for x in self.matters if x["number"] == screen.selected), None)
        step = MATTER_STEPS.get(m["status"]) if m else None
        if m is None or step is None:
            return
        self._transition(m["number"], step[0], screen.ids.note.text)

    def matter_note(self) -> None:
        screen = self.root.get_screen("matters")
        if screen.selected:
            self._transition(screen.selected, "note", screen.ids.note.text)

    def _transition(self, number: str, to: MatterStep, note: str) -> None:
        screen = self.root.get_screen("matters")

        def done(reply: Reply) -> None:
            if reply.ok:
                screen.ids.note.text = ""
                self.ask(lambda: self.client.send(ListMatters(open="0")), self._matters)
            else:
                screen.detail = reply.error.get("message", "") + "\n\n" + screen.detail

        self.ask(lambda: self.client.send(TransitionMatter(number=number, to=to, note=note)), done)

    # -- bad ratings ---------------------------------------------------------------------------------------------------
    def _followups(self, reply: Reply) -> None:
        if not reply.ok:
            return
        self.followups = reply.body["followups"]
        pending = [f for f in self.followups if f["status"] not in ("closed", "overturned")]
        self.counts["followups"] = len(pending)
        self._tabs()
        screen = self.root.get_screen("followups")
        rows = screen.ids.list.ids.rows
        rows.clear_widgets()
        for f in self.followups:
            overdue = f["status"] == "overdue"
            appeal = APPEAL_STATES.get(f.get("appeal", "none"), "") if f["status"] != "overturned" else ""
            text = (f"{'【逾期】' if overdue else ''}{f['day']} {f['ticket']}　{RATING_LEVELS.get(f['level'], f['level'])}　"
                    f"{f['window']}号窗口 工号 {f['clerk_id']}　截止 {f['deadline']}　{FOLLOWUP_STATUS.get(f['status'], '')}"
                    + (f"　{appeal}" if appeal else "") + (f"\n{f['note']}" if f.get("note") else ""))
            selected = str(f["id"]) == screen.selected
            button = Button(text=text, font_size="18sp", halign="left", background_normal="",
                            background_color=(0.95, 0.6, 0.1, 1) if selected else (0.8, 0.2, 0.15, 1) if overdue
                            else (0.5, 0.52, 0.56, 1) if f["status"] in ("closed", "overturned") else (0.08, 0.36, 0.72, 1))
            button.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
            button.followup = str(f["id"])
            button.bind(on_release=lambda b: self.select_followup(b.followup))
            rows.add_widget(button)

    def select_followup(self, fid: str) -> None:
        screen = self.root.get_screen("followups")
        f = next((x for x in self.followups if str(x["id"]) == fid), None)
        open_ = f is not None and f["status"] not in ("closed", "overturned")
        screen.selected = fid if open_ else ""
        screen.appeal = f.get("appeal", "none") if f is not None and open_ else ""
        self._followups(Reply(200, {"followups": self.followups}))

    def appeal_rating(self) -> None:
        """申诉复核: the selected bad rating is appealed, with the reason typed in the note field."""
        self._appeal_step(lambda day, number: AppealRating(day=day, number=number,
                                                           reason=self.root.get_screen("followups").ids.note.text))

    def decide_appeal(self, outcome: Literal["upheld", "overturned"]) -> None:
        """The appealed rating upheld (it stands) or overturned (it leaves the counts), with the finding."""
        self._appeal_step(lambda day, number: DecideAppeal(day=day, number=number, outcome=outcome,
                                                           reason=self.root.get_screen("followups").ids.note.text))

    def _appeal_step(self, step: Callable[[str, str], AppealRating | DecideAppeal]) -> None:
        screen = self.root.get_screen("followups")
        f = next((x for x in self.followups if str(x["id"]) == screen.selected), None)
        if f is None:
            return

        def done(reply: Reply) -> None:
            if reply.ok:
                screen.ids.note.text = ""
                self.banner = ""  # an earlier refusal no longer stands
                screen.appeal = reply.body["rating"]["appeal"]
                if screen.appeal == "overturned":
                    screen.selected, screen.appeal = "", ""
                self.ask(lambda: self.client.send(ListFollowups()), self._followups)
            else:
                self.banner = reply.error.get("message", "")

        self.ask(lambda: self.client.send(step(f["day"], f["ticket"])), done)

    def close_followup(self) -> None:
        screen = self.root.get_screen("followups")
        note = screen.ids.note.text

        def done(reply: Reply) -> None:
            if reply.ok:
                screen.selected, screen.appeal, screen.ids.note.text = "", "", ""
                self.ask(lambda: self.client.send(ListFollowups()), self._followups)
            else:
                self.banner = reply.error.get("message", "")

        self.ask(lambda: self.client.send(CloseFollowup(number=screen.selected, note=note)), done)

    # -- audit --------------------------------------------------------------------------------------------------------
    def _audit(self, reply: Reply) -> None:
        if not reply.ok:
            return
        rows = self.root.get_screen("audit").ids.list.ids.rows
        rows.clear_widgets()
        for a in reply.body["audit"][:200]:
            who = f"{a['window']}号窗口 工号 {a['clerk_id']}" if a["window"] else a["device"]
            ticket = f"　{a['ticket']}" if a["ticket"] else ""
            label = Button(text=f"{a['at'][5:16].replace('T', ' ')}　{EXCEPTION_KINDS.get(a['kind'], a['kind'])}{ticket}　{who}\n"
                                f"原因：{a['reason'] or '（未填写）'}", font_size="18sp", halign="left",
                           background_normal="", background_color=(0.3, 0.33, 0.4, 1))
            label.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
            rows.add_widget(label)

    # -- the hall's load and the decisions for a surge -------------------------------------------------------------------
    def _queue(self, reply: Reply) -> None:
        if not reply.ok:
            return
        self.queue = q = reply.body
        if self.banner.startswith("暂时连接不上"):
            self.banner = ""  # the hall answers again
        self.events.start(int(q.get("event_seq", 0)))
        lines = ["各业务等候："]
        for b in q["businesses"]:
            if b["waiting"]:
                # stranded: the windows that serve it have gone home, so those waiting will not be called today
                # unless a window takes them on (a temporary window, or hours extended)
                flags = (["等候过长"] if b["long_wait"] else []) + (
                    [] if expected_today(b) else ["已无窗口办理，请安排临时开窗或告知群众"])
                flag = f"（{'；'.join(flags)}）" if flags else ""
                lines.append(f"  {b['name']}：{b['waiting']} 人，最长已等 {b['longest_wait_min']} 分钟{flag}")
        open_windows = [w for w in q["windows"] if w["state"] != "closed"]
        lines += ["", f"开放窗口：{len(open_windows)} / {len(q['windows'])}"]
        lines += [f"  {w['name']}：{ {'open': '办理中', 'paused': '暂停'}.get(w['state'], w['state']) }"
                  f"{'，正在办理 ' + w['current'] if w['current'] else ''}" for w in open_windows]
        if q.get("decisions"):
            lines += ["", "今日决定："]
            for d in q["decisions"]:
                lines.append(f"  {d['at'][11:16]} {decision_text(d)}（{d['reason']}）")
        self.root.get_screen("load").load = "\n".join(lines)
        if not self.root.get_screen("load").ids.windows.children:
            self._build_load_choices()

    def _build_load_choices(self) -> None:
        screen = self.root.get_screen("load")
        if not self.queue or not self.catalog:
            return
        windows, businesses = screen.ids.windows, screen.ids.businesses
        windows.clear_widgets()
        businesses.clear_widgets()
        for w in self.queue["windows"]:
            button = Button(text=f"{w['number']}号窗口", font_size="20sp", background_normal="",
                            background_color=(0.45, 0.47, 0.52, 1))
            button.window = w["number"]
            button.bind(on_release=lambda b: self._pick_window(b.window))
            windows.add_widget(keep_fitting(button))
        for b in self.catalog:
            button = Button(text=f"{b['code']} {b['name']}", font_size="15sp", background_normal="", halign="center",
                            background_color=(0.45, 0.47, 0.52, 1))
            button.bind(size=lambda btn, sz: setattr(btn, "text_size", (sz[0] - 8, None)))
            button.code = b["code"]
            button.bind(on_release=lambda btn: self._pick_business(btn.code))
            businesses.add_widget(keep_fitting(button))

    def _pick_window(self, number: int) -> None:
        self.window_choice = number
        for b in self.root.get_screen("load").ids.windows.children:
            b.background_color = (0.08, 0.36, 0.72, 1) if b.window == number else (0.45, 0.47, 0.52, 1)

    def _pick_business(self, code: str) -> None:
        self.business_choice ^= {code}
        for b in self.root.get_screen("load").ids.businesses.children:
            b.background_color = (0.08, 0.36, 0.72, 1) if b.code in self.business_choice else (0.45, 0.47, 0.52, 1)

    def decide(self, kind: str) -> None:
        """A decision for today's load, each recorded with its reason: a window takes on more businesses
        (``temporary_window``), the hall stays open longer (``extend_hours``), or by the roster a window closes
        for the day early or is away for a while (``window_leaves``, "15:00" or "11:15-12:00"), so that every wait
        told from now on counts on it only while it is there."""
        screen = self.root.get_screen("load")
        reason, time_ = screen.ids.reason.text, screen.ids.until.text.strip()
        request: OpenTemporary | ExtendHours | WindowLeaves
        if kind == "extend_hours":
            request = ExtendHours(until=time_, reason=reason)
        elif self.window_choice is None or (kind == "temporary_window" and not self.business_choice):
            screen.result = "请先选择窗口和加办的业务。" if kind == "temporary_window" else "请先选择窗口。"
            return
        elif kind == "temporary_window":
            request = OpenTemporary(window=self.window_choice, businesses=sorted(self.business_choice), reason=reason)
        else:  # "15:00": gone for the day; "11:15-12:00": away and back (a staggered lunch)
            at, _, back = time_.replace("–", "-").replace("~", "-").replace("至", "-").partition("-")
            request = WindowLeaves(window=self.window_choice, at=at.strip(), back=back.strip() or None, reason=reason)

        def done(reply: Reply) -> None:
            if reply.ok:
                decision = reply.body["decision"]
                stranded = decision.get("stranded") or []
                screen.result = "已记录：" + decision_text(decision) + (
                    f"\n注意：{'、'.join(s['name'] for s in stranded)} 此后无窗口办理（等候 "
                    f"{sum(s['waiting'] for s in stranded)} 人，预约 {sum(s['appointments'] for s in stranded)} 个），"
                    "请安排临时开窗或延时服务。" if stranded else "")
                screen.ids.reason.text = ""
                self.ask(lambda: self.client.send(QueueStatus()), self._queue)
            else:
                screen.result = reply.error.get("message", "")

        self.ask(lambda: self.client.send(request), done)
