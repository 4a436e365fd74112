"""Scalper patterns the province sees across halls (the hall sees only its own): one identity taking tickets in
several halls or many in one day, agents taking tickets for many principals, kiosks where ID numbers were typed
in bursts, and 号源 hoarding moved to on-site bookings — typed bookings piling up at one kiosk, one holder
holding many bookings within a hall or across halls, and bookings the hall refused under its rules. Identities
are keyed hashes (the province's identity key makes them equal across halls); nothing here is an ID number.
"""

from __future__ import annotations

from typing import Any

from kiosk.ledger.db import LedgerDB
from kiosk.ledger.rollups import refresh_holder_flags
from kiosk.ledger.service import Viewer

LIMIT = 200


def holders(db: LedgerDB, viewer: Viewer, start: str, end: str, min_tickets: int) -> list[tuple[Any, ...]]:
    """(holder, day, halls, tickets) seen in more than one hall, or with ``min_tickets`` or more, in a day. A
    region account counts only its region's tickets."""
    refresh_holder_flags(db)
    where, args = viewer.scope()
    return db.all(f"SELECT holder, day, COUNT(*), SUM(tickets) FROM holder_flags WHERE day BETWEEN ? AND ? AND {where} "
                  "GROUP BY holder, day HAVING COUNT(*) > 1 OR SUM(tickets) >= ? ORDER BY 3 DESC, 4 DESC, 2 DESC LIMIT ?",
                  (start, end, *args, min_tickets, LIMIT))


def agents(db: LedgerDB, viewer: Viewer, start: str, end: str, min_principals: int) -> list[tuple[Any, ...]]:
    """(agent, day, agent tickets, principals, halls) for agents acting for ``min_principals`` or more in a day."""
    refresh_holder_flags(db)
    where, args = viewer.scope()
    return db.all(f"SELECT holder, day, SUM(agent_tickets), SUM(principals), COUNT(*) FROM holder_flags WHERE day "
                  f"BETWEEN ? AND ? AND agent_tickets > 0 AND {where} GROUP BY holder, day HAVING SUM(principals) >= ? "
                  "ORDER BY 4 DESC, 2 DESC LIMIT ?", (start, end, *args, min_principals, LIMIT))


def bursts(db: LedgerDB, viewer: Viewer, start: str, end: str, hall: str | None = None) -> list[tuple[Any, ...]]:
    """(hall, at, kiosk, via) of kiosk bursts: typed identities beyond the hall's limit at one kiosk."""
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    return db.all(f"SELECT hall, at, device, via FROM bursts WHERE day BETWEEN ? AND ? AND {where}{extra} ORDER BY at DESC "
                  "LIMIT ?", (start, end, *args, *more, LIMIT))


def typed_bookings(db: LedgerDB, viewer: Viewer, start: str, end: str, min_bookings: int,
                   hall: str | None = None) -> list[tuple[Any, ...]]:
    """(hall, kiosk, day, typed bookings, distinct holders) for kiosks where ``min_bookings`` or more bookings
    were made on typed ID numbers in a day: a person at a kiosk booking tomorrow's slots for others."""
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    return db.all(f"SELECT hall, device, day, COUNT(*), COUNT(DISTINCT holder) FROM bookings WHERE day BETWEEN ? AND ? "
                  f"AND entry='typed' AND refused IS NULL AND {where}{extra} GROUP BY hall, device, day "
                  "HAVING COUNT(*) >= ? ORDER BY 4 DESC, 3 DESC LIMIT ?", (start, end, *args, *more, min_bookings, LIMIT))


def booking_holders(db: LedgerDB, viewer: Viewer, start: str, end: str, min_bookings: int,
                    hall: str | None = None) -> list[tuple[Any, ...]]:
    """(holder, bookings, halls, typed, refused) for holders with ``min_bookings`` or more bookings made in the
    period, within a hall or across halls; refusals (BOOKING_EXISTS, DAILY_LIMIT …) count as attempts."""
    where, args = viewer.scope()
    if hall:
        where, args = where + " AND holder IN (SELECT holder FROM bookings WHERE hall=? AND day BETWEEN ? AND ?)", \
            (*args, hall, start, end)
    return db.all(f"SELECT holder, SUM(CASE WHEN refused IS NULL THEN 1 ELSE 0 END), COUNT(DISTINCT hall), "
                  f"SUM(CASE WHEN entry='typed' AND refused IS NULL THEN 1 ELSE 0 END), "
                  f"SUM(CASE WHEN refused IS NULL THEN 0 ELSE 1 END) "
                  f"FROM bookings WHERE day BETWEEN ? AND ? AND {where} GROUP BY holder HAVING COUNT(*) >= ? "
                  "ORDER BY 2 DESC, 3 DESC LIMIT ?", (start, end, *args, min_bookings, LIMIT))


def refusals(db: LedgerDB, viewer: Viewer, start: str, end: str, hall: str | None = None) -> list[tuple[Any, ...]]:
    """(hall, kiosk, refusal code, count) of bookings refused under the anti-scalper rules."""
    where, args = viewer.scope()
    extra, more = (" AND hall=?", (hall,)) if hall else ("", ())
    return db.all(f"SELECT hall, device, refused, COUNT(*) FROM bookings WHERE day BETWEEN ? AND ? AND refused IS NOT NULL "
                  f"AND {where}{extra} GROUP BY hall, device, refused ORDER BY 4 DESC LIMIT ?",
                  (start, end, *args, *more, LIMIT))
