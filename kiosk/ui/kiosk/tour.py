"""The kiosk's tour: every screen, offscreen, one PNG each, driven by real touches on the real app with the
embedded hall (the demo's) playing the rest of the hall: clerks serving, appointments, a surge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kivy.core.window import Window
from kivy.uix.widget import Widget

from kiosk.ui.hall_app import unreachable_transport
from kiosk.ui.tour_runner import TourStep, tour_of

if TYPE_CHECKING:
    from kiosk.ui.kiosk.app import KioskApp

ID_NUMBER = re.compile(r"\d{17}[\dXx]")


def raw_ids_in(flows: list[Any]) -> list[str]:
    """Where an ID number is still held in a flow's state (its attributes, their dicts and lists)."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [(type(f).__name__, vars(f)) for f in flows]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and ID_NUMBER.search(value):
            found.append(where)
        elif isinstance(value, dict):
            stack.extend((f"{where}.{k}", v) for k, v in value.items() if k != "app")
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
    return found


def steps(app: KioskApp) -> Iterator[TourStep]:
    """Every screen of the kiosk, in the order a morning's citizens would meet them."""
    sims = app.devices.simulators
    tour_case = ""  # the case opened for the first ticket (with the embedded hall)
    yield "01-home", lambda: bool(app.catalog) and app.prewarmed  # as a citizen arrives: start-up done
    yield "_home-prompt-said", lambda: not app.guide.enabled or app.guide.idle()  # a prompt heard to its end
    tour_of(app).press(app.root.get_screen("home").ids.take)
    yield "02-choose-business", lambda: app.root.current == "business"
    tile = next(w for w in app.root.get_screen("business").ids.tiles.children
                if getattr(w, "business_code", "") == "B")
    tour_of(app).press(tile)
    yield "03-identify", lambda: app.root.current == "identify"
    identify = app.root.get_screen("identify")
    keys = {b.text: b for b in [*identify.ids.keypad.children, *identify.ids.confirm_row.children]}
    for ch in "110105":
        tour_of(app).press(keys[ch])
    yield "04-identify-typing", lambda: app.root.get_screen("identify").masked != ""
    sims["idcard"].place("zhang")
    yield "05-ticket", lambda: app.root.current == "ticket" and not app.busy
    first_ticket = dict(app.ticket.last_ticket)
    sims["idcard"].remove()
    app.go_home()
    app.ticket.start()
    app.ticket.choose_business("B")
    sims["idcard"].place("zhang")
    yield "06-refused-same-business", lambda: app.root.current == "message"
    sims["idcard"].remove()
    sims["printer"].state.paper_out = True
    app.go_home()
    app.ticket.start()
    app.ticket.choose_business("D")
    yield "07-identify-printer-warning", lambda: app.root.get_screen("identify").warning != ""
    sims["idcard"].place("rare")
    yield "08-ticket-not-printed", lambda: app.root.current == "ticket" and not app.busy
    sims["idcard"].remove()
    sims["printer"].state.paper_out = False
    app.go_home()
    app.toggle_lang()
    app.toggle_large()
    yield "09-home-english-large", lambda: True
    app.toggle_lang()
    app.toggle_large()
    yield from _elderly(app)
    tour_of(app).press(app.root.get_screen("home").ids.status)
    yield "10-queue-status", lambda: app.root.current == "message"
    app.go_home()
    yield "_home", lambda: app.root.current == "home"
    if app.demo is not None:
        tour_of(app).press(app.root.get_screen("home").ids.checkin)
        yield "13-checkin-scan", lambda: app.root.current == "scan"
        sims["scanner"].scan(app.demo.sample_appointment("D"))
        yield "14-checkin-ticket", lambda: app.root.current == "ticket" and not app.busy
        _phone_away(app)
        # a booking someone typed just before the kiosk burst is checked in with the holder's own card
        from drivers.idcard.simulator import SAMPLE_CARDS

        held = app.demo.held_booking(SAMPLE_CARDS["rare"].id_number)
        app.go_home()
        yield "_home-held", lambda: app.root.current == "home"
        tour_of(app).press(app.root.get_screen("home").ids.checkin)
        yield "_checkin-held", lambda: app.root.current == "scan"
        sims["scanner"].scan(held)
        yield "14b-checkin-card", lambda: app.root.get_screen("identify").purpose == "checkin"
        _phone_away(app)
        sims["idcard"].place("rare")
        yield "14c-checkin-held-checked", lambda: app.root.current == "message" and "签到时间" in \
            app.root.get_screen("message").message  # the card was taken: only the slot's time is left to wait for
        sims["idcard"].remove()
        first = first_ticket
        case = app.demo.serve(first["number"], accepted=True)  # the application is accepted: a case opens
        assert case is not None
        tour_case = str(case["number"])
        app.demo.progress_case(tour_case, "reviewing", "材料齐全，审核中")
        app.go_home()
        yield "_home-again", lambda: app.root.current == "home"
        tour_of(app).press(app.root.get_screen("home").ids.rate)
        yield "15-rate-scan", lambda: app.root.current == "scan"
        sims["scanner"].scan(first["qr"])
        yield "16-rate-faces", lambda: app.root.current == "rate"
        _phone_away(app)
        bad = next(b for b in app.root.get_screen("rate").ids.faces.children if getattr(b, "level", 0) == 2)
        tour_of(app).press(bad)
        yield "17-rate-reasons", lambda: len(app.root.get_screen("rate").ids.reasons.children) > 0
        yield "_reasons-laid-out", lambda: True
        tour_of(app).press(app.root.get_screen("rate").ids.reasons.children[-1])  # 等候时间太长
        tour_of(app).press(app.root.get_screen("rate").ids.reasons.children[0])  # submit
        yield "18-rate-thanks", lambda: app.root.current == "message"
        app.go_home()
        yield "_home-third", lambda: app.root.current == "home"
    tour_of(app).press(app.root.get_screen("home").ids.enquiry)
    yield "19-enquiry", lambda: app.root.current == "enquiry"
    app.enquiry.show_business("B")
    app.enquiry.quote()
    yield "20-enquiry-fees", lambda: "合计" in app.root.get_screen("enquiry").detail
    app.go_home()
    yield from _more(app, tour_case)
    app.go_home()
    app.ticket.start()
    app.ticket.choose_business("A")
    sims["idcard"].place("expired")
    yield "11-expired-card", lambda: app.root.current == "message"
    sims["idcard"].remove()
    app.go_home()
    app.client.transport = unreachable_transport  # the hall service goes away
    app.catalog = []
    app.load_catalog()
    yield "12-hall-unreachable", lambda: app.root.current == "message"


def _more(app: KioskApp, tour_case: str) -> Iterator[TourStep]:
    """The helper, agents, bookings, reports, typed numbers, cases, the hall guide and a USB-HID scan."""
    sims = app.devices.simulators
    message = app.root.get_screen("message")

    def action(label: str) -> Widget:
        return _action(app, label)

    app.ticket.start()
    yield "_business", lambda: app.root.current == "business"
    tour_of(app).press(next(w for w in app.root.get_screen("business").ids.tiles.children
                    if getattr(w, "business_code", None) == ""))
    yield "21-not-sure-question", lambda: app.root.current == "message" and len(message.ids.actions.children) > 3
    tour_of(app).press(action("贷款、抵押"))
    yield "22-not-sure-followup", lambda: "还清" in message.title
    tour_of(app).press(action("贷款已还清"))
    yield "23-identify-from-helper", lambda: app.root.current == "identify"
    app.go_home()
    # a citizen starts an agent ticket, lays the card, then walks away: the idle wipe forgets the ID
    app.ticket.start()
    app.ticket.choose_business("G")
    yield "_walk-away-identify", lambda: app.root.current == "identify"
    app.ticket.start_agent()
    sims["idcard"].place("elder")
    yield "_walk-away-principal", lambda: app.ticket.agent is not None
    sims["idcard"].remove()
    assert raw_ids_in(app.flows)  # the agent's ID number is held while the flow needs it
    app.go_home()  # what the idle timer does
    yield "_identities-wiped", lambda: not raw_ids_in(app.flows)
    # G is full for today: the agent is offered a booking as a citizen is, and chooses to wait today
    yield from _agent_offered(app, sims, "G", ("_identify", "24-agent-identify", "25-agent-principal",
                                                "26-agent-principals", "26b-agent-offer"))
    tour_of(app).press(action("仍要今天排队"))
    yield "27-agent-ticket", lambda: app.root.current == "ticket" and not app.busy
    agent_ticket = dict(app.ticket.last_ticket)
    app.go_home()
    assert app.demo is not None
    app.demo.crowd("K", 40)  # a surge: today cannot serve everyone waiting for K
    yield from _offered(app, sims, "K", "28-booking-offer")
    tour_of(app).press(action("预约"))
    yield "29-booking-slip", lambda: "请取走预约凭条" in message.message
    app.go_home()
    # an agent (代办) on the same full day is offered a booking as a citizen is: it carries the principals
    yield from _agent_offered(app, sims, "K", ("_agent-identify-k", "_agent-k", "_agent-k-principal",
                                                "_agent-k-principals", "29b-agent-booking-offer"))
    tour_of(app).press(action("预约"))
    yield "29c-agent-booking-slip", lambda: "请取走预约凭条" in message.message
    app.go_home()
    # window 5 (查询 Q, X) has worked and its clerk has gone home: an X ticket may not be called today, and the
    # kiosk says so instead of minutes: the offer says why, and a ticket taken anyway, and its slip, say so too
    app.demo.close_window(5)
    yield from _offered(app, sims, "X", "29d-windows-gone-offer")
    tour_of(app).press(action("仍要取号"))
    yield "29e-windows-gone-ticket", lambda: app.root.current == "ticket" and not app.busy
    app.go_home()
    yield "_home-report", lambda: app.root.current == "home"
    tour_of(app).press(app.root.get_screen("home").ids.report)
    yield "30-report-category", lambda: app.root.current == "categories"
    tour_of(app).press(next(b for b in app.root.get_screen("categories").ids.categories.children
                    if b.text.startswith("材料要求不清")))
    yield "_report", lambda: app.root.current == "report"
    keyboard = {getattr(b, "key", ""): b for b in app.root.get_screen("report").ids.keyboard.children}
    for ch in "buzhidao":
        tour_of(app).press(keyboard[ch])
    yield "31-report-pinyin", lambda: len(app.root.get_screen("report").ids.candidates.children) > 0
    tour_of(app).press(app.root.get_screen("report").ids.candidates.children[-1])  # the first candidate: 不知道
    yield from _handwriting(app, keyboard)
    tour_of(app).press(app.root.get_screen("report").ids.phrases.children[-2])  # 材料要求前后不一致
    fields = {getattr(b, "field", "send"): b for b in app.root.get_screen("report").ids.fields.children}
    tour_of(app).press(fields["contact"])
    for ch in "13812345678":
        tour_of(app).press(keyboard[ch])
    tour_of(app).press(fields["ticket"])
    for ch in agent_ticket["number"]:
        tour_of(app).press(keyboard[ch.lower()])
    yield "32-report-filled", lambda: app.report.values["contact"] == "13812345678"
    tour_of(app).press(fields["send"])
    yield "33-report-receipt", lambda: app.report.receipt_printed is not None
    matter_code = app.report.receipt_qr  # the receipt's signed QR, for the HID scan below
    app.go_home()
    app.demo.serve(agent_ticket["number"], window=4)
    yield "_home-rate", lambda: app.root.current == "home"
    tour_of(app).press(app.root.get_screen("home").ids.rate)
    yield "_rate-scan", lambda: app.root.current == "scan"
    tour_of(app).press(app.root.get_screen("scan").ids.type_number)
    yield "34-rate-type-number", lambda: app.root.current == "entry"
    entry_keys = {b.text: b for b in app.root.get_screen("entry").ids.entry_keys.children}
    for ch in agent_ticket["number"]:
        tour_of(app).press(entry_keys[ch])
    tour_of(app).press(entry_keys["确认 OK"])
    # a typed number is no proof: the holder (here the agent, 王奶奶) lays the ID card
    yield "34b-rate-card", lambda: app.root.get_screen("identify").purpose == "rate"
    sims["idcard"].place("elder")
    yield "35-rate-typed-faces", lambda: app.root.current == "rate"
    sims["idcard"].remove()
    tour_of(app).press(next(b for b in app.root.get_screen("rate").ids.faces.children if getattr(b, "level", 0) == 5))
    yield "35b-rate-typed-thanks", lambda: app.root.current == "message" and "您的评价已记录" in message.message
    app.go_home()
    yield "_home-enquiry", lambda: app.root.current == "home"
    tour_of(app).press(app.root.get_screen("home").ids.enquiry)
    yield "_enquiry", lambda: app.root.current == "enquiry"
    tour_of(app).press(app.root.get_screen("enquiry").ids.list.children[-2])  # 大厅指引
    yield "36-hall-guide", lambda: "大厅指引" in app.root.get_screen("enquiry").detail
    tour_of(app).press(app.root.get_screen("enquiry").ids.list.children[-1])  # 办件进度查询
    yield "_case-entry", lambda: app.root.current == "entry"
    entry_keys = {b.text: b for b in app.root.get_screen("entry").ids.entry_keys.children}
    for ch in tour_case:
        tour_of(app).press(entry_keys[ch])
    yield "37-case-number", lambda: app.root.get_screen("entry").shown == tour_case
    tour_of(app).press(entry_keys["确认 OK"])
    yield "_case-identify", lambda: app.root.get_screen("identify").purpose == "case"
    sims["idcard"].place("zhang")
    yield "38-case-progress", lambda: app.root.current == "message" and "审核中" in message.message
    sims["idcard"].remove()
    app.go_home()
    app.scan.start("rate")
    yield "_scan-hid", lambda: app.root.current == "scan"
    for ch in matter_code:  # the receipt's QR, read by a USB-HID scanner that types, then Enter
        Window.dispatch("on_textinput", ch)
    Window.dispatch("on_key_down", 13, 40, None, [])
    yield "39-report-status-by-scan", lambda: "反映进度" in message.title


def _phone_away(app: KioskApp) -> None:
    """With a camera, the citizen lowers the phone after the scan (a serial scanner's code is simply read)."""
    take_away = getattr(app.devices.simulators["scanner"], "take_away", None)
    if take_away is not None:
        take_away()


def _elderly(app: KioskApp) -> Iterator[TourStep]:
    """老年人模式 from its button on the home screen, and high contrast on its own."""
    home = app.root.get_screen("home")
    normal = app.palette
    tour_of(app).press(home.ids.elderly)
    yield "40-elderly-home", lambda: app.elderly and len(home.ids.actions.children) == 3
    tour_of(app).press(home.ids.take)
    yield "41-elderly-business", lambda: app.root.current == "business"
    app.go_home()
    yield "_elderly-home-again", lambda: app.root.current == "home"
    tour_of(app).press(home.ids.elderly)
    yield "_elderly-off", lambda: not app.elderly and app.palette is normal
    app.toggle_contrast()
    yield "42-high-contrast-home", lambda: app.palette is not normal
    app.enquiry.start()
    app.enquiry.show_business("B")
    yield "43-high-contrast-enquiry", lambda: "申请材料" in app.root.get_screen("enquiry").detail
    app.toggle_contrast()
    app.go_home()
    yield "_contrast-off", lambda: app.palette is normal and app.root.current == "home"


def _action(app: KioskApp, label: str) -> Widget:
    """The message screen's action button whose label starts with ``label``."""
    return next(b for b in app.root.get_screen("message").ids.actions.children if b.text.startswith(label))


def _offered(app: KioskApp, sims: dict[str, Any], business: str, name: str) -> Iterator[TourStep]:
    """张三 lays the card for a ticket of ``business`` and is offered a booking instead (screen ``name``)."""
    app.ticket.start()
    app.ticket.choose_business(business)
    sims["idcard"].place("zhang")
    yield name, lambda: app.root.current == "message" and bool(app.ticket.offer)
    sims["idcard"].remove()


def _agent_offered(app: KioskApp, sims: dict[str, Any], business: str, names: tuple[str, str, str, str, str]
                   ) -> Iterator[TourStep]:
    """代办 on a full day: the agent chooses ``business``, identifies with a principal, asks for a ticket for
    them, and is offered a booking as a citizen is, the principals held for it."""
    app.ticket.start()
    app.ticket.choose_business(business)
    yield names[0], lambda: app.root.current == "identify"
    yield from _agent_with_principal(app, sims, names[1:4])
    tour_of(app).press(_action(app, "为以上当事人取号"))
    yield names[4], lambda: (app.root.current == "message" and bool(app.ticket.offer)
                             and app.ticket.pending_agent is not None)


def _agent_with_principal(app: KioskApp, sims: dict[str, Any], names: tuple[str, str, str]) -> Iterator[TourStep]:
    """代办: the agent lays their own card, then types the number of the person represented (an elder at home)."""
    from kiosk.domain.identity import check_char

    identify = app.root.get_screen("identify")
    tour_of(app).press(identify.ids.agent)
    yield names[0], lambda: identify.purpose == "agent"
    sims["idcard"].place("elder")
    yield names[1], lambda: identify.purpose == "principal"
    sims["idcard"].remove()
    first17 = "11010819600214007"
    keys = {b.text: b for b in [*identify.ids.keypad.children, *identify.ids.confirm_row.children]}
    for ch in first17 + check_char(first17):
        tour_of(app).press(keys[ch])
    tour_of(app).press(keys["确认 OK"])
    message = app.root.get_screen("message")
    yield names[2], lambda: app.root.current == "message" and len(message.ids.actions.children) == 2


def _handwriting(app: KioskApp, keyboard: dict[str, Widget]) -> Iterator[TourStep]:
    """手写: the citizen switches to the pad and writes 十 with a finger, then picks it."""
    screen = app.root.get_screen("report")
    tour_of(app).press(keyboard["写"])
    yield "_pad", lambda: screen.writing and screen.ids.pad.width > 100
    pad = screen.ids.pad
    for stroke in (((0.15, 0.5), (0.85, 0.5)), ((0.5, 0.1), (0.5, 0.9))):  # 一 then 丨: 十
        draw(app, pad, stroke)
    yield "44-report-handwriting", lambda: any(b.text == "十" for b in screen.ids.candidates.children[-5:])
    tour_of(app).press(next(b for b in screen.ids.candidates.children if b.text == "十"))
    yield "_written", lambda: app.report.values["description"].endswith("十")
    tour_of(app).press(screen.ids.back_to_pinyin)
    yield "_pinyin-again", lambda: not screen.writing


def draw(app: KioskApp, pad: Widget, stroke: tuple[tuple[float, float], ...], steps: int = 10) -> None:
    """A finger's stroke on the pad: down, through the points, up (fractions of the pad, y upwards)."""
    (fx0, fy0), (fx1, fy1) = stroke
    x0, y0 = pad.to_window(pad.x + fx0 * pad.width, pad.y + (1 - fy0) * pad.height)
    x1, y1 = pad.to_window(pad.x + fx1 * pad.width, pad.y + (1 - fy1) * pad.height)
    touch = tour_of(app).touch_at(x0, y0)
    touch.touch_down()
    for i in range(1, steps + 1):
        touch.touch_move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
    touch.touch_up()
