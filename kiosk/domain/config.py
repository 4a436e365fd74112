"""The hall's configuration: its shape, its defaults, and why each knob is there.

Every rule a hall may set is a field here, with its default written once: the parser
(kiosk.domain.config_parse) reads the TOML keys from these fields' names and falls back to these defaults,
so a new rule cannot be forgotten by the parser nor documented twice. The records are frozen: a hall's
rules change by editing its file and restarting, never while tickets are being issued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from kiosk.domain.calendar import HallCalendar
from kiosk.domain.catalog import Business, FeeSchedule

__all__ = [
    "BookingRules", "CallingRules", "HallConfig", "KioskBurst", "Limits", "MatterCategory",
    "MatterRules", "NationalCalendar", "PriorityRules", "RatingRules", "SecurityRules", "Window",
]


@dataclass(frozen=True)
class KioskBurst:
    """Typed ID numbers from one kiosk that pause it: ``identities`` different people within ``minutes``.

    A scalper holding places for sale types many ID numbers at one kiosk in a short while; an honest
    citizen lays their own card. Only typed identities count: a card on the reader is never slowed down.
    """

    identities: int
    minutes: int


@dataclass(frozen=True)
class Limits:
    """What one person, one agent and one kiosk may take, against scalpers (R1: 杜绝黄牛倒号) without
    rationing honest citizens. Configurable per hall because local rules differ; the defaults are the
    contract's."""

    per_person_per_day: int = 3  # tickets one identity may take in a business day, all businesses together
    per_person_per_business: int = 1  # ...for one business: a lost slip is reprinted, not re-taken
    agent_principals_per_day: int = 5  # different people an agent (代办人) may take tickets for in a day
    no_show_cooldown_minutes: int = 30  # after missing a call, the wait before taking a new ticket; 0: none
    no_show_cooldown_after: int = 1  # missed calls in a day before the cool-down applies
    kiosk_burst: KioskBurst | None = KioskBurst(4, 10)  # None (``false`` in the file): no burst detection


@dataclass(frozen=True)
class PriorityRules:
    """Who is served first (老年人、残疾人、军人…), and how the normal queue is kept from starving."""

    elderly_age: int = 70  # from this age a holder's own ticket is a priority one without asking
    groups: tuple[str, ...] = ("elderly", "disabled", "military")  # the priority groups this hall grants
    max_consecutive: int = 2  # priority calls in a row while normal tickets wait


@dataclass(frozen=True)
class CallingRules:
    """How patient the windows are with a called citizen, and when a wait is too long (R2 超时预警)."""

    no_show_after_calls: int = 1  # calls (first call and recalls) before a ticket may be marked a no-show
    long_wait_minutes: int = 60  # a wait longer than this is flagged on the queue status for the duty desk


@dataclass(frozen=True)
class BookingRules:
    """On-site booking (现场预约): when today cannot serve a citizen, offer a later time, never a refusal
    (R1 "超过当日受理能力的，应当采取现场预约"); and the window for checking in appointments."""

    slot_minutes: int = 30  # length of one booking slot
    per_slot: int = 4  # bookings one slot takes
    checkin_early_minutes: int = 30  # an appointment may be checked in this long before its slot
    checkin_late_minutes: int = 15  # ...and this long after its start
    offer_valid_minutes: int = 10  # an offered slot is held this long while the citizen decides
    over_capacity_slack_minutes: int = 0  # how far past closing the estimate may reach before an offer
    offers: bool = True  # false: never offer bookings (load tests, drills); tickets are always issued


@dataclass(frozen=True)
class RatingRules:
    """Satisfaction ratings (好差评, R6): one rating a service, and what a bad one sets in motion."""

    followup_days: int = 5  # working days to verify, rectify and call back after a bad rating (local rules: 5–15)
    callback_sample_percent: int = 5  # share of services drawn for a phone callback (电话抽样回访)
    keypad_minutes: int = 10  # a keypad press counts within this of the finish (by the press's own time)
    late_days: int = 1  # the phone and kiosks take a rating until the end of this many working days after


@dataclass(frozen=True)
class MatterCategory:
    """A kind of "办不成事" report the citizen picks from; named by the hall, reported to the province."""

    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class MatterRules:
    """"办不成事" reports (R5): the deadline to close one, and the categories citizens choose from."""

    deadline_days: int = 5  # working days from opening (挂账) to closing (销号)
    categories: tuple[MatterCategory, ...] = ()


@dataclass(frozen=True)
class SecurityRules:
    """Staff sign-in at the windows and the duty desk (R9): guessing a PIN must be slow, and a forgotten
    session must end."""

    pin_max_failures: int = 5  # wrong PINs in a row before the account is locked
    pin_lockout_minutes: int = 15  # how long it stays locked
    session_hours: int = 12  # a signed-in session ends after this, whatever happens (one working day)


@dataclass(frozen=True)
class Window:
    """A service window (窗口) and the businesses it serves: which tickets it may call."""

    number: int
    name: str
    businesses: tuple[str, ...]  # business codes (the ticket's prefix letter), resolved from codes or keys


@dataclass(frozen=True)
class NationalCalendar:
    """The State Council's holidays and make-up working days, by year (from the chinesecalendar package).

    Passed into the parser, not read by it, so that the domain stays free of the package and of I/O; the
    hall's ``[calendar]`` adds its local days to it.
    """

    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class HallConfig:
    """One hall, as its files describe it: everything an operation needs to decide, and nothing read later."""

    hall_id: str
    name: str
    region: str  # administrative region code, used by the 好差评 export
    calendar: HallCalendar
    windows: tuple[Window, ...]
    businesses: tuple[Business, ...]
    fees: FeeSchedule
    limits: Limits = field(default_factory=Limits)
    priority: PriorityRules = field(default_factory=PriorityRules)
    calling: CallingRules = field(default_factory=CallingRules)
    booking: BookingRules = field(default_factory=BookingRules)
    ratings: RatingRules = field(default_factory=RatingRules)
    matters: MatterRules = field(default_factory=MatterRules)
    security: SecurityRules = field(default_factory=SecurityRules)
    public_url: str = ""  # where phones reach the hall's queue page (https://…); "" keeps the plain ticket QR

    def business(self, code: str) -> Business | None:
        """By its ticket letter or its English key: both spellings reach the same business."""
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Business]:
        """Every ticket asks for its business twice or more: a look-up, not a scan. The first business listed
        with that letter or key, as the scan found it."""
        found: dict[str, Business] = {}
        for b in self.businesses:
            found.setdefault(b.code, b)
            found.setdefault(b.key, b)
        return found

    def window(self, number: int) -> Window | None:
        return next((w for w in self.windows if w.number == number), None)

    def windows_for(self, code: str) -> list[int]:
        return [w.number for w in self.windows if code in w.businesses]

    def category(self, cid: str) -> MatterCategory | None:
        return next((c for c in self.matters.categories if c.id == cid or c.name == cid), None)
