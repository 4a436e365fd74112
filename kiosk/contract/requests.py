"""Typed requests: one frozen dataclass per operation of the hall, reads included (a read's fields come from
its path and query string, a change's from its path and JSON body). The hall's API parses them with
kiosk/contract/wire.py, the client (kiosk/contract/client.py) sends them, and the OpenAPI document is
generated from them: what is documented is what is parsed and what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.contract.wire import RawIdentity, path, query, wire
from kiosk.domain import cases


@dataclass(frozen=True, kw_only=True)
class Empty:
    """An operation that needs nothing but its caller."""


@dataclass(frozen=True, kw_only=True)
class EscalateOverdue(Empty):
    """Escalate overdue matters and follow-ups now (the hall also does it by itself every minute)."""


@dataclass(frozen=True, kw_only=True)
class Agent:
    identity: RawIdentity | None = wire("ID_INVALID", doc="the agent (代办人)")
    principals: list[RawIdentity] | None = wire("PRINCIPALS_REQUIRED", doc="the people represented")


@dataclass(frozen=True, kw_only=True)
class IssueTicket:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True, doc="the business's code (ticket prefix)")
    identity: RawIdentity | None = wire("ID_INVALID")
    agent: Agent | None = wire()
    priority: str | None = wire("PRIORITY_INVALID", doc="a priority group of the hall's rules")
    accept_wait: bool | None = wire(doc="true: wait today even though a booking was offered")


@dataclass(frozen=True, kw_only=True)
class CheckIn:
    code: str | None = wire("QR_INVALID", required=True, doc="the scanned appointment or booking QR text")
    identity: RawIdentity | None = wire("ID_INVALID")


@dataclass(frozen=True, kw_only=True)
class AcceptBooking:
    offer_id: str | None = wire("OFFER_NOT_FOUND", required=True)
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class Reprint:
    number: str = path("the ticket's number, e.g. A007")
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class VerifyQr:
    """A scanned ticket slip's QR text: the ticket, or QR_INVALID for a forged, altered or foreign code."""
    qr: str | None = wire("QR_INVALID", required=True, doc="the scanned QR text")


@dataclass(frozen=True, kw_only=True)
class VerifyMatter(VerifyQr):
    """A scanned 办不成事 receipt's QR text: the matter's progress."""


@dataclass(frozen=True, kw_only=True)
class FeeQuote:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True)
    property_kind: Literal["residential", "non_residential"] | None = wire("PROPERTY_KIND_INVALID")
    certificates: int | None = wire("CERTIFICATES_INVALID")
    reductions: list[str] | None = wire(doc="reduction ids of the fee rules")


@dataclass(frozen=True, kw_only=True)
class Rate:
    ticket: str | None = wire("TICKET_NOT_FOUND", required=True,
                              doc="the slip's QR text; a ticket number only from the keypad, or with the holder's identity")
    level: int | None = wire("LEVEL_INVALID", required=True, minimum=1, maximum=5)
    source: Literal["keypad", "kiosk", "phone"] | None = wire("SOURCE_INVALID", required=True,
                                                               doc="the channel: the sending device's own")
    reasons: list[str] | None = wire(max_items=10)
    identity: RawIdentity | None = wire("ID_INVALID", doc="kiosk: the holder's identity, with a ticket number")
    pressed_at: str | None = wire("PRESS_TIME_INVALID",
                                  doc="keypad: when the citizen pressed (ISO 8601 with offset, hall time)")


@dataclass(frozen=True, kw_only=True)
class PhoneRate:
    c: str | None = wire("QR_INVALID", required=True, doc="the slip's signed code")
    level: int | None = wire("LEVEL_INVALID", required=True, minimum=1, maximum=5)
    reasons: list[str] | None = wire(max_items=10)


@dataclass(frozen=True, kw_only=True)
class AppealRating:
    day: str = path("the rating's business day, YYYY-MM-DD")
    number: str = path("the rated ticket's number")
    reason: str | None = wire("REASON_REQUIRED", required=True, doc="why it is appealed (recorded)")
    by: str | None = wire(doc="who acted (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class DecideAppeal:
    day: str = path("the rating's business day, YYYY-MM-DD")
    number: str = path("the rated ticket's number")
    outcome: Literal["upheld", "overturned"] | None = wire("APPEAL_INVALID", required=True,
                                                           doc="upheld: the rating stands; overturned: it leaves the counts")
    reason: str | None = wire("REASON_REQUIRED", required=True, doc="the finding (recorded)")
    by: str | None = wire(doc="who decided (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class CallStaff:
    screen: str | None = wire(doc="the screen the citizen was on")


@dataclass(frozen=True, kw_only=True)
class ReportMatter:
    category: str | None = wire("CATEGORY_UNKNOWN", required=True)
    description: str | None = wire("DESCRIPTION_REQUIRED", required=True)
    contact: str | None = wire("CONTACT_INVALID", doc="a phone number, optional")
    ticket: str | None = wire("TICKET_NOT_FOUND")


@dataclass(frozen=True, kw_only=True)
class QueryCase:
    case_number: str | None = wire("CASE_NUMBER_INVALID", required=True)
    identity: RawIdentity | None = wire("ID_INVALID", required=True)


@dataclass(frozen=True, kw_only=True)
class Login:
    window: int = path("the window's number")
    clerk_id: str | None = wire(required=True)
    pin: str | None = wire(required=True)


@dataclass(frozen=True, kw_only=True)
class AtWindow:
    """An action at a window that needs nothing else."""
    window: int = path("the window's number")


@dataclass(frozen=True, kw_only=True)
class CallNext(AtWindow):
    """The next ticket for this window's businesses, in order."""


@dataclass(frozen=True, kw_only=True)
class Recall(AtWindow):
    """Call the current ticket again."""


@dataclass(frozen=True, kw_only=True)
class NoShow(AtWindow):
    """The called ticket did not come."""


@dataclass(frozen=True, kw_only=True)
class Logout(AtWindow):
    """The clerk leaves: the window closes."""


@dataclass(frozen=True, kw_only=True)
class CallTicket:
    window: int = path("the window's number")
    number: str | None = wire("TICKET_NOT_FOUND", doc="the ticket to call out of order")
    reason: str | None = wire("REASON_REQUIRED", doc="recorded with the call")


@dataclass(frozen=True, kw_only=True)
class StartService:
    window: int = path("the window's number")
    identity: RawIdentity | None = wire("ID_INVALID", doc="the person at the window (人证核验)")
    override_reason: str | None = wire("REASON_REQUIRED")


@dataclass(frozen=True, kw_only=True)
class Notice:
    window: int = path("the window's number")
    missing: list[str] | None = wire("MISSING_REQUIRED", doc="material ids of the business's list")
    case_number: str | None = wire()


@dataclass(frozen=True, kw_only=True)
class Transfer:
    window: int = path("the window's number")
    to_window: int | None = wire("WINDOW_UNKNOWN")
    to_business: str | None = wire("UNKNOWN_BUSINESS")
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class Finish:
    window: int = path("the window's number")
    accepted: bool | None = wire(doc="true: the application was accepted and a case opens")


@dataclass(frozen=True, kw_only=True)
class WindowReason:
    """A window and why."""
    window: int = path("the window's number")
    reason: str | None = wire("REASON_REQUIRED")


@dataclass(frozen=True, kw_only=True)
class Pause(WindowReason):
    """The window stops calling for a while: ``minutes`` says how long it expects to be away (a clerk's lunch),
    and every wait told meanwhile counts on it from then."""

    minutes: int | None = wire(doc="how long the window expects to be away, 1 to 240 minutes", minimum=1, maximum=240)


@dataclass(frozen=True, kw_only=True)
class Resume(WindowReason):
    """The window calls again."""


@dataclass(frozen=True, kw_only=True)
class TransitionMatter:
    number: str = path("the matter's number")
    to: Literal["claimed", "resolved", "called_back", "closed", "note"] | None = wire("TRANSITION_INVALID",
                                                                                      required=True)
    note: str | None = wire("REASON_REQUIRED")
    by: str | None = wire(doc="who acted (the duty desk's name by default)")


@dataclass(frozen=True, kw_only=True)
class CaseProgress:
    number: str = path("the case number")
    stage: str | None = wire("STAGE_UNKNOWN", required=True, choices=tuple(cases.STAGES))
    note: str | None = wire()


@dataclass(frozen=True, kw_only=True)
class CreateAppointment:
    business: str | None = wire("UNKNOWN_BUSINESS", required=True)
    slot_start: str | None = wire(required=True, doc="ISO 8601 with offset")
    slot_end: str | None = wire(required=True, doc="ISO 8601 with offset")
    identity: RawIdentity | None = wire("ID_INVALID")


@dataclass(frozen=True, kw_only=True)
class Blocklist:
    identity: RawIdentity | None = wire("ID_INVALID", required=True)
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class ExtendHours:
    until: str | None = wire("UNTIL_INVALID", required=True, doc="HH:MM today")
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class OpenTemporary:
    window: int = path("the window's number")
    businesses: list[str] | None = wire("BUSINESSES_REQUIRED", required=True)
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class WindowLeaves:
    """The roster: a window closes for the day before the hall does (a clerk's shift ends), or is away for a
    while and back (``back``: a staggered lunch), so that every wait told from now on counts on it only while
    it is there."""

    window: int = path("the window's number")
    at: str | None = wire("UNTIL_INVALID", required=True, doc="HH:MM today")
    back: str | None = wire("UNTIL_INVALID", doc="HH:MM today: back then (none: gone for the day)")
    reason: str | None = wire("REASON_REQUIRED", required=True)


@dataclass(frozen=True, kw_only=True)
class CloseFollowup:
    number: str = path("the follow-up's id")
    note: str | None = wire("REASON_REQUIRED", required=True, doc="what was done")


@dataclass(frozen=True, kw_only=True)
class RedeemCode:
    code: str | None = wire("ENROLL_CODE_INVALID", required=True, doc="the one-time code the hall printed")
    role: Literal["kiosk", "counter", "display", "supervisor"] | None = wire(
        doc="the role the terminal is being set up as: a code for another role is refused and stays unspent")


# -- reads: their fields come from the path and the query string ----------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Health:
    """Liveness, the database and the outbox (no token)."""


@dataclass(frozen=True, kw_only=True)
class GetCatalog:
    """Business types, materials, time limits, fees and the hall's rules."""


@dataclass(frozen=True, kw_only=True)
class QueueStatus:
    """Waiting per business, windows and recent calls."""


@dataclass(frozen=True, kw_only=True)
class GetTicket:
    number: str = path("the ticket's number, e.g. A007")


@dataclass(frozen=True, kw_only=True)
class GetMatter:
    number: str = path("the matter's number")
    code: str | None = query("the receipt's signed code (needed by any device but the duty desk)")


@dataclass(frozen=True, kw_only=True)
class ListEvents:
    after: int = query("events after this seq", default=0, minimum=0, maximum=2**62)
    wait: float = query("seconds to wait for a new event when there is none (long poll)", default=0.0, minimum=0,
                        maximum=60)
    limit: int = query("at most 1000 a page, whatever is asked", default=500, minimum=1, maximum=10**9)


@dataclass(frozen=True, kw_only=True)
class ListAudit:
    day: str | None = query("a date such as 2026-11-23", pattern=r"\d{4}-\d{2}-\d{2}")
    kind: str | None = query("one kind of entry, such as out_of_order")


@dataclass(frozen=True, kw_only=True)
class WindowSummary:
    window: int = path("the window's number")


@dataclass(frozen=True, kw_only=True)
class ListMatters:
    open: Literal["0", "1"] = query("1: not yet closed (the default); 0: all", default="1")


@dataclass(frozen=True, kw_only=True)
class ListFollowups:
    """Bad-rating follow-ups, overdue first."""
