"""Taking a ticket: choose the business (or let two questions choose it), identify by card, typed number
or an agent's and principals' IDs, and get the ticket on paper; when today is over capacity, the on-site
booking offer. The identify screen also serves the case enquiry and a rating by typed number
(``identify("case" | "rate", then=…)``).

Raw ID numbers live only here, in memory, for the current action: ``reset()`` wipes them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from kivy.metrics import sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen

from drivers.errors import DeviceError
from drivers.printer import layouts
from kiosk.contract.client import Reply
from kiosk.contract.requests import AcceptBooking, Agent, CallStaff, IssueTicket
from kiosk.domain import labels
from kiosk.ui import fitting
from kiosk.ui.hall_app import qr_texture
from kiosk.ui.kiosk import finder
from kiosk.ui.kiosk.flows.shell import Shell
from kiosk.ui.palette import paint

ID_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "删除"]
Identity = dict[str, str]


class BusinessScreen(Screen):
    pass


class IdentifyScreen(Screen):
    business_name = StringProperty("")
    heading = StringProperty("")
    purpose = StringProperty("ticket")  # ticket | agent | principal | case | rate | checkin
    masked = StringProperty("")
    warning = StringProperty("")


class TicketScreen(Screen):
    number = StringProperty("")
    details = StringProperty("")
    spoken_wait = StringProperty("")  # the wait in words, for voice guidance
    printed = StringProperty("")
    print_ok = BooleanProperty(True)


def masked_entry(typed: str) -> str:
    """What the screen shows while a number is typed: never the middle digits."""
    if len(typed) <= 6:
        return typed[:4] + "*" * max(0, len(typed) - 4)
    return typed[:4] + "*" * (len(typed) - 6) + typed[-2:]


class TicketFlow:
    def __init__(self, app: Shell) -> None:
        self.app = app
        self.business: dict[str, Any] | None = None
        self.last_ticket: dict[str, Any] = {}
        self.reading = False  # the ID reader is being asked
        self.reset_state()

    def reset_state(self) -> None:
        # raw identities of the current action: memory only
        self.typed = ""
        self.agent: Identity | None = None
        self.principals: list[Identity] = []
        self.pending: Identity | None = None  # the identity an on-site booking offer was made to
        self.pending_agent: dict[str, Any] | None = None
        self.offer: dict[str, Any] = {}
        self.action_key = ""
        self.card_at = 0.0
        self.then: Callable[[Identity], None] | None = None

    def build(self, root: Any) -> None:
        screen = root.get_screen("identify")
        for key in [*ID_KEYS, "确认 OK"]:  # the digits in a grid; confirm across the whole width below them
            button = paint(Button(text=key, font_size="34sp"), self.app.palette,
                           "primary" if key.startswith("确认") else "key")
            button.bind(on_release=lambda b: self.key(b.text))
            (screen.ids.confirm_row if key.startswith("确认") else screen.ids.keypad).add_widget(button)
        self._build_demo_cards(screen)

    def reset(self) -> None:
        self.reset_state()
        root = self.app.root
        root.get_screen("identify").masked = ""
        ticket = root.get_screen("ticket")
        ticket.number = ticket.details = ticket.printed = ""
        sim = self.app.devices.simulators.get("idcard")
        if sim is not None and self.app.tour_dir is None:
            sim.remove()  # the demo's sample card is taken off the reader

    # -- choosing the business ----------------------------------------------------------------------
    def start(self) -> None:
        if not self.app.catalog:
            self.app.offline()
            return
        self.app.root.current = "business"

    def build_tiles(self) -> None:
        app = self.app
        tiles = app.root.get_screen("business").ids.tiles
        tiles.clear_widgets()
        for business in app.catalog:
            button = paint(Button(text=f"{business['name']}\n[size=18sp]{business['name_en']}[/size]", markup=True,
                            font_size="26sp", halign="center", valign="middle"), self.app.palette, "primary")
            button.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
            button.business_code = business["code"]
            button.bind(on_release=lambda b: self.choose_business(b.business_code))
            tiles.add_widget(button)
        helper = paint(Button(text="不知道办什么？\n[size=18sp]Not sure? Answer two questions[/size]", markup=True,
                        font_size="26sp", halign="center", valign="middle"), self.app.palette, "warn")
        helper.bind(size=lambda b, s: setattr(b, "text_size", (s[0] - 16, None)))
        helper.business_code = ""
        helper.bind(on_release=lambda _b: self.ask_guide(finder.ROOT))
        tiles.add_widget(helper)

    def ask_guide(self, question: finder.Question) -> None:
        """The "不知道办什么" helper: each answer leads to another question or straight to the business."""

        def answer(a: finder.Answer) -> Callable[[], None]:
            if a.next is not None:
                nxt = a.next
                return lambda: self.ask_guide(nxt)
            return lambda: self.choose_business(a.business)

        app = self.app
        app.show_message(app.tr(question.zh, question.en), "", question.en if app.lang == "zh" else question.zh,
                         actions=[(f"{a.zh}\n[size=16sp]{a.en}[/size]", answer(a)) for a in question.answers])

    def choose_business(self, code: str) -> None:
        self.business = next(b for b in self.app.catalog if b["code"] == code)
        self.agent, self.principals = None, []
        self.action_key = uuid.uuid4().hex  # one ticket per action, however often it is retried
        self.identify("ticket")
        self.app.background(self.app.devices.printer.status, self._printer_checked)

    def _printer_checked(self, f: Future[Any]) -> None:
        try:
            ok = f.result().can_print
        except DeviceError:
            ok = False
        self.app.root.get_screen("identify").warning = "" if ok else self.app.tr(
            "打印机暂时不能打印：号码将显示在屏幕上，请拍照留存。",
            "The printer cannot print now: your number will be shown on screen; take a photo.")

    # -- identifying ------------------------------------------------------------------------------------
    def identify(self, purpose: str, then: Callable[[Identity], None] | None = None) -> None:
        """The one identification screen (card, typed number, or an appointment QR), for every purpose;
        ``then`` receives the identity of a ``case`` enquiry."""
        app = self.app
        screen = app.root.get_screen("identify")
        screen.purpose = purpose
        if then is not None:
            self.then = then
        name = self.business["name"] if self.business and purpose not in ("case", "rate", "checkin") else ""
        screen.business_name = name
        screen.heading = {
            "ticket": app.tr(f"请确认身份：{name}", f"Identify yourself: {name}"),
            "agent": app.tr("代办取号：请先确认代办人（您本人）身份", "Agent: first identify yourself"),
            "principal": app.tr(f"请录入第 {len(self.principals) + 1} 位被代办人（当事人）身份",
                                f"Identify person {len(self.principals) + 1} you represent"),
            "case": app.tr("办件进度：请确认您是办件的申请人", "Case progress: identify yourself as the applicant"),
            "rate": app.tr("服务评价：请刷本人身份证，确认是您办理的业务",
                           "Rating: lay your own ID card; only your own service can be rated"),
            "checkin": app.tr("预约签到：请刷预约人本人的身份证", "Check-in: lay the ID card of the person booked"),
        }[purpose]
        self.typed = ""
        screen.masked = ""
        screen.warning = ""
        app.root.current = "identify"

    def identified(self, identity: Identity) -> None:
        purpose = self.app.root.get_screen("identify").purpose
        if purpose != "ticket":
            self.card_at = 0.0  # the ID-read-to-printer timing is of a card read straight to a ticket
        if purpose == "agent":
            self.agent = identity
            self.identify("principal")
        elif purpose == "principal":
            if self.agent is not None and identity["id_number"] == self.agent["id_number"]:
                self.app.root.get_screen("identify").warning = self.app.tr(
                    "被代办人不能是代办人本人，请录入当事人的身份证。", "The person represented cannot be you.")
                return
            if all(p["id_number"] != identity["id_number"] for p in self.principals):
                self.principals.append(identity)
            self._principals_added()
        elif purpose in ("case", "rate", "checkin"):
            if self.then is not None:
                self.then(identity)
        else:
            self.submit(identity)

    def start_agent(self) -> None:
        self.agent, self.principals = None, []
        self.identify("agent")

    def _principals_added(self) -> None:
        from kiosk.domain.identity import mask_number

        app = self.app
        listed = "\n".join(f"{i}. {mask_number(p['id_number'])}" for i, p in enumerate(self.principals, start=1))
        app.show_message(app.tr("已录入被代办人", "People you represent"),
                         f"{listed}\n代办人本人的取号次数不受影响；每位当事人按本人计数。",
                         "Each person represented counts against their own limits.",
                         actions=[(app.tr("再录入一位", "Add another person"), lambda: self.identify("principal")),
                                  (app.tr("为以上当事人取号", "Take the ticket"), self._submit_agent)])

    def _submit_agent(self) -> None:
        assert self.agent is not None
        self.identify("ticket")  # the progress shows on the identify screen, as for one's own ticket
        self.submit(self.agent, agent={"identity": self.agent, "principals": list(self.principals)})

    def _build_demo_cards(self, screen: IdentifyScreen) -> None:
        """In the demo the ID reader is simulated: visitors pick a sample card to lay on it."""
        sim = self.app.devices.simulators.get("idcard")
        if sim is None:
            return
        from drivers.idcard.simulator import SAMPLE_CARDS
        from kiosk.domain.identity import mask_name

        for key, card in SAMPLE_CARDS.items():
            button = paint(Button(text=f"演示身份证 Demo ID：{mask_name(card.name)}", font_size="20sp"), self.app.palette, "demo")
            button.bind(width=lambda b, w: setattr(b, "font_size", fitting.fit(b.text, w, sp(20))))
            button.bind(on_release=lambda _b, k=key: sim.place(k))
            screen.ids.demo_cards.add_widget(button)

    def key(self, key: str) -> None:
        if self.app.busy:
            return  # a second tap while the ticket is being issued does nothing
        screen = self.app.root.get_screen("identify")
        if key == "删除":
            self.typed = self.typed[:-1]
        elif key.startswith("确认"):
            if len(self.typed) != 18:
                screen.warning = self.app.tr(f"身份证号应为18位，已输入{len(self.typed)}位。",
                                             f"18 characters needed; {len(self.typed)} typed.")
                return
            self.identified({"id_number": self.typed, "name": "", "source": "typed"})
            return
        elif len(self.typed) < 18:
            self.typed += key
        screen.masked = masked_entry(self.typed)

    def poll_reader(self, _dt: float) -> None:
        app = self.app
        if app.root is None or app.root.current != "identify" or app.busy or self.reading \
                or app.devices.idcard is None:
            return
        reader = app.devices.idcard

        def done(f: Future[Any]) -> None:
            self.reading = False  # a read in progress must not block the typed way
            try:
                card = f.result()
            except DeviceError:
                return  # the typed way still works; probe tells the technician
            if card is None or app.root.current != "identify" or app.busy:
                return
            self.card_at = time.monotonic()
            # the card's valid-until date goes with it: the hall refuses an expired card (ID_EXPIRED), for the
            # kiosk and the counter alike; card entry is never rate-limited
            self.identified(card.identity())

        self.reading = True
        app.background(reader.read_card, done, app.pollers)

    # -- asking the hall ----------------------------------------------------------------------------------
    def submit(self, identity: Identity, agent: dict[str, Any] | None = None, accept_wait: bool = False) -> None:
        app = self.app
        assert self.business is not None
        app.busy = True
        # the citizen sees at once that the kiosk is working; the keys stay inert until the answer
        app.root.get_screen("identify").warning = app.tr("正在取号，请稍候…", "Taking your ticket, one moment…")
        request = IssueTicket(business=self.business["code"], identity=identity, accept_wait=accept_wait or None,
                              agent=Agent(identity=agent["identity"], principals=agent["principals"]) if agent else None)
        key = self.action_key
        self.typed = ""  # the request holds the number now; the screen state need not

        def done(reply: Reply) -> None:
            app.busy = reply.status == 201  # until the slip is printed
            if reply.status == 201:
                self.agent, self.principals, self.pending = None, [], None
                self.issued(reply.body["ticket"])
            elif reply.ok and reply.body.get("over_capacity"):
                self.pending, self.offer = identity, reply.body["booking_offer"]
                self.pending_agent = agent
                self._offered(reply.body)
            else:
                app.refused("暂不能取号", "No ticket this time", reply)

        app.ask(lambda: app.client.send(request, idempotency_key=key), done)

    # -- over capacity: an on-site booking, or a ticket for today anyway ---------------------------------
    def _offered(self, reply: dict[str, Any]) -> None:
        app = self.app
        offer = reply["booking_offer"]
        start = datetime.fromisoformat(offer["slot_start"])
        end = datetime.fromisoformat(offer["slot_end"])
        self.offer["slot"] = f"{start:%m月%d日 %H:%M}–{end:%H:%M}"
        self.offer["day"], self.offer["time"] = layouts.day_text(start), f"{start:%H:%M}–{end:%H:%M}"
        today = labels.expected_today(reply)  # False: the windows of the business have gone home
        app.show_message(app.tr("今天排队人数较多", "Busy today") if today else
                         app.tr("今天可能无法办理", "Probably not today"),
                         reply["message"], reply.get("message_en", ""),
                         actions=[(app.tr(f"预约 {self.offer['slot']}\n[size=18sp]打印预约凭条[/size]",
                                          f"Book {start:%d %b %H:%M}\n[size=18sp]prints a booking slip[/size]"),
                                   self.accept_booking),
                                  (app.tr("仍要今天排队\n[size=18sp]可能等候较久[/size]",
                                          "Wait today anyway\n[size=18sp]the wait may be long[/size]") if today else
                                   app.tr("仍要取号\n[size=18sp]今天可能叫不到[/size]",
                                          "Take a ticket anyway\n[size=18sp]may not be called today[/size]"),
                                   self.wait_today)])

    def wait_today(self) -> None:
        assert self.pending is not None
        self.action_key = uuid.uuid4().hex  # a new decision, so a new request
        identity, agent = self.pending, self.pending_agent
        self.identify("ticket")
        self.submit(identity, agent=agent, accept_wait=True)

    def accept_booking(self) -> None:
        app = self.app
        assert self.pending is not None and self.business is not None
        request = AcceptBooking(offer_id=self.offer["offer_id"], identity=self.pending)
        business_name = self.business["name"]
        offer = dict(self.offer)
        app.show_progress(app.tr("正在预约…", "Booking…"))

        def done(reply: Reply) -> None:
            self.pending = None
            if not reply.ok:
                app.refused("未能预约", "Not booked", reply)
                return
            self.agent, self.principals, self.pending_agent = None, [], None  # booked: the raw IDs go
            booking = reply.body["booking"]
            early, late = app.rule("checkin_early_minutes", 30), app.rule("checkin_late_minutes", 15)
            represented = tuple(booking.get("principals_masked") or ())
            slip = layouts.BookingSlip(app.hall_name, business_name, offer["day"], offer["time"],
                                       booking["holder_masked"], booking["code"], early, late, represented)
            text = (f"{business_name}\n预约时间：{offer['day']} {offer['time']}\n"
                    + (f"代办人 {booking['holder_masked']} 为 {'、'.join(represented)} 预约，请代办人持凭条签到。\n"
                       if represented else "")
                    + f"请在预约时间前后到取号机扫凭条上的二维码签到（提前{early}分钟至迟到{late}分钟内有效）。")
            en = ("Booked for the people you represent. " if represented else "Booked. ") + \
                "Scan the slip's QR code at a kiosk around your time to check in."
            app.show_message(app.tr("预约成功", "Booked"), text + "\n" + app.tr("正在打印凭条…", "Printing…"), en)

            def printed(f: Future[Any]) -> None:
                screen = app.root.get_screen("message")
                try:
                    f.result()
                    screen.message = text + "\n" + app.tr("请取走预约凭条。", "Take your booking slip.")
                except DeviceError:
                    screen.message = text + "\n" + app.tr("凭条未能打印，请拍下二维码。",
                                                            "The slip did not print: photograph the code.")
                    app.show_qr(booking["code"])

            app.background(lambda: app.devices.printer.print_slip(layouts.booking(slip)), printed)

        app.ask(lambda: app.client.send(request, idempotency_key=self.action_key + "-b"), done)

    # -- the ticket, on screen and on paper ---------------------------------------------------------------
    def issued(self, ticket: dict[str, Any]) -> None:
        app = self.app
        app.busy = True  # until the slip is printed
        self.last_ticket = ticket
        screen = app.root.get_screen("ticket")
        screen.number = ticket["number"]
        ahead = ticket["ahead"]
        low, high = labels.range_of(ticket)
        today = labels.expected_today(ticket)
        holder = ticket["holder_masked"] or "（预约签到 appointment）"
        wait, wait_en = (f"预计等候{labels.range_text(low, high)}", labels.range_text_en(low, high)) if today else \
            (labels.NOT_TODAY_SHORT, labels.NOT_TODAY_SHORT_EN)  # the offer just said why; the voice says it
        screen.details = (f"{ticket['business_name']}\n前面还有 {ahead} 人，{wait}"
                          f"\n{ahead} ahead · {wait_en}"
                          f"\n{'代办人' if ticket.get('agent') else '取号人'} {holder}")
        screen.spoken_wait = f"前面还有{labels.number_words(ahead)}人，" + (
            f"预计等候{labels.spoken_range(low, high)}。" if today else labels.NOT_TODAY_SPOKEN)
        screen.printed = app.tr("正在打印小票…", "Printing your slip…")
        app.root.current = "ticket"
        issued = datetime.fromisoformat(ticket["issued_at"])
        slip = layouts.TicketSlip(app.hall_name, ticket["number"], ticket["business_name"], ticket["ahead"],
                                  ticket["expected_wait_min"], ticket["holder_masked"], f"{issued:%Y-%m-%d %H:%M}",
                                  ticket["qr"], ticket.get("priority"), (low, high), today)
        card_at = self.card_at

        def print_it() -> None:
            app.devices.printer.print_slip(layouts.ticket(slip))
            if card_at:
                app.timings.took("id_read_to_printer_bytes_ms", card_at)

        self.card_at = 0.0
        app.background(print_it, lambda f: self._printed(f, ticket))

    def _printed(self, f: Future[Any], ticket: dict[str, Any]) -> None:
        app = self.app
        screen = app.root.get_screen("ticket")
        app.busy = False
        try:
            f.result()
            screen.print_ok = True
            screen.printed = app.tr("请取走小票，留意叫号。", "Take your slip and listen for your number.")
        except DeviceError:
            screen.print_ok = False
            screen.printed = app.tr("小票未能打印：请拍下号码和二维码；任何取号机可凭身份证补打。",
                                    "The slip could not print: take a photo; any kiosk can reprint it with your ID.")
            screen.ids.qr.texture = qr_texture(ticket["qr"])
            app.background(lambda: app.client.send(CallStaff(screen="printer")), lambda _f: None)
