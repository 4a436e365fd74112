"""Whether a place in today's queue is given, and how: issuing a ticket, checking in an appointment, accepting
a booking offer. Pure: the hall gathers every fact the rules need in one step (kiosk/hall/gather.py), this
decides with the rules and the time passed in, and the hall applies the answer in one transaction.

A decision is one of:
- ``Refused``: a refusal. ``kept`` ones (a limit hit, the kiosk burst) are facts the hall records with their
  event; the others (a priority not allowed, the hall closed, too early to check in) leave nothing behind.
- ``Offer``: today cannot serve the ticket (its wait range reaches past closing, or its windows have gone home):
  offer a booking instead. Never a refusal: the citizen may still choose to wait. An agent (代办) is offered
  too: the offer, and the booking made of it, carry the people represented, whose limits (and the agent's)
  are decided on the slot's day when the offer is accepted. Which slot is decided next (``decide_offer``), on
  the facts only an offer needs (the person's offer still open, the places held per slot), gathered only then:
  ``Offered``, or ``instead`` the ticket when no slot is free.
- ``Issue``: a ticket, with its priority, the letter of its number and the wait its slip prints.
- ``Book``: an offered booking accepted, with how the identity was entered (typed at either step counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kiosk.domain import limits, waits
from kiosk.domain.ahead import ahead_by_business
from kiosk.domain.config import HallConfig, PriorityRules
from kiosk.domain.errors import DomainError, fail
from kiosk.domain.identity import Identity


# -- facts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """A person an agent represents, as the hall keeps them between two requests: the keyed hash and the
    masked forms, never the number or the name (those live only while the agent's request is handled)."""

    hash: str
    masked: str
    name_masked: str

    @property
    def called(self) -> str:
        """How a refusal names the person: "被代办人 张*三 "."""
        return f"被代办人 {self.name_masked or self.masked} "


@dataclass(frozen=True)
class Hours:
    """Today's opening periods and closing, with the duty desk's extension of the hours."""

    periods: tuple[tuple[datetime, datetime], ...]
    closing: datetime | None


@dataclass(frozen=True)
class Burst:
    """The typed-entry burst at one kiosk: the distinct identities typed there within the rule's minutes, and
    whether the kiosk already burst within them (typed entry stays paused)."""

    recent_typed: frozenset[str]
    paused: bool
    episode: int | None = None  # the burst on record that pauses it (its row: a refusal now counts in it)


@dataclass(frozen=True)
class IssueFacts:
    business: str
    holder: Identity
    holder_facts: limits.PersonFacts
    principals: tuple[tuple[Identity, limits.PersonFacts], ...]  # an agent's: each person represented
    agent_known: frozenset[str]  # the people this agent already took tickets for today
    claimed_priority: str | None
    accept_wait: bool            # the citizen already declined an offer: issue whatever the wait
    burst: Burst | None          # None: the rule does not apply (not a kiosk, not typed, switched off)
    hall: waits.HallFacts        # the hall as the wait estimate sees it (its periods and closing say the hours)
    waiting: Mapping[str, tuple[int, int]]  # (normal, priority) waiting in each business sharing a window


@dataclass(frozen=True)
class CheckInFacts:
    business: str
    start: datetime              # the appointment's slot
    identity_mismatch: bool      # an ID was laid and it is not the person booked
    used: bool                   # already checked in
    card_required: bool          # typed at a kiosk that then burst, and no card laid now
    hours: Hours
    person: limits.PersonFacts | None  # the person who comes, when known (blocklist, cool-down)
    principals: tuple[tuple[Principal, limits.PersonFacts], ...] = ()  # an agent's booking: the people represented


@dataclass(frozen=True)
class PrincipalBooking:
    """One person an agent's offer represents, as accepting it needs them (the same facts as a citizen's)."""

    principal: Principal
    today: limits.PersonFacts
    on_day: limits.PersonFacts
    held_since: datetime | None  # the slot of an open booking this person holds for the business, own or via any agent


@dataclass(frozen=True)
class BookingFacts:
    business: str
    entry: str                   # "typed" when typed at either step: the stricter of the two
    today: limits.PersonFacts    # today's history: the cool-down is about now
    on_day: limits.PersonFacts   # the slot day's places
    held_since: datetime | None  # the slot of an open booking this person already holds for the business
    burst: Burst | None
    principals: tuple[PrincipalBooking, ...] = ()  # an agent's offer: the people represented
    agent_known: frozenset[str] = frozenset()      # an agent's: the people it acts for on the slot's day
    agent_today: frozenset[str] = frozenset()      # and today (booking for someone is acting for them today)


# -- decisions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refused:
    error: DomainError
    kept: bool = True


@dataclass(frozen=True)
class Issue:
    priority: str | None
    prefix: str
    ahead: int | None = None                 # people ahead, and the estimate, when they decided the offer
    wait: waits.Estimate | None = None


@dataclass(frozen=True)
class Offer:
    instead: Issue


@dataclass(frozen=True)
class Offered:
    """The booking offered: the person's open offer shown again (``offer_id``), or a new one (None) on the
    first free slot, open until ``expires``."""

    offer_id: str | None
    start: datetime
    end: datetime
    expires: datetime
    wait: waits.Estimate | None  # why: the estimate that decided (its windows gone home, or past closing)


@dataclass(frozen=True)
class OpenOffer:
    offer_id: str
    start: datetime
    end: datetime
    expires: datetime


@dataclass(frozen=True)
class OfferFacts:
    """What an offer needs, gathered only once today cannot serve the ticket: the person's offer for the
    business still open for the same people (asking again reserves no second slot), and the places held per
    slot start from now on (bookings not cancelled, offers still open), by epoch seconds."""

    open: OpenOffer | None
    taken: Mapping[float, int]


@dataclass(frozen=True)
class Book:
    entry: str


IssueDecision = Refused | Offer | Issue


def decide_issue(facts: IssueFacts, config: HallConfig, now: datetime) -> IssueDecision:
    """Priority, the opening hours, every limit (the person's, or an agent's and each person's represented),
    the kiosk's typed burst, then the capacity estimate that decides whether a booking is offered."""
    try:
        priority = claimed_priority(config.priority, facts.claimed_priority, facts.holder, bool(facts.principals))
        issuing_open(config, Hours(facts.hall.periods, facts.hall.closing), now)
    except DomainError as error:
        return Refused(error, kept=False)
    try:
        if facts.principals:
            # the agent's blocklist and cool-down apply; the agent's personal ticket counts do not
            limits.check_person(config.limits, "代办人", uncounted(facts.holder_facts), now)
            limits.check_agent(config.limits, limits.AgentFacts(facts.agent_known),
                               [p.hash for p, _ in facts.principals])
            for p, seen in facts.principals:
                limits.check_person(config.limits, f"被代办人 {p.name_masked or p.masked} ", seen, now)
        else:
            limits.check_person(config.limits, "您", facts.holder_facts, now)
        if facts.burst is not None:
            limits.check_kiosk_burst(config.limits, set(facts.burst.recent_typed), facts.holder.hash,
                                     facts.burst.paused)
    except DomainError as error:
        return Refused(error)
    # capacity: never a refusal. The estimate that decides is the one the slip prints: when its range reaches
    # past closing, one holder in ten or more would not be called today, and is told so before choosing to
    # wait (an offer, not a refusal: the ticket is still issued if the citizen prefers)
    ahead = ahead_by_business(facts.business, priority is not None, facts.waiting, facts.waiting,
                                    config.priority.max_consecutive)
    wait = waits.estimate(facts.hall, ahead)
    issue = Issue(priority, facts.business, ahead.people, wait)
    slack = timedelta(minutes=config.booking.over_capacity_slack_minutes)
    # (or its windows have all gone home: nobody can say it is served today)
    over = not wait.today or (facts.hall.closing is not None and wait.high_at > facts.hall.closing + slack)
    if config.booking.offers and not facts.accept_wait and over:
        return Offer(issue)
    return issue


def decide_check_in(facts: CheckInFacts, config: HallConfig, now: datetime) -> Refused | Issue:
    """An appointment becomes a ticket of priority "appointment" inside its check-in window, while the hall
    issues, for its own holder, unless the person is blocklisted or cooling down (the counts held at booking).
    None of these refusals is kept: the citizen is told, and nothing changes."""
    rules = config.booking
    opens = facts.start - timedelta(minutes=rules.checkin_early_minutes)
    closes = facts.start + timedelta(minutes=rules.checkin_late_minutes)
    start = facts.start
    try:
        if facts.identity_mismatch:
            raise fail("IDENTITY_MISMATCH", "预约人与当前身份不一致，请本人签到。",
                       "The appointment belongs to someone else; the person booked must check in.")
        if facts.used:
            raise fail("CHECKIN_USED")
        if facts.card_required:
            # typed at a kiosk just before it burst: only the holder's own card proves the holder came
            raise fail("CARD_REQUIRED", "这个预约是在取号机手工输入身份证号时取得的，请刷预约人本人的身份证签到。",
                       "This booking was taken by typing an ID number at a kiosk that then burst: check in with "
                       "the holder's own ID card.")
        if now < opens:
            raise fail("CHECKIN_TOO_EARLY",
                       f"还没到签到时间。您预约的是 {start:%m月%d日 %H:%M}，请在 {opens:%H:%M} 以后签到。",
                       f"Too early: the appointment is at {start:%Y-%m-%d %H:%M}; check in from {opens:%H:%M}.",
                       opens_at=opens.isoformat(timespec="milliseconds"))
        if now > closes:
            raise fail("CHECKIN_TOO_LATE", f"已超过签到时间（{closes:%m月%d日 %H:%M} 前）。请现场取号或重新预约。",
                       f"Too late: check-in closed at {closes:%Y-%m-%d %H:%M}. Take a ticket or book again.")
        issuing_open(config, facts.hours, now)
        if facts.person is not None:  # a place in today's queue: the blocklist and the cool-down hold here too
            limits.check_person(config.limits, "代办人" if facts.principals else "您", uncounted(facts.person), now)
        for p, seen in facts.principals:  # and for each person an agent's booking represents
            limits.check_person(config.limits, p.called, uncounted(seen), now)
    except DomainError as error:
        return Refused(error, kept=False)
    return Issue("appointment", facts.business)


def decide_booking(facts: BookingFacts, holder: str, config: HallConfig, now: datetime) -> Refused | Book:
    """Accepting an offer ends in a place in a queue, so it is under the ticket rules (hall-api.md): today's
    blocklist and cool-down, one open booking per person and business (BOOKING_EXISTS), the slot day's
    counts, and a typed identity counts toward the kiosk's typed burst. Every refusal here is kept.

    An agent's offer is a place for the people represented, as an agent's ticket is: the agent's blocklist
    and cool-down and ``agent_principals_per_day`` on the slot's day and on the day of booking (else one
    sitting could book five people for each of the next thirty days), then each person's own rules, exactly
    as if they booked themselves; the agent's own counts do not apply."""
    try:
        if facts.principals:
            limits.check_person(config.limits, "代办人", uncounted(facts.today), now)
            party = [p.principal.hash for p in facts.principals]
            limits.check_agent(config.limits, limits.AgentFacts(facts.agent_known), party)
            limits.check_agent(config.limits, limits.AgentFacts(facts.agent_today), party)
            for p in facts.principals:
                who = p.principal.called
                limits.check_person(config.limits, who, uncounted(p.today), now)
                no_open_booking(who, "The person represented already holds", p.held_since)
                limits.check_person(config.limits, who, p.on_day, now)
        else:
            limits.check_person(config.limits, "您", uncounted(facts.today), now)
            no_open_booking("您", "You already hold", facts.held_since)
            limits.check_person(config.limits, "您", facts.on_day, now)
        if facts.burst is not None:
            limits.check_kiosk_burst(config.limits, set(facts.burst.recent_typed), holder, facts.burst.paused)
    except DomainError as error:
        return Refused(error)
    return Book(facts.entry)


# -- the rules it is made of ------------------------------------------------------------------------------
def no_open_booking(who: str, who_en: str, held_since: datetime | None) -> None:
    """One open booking per person and business, whoever booked it: the person, or any agent for them."""
    if held_since is None:
        return
    when = held_since
    raise fail("BOOKING_EXISTS",
               f"{who}已预约 {when:%m月%d日 %H:%M} 办理这项业务（本人预约或由代办人预约），请按时签到；"
               "每人每项业务只能保留一个预约。",
               f"{who_en} a booking for this business at {when:%Y-%m-%d %H:%M} (made in person or by an agent); "
               "one open booking per person and business.", slot_start=when.isoformat(timespec="milliseconds"))


def uncounted(facts: limits.PersonFacts) -> limits.PersonFacts:
    """Only the blocklist and the cool-down: an agent's own tickets, or places already counted at booking."""
    return dataclasses.replace(facts, tickets_today=0, tickets_in_business=0)


def claimed_priority(rules: PriorityRules, claimed: str | None, holder: Identity, is_agent: bool) -> str | None:
    """The priority a ticket gets: the one claimed, if it is a group and (elderly) the age allows it; else
    elderly by age alone, for a person taking their own ticket."""
    if claimed in (None, "", "none"):
        if not is_agent and "elderly" in rules.groups and holder.age >= rules.elderly_age:
            return "elderly"
        return None
    if not isinstance(claimed, str) or claimed not in rules.groups:
        raise fail("PRIORITY_INVALID", f"优先类别应为：{'、'.join(rules.groups)}。",
                   f"priority must be one of {', '.join(rules.groups)}.")
    if claimed == "elderly" and holder.age < rules.elderly_age:
        raise fail("PRIORITY_NOT_ELIGIBLE", f"老年人优先需年满 {rules.elderly_age} 周岁，请选择普通取号。",
                   f"Elderly priority starts at age {rules.elderly_age}; take a normal ticket.")
    return claimed


def issuing_open(config: HallConfig, hours: Hours, now: datetime) -> None:
    """Tickets are issued from the first period's start to the day's closing (extended by the duty desk);
    outside, HALL_CLOSED says when issuing starts again."""
    if hours.periods and hours.closing is not None and hours.periods[0][0] <= now < hours.closing:
        return
    nxt = config.calendar.next_opening(now)
    when = f"{nxt:%m月%d日 %H:%M}" if nxt else "下一个工作日"
    when_en = f"{nxt:%Y-%m-%d %H:%M}" if nxt else "the next working day"
    raise fail("HALL_CLOSED", f"现在不在办公时间，取号将于 {when} 开始。也可以在网上或微信预约。",
               f"The hall is closed; tickets are issued again from {when_en}. You can also book online.",
               opens_at=nxt.isoformat() if nxt else None)


def hours(periods: tuple[tuple[datetime, datetime], ...], extended: datetime | None) -> Hours:
    """Today's hours from the calendar's periods and the duty desk's extension (kept only when later)."""
    closing = periods[-1][1] if periods else None
    if closing is not None and extended is not None and extended > closing:
        closing = extended
    return Hours(periods, closing)


def decide_offer(offer: Offer, facts: OfferFacts, config: HallConfig, now: datetime, today: date) -> Offered | Issue:
    """The offer made: the person's open one again, else the first free slot kept for ``offer_valid_minutes``;
    with no slot free in the next 30 open days, the ticket instead."""
    why = offer.instead.wait
    if facts.open is not None:
        o = facts.open
        return Offered(o.offer_id, o.start, o.end, o.expires, why)
    slot = offer_slot(config, facts.taken, today)
    if slot is None:
        return offer.instead
    return Offered(None, slot[0], slot[1], now + timedelta(minutes=config.booking.offer_valid_minutes), why)


def offer_slot(config: HallConfig, taken: Mapping[float, int], today: date) -> tuple[datetime, datetime] | None:
    """The first slot with room in the next 30 open days after ``today`` (the hall's day): ``taken`` counts
    the bookings and live offers per slot start (epoch seconds)."""
    rules = config.booking
    cal = config.calendar
    step = timedelta(minutes=rules.slot_minutes)
    for day in cal.open_days_after(today, 30):
        for a, b in cal.periods(day):
            start = a
            while start + step <= b:
                if taken.get(start.timestamp(), 0) < rules.per_slot:
                    return start, start + step
                start += step
    return None
