"""The counter app's tour: every screen, offscreen, one PNG each, driven by real touches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from kiosk.ui.stage import DEMO_CLERK
from kiosk.ui.tour_runner import TourStep, tour_of

if TYPE_CHECKING:
    from kivy.uix.widget import Widget

    from kiosk.ui.choice import ChoiceScreen
    from kiosk.ui.counter.app import CounterApp
    from kiosk.ui.counter.flows.login import LoginScreen


def steps(app: CounterApp) -> Iterator[TourStep]:
    sims = app.devices.simulators
    login: LoginScreen = app.root.get_screen("login")
    desk = app.desk
    choice: ChoiceScreen = app.root.get_screen("choice")

    def key(text: str) -> Widget:
        return next(b for b in login.ids.login_keys.children if b.text == text)

    def option(label: str) -> Widget:
        return next(b for b in choice.ids.options.children if b.text.startswith(label))

    yield "01-login", lambda: app.root.current == "login"
    clerk_id, _name, pin = DEMO_CLERK
    for ch in clerk_id:
        tour_of(app).press(key(ch))
    tour_of(app).press(login.ids.pin_field)
    for ch in "0000":
        tour_of(app).press(key(ch))
    tour_of(app).press(key("登录 Log in"))
    yield "02-login-wrong-pin", lambda: bool(login.message)
    for ch in pin:
        tour_of(app).press(key(ch))
    tour_of(app).press(key("登录 Log in"))
    yield "03-desk", lambda: app.root.current == "desk" and bool(app.summary.get("waiting_tickets"))
    tour_of(app).press(desk.ids.call_next)
    yield "04-called", lambda: desk.state == "called"
    tour_of(app).press(desk.ids.start)
    yield "05-identity-check", lambda: app.root.current == "choice"
    sims["idcard"].place("elder")  # somebody else's card: not the ticket's holder
    yield "06-identity-mismatch", lambda: choice.title == "人证不一致"
    sims["idcard"].remove()
    tour_of(app).press(choice.ids.confirm)  # nothing chosen: nothing happens, the reason is required
    yield "_still-asking", lambda: app.root.current == "choice"
    tour_of(app).press(option("代办人持授权委托书"))
    tour_of(app).press(choice.ids.confirm)
    yield "07-serving-override", lambda: desk.state == "serving"
    tour_of(app).press(desk.ids.notice)
    yield "_notice", lambda: app.root.current == "choice"
    for label in ("不动产权证书", "完税凭证"):
        found = [b for b in choice.ids.options.children if label in b.text]
        if found:
            tour_of(app).press(found[0])
    if not app.root.get_screen("choice").ready:
        tour_of(app).press(choice.ids.options.children[-1])
    yield "08-notice-checklist", lambda: app.root.get_screen("choice").ready
    tour_of(app).press(choice.ids.confirm)
    yield "09-notice-printed", lambda: "已打印" in desk.banner
    tour_of(app).press(desk.ids.finish)
    yield "10-finish-choice", lambda: app.root.current == "choice"
    tour_of(app).press(option(app.tr("已受理", "Application accepted")))
    tour_of(app).press(choice.ids.confirm)
    yield "11-please-rate", lambda: "请群众在评价器上评价" in desk.banner
    sims["keypad"].press(app.keypad_address, 2)  # the citizen's finger: 不满意
    yield "12-rated-bad", lambda: "群众评价：不满意" in desk.banner
    tour_of(app).press(desk.ids.call_specific)
    yield "13-call-specific-pick", lambda: app.root.current == "choice"
    tour_of(app).press(choice.ids.options.children[0])  # the last waiting number: out of order
    tour_of(app).press(choice.ids.confirm)
    yield "_reason", lambda: choice.title.startswith("指定呼叫")
    tour_of(app).press(choice.ids.confirm)  # no reason: impossible
    yield "14-call-specific-reason-required", lambda: not choice.ready and app.root.current == "choice"
    tour_of(app).press(option("预约群众到场"))
    tour_of(app).press(choice.ids.confirm)
    yield "15-called-out-of-order", lambda: "原因已记录" in desk.banner
    tour_of(app).press(desk.ids.transfer)
    yield "16-transfer", lambda: app.root.current == "choice"
    tour_of(app).press(choice.ids.options.children[-1])
    tour_of(app).press(choice.ids.confirm)
    yield "_transfer-reason", lambda: choice.title == "转办原因"
    tour_of(app).press(option("需其他窗口协办"))
    tour_of(app).press(choice.ids.confirm)
    yield "17-transferred", lambda: "已转办" in desk.banner
    tour_of(app).press(desk.ids.call_next)
    yield "_called-again", lambda: desk.state == "called"
    tour_of(app).press(desk.ids.start)
    yield "_start-no-card", lambda: app.root.current == "choice"
    tour_of(app).press(option(app.tr("不读卡", "Start without")))
    tour_of(app).press(choice.ids.confirm)
    yield "_serving", lambda: desk.state == "serving"
    sims["printer"].state.paper_out = True
    tour_of(app).press(desk.ids.notice)
    yield "_notice-2", lambda: app.root.current == "choice"
    tour_of(app).press(choice.ids.options.children[-1])
    tour_of(app).press(choice.ids.confirm)
    yield "18-notice-on-screen", lambda: app.root.current == "info"
    sims["printer"].state.paper_out = False
    tour_of(app).press(app.root.get_screen("info").ids.back)
    yield "_desk", lambda: app.root.current == "desk"
    tour_of(app).press(desk.ids.finish)
    yield "_finish-2", lambda: app.root.current == "choice"
    tour_of(app).press(option(app.tr("未受理", "Not accepted")))
    tour_of(app).press(choice.ids.confirm)
    yield "_asked", lambda: bool(app.rating.asking)
    sims["keypad"].faults.unplugged.add(app.keypad_address)  # unplugged in the middle of the rating
    yield "19-keypad-unplugged", lambda: "评价器离线" in desk.banner
    sims["keypad"].faults.unplugged.discard(app.keypad_address)
    yield "_keypad-back", lambda: app.rating.online
    tour_of(app).press(desk.ids.pause)
    yield "20-pause-reason", lambda: app.root.current == "choice"
    tour_of(app).press(option("业务会商"))
    tour_of(app).press(choice.ids.confirm)
    yield "21-paused", lambda: desk.state_text.startswith("暂停")
    tour_of(app).press(desk.ids.pause)
    yield "_resumed", lambda: desk.state_text == "办理中"
    tour_of(app).press(desk.ids.logout)
    yield "22-logged-out", lambda: app.root.current == "login"
