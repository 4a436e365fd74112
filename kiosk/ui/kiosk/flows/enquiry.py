"""Self-service enquiry: each business's materials (one-time notice), time limit and fees with the fee
calculator; which window does what; and a case's progress for the applicant (identified like a ticket)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from kiosk.contract.client import Reply
from kiosk.contract.requests import FeeQuote, QueryCase, QueueStatus
from kiosk.ui.kiosk.flows.shell import Shell
from kiosk.ui.palette import paint

WINDOW_STATES = {"open": "办理中", "serving": "办理中", "paused": "暂停", "closed": "未开放"}


class EnquiryScreen(Screen):
    title = StringProperty("")
    detail = StringProperty("")


class EnquiryFlow:
    def __init__(self, app: Shell, start_case: Callable[[], None],
                 identify: Callable[[Callable[[dict[str, str]], None]], None]) -> None:
        self.app = app
        self.start_case = start_case  # the case number's entry screen
        self.identify = identify  # the identify screen, for the applicant of a case
        self.business: dict[str, Any] | None = None
        self.fee: dict[str, Any] = {}
        self.case_number = ""
        self.reset()

    def build(self, _root: Any) -> None:
        pass

    def reset(self) -> None:
        self.fee = {"property_kind": "residential", "certificates": 1}
        self.case_number = ""

    def start(self) -> None:
        app = self.app
        if not app.catalog:
            app.offline()
            return
        screen = app.root.get_screen("enquiry")
        screen.title = app.tr("自助查询：申请材料、办理时限、收费标准", "Materials, time limits and fees")
        screen.detail = app.tr("请在左侧选择业务。", "Choose a business on the left.")
        box = screen.ids.list
        box.clear_widgets()
        for text, action in ((app.tr("办件进度查询", "Case progress"), lambda _b: self.start_case()),
                             (app.tr("大厅指引：哪个窗口办什么", "Hall guide: which window"), lambda _b: self.hall_guide())):
            button = paint(Button(text=text, font_size="22sp"), app.palette, "primary")
            button.bind(on_release=action)
            box.add_widget(button)
        for business in app.catalog:
            button = paint(Button(text=business["name"], font_size="22sp"), app.palette, "go")
            button.business_code = business["code"]
            button.bind(on_release=lambda b: self.show_business(b.business_code))
            box.add_widget(button)
        screen.ids.fee_controls.clear_widgets()
        app.root.current = "enquiry"

    def hall_guide(self) -> None:
        """Which window does what, and whether it is open now (from the live queue)."""
        app = self.app
        names = {b["code"]: b["name"] for b in app.catalog}

        def done(reply: Reply) -> None:
            if not reply.ok:
                return
            lines = ["【大厅指引 Hall guide】", "取号 → 在等候区留意叫号屏和语音 → 到所叫窗口办理 → 在窗口评价器上评价", ""]
            for w in reply.body["windows"]:
                served = "、".join(names.get(c, c) for c in w["businesses"])
                lines.append(f"{w['name']}（{WINDOW_STATES.get(w['state'], w['state'])}）\n    {served}")
            lines += ["", "需要帮办：点下方“呼叫工作人员”，工作人员会到您身边。", "办不成事：可在本机首页直接反映，专人跟进。"]
            screen = app.root.get_screen("enquiry")
            screen.detail = "\n".join(lines)
            screen.ids.fee_controls.clear_widgets()

        app.ask(lambda: app.client.send(QueueStatus()), done)

    def show_business(self, code: str) -> None:
        business = next(b for b in self.app.catalog if b["code"] == code)
        self.business = business
        fees = business["fees"]
        lines = [f"【{business['name']}】{business.get('description', '')}", "", "申请材料（一次性告知）："]
        lines += [f"{i}. {m['name']}" for i, m in enumerate(business["materials"], start=1)]
        limit = business["time_limit_days"]
        lines += ["", f"办理时限：{'即时办结' if limit == 0 else f'{limit} 个工作日'}",
                  f"收费：住宅 {fees['residential_yuan']} 元/件，非住宅 {fees['non_residential_yuan']} 元/件"
                  if fees["kind"] in ("standard", "half") else "收费：免收登记费",
                  f"办理窗口：{'、'.join(str(w) for w in business['windows'])} 号窗口"]
        screen = self.app.root.get_screen("enquiry")
        screen.detail = "\n".join(lines)
        controls = screen.ids.fee_controls
        controls.clear_widgets()
        if fees["kind"] in ("standard", "half"):
            for text, action in (("住宅 / 非住宅", self._toggle_kind), ("证书 +1", lambda _b: self._certs(1)),
                                 ("证书 -1", lambda _b: self._certs(-1)), ("计算费用 Fee", lambda _b: self.quote())):
                button = paint(Button(text=text, font_size="22sp"), self.app.palette, "key")
                button.bind(on_release=action)
                controls.add_widget(button)

    def _toggle_kind(self, _b: Any) -> None:
        kind = self.fee["property_kind"]
        self.fee["property_kind"] = "non_residential" if kind == "residential" else "residential"
        self.quote()

    def _certs(self, delta: int) -> None:
        self.fee["certificates"] = max(1, min(20, int(self.fee["certificates"]) + delta))
        self.quote()

    def quote(self) -> None:
        app = self.app
        assert self.business is not None
        request = FeeQuote(business=self.business["code"], property_kind=self.fee["property_kind"],
                           certificates=int(self.fee["certificates"]), reductions=[])

        def done(reply: Reply) -> None:
            if not reply.ok:
                return
            kind = "住宅" if self.fee["property_kind"] == "residential" else "非住宅"
            lines = [f"— 费用计算：{kind}，证书 {self.fee['certificates']} 本 —"]
            lines += [f"{i['name']}：{i['amount_yuan']} 元" for i in reply.body["items"]]
            lines += [f"合计：{reply.body['total_yuan']} 元", f"依据：{reply.body['basis']}",
                      "除登记费外不收取任何其他费用。"]
            screen = app.root.get_screen("enquiry")
            screen.detail = screen.detail.split("\n— 费用计算")[0] + "\n" + "\n".join(lines)

        app.ask(lambda: app.client.send(request), done)

    # -- a case's progress ------------------------------------------------------------------------------
    def case_typed(self, number: str) -> None:
        self.case_number = number
        self.identify(self.query_case)

    def query_case(self, identity: dict[str, str]) -> None:
        app = self.app
        app.busy = True
        request = QueryCase(case_number=self.case_number, identity=identity)
        app.root.get_screen("identify").warning = app.tr("正在查询…", "Looking it up…")

        def done(reply: Reply) -> None:
            app.busy = False
            if not reply.ok:
                app.refused("未查到办件", "Case not found", reply)
                return
            case = reply.body["case"]
            history = "\n".join(f"{h['at'][5:16].replace('T', ' ')}  {h['stage_name']}  {h['note']}"
                                for h in case["history"])
            app.show_message(app.tr(f"办件进度：{case['number']}", f"Case {case['number']}"),
                             f"{case['business_name']}　申请人 {case['holder_masked']}\n当前：{case['stage_name']}"
                             f"；法定办结期限 {case['due_date']}\n{history}",
                             f"Now: {case['stage_name_en']}; due by {case['due_date']}.")

        app.ask(lambda: app.client.send(request), done)
