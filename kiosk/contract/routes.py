"""The hall's API as one table: each typed request's method, path, the roles that may send it, and what kind
of operation it is. The hall registers its routes from this table (kiosk/hall/api.py) and the client sends
requests by it (kiosk/contract/client.py), so a path is written once, here (hall-api.md is the contract it
follows to the letter).

Kinds:
- ``change``: runs on the store's writer, its state and events in one transaction; an Idempotency-Key
  replays the first answer.
- ``read``: runs on a reader, never writes the hall's state (a sensitive read is logged).
- ``call``: slow work that must not hold the writer (a PIN's scrypt), which then records what it found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kiosk.contract import requests as r

ANY = ("kiosk", "counter", "display", "supervisor")
Kind = Literal["change", "read", "call"]


@dataclass(frozen=True)
class Route:
    request: type[Any]
    method: Literal["GET", "POST"]
    path: str
    roles: tuple[str, ...]  # () : no token (public)
    kind: Kind
    summary: str
    long_poll: bool = False  # a read that may wait for the next committed event (?wait=seconds)


def _post(request: type[Any], path: str, roles: tuple[str, ...], summary: str, kind: Kind = "change") -> Route:
    return Route(request, "POST", path, roles, kind, summary)


def _get(request: type[Any], path: str, roles: tuple[str, ...], summary: str, long_poll: bool = False) -> Route:
    return Route(request, "GET", path, roles, "read", summary, long_poll)


ROUTES: tuple[Route, ...] = (
    # -- public ---------------------------------------------------------------------------------------------
    _get(r.Health, "/health", (), "Liveness, database and outbox"),
    _post(r.RedeemCode, "/api/v1/devices/enroll", (), "A new terminal exchanges its one-time code for its token"),
    _post(r.PhoneRate, "/q/rating", (), "Rate a finished service from the phone page (the slip's code; no token)"),
    # -- any device -----------------------------------------------------------------------------------------
    _get(r.GetCatalog, "/api/v1/catalog", ANY, "Business types, materials, time limits and fees"),
    _get(r.QueueStatus, "/api/v1/queue", ANY, "Waiting per business, windows and recent calls"),
    _get(r.GetTicket, "/api/v1/tickets/{number}", ANY, "A ticket's state, position and expected wait"),
    _post(r.VerifyQr, "/api/v1/tickets/verify", ANY, "Check a scanned ticket QR", "read"),
    _post(r.VerifyMatter, "/api/v1/matters/verify", ANY, "A scanned 办不成事 receipt QR: the report's progress",
          "read"),
    _get(r.GetMatter, "/api/v1/matters/{number}", ANY,
         "Status and history of one unresolved matter (a supervisor, or any device with the receipt's signed "
         "code: ?code=)"),
    # -- kiosk ----------------------------------------------------------------------------------------------
    _post(r.FeeQuote, "/api/v1/fees/quote", ("kiosk",), "Official fee for one case", "read"),
    _post(r.IssueTicket, "/api/v1/tickets", ("kiosk",), "Issue a ticket"),
    _post(r.CheckIn, "/api/v1/appointments/check-in", ("kiosk",), "Check in an appointment or booking"),
    _post(r.AcceptBooking, "/api/v1/bookings", ("kiosk",), "Accept an on-site booking offer"),
    _post(r.Reprint, "/api/v1/tickets/{number}/reprint", ("kiosk",), "Reprint a lost or unprinted slip"),
    _post(r.Rate, "/api/v1/ratings", ("counter", "kiosk"), "Rate a finished service"),
    _post(r.CallStaff, "/api/v1/help", ("kiosk", "counter"), "Call staff to this device (the duty desk is told at once)"),
    _post(r.ReportMatter, "/api/v1/matters", ("kiosk", "counter"), "Report an unresolved matter"),
    _post(r.QueryCase, "/api/v1/cases/query", ("kiosk",),
          "A case's progress, for a party to it (same answer for unknown and not yours)"),
    # -- counter --------------------------------------------------------------------------------------------
    _post(r.Login, "/api/v1/windows/{window}/login", ("counter",), "Clerk login with PIN", "call"),
    _post(r.CallNext, "/api/v1/windows/{window}/call-next", ("counter",), "Call the next ticket in order"),
    _post(r.CallTicket, "/api/v1/windows/{window}/call", ("counter",), "Call a ticket out of order (reason required)"),
    _post(r.Recall, "/api/v1/windows/{window}/recall", ("counter",), "Call the current ticket again"),
    _post(r.NoShow, "/api/v1/windows/{window}/no-show", ("counter",), "Mark the current ticket a no-show"),
    _post(r.StartService, "/api/v1/windows/{window}/start", ("counter",), "Begin service"),
    _post(r.Notice, "/api/v1/windows/{window}/notice", ("counter",), "One-time notice of missing materials"),
    _post(r.Transfer, "/api/v1/windows/{window}/transfer", ("counter",), "Transfer keeping the ticket's place"),
    _post(r.Finish, "/api/v1/windows/{window}/finish", ("counter",),
          "End service; returns the rating request (and the case, when the application was accepted)"),
    _post(r.Pause, "/api/v1/windows/{window}/pause", ("counter",), "Pause the window"),
    _post(r.Resume, "/api/v1/windows/{window}/resume", ("counter",), "Resume the window"),
    _post(r.Logout, "/api/v1/windows/{window}/logout", ("counter",), "Close the window"),
    _get(r.WindowSummary, "/api/v1/windows/{window}/summary", ("counter", "supervisor"),
         "A window at a glance: current ticket, waiting, today"),
    # -- supervisor (the duty desk) and display boards -------------------------------------------------------
    _get(r.ListEvents, "/api/v1/events", ("display", "supervisor"),
         "Events after a sequence number (long-poll with wait)", long_poll=True),
    _get(r.ListAudit, "/api/v1/audit", ("supervisor",), "Out-of-order calls, identity mismatches, transfers, overrides"),
    _get(r.ListMatters, "/api/v1/matters", ("supervisor",),
         "Unresolved-matter reports, overdue first (open=1: not yet closed)"),
    _get(r.ListFollowups, "/api/v1/followups", ("supervisor",), "Bad-rating follow-ups, overdue first"),
    _post(r.TransitionMatter, "/api/v1/matters/{number}/transition", ("supervisor",),
          "Move a matter along its lifecycle"),
    _post(r.CaseProgress, "/api/v1/cases/{number}/progress", ("supervisor",),
          "The registration system reports a case's progress"),
    _post(r.CreateAppointment, "/api/v1/appointments", ("supervisor",), "Register an appointment and get its QR text"),
    _post(r.Blocklist, "/api/v1/blocklist", ("supervisor",), "Refuse tickets to an identity"),
    _post(r.EscalateOverdue, "/api/v1/admin/escalate", ("supervisor",), "Escalate overdue matters and follow-ups now"),
    _post(r.ExtendHours, "/api/v1/hall/extend-hours", ("supervisor",), "Extend today's hours for a surge (recorded)"),
    _post(r.WindowLeaves, "/api/v1/windows/{window}/leaves-at", ("supervisor",),
          "A window closes for the day at a set time before the hall does (the roster; recorded)"),
    _post(r.OpenTemporary, "/api/v1/windows/{window}/open-temporary", ("supervisor",),
          "A window takes on more businesses today (recorded)"),
    _post(r.CloseFollowup, "/api/v1/followups/{number}/close", ("supervisor",),
          "Close a bad rating's follow-up with what was done"),
    _post(r.AppealRating, "/api/v1/ratings/{day}/{number}/appeal", ("supervisor",),
          "申诉复核: mark a bad rating appealed, with the reason (audited, sent to the ledger)"),
    _post(r.DecideAppeal, "/api/v1/ratings/{day}/{number}/decision", ("supervisor",),
          "申诉复核: an appealed rating upheld or overturned, with the finding (an overturned one leaves the counts)"),
)

BY_REQUEST: dict[type[Any], Route] = {route.request: route for route in ROUTES}
assert len(BY_REQUEST) == len(ROUTES), "one route per request type"


def route_of(request: object) -> Route:
    return BY_REQUEST[type(request)]

# -- the phone page (kiosk/hall/phone.py): an HTML page and its JSON feed beside the API, for a citizen's phone
# following the slip's QR (no token). They are not operations of the table; their paths are named here once.
PHONE_PAGE = "/q"
PHONE_STATUS = "/q/status"
