"""The drill's insiders: people who game the hall's figures from inside its processes, played through the
same API as everyone else, with what they got counted for the report.

- The **slot hoarder** (号源囤积) types bought ID numbers at a kiosk on a full day and accepts every booking
  offer, to sell tomorrow's slots; when a kiosk stops typed entry he walks to the next. At the end of the day
  each booking he got is tried as his buyer would use it: checked in with the slip and the number typed (the
  buyer has no card). ``hoarded_slots`` counts the bookings that would check in so; a kiosk burst puts the
  typed bookings before it on hold, to be checked in with the holder's own card only.
- The **rating padder** (刷评) is the counter at one window rating other windows' services on their keypad
  channel, its own services through channels it does not have (kiosk, phone) or long after the keypad asked
  (naming a press time of its choosing), and a kiosk rating strangers' tickets by number, bare or with a
  typed stranger's identity. ``forged_ratings_accepted`` counts every such rating the hall took. The padder
  does not rate its own window's service in the minutes a keypad press is still due: the hall cannot tell
  that from the keypad's own press (the ledger watches keypad ratings for patterns instead).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kiosk.contract import requests as rq
from kiosk.domain.codes import code_of
from kiosk.domain.identity import check_char
from kiosk.drill.scenario import Insider, Visit

if TYPE_CHECKING:
    from kiosk.drill.day import Day

GRACE = timedelta(minutes=2)  # after the keypad minutes: a press could still be on its way to the hall
ANSWERS = {"RATING_NOT_YOURS": "不是本设备能评价的服务", "RATING_NEEDS_SLIP": "仅凭号码不能评价",
           "RATING_CLOSED": "评价时间已过", "RATING_EXISTS": "群众本人已评价", "ACCEPTED": "被接受"}


class Insiders:
    def __init__(self, runner: Day) -> None:
        self.r = runner
        self.bookings: list[tuple[Visit, dict[str, Any]]] = []  # what the hoarder got
        self.hoarder_outcomes: Counter[str] = Counter()
        self.usable: list[str] = []  # hoarded bookings a buyer could check in with the slip and the typed number
        self.held: list[str] = []
        self.moved = 0  # a hoarder stopped at one kiosk walks on to the next
        self.padding: Counter[str] = Counter()  # each forged rating's answer (ACCEPTED: the hall took it)
        self.padded: set[tuple[str, str, str]] = set()  # (device token, what, ticket): each forgery tried once
        self.keypad_minutes = 10
        self._lock = threading.Lock()
        self._strangers = 0

    # -- the slot hoarder: one of the kiosks' visits ------------------------------------------------------------
    def hoard(self, v: Visit) -> None:
        r = self.r
        kiosks = len(r.tokens.kiosks)
        kiosk = r.api.client(r.tokens.kiosks[(v.kiosk - 1 + self.moved) % kiosks])
        identity = v.person.identity("typed")
        reply = kiosk.send(rq.IssueTicket(business=v.business, identity=identity))
        if reply.status == 200 and reply.body.get("over_capacity"):
            reply = kiosk.send(rq.AcceptBooking(offer_id=reply.body["booking_offer"]["offer_id"], identity=identity))
            if reply.status == 201:
                self.bookings.append((v, reply.body["booking"]))
                self.hoarder_outcomes["BOOKED"] += 1
                return
        elif reply.status == 201:  # not a full day (yet): a ticket to sell, which the window's identity check stops
            r.issued(v, reply.body["ticket"])
            self.hoarder_outcomes["TICKET"] += 1
            return
        code = str(reply.error.get("code", f"HTTP_{reply.status}"))
        self.hoarder_outcomes[code] += 1
        if code == "KIOSK_BURST":
            self.moved += 1

    def try_hoarded(self) -> None:
        """The buyer of each hoarded booking checks in with the slip and the number the hoarder typed."""
        kiosk = self.r.api.client(self.r.tokens.kiosks[0])
        for v, booking in self.bookings:
            reply = kiosk.send(rq.CheckIn(code=booking["code"], identity=v.person.identity("typed")))
            code = str(reply.error.get("code", reply.status))
            # too early is no defence: at its time the same check-in goes through
            (self.usable if reply.status == 201 or code == "CHECKIN_TOO_EARLY" else self.held).append(booking["id"])

    # -- the rating padder: a thread of its own -------------------------------------------------------------------
    def threads(self) -> list[threading.Thread]:
        catalog = self.r.api.client(self.r.tokens.kiosks[0]).send(rq.GetCatalog())
        if catalog.status == 200:
            rules = catalog.body.get("rules", {})
            self.keypad_minutes = int(rules.get("rating_keypad_minutes", self.keypad_minutes))
        return [threading.Thread(target=self.r.guard(self._padder(p)), name=f"padder-{i}")
                for i, p in enumerate(self.r.sc.insiders) if p.kind == "rating_padder"]

    def _padder(self, p: Insider) -> Callable[[], None]:
        def run() -> None:
            r = self.r
            if not r.clock.sleep_until(datetime.combine(r.sc.day, p.at, r.clock.now().tzinfo), r.stop):
                return
            for _ in range(p.count):
                self._pad_round(p)
                if not r.clock.sleep(p.every_minutes, r.stop):
                    break
        return run

    def finish(self) -> None:
        """As the day ends: the padders' last round over every service, and the hoarder's buyers' check-ins."""
        for p in self.r.sc.insiders:
            if p.kind == "rating_padder":
                self._pad_round(p)
        self.try_hoarded()

    def _pad_round(self, p: Insider) -> None:
        r = self.r
        now = r.clock.now()
        with r.record.lock:
            done = [t for t in r.record.tickets.values() if t.outcome == "served" and t.rating_done
                    and t.finished_at is not None and t.window is not None]
        counter = r.tokens.counters.get(p.window)
        kiosk = r.tokens.kiosks[(p.kiosk - 1) % len(r.tokens.kiosks)]
        for t in done:
            number = t.number
            assert t.finished_at is not None
            # every forgery is an ordinary typed rating: the channel (source) is a field the sender fills in, so
            # the lie is told in the request itself and it is the hall that must refuse it
            if counter is not None and t.window != p.window:  # another window's service, on the keypad channel
                self._forge(("keypad-other", number), counter, rq.Rate(ticket=number, level=5, source="keypad"))
            elif counter is not None:  # its own service: through the citizen's channels, or long after
                self._forge(("kiosk-claim", number), counter,
                            rq.Rate(ticket=code_of(t.qr) if t.qr else number, level=5, source="kiosk"))
                if now - t.finished_at > timedelta(minutes=self.keypad_minutes) + GRACE:
                    pressed = t.finished_at + timedelta(minutes=1)
                    self._forge(("keypad-late", number), counter,
                                rq.Rate(ticket=number, level=5, source="keypad", pressed_at=pressed.isoformat()))
            # a kiosk rating a stranger's ticket by its number: bare, and with a typed identity of someone else
            self._forge(("kiosk-bare", number), kiosk, rq.Rate(ticket=number, level=5, source="kiosk"))
            stranger = self._stranger()
            self._forge(("kiosk-typed", number), kiosk,
                        rq.Rate(ticket=number, level=5, source="kiosk", identity=stranger))

    def _stranger(self) -> dict[str, str]:
        """A valid number nobody in the drill holds (another province's area code)."""
        with self._lock:
            self._strangers += 1
            n = self._strangers
        first17 = f"530102{1960 + n % 40}0{1 + n % 9}1{n % 10}{n % 1000:03d}"
        return {"id_number": first17 + check_char(first17), "name": "", "source": "typed"}

    def _forge(self, key: tuple[str, str], token: str, rating: rq.Rate) -> None:
        with self._lock:
            if (token, *key) in self.padded:
                return
            self.padded.add((token, *key))
        reply = self.r.api.client(token).send(rating)
        outcome = "ACCEPTED" if reply.status in (200, 201) else str(reply.error.get("code", f"HTTP_{reply.status}"))
        with self._lock:
            self.padding[outcome] += 1

    # -- the report -------------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {
            "hoarded_slots": len(self.usable),
            "forged_ratings_accepted": self.padding.get("ACCEPTED", 0),
            "insiders": {
                "slot_hoarder": {"attempts": sum(self.hoarder_outcomes.values()), "bookings": len(self.bookings),
                                 "bookings_on_hold": len(self.held), "usable_by_a_buyer": len(self.usable),
                                 "outcomes": dict(self.hoarder_outcomes)},
                "rating_padder": {"attempts": sum(self.padding.values()), "answers": dict(self.padding)},
            },
        }


def describe(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The insiders' day in words for report.html: (Chinese, English) sentences."""
    ins = summary.get("insiders")
    if not ins:
        return []
    h, p = ins["slot_hoarder"], ins["rating_padder"]
    out: list[tuple[str, str]] = []
    if h["attempts"]:
        refused = sum(n for k, n in h["outcomes"].items() if k not in ("BOOKED", "TICKET"))
        out.append((f"号源囤积：囤号者在取号机上手工输入了 {h['attempts']} 个他人身份证号，取得 {h['bookings']} 个预约，"
                    f"{refused} 次被拒；取得的预约中 {h['bookings_on_hold']} 个因取号机手工输入突增被挂起"
                    f"（须预约人本人身份证签到），买号者凭凭条和号码能用的预约号源为 {summary['hoarded_slots']} 个。",
                    f"Slot hoarding: the hoarder typed {h['attempts']} other people's ID numbers, got {h['bookings']} "
                    f"bookings and was refused {refused} times; {h['bookings_on_hold']} of the bookings were put on hold "
                    f"by the kiosk burst (check-in with the holder's own card only); slots a buyer could use: "
                    f"{summary['hoarded_slots']}."))
    else:
        out.append(("本次演练没有安排囤号者。", "No slot hoarder played this day."))
    if p["attempts"]:
        answers = "、".join(f"{ANSWERS.get(k, k)}（{k}）{n} 次" for k, n in sorted(p["answers"].items()))
        out.append((f"刷评：窗口和取号机共尝试代替群众评价 {p['attempts']} 次，大厅接受了 {summary['forged_ratings_accepted']} 次"
                    f"（大厅的答复：{answers}）。评价只能由群众本人作出。",
                    f"Rating padding: a window and a kiosk tried {p['attempts']} ratings in citizens' stead; the hall "
                    f"took {summary['forged_ratings_accepted']}. Only the citizen rates."))
    else:
        out.append(("本次演练没有安排刷评者。", "No rating padder played this day."))
    return out
