"""Who may read what (hall-api.md): the same facts, cut to what each role's screen needs.

A display board shows calls, not people: its event feed carries only calls, recalls and finishes, each with the
ticket number, the business and the window; its ticket reads carry no holder. A kiosk stands in a public hall
where anyone can type any ticket number: it sees a ticket's holder only in the answer to the holder's own
identity-proved request (issue, reprint, check-in), never in a read by number or by scanned slip, and never the
slip's signed code, which is a key to the phone page and its rating. Counters and the duty desk serve people
and read everything, masked as it is stored.
"""

from __future__ import annotations

from typing import Any

# what a board does with the feed: show the call, speak it, and drop it when the service ends
DISPLAY_EVENTS = ("ticket.called", "ticket.recalled", "service.finished")
DISPLAY_FIELDS = ("number", "business", "window")
HOLDER_FIELDS = ("holder_masked", "name_masked")
PUBLIC_ROLES = ("kiosk", "display")  # devices that anyone in the hall can stand in front of


def display_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as a board receives it: which ticket, which business, which window, and nothing else (no
    device, no hashes of a payload it does not see)."""
    payload = event["payload"]
    return {"seq": event["seq"], "id": event["id"], "type": event["type"], "at": event["at"],
            "payload": {key: payload[key] for key in DISPLAY_FIELDS if key in payload}}


def ticket_read(role: str, ticket: dict[str, Any], scanned: bool = False) -> dict[str, Any]:
    """A ticket read by number (or by its scanned slip: ``scanned``, when the reader already holds the code)."""
    if role not in PUBLIC_ROLES:
        return ticket
    drop = HOLDER_FIELDS if scanned else (*HOLDER_FIELDS, "qr")
    return {key: value for key, value in ticket.items() if key not in drop}


def queue_read(role: str, status: dict[str, Any]) -> dict[str, Any]:
    """The queue: a kiosk or a board sees the windows and the duty desk's decisions (a window opened, longer
    hours), not who works at a window, nor the reasons given for a decision or who gave them."""
    if role not in PUBLIC_ROLES:
        return status
    decisions = [{key: value for key, value in d.items() if key not in ("reason", "device")}
                 for d in status.get("decisions", [])]
    windows = [{key: value for key, value in w.items() if key != "clerk_id"} for w in status.get("windows", [])]
    return {**status, "decisions": decisions, "windows": windows}
