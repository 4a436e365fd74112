"""Calling and serving at the window: call next, call again, no-show, call out of order (with a reason), the
identity match when service starts (人证合一, with a reason to go on when it fails), transfer, pause and resume,
and finish. Every rule (order, reasons, identity, who may do what) is the hall's: this flow shows its answers.

The ID card read for the identity match lives in memory only until the hall has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from drivers.errors import DeviceError
from kiosk.contract.client import Reply
from kiosk.contract.requests import (
    CallNext,
    CallTicket,
    Finish,
    NoShow,
    Pause,
    Recall,
    Resume,
    StartService,
    Transfer,
)
from kiosk.ui.counter.flows.shell import Desk

OUT_OF_ORDER_REASONS = ["老年人、残疾人等优先", "预约群众到场", "转办回本窗口", "简单事项即办", "前号已过号后到场"]
OVERRIDE_REASONS = ["代办人持授权委托书", "当事人本人到场，取号为家属", "身份证丢失，持临时身份证明"]
TRANSFER_REASONS = ["业务不属本窗口", "需其他窗口协办", "群众要求改办其他业务"]
# how long each pause is expected to last, in minutes (the waits told meanwhile count on the window from then);
# a fault cannot say, and the hall assumes half an hour
PAUSE_MINUTES: dict[str, int | None] = {"临时离开（10分钟内）": 10, "午休（约1小时）": 60, "系统或设备故障": None,
                                        "业务会商": 30}
PAUSE_REASONS = list(PAUSE_MINUTES)
IDENTITY_TITLES = ("核验身份（人证合一）", "Identity check")


class CallingFlow:
    def __init__(self, desk: Desk, on_finished: Callable[[Reply], None], on_paused: Callable[[], None],
                 on_resumed: Callable[[], None]) -> None:
        self.desk = desk
        self.on_finished = on_finished
        self.on_paused = on_paused
        self.on_resumed = on_resumed
        self.reading = False
        self.identity: dict[str, str] | None = None  # read for the identity match: memory only, wiped after

    def reset(self) -> None:
        self.identity = None

    # -- calling -------------------------------------------------------------------------------------------
    def call_next(self) -> None:
        desk = self.desk

        def called(reply: Reply) -> None:
            desk.say(f"已呼叫 {reply.body['ticket']['number']}，请等候群众到窗口。")

        def empty(reply: Reply) -> None:
            desk.say(reply.error.get("message", ""), bad=reply.error.get("code") != "QUEUE_EMPTY")

        desk.window_send(CallNext(window=desk.window), called, empty)

    def recall(self) -> None:
        desk = self.desk
        desk.window_send(Recall(window=desk.window), lambda r: desk.say(f"已重呼 {r.body['ticket']['number']}。"))

    def no_show(self) -> None:
        desk = self.desk
        desk.window_send(NoShow(window=desk.window), lambda r: desk.say(f"{r.body['ticket']['number']} 已记为过号。"))

    def call_specific(self) -> None:
        desk = self.desk
        waiting = desk.summary.get("waiting_tickets", [])
        if not waiting:
            desk.say(desk.tr("目前没有等候的号。", "Nobody is waiting."), bad=True)
            return
        options = [(f"{t['number']}\n等候 {t['waited_min']} 分钟", t["number"]) for t in waiting[:15]]
        desk.choices.ask(desk.tr("指定叫号：选择号码", "Call out of order: choose the number"),
                         "不按顺序叫号需要填写原因，原因会记录在审计中（谁、何时、为何）。", options,
                         lambda chosen, _t: self._call_reason(chosen[0]))

    def _call_reason(self, number: str) -> None:
        desk = self.desk
        desk.choices.ask_reason(
            f"指定呼叫 {number} 的原因", "此次不按顺序叫号将被记录。", OUT_OF_ORDER_REASONS,
            lambda reason: desk.window_send(CallTicket(window=desk.window, number=number, reason=reason),
                                            lambda r: desk.back(f"已指定呼叫 {number}（原因已记录）。")))

    # -- the identity match (人证合一) -----------------------------------------------------------------------
    def start_service(self) -> None:
        """The citizen lays the ID card on the window's reader; ``poll_reader`` notices it."""
        desk = self.desk
        self.identity = None
        options = [(desk.tr("不读卡，直接开始", "Start without the card"), "skip")]
        desk.choices.ask(desk.tr(*IDENTITY_TITLES),
                         "请群众将身份证放在窗口读卡器上，读到后自动核验。" if desk.devices.idcard is not None
                         else "本窗口未配置读卡器。", options,
                         lambda _c, _t: desk.window_send(StartService(window=desk.window),
                                                         lambda r: desk.back("已开始办理（未读卡核验）。")))

    def poll_reader(self) -> None:
        """Called by the shell's timer: a read on the reader's own thread while the identity question is open."""
        desk = self.desk
        if desk.root is None or desk.root.current != "choice" or self.reading or desk.devices.idcard is None \
                or desk.root.get_screen("choice").title not in IDENTITY_TITLES:
            return
        reader = desk.devices.idcard

        def done(f: Future[Any]) -> None:
            self.reading = False
            try:
                card = f.result()
            except DeviceError as exc:
                desk.root.get_screen("choice").note = f"读卡器无响应：{exc}。可选择“不读卡，直接开始”。"
                return
            if card is not None and desk.root.current == "choice":
                self.identity = card.identity()
                self._start_with(None)

        self.reading = True
        desk.background(reader.read_card, done, desk.pollers)

    def _start_with(self, override: str | None) -> None:
        desk = self.desk
        request = StartService(window=desk.window, identity=self.identity, override_reason=override or None)

        def ok(reply: Reply) -> None:
            self.identity = None
            matched = bool(reply.body.get("identity_match"))
            desk.back("人证一致，开始办理。" if matched else f"已开始办理（人证不一致，原因已记录：{override}）。",
                      bad=not matched)

        def refused(reply: Reply) -> None:
            if reply.error.get("code") == "IDENTITY_MISMATCH":
                desk.choices.ask_reason("人证不一致", f"来人证件 {reply.error.get('masked', '')} 与取号人不符。"
                                        "请核实；确需办理的，选择或填写原因后继续，原因将被记录。",
                                        OVERRIDE_REASONS, self._start_with)
            else:
                self.identity = None
                desk.back(reply.error.get("message", ""), bad=True)

        desk.window_send(request, ok, refused)

    # -- transfer, finish, pause ------------------------------------------------------------------------------
    def transfer(self) -> None:
        desk = self.desk
        current = desk.summary.get("current") or {}
        windows = [w for w in desk.windows if w["number"] != desk.window]
        options: list[tuple[str, Any]] = [(f"转到 {w['name']}", ("window", w["number"])) for w in windows]
        options += [(f"改办 {b['name']}", ("business", code)) for code, b in desk.catalog.items()
                    if code != current.get("business") and code not in ("X",)][:6]

        def chosen(values: list[Any], _t: str) -> None:
            kind, target = values[0]

            def send(reason: str) -> None:
                request = (Transfer(window=desk.window, to_window=target, reason=reason) if kind == "window"
                           else Transfer(window=desk.window, to_business=target, reason=reason))
                desk.window_send(request, lambda r: desk.back(f"已转办 {r.body['ticket']['number']}。"))

            desk.choices.ask_reason("转办原因", "转办后群众保留原排队位置；原因将被记录。", TRANSFER_REASONS, send)

        desk.choices.ask(desk.tr("转办：选择窗口或业务", "Transfer to a window or business"), "", options, chosen)

    def finish(self) -> None:
        desk = self.desk
        options = [(desk.tr("已受理：出具办件编号", "Application accepted: open a case"), True),
                   (desk.tr("未受理：结束本次服务", "Not accepted: end the service"), False)]
        desk.choices.ask(desk.tr("办结", "Finish"), "办结后，评价器将请群众评价；工作人员不能代为评价。", options,
                         lambda chosen, _t: desk.window_send(Finish(window=desk.window, accepted=chosen[0]),
                                                             self.on_finished))

    def pause_or_resume(self) -> None:
        desk = self.desk
        if desk.summary.get("window", {}).get("state") == "paused":
            desk.window_send(Resume(window=desk.window, reason="恢复服务"), lambda r: desk.back("已恢复服务。"))
            self.on_resumed()
            return

        def paused(reason: str) -> None:
            def ok(r: Reply) -> None:
                back = (r.body.get("window") or {}).get("back_at") if r.ok else None
                desk.back(f"已暂停服务：{reason}" + (f"（预计 {back[11:16]} 恢复）" if back else ""))
                self.on_paused()

            desk.window_send(Pause(window=desk.window, reason=reason, minutes=PAUSE_MINUTES.get(reason)), ok)

        desk.choices.ask_reason("暂停服务的原因", "暂停期间本窗口不叫号；原因将被记录。", PAUSE_REASONS, paused)
