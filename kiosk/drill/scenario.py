"""A drill scenario (config/drills/*.toml) and the day it plans: who comes when, for what, and how.

Pure: the plan is a function of the scenario, the hall's opening hours and the seed, so that
the same seed plays the same citizens, scalpers and service times again, and a what-if
(``--set``) changes only the rule under test. The runner plays the plan through the hall API.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.domain.config_problems import did_you_mean
from kiosk.domain.errors import KioskError
from kiosk.domain.identity import check_char

STRATEGIES = ("typed_numbers", "lent_card", "resold_ticket", "agent_over_limit")
INSIDERS = ("slot_hoarder", "rating_padder")  # kiosk/drill/insiders.py plays them
ENTRIES = ("card", "typed", "qr")


class ScenarioInvalid(KioskError, ValueError):
    """A scenario file a hall manager got wrong: the message names the key and what is expected."""


@dataclass(frozen=True)
class Scalper:
    strategy: str
    at: time
    count: int
    every_minutes: float
    kiosk: int


@dataclass(frozen=True)
class Insider:
    """Someone gaming the hall's figures from inside its processes. ``slot_hoarder``: types bought ID numbers
    at ``kiosk`` on a full day and accepts every booking offer, ``count`` numbers ``every_minutes`` apart.
    ``rating_padder``: the counter at ``window`` rates its own and other windows' services, and ``kiosk`` rates
    strangers' tickets by their numbers, ``count`` rounds ``every_minutes`` apart."""

    kind: str
    at: time
    count: int
    every_minutes: float
    kiosk: int
    window: int
    business: str | None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    day: date
    start: time                      # hall time when the drill begins (before opening: appointments are made)
    until: time | None               # stop playing arrivals here (a busy morning); None: the whole day
    kiosks: int
    arrivals: tuple[tuple[time, float], ...]  # citizens per quarter hour from each time until the next
    scale: float
    mix: dict[str, float]
    service_minutes: dict[str, float]
    service_sigma: float
    entry: dict[str, float]
    no_show: float
    elderly: float
    disabled: float
    military: float
    agent: float
    agent_principals: tuple[int, int]
    notice: float
    accepted: float
    report_matter: float
    book_when_offered: float
    ratings: dict[int, float]
    appointments: int
    closed_windows: tuple[int, ...]
    window_hours: dict[int, tuple[tuple[time, time], ...]]  # windows open only in these spans
    serve_after_close_minutes: int
    scalpers: tuple[Scalper, ...] = ()
    insiders: tuple[Insider, ...] = ()
    keypad: float = 1.0  # citizens who press the window's keypad; the others leave before it asks
    phone: float = 0.0  # of those who left, the share who rate later on the phone page
    window_pauses: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # paused, hall open

    def goes_home(self, window: int, closing: time) -> time | None:
        """When a window's clerk goes home before the hall closes (the end of its last span of hours); such a
        window does not come back after closing to finish the queue: that is the open windows' work."""
        spans = self.window_hours.get(window)
        end = spans[-1][1] if spans else None
        return end if end is not None and end < closing else None


@dataclass
class Person:
    """A citizen of the drill. ``id_number`` is synthetic (valid check digit, never a real person's)."""

    id_number: str
    name: str

    def identity(self, source: str) -> dict[str, str]:
        return {"id_number": self.id_number, "name": self.name, "source": source}


@dataclass
class Visit:
    """One arrival at a kiosk: an honest citizen, an appointment check-in, or a scalper's attempt."""

    at: datetime
    kind: str                 # "walk_in", "appointment", "scalper"
    business: str
    person: Person
    entry: str = "card"
    kiosk: int = 1
    priority: str | None = None
    principals: list[Person] = field(default_factory=list)
    no_show: bool = False
    service_minutes: float = 10.0
    notice: bool = False
    accepted: bool = True
    rating: int = 5
    keypad: bool = True  # presses the window's keypad after the service
    phone: bool = False  # else rates on the phone page (一次一评 for someone who left before the keypad asked)
    report_matter: bool = False
    book_if_offered: bool = False
    strategy: str | None = None          # scalpers: how they try
    buyer: Person | None = None           # scalpers: who comes to the window with the resold ticket
    slot: tuple[datetime, datetime] | None = None  # appointments


def _time(value: Any, key: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise ScenarioInvalid(f"{key}: 应为时间，如 \"09:00\" / expected a time such as \"09:00\", got {value!r}")


def _num(doc: dict[str, Any], key: str, default: float, lo: float = 0.0, hi: float = 1e6, path: str = "") -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ScenarioInvalid(f"{path}{key}: 应为 {lo:g} 到 {hi:g} 之间的数 / expected a number in [{lo:g}, {hi:g}], "
                              f"got {value!r}")
    return float(value)


def _weights(doc: Any, key: str) -> dict[str, float]:
    if not isinstance(doc, dict) or not doc:
        raise ScenarioInvalid(f"{key}: 应为非空的表 / expected a non-empty table")
    out = {str(k): _num(doc, k, 0, path=f"{key}.") for k in doc}
    if sum(out.values()) <= 0:
        raise ScenarioInvalid(f"{key}: 权重之和应大于0 / the weights must add up to more than 0")
    return out


KNOWN = {
    "": ("drill", "arrivals", "mix", "service_minutes", "entry", "citizens", "ratings", "appointments", "windows",
         "scalpers", "insiders"),
    "drill": ("name", "description", "date", "start", "until", "kiosks", "serve_after_close_minutes"),
    "citizens": ("no_show", "elderly", "disabled", "military", "agent", "agent_principals", "notice", "accepted",
                 "report_matter", "book_when_offered", "keypad", "phone"),
    "appointments": ("count",),
    "windows": ("closed", "hours", "pauses"),
    "scalpers": ("strategy", "at", "count", "every_minutes", "kiosk"),
    "insiders": ("kind", "at", "count", "every_minutes", "kiosk", "window", "business"),
}


def _unknown_keys(doc: dict[str, Any]) -> None:
    """A misspelt key would silently play another day than the one meant: name it, with the nearest key."""
    tables: list[tuple[str, Any]] = [("", doc)] + [(k, doc.get(k)) for k in KNOWN
                                                   if k and k not in ("scalpers", "insiders")]
    tables += [(name, item) for name in ("scalpers", "insiders") for item in doc.get(name, [])
               if isinstance(item, dict)]
    for name, table in tables:
        if not isinstance(table, dict):
            continue
        for key in table:
            if key not in KNOWN[name]:
                where = f"{name}.{key}" if name else str(key)
                hint, hint_en = did_you_mean(str(key), KNOWN[name])
                raise ScenarioInvalid(f"{where}: 未知的键{hint} unknown key{hint_en}")


def parse_scenario(doc: dict[str, Any], businesses: tuple[str, ...]) -> Scenario:
    """Validate a scenario document against the hall's businesses; every mistake is named."""
    _unknown_keys(doc)
    drill = doc.get("drill", {})
    if not isinstance(drill, dict):
        raise ScenarioInvalid("drill: 应为表 / expected a table")
    day = drill.get("date")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ScenarioInvalid(f"drill.date: 应为日期，如 2026-11-23 / expected a date, got {day!r}")
    arrivals_doc = doc.get("arrivals", {})
    if not isinstance(arrivals_doc, dict):
        raise ScenarioInvalid("arrivals: 应为表 / expected a table")
    scale = _num(arrivals_doc, "scale", 1.0, 0, 100, "arrivals.")
    arrivals = sorted((_time(k, f"arrivals.{k}"), _num(arrivals_doc, k, 0, path="arrivals."))
                      for k in arrivals_doc if k != "scale")
    if not arrivals:
        raise ScenarioInvalid("arrivals: 至少给出一个时段的到达人数 / give arrivals for at least one quarter hour")
    mix = _weights(doc.get("mix"), "mix")
    unknown = sorted(set(mix) - set(businesses))
    if unknown:
        raise ScenarioInvalid(f"mix: 没有这些业务 / unknown businesses {unknown}; 可用 available: {list(businesses)}")
    service = doc.get("service_minutes", {})
    if not isinstance(service, dict):
        raise ScenarioInvalid("service_minutes: 应为表 / expected a table")
    sigma = _num(service, "sigma", 0.5, 0, 3, "service_minutes.")
    minutes = {str(k): _num(service, k, 10, 0.5, 480, "service_minutes.") for k in service if k != "sigma"}
    entry = _weights(doc.get("entry", {"card": 1}), "entry")
    if set(entry) - set(ENTRIES):
        raise ScenarioInvalid(f"entry: 只能是 {ENTRIES} / only {ENTRIES}")
    people = doc.get("citizens", {})
    if not isinstance(people, dict):
        raise ScenarioInvalid("citizens: 应为表 / expected a table")
    share = {k: _num(people, k, d, 0, 1, "citizens.") for k, d in (
        ("no_show", 0.03), ("elderly", 0.1), ("disabled", 0.01), ("military", 0.01), ("agent", 0.04),
        ("notice", 0.15), ("accepted", 0.9), ("report_matter", 0.02), ("book_when_offered", 0.5), ("keypad", 1.0),
        ("phone", 0.0))}
    span = people.get("agent_principals", [1, 3])
    if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, int) and 1 <= v <= 20 for v in span)
            and span[0] <= span[1]):
        raise ScenarioInvalid(f"citizens.agent_principals: 应为 [最少, 最多] / expected [min, max], got {span!r}")
    ratings_doc = doc.get("ratings", {"5": 80, "4": 14, "3": 4, "2": 1.5, "1": 0.5})
    ratings = {int(k): v for k, v in _weights(ratings_doc, "ratings").items() if k in "12345"}
    windows = doc.get("windows", {})
    if not isinstance(windows, dict):
        raise ScenarioInvalid("windows: 应为表 / expected a table")
    closed = windows.get("closed", [])
    if not isinstance(closed, list) or not all(isinstance(w, int) for w in closed):
        raise ScenarioInvalid(f"windows.closed: 应为窗口号列表 / expected a list of window numbers, got {closed!r}")
    hours = _window_spans(windows, "hours")
    pauses = _window_spans(windows, "pauses")
    scalpers = []
    for i, raw in enumerate(doc.get("scalpers", [])):
        strategy = raw.get("strategy")
        if strategy not in STRATEGIES:
            raise ScenarioInvalid(f"scalpers[{i}].strategy: 应为 {STRATEGIES} 之一 / one of {STRATEGIES}, got {strategy!r}")
        scalpers.append(Scalper(strategy, _time(raw.get("at", "09:00"), f"scalpers[{i}].at"),
                                int(_num(raw, "count", 10, 1, 1000, f"scalpers[{i}].")),
                                _num(raw, "every_minutes", 0.7, 0.05, 120, f"scalpers[{i}]."),
                                int(_num(raw, "kiosk", 1, 1, 50, f"scalpers[{i}]."))))
    until = drill.get("until")
    insiders = _insiders(doc.get("insiders", []), businesses)
    return Scenario(
        name=str(drill.get("name", "drill")), description=str(drill.get("description", "")), day=day,
        start=_time(drill.get("start", "08:30"), "drill.start"),
        until=_time(until, "drill.until") if until is not None else None,
        kiosks=int(_num(drill, "kiosks", 2, 1, 50, "drill.")), arrivals=tuple(arrivals), scale=scale,
        mix=mix, service_minutes=minutes, service_sigma=sigma, entry=entry,
        no_show=share["no_show"], elderly=share["elderly"], disabled=share["disabled"], military=share["military"],
        agent=share["agent"], agent_principals=(span[0], span[1]), notice=share["notice"], accepted=share["accepted"],
        report_matter=share["report_matter"], book_when_offered=share["book_when_offered"], ratings=ratings,
        appointments=int(_num(doc.get("appointments", {}), "count", 0, 0, 10000, "appointments.")),
        closed_windows=tuple(closed), window_hours=hours,
        serve_after_close_minutes=int(_num(drill, "serve_after_close_minutes", 90, 0, 600, "drill.")),
        scalpers=tuple(scalpers), insiders=insiders, keypad=share["keypad"], phone=share["phone"],
        window_pauses=pauses)


def _insiders(raw: Any, businesses: tuple[str, ...]) -> tuple[Insider, ...]:
    if not isinstance(raw, list):
        raise ScenarioInvalid("insiders: 应为 [[insiders]] 表的列表 / expected [[insiders]] tables")
    out = []
    for i, item in enumerate(raw):
        where = f"insiders[{i}]."
        if not isinstance(item, dict):
            raise ScenarioInvalid(f"insiders[{i}]: 应为表 / expected a table")
        kind = item.get("kind")
        if kind not in INSIDERS:
            raise ScenarioInvalid(f"{where}kind: 应为 {INSIDERS} 之一 / one of {INSIDERS}, got {kind!r}")
        business = item.get("business")
        if business is not None and business not in businesses:
            raise ScenarioInvalid(f"{where}business: 没有这项业务 / unknown business {business!r}")
        out.append(Insider(kind, _time(item.get("at", "10:00"), f"{where}at"),
                           int(_num(item, "count", 12, 1, 1000, where)),
                           _num(item, "every_minutes", 0.5, 0.05, 240, where),
                           int(_num(item, "kiosk", 1, 1, 50, where)), int(_num(item, "window", 1, 1, 99, where)),
                           business))
    return tuple(out)


def _window_spans(windows: dict[str, Any], key: str) -> dict[int, tuple[tuple[time, time], ...]]:
    """``windows.hours`` (when a window is staffed) or ``windows.pauses`` (when it pauses, the hall open)."""
    out: dict[int, tuple[tuple[time, time], ...]] = {}
    for number, spans in windows.get(key, {}).items():
        if not str(number).isdigit() or not isinstance(spans, list) or not all(
                isinstance(span, list) and len(span) == 2 for span in spans):
            raise ScenarioInvalid(f"windows.{key}.{number}: 应为 [[\"09:00\", \"12:00\"], …] / expected a list of spans")
        out[int(number)] = tuple((_time(a, f"windows.{key}.{number}"), _time(b, f"windows.{key}.{number}"))
                                 for a, b in spans)
    return out


class People:
    """Synthetic, valid and distinct identity numbers; the birth year decides who is elderly."""

    def __init__(self, rng: random.Random, day: date) -> None:
        self.rng = rng
        self.day = day
        self.n = 0

    def make(self, elderly: bool = False) -> Person:
        self.n += 1
        year = self.rng.randint(self.day.year - 90, self.day.year - 72) if elderly else \
            self.rng.randint(self.day.year - 68, self.day.year - 19)
        born = date(year, self.rng.randint(1, 12), self.rng.randint(1, 28))
        area = 370102 + (self.n // 1000) % 800
        first17 = f"{area:06d}{born:%Y%m%d}{self.n % 1000:03d}"
        return Person(first17 + check_char(first17), f"市民{self.n}")


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def plan_day(sc: Scenario, periods: list[tuple[datetime, datetime]], tz: ZoneInfo, seed: int) -> list[Visit]:
    """Everyone who comes to the kiosks today, in order of arrival. ``periods``: the hall's opening hours."""
    rng = random.Random(seed)
    people = People(rng, sc.day)
    visits: list[Visit] = []
    if not periods:
        return visits
    opening, closing = periods[0][0], periods[-1][1]
    stop = min(datetime.combine(sc.day, sc.until, tz), closing) if sc.until else closing
    steps = [(datetime.combine(sc.day, t, tz), rate) for t, rate in sc.arrivals]

    def rate_at(moment: datetime) -> float:
        current = 0.0
        for at, rate in steps:
            if at <= moment:
                current = rate
        return current * sc.scale / 15.0  # per minute

    def service(business: str) -> float:
        median = sc.service_minutes.get(business, 12.0)
        return max(1.0, median * math.exp(sc.service_sigma * rng.gauss(0, 1)))

    def citizen(at: datetime, business: str, kind: str = "walk_in") -> Visit:
        elderly = rng.random() < sc.elderly
        person = people.make(elderly)
        entry = _pick(rng, sc.entry)
        claim = rng.random()
        priority = "disabled" if claim < sc.disabled else "military" if claim < sc.disabled + sc.military else None
        visit = Visit(at=at, kind=kind, business=business, person=person, entry=entry,
                      kiosk=rng.randint(1, sc.kiosks), priority=priority, no_show=rng.random() < sc.no_show,
                      service_minutes=service(business), notice=rng.random() < sc.notice,
                      accepted=rng.random() < sc.accepted, rating=int(_pick(rng, {str(k): v for k, v in
                                                                                  sc.ratings.items()})),
                      report_matter=rng.random() < sc.report_matter,
                      book_if_offered=rng.random() < sc.book_when_offered)
        if rng.random() < sc.agent:
            visit.principals = [people.make() for _ in range(rng.randint(*sc.agent_principals))]
            visit.priority = None
        return visit

    # walk-ins: a Poisson process whose rate follows the scenario's quarter hours, inside opening hours
    moment = opening
    while True:
        rate = rate_at(moment)
        moment += timedelta(minutes=rng.expovariate(rate) if rate > 0 else 15.0)
        if moment >= stop:
            break
        if rate > 0:  # tickets are issued through the lunch break too, so people keep coming
            visits.append(citizen(moment, _pick(rng, sc.mix)))

    # appointments: slots spread over the day, each citizen arriving within the check-in window
    first = max(opening, datetime.combine(sc.day, sc.start, tz))
    for _ in range(sc.appointments):
        slot_start = first + timedelta(minutes=30 * rng.randint(1, max(1, int((stop - first).total_seconds()
                                                                              // 1800) - 1)))
        arrive = slot_start - timedelta(minutes=rng.uniform(2, 25))
        visit = citizen(max(opening, arrive), _pick(rng, sc.mix), "appointment")
        visit.principals, visit.entry, visit.slot = [], "qr", (slot_start, slot_start + timedelta(minutes=30))
        visits.append(visit)

    for scalper in sc.scalpers:
        visits += _scalper_visits(sc, scalper, people, rng, tz, service)
    for insider in sc.insiders:
        if insider.kind == "slot_hoarder":  # the rating padder is no kiosk visit: it plays from the start
            visits += _hoarder_visits(sc, insider, people, rng, tz)
    # who presses the keypad and who rates on the phone: a stream of its own, so that a scenario's day is the
    # same whatever its rating shares
    raters = random.Random(seed * 7919 + 13)
    for v in visits:
        v.keypad = raters.random() < sc.keypad
        v.phone = not v.keypad and raters.random() < sc.phone
    visits.sort(key=lambda v: v.at)
    return [v for v in visits if v.at < stop]


def _scalper_visits(sc: Scenario, s: Scalper, people: People, rng: random.Random, tz: ZoneInfo,
                    service: Any) -> list[Visit]:
    """Each attempt a scalper makes; every ticket they get is sold to a buyer who comes with another ID."""
    at = datetime.combine(sc.day, s.at, tz)
    out: list[Visit] = []
    lent = people.make()  # the one card a card-lender brings again and again
    agent = people.make()
    for i in range(s.count):
        when = at + timedelta(minutes=i * s.every_minutes * rng.uniform(0.8, 1.2))
        business = _pick(rng, sc.mix)
        visit = Visit(at=when, kind="scalper", business=business, person=people.make(), entry="typed",
                      kiosk=s.kiosk, strategy=s.strategy, buyer=people.make(), service_minutes=service(business),
                      rating=5)
        if s.strategy == "lent_card":
            visit.person, visit.entry = lent, "card"
        elif s.strategy == "resold_ticket":
            visit.entry = "card"  # a seller takes a ticket with their own card, then sells it
        elif s.strategy == "agent_over_limit":
            visit.person, visit.entry = agent, "card"
            visit.principals = [people.make() for _ in range(2)]
        out.append(visit)
    return out


def _hoarder_visits(sc: Scenario, h: Insider, people: People, rng: random.Random, tz: ZoneInfo) -> list[Visit]:
    """A slot hoarder types one bought number after another (a scalper's visits, strategy ``slot_hoarder``);
    each booking got is sold to a buyer, who comes with the slip and the number typed, never with the card."""
    at = datetime.combine(sc.day, h.at, tz)
    business = h.business or max(sc.mix, key=lambda b: sc.mix[b])
    return [Visit(at=at + timedelta(minutes=i * h.every_minutes * rng.uniform(0.8, 1.2)), kind="scalper",
                  business=business, person=people.make(), entry="typed", kiosk=h.kiosk, strategy="slot_hoarder",
                  buyer=people.make(), rating=5) for i in range(h.count)]
