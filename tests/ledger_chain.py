"""A hall's event chain written by a test, event by event, in the shapes the hall emits (hall-api.md, Events, and
the event contract between issues 20 and 24: rating appeals, booking entries and refusals, bursts by route), signed
with the hall's key as ``kiosk sync`` signs a batch. It lets the ledger's tests say exactly what a hall did on
which day — a year of services, an appeal overturned, a kiosk booking tomorrow's slots for typed ID numbers —
without playing the hall's clock through each step."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from kiosk.domain import signing
from kiosk.domain.events import GENESIS, event_hash


class Chain:
    def __init__(self, hall: str, seed: bytes | None = None) -> None:
        self.hall = hall
        self.key = signing.private_key((seed or hall.encode()).ljust(32, b"-")[:32])
        self.events: list[dict[str, Any]] = []
        self.sent = 0  # events already handed out by next_batch()

    @property
    def public_key(self) -> str:
        return signing.public_key_text(self.key)

    def add(self, kind: str, at: str, payload: dict[str, Any], device: str | None = "counter-1") -> dict[str, Any]:
        seq = len(self.events) + 1
        prev = self.events[-1]["hash"] if self.events else GENESIS
        event = {"seq": seq, "id": f"{self.hall}-{seq}", "type": kind, "at": at, "device": device, "payload": payload,
                 "prev_hash": prev}
        event["hash"] = event_hash(prev, seq, event["id"], kind, at, device, payload)
        self.events.append(event)
        return event

    def batch(self, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        events = self.events if events is None else events
        return {"hall": self.hall, "events": events, "signature": signing.sign_batch(self.key, self.hall, events)}

    def next_batch(self) -> dict[str, Any]:
        """Everything added since the last batch."""
        events, self.sent = self.events[self.sent:], len(self.events)
        return self.batch(events)

    # -- what a hall does, in its events -------------------------------------------------------------------
    def serve(self, day: str, number: str, *, window: int = 2, clerk: str = "7", business: str = "B",
              waited: float = 10.0, level: int | None = 5, deadline: str | None = None, holder: str | None = None,
              entry: str = "card", at: str = "10:00", reasons: list[str] | None = None) -> None:
        """A ticket issued, called after ``waited`` minutes, served, and rated (``level`` None: not rated)."""
        issued = datetime.fromisoformat(f"{day}T{at}:00+08:00")
        called = issued + timedelta(minutes=waited)
        done = called + timedelta(minutes=12)
        self.add("ticket.issued", _iso(issued), {"number": number, "business": business, "day": day,
                                                 "channel": "walk_in", "priority": None,
                                                 "holder": holder or _digest(f"{self.hall}/{day}/{number}"),
                                                 "agent": False, "principals": [], "order": 1, "appointment": None,
                                                 "entry": entry}, device="kiosk-1")
        self.add("ticket.called", _iso(called), {"number": number, "window": window, "clerk_id": clerk,
                                                 "business": business, "day": day, "waited_min": waited,
                                                 "priority": None, "out_of_order": False})
        self.add("service.finished", _iso(done), {"number": number, "window": window, "clerk_id": clerk,
                                                  "business": business, "day": day, "minutes": 12.0})
        if level is not None:
            bad = level <= 2
            self.add("rating.recorded", _iso(done + timedelta(minutes=1)), {
                "number": number, "day": day, "level": level, "source": "keypad", "reasons": reasons or [],
                "window": window, "clerk_id": clerk, "business": business, "bad": bad, "callback_sample": False,
                "followup_deadline": (deadline or day) if bad else None})

    def close_followup(self, day: str, number: str, when: str, deadline: str) -> None:
        self.add("followup.closed", when, {"ticket": number, "day": day, "deadline": deadline,
                                           "late": when[:10] > deadline, "note": "已核实整改并回访"}, device="duty-desk")

    def appeal(self, day: str, number: str, when: str, outcome: str | None = None) -> None:
        """A supervisor's appeal of a bad rating (申诉), and with ``outcome`` its decision."""
        if outcome is None:
            self.add("rating.appealed", when, {"number": number, "day": day, "reason": "群众误按评价键", "by": "值班长"},
                     device="duty-desk")
        else:
            self.add("rating.appeal_decided", when, {"number": number, "day": day, "outcome": outcome,
                                                     "reason": "监控录像核实" if outcome == "overturned" else "差评属实",
                                                     "by": "复核人"}, device="duty-desk")

    def book(self, when: str, holder: str, *, kiosk: str = "kiosk-1", entry: str = "typed", business: str = "B",
             refused: str | None = None) -> None:
        if refused is None:
            start = datetime.fromisoformat(when) + timedelta(days=1)
            self.add("booking.created", when, {"booking": f"B{len(self.events):06d}", "business": business,
                                               "holder": holder, "slot_start": _iso(start),
                                               "slot_end": _iso(start + timedelta(minutes=90)), "entry": entry},
                     device=kiosk)
        else:
            self.add("booking.refused", when, {"code": refused, "business": business, "holder": holder, "day": when[:10],
                                               "entry": entry}, device=kiosk)

    def burst(self, when: str, kiosk: str = "kiosk-1", via: str = "booking") -> None:
        self.add("kiosk.burst", when, {"device": kiosk, "day": when[:10], "identities": 3, "minutes": 10, "via": via},
                 device=kiosk)

    def matter(self, number: str, opened: str, closed: str | None = None) -> None:
        self.add("matter.opened", opened, {"matter": number, "category": "refused", "description": "窗口说办不了",
                                           "ticket": None, "has_contact": False, "deadline": opened[:10]},
                 device="kiosk-1")
        if closed is not None:
            for step in ("claimed", "resolved", "called_back", "closed"):
                self.add("matter.transitioned", closed, {"matter": number, "from": "", "to": step, "note": step,
                                                         "by": "值班长"}, device="duty-desk")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
