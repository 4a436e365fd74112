"""Facts of the second wave and the rollups every fact feeds: services and waits (for the indicators), appeals
of bad ratings (申诉: appealed, upheld, overturned), on-site bookings made and refused (号源 hoarding) and kiosk
bursts, and the insert of every fact table in one round trip each. Ingest and the migration that fills an older
ledger's rollups go through the same functions, so both leave the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.ledger import rollups
from kiosk.ledger.payload import FactInvalid, Payload

if TYPE_CHECKING:
    from kiosk.ledger.db import LedgerDB

Rows = dict[str, list[Sequence[Any]]]
COLUMNS = {"ratings": "hall, day, number, level, win, clerk_id, business, source, at, bad, deadline, followup, reasons",
           "issues": "hall, seq, day, at, holder, agent, principals", "cases": "hall, number, ticket, day",
           "exceptions": "hall, seq, at, kind, win, clerk_id, ticket, reason",
           "appeals": "hall, seq, day, number, at, state, reason, by_whom",
           "bookings": "hall, seq, day, at, device, business, holder, entry, refused",
           "bursts": "hall, seq, day, at, device, via", "hall_reads": "hall, seq, at, device, what"}
APPEAL_STATES = ("upheld", "overturned")


def new_rows() -> Rows:
    return {table: [] for table in COLUMNS}


def flush(db: LedgerDB, conn: Any, rows: Rows, tally: rollups.Tally) -> None:
    """Insert what is pending, one round trip per table; conflicts never block the chain (DO NOTHING). A rating
    counts in the rollups only if this insert stored it (a rating the ledger holds already is not counted twice)."""
    for table, batch in rows.items():
        if not batch:
            continue
        sql = f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({','.join('?' * len(batch[0]))}) ON CONFLICT DO NOTHING"
        if table == "ratings":
            pending = {(r[1], r[2]): r for r in reversed(batch)}  # the first of two same ratings is the one stored
            for day, number in db.insert_returning(conn, sql + " RETURNING day, number", batch):
                r = pending[(day, number)]
                tally.rating(rollups.unit_key(r[1], r[4], r[5], r[6]), rollups.ZERO,
                             rollups.rating_vector(r[3], r[9], r[11], None, None))
        else:
            db.executemany(conn, sql, batch)
        batch.clear()


def observe(hall: str, e: dict[str, Any], p: Payload, tally: rollups.Tally, rows: Rows) -> None:
    """The facts and rollups of events that need no stored row to be read first."""
    kind = e["type"]
    if kind == "service.finished":
        tally.service(p.day(), p.window(), p.text("clerk_id", None), p.text("business", None))
    elif kind == "ticket.called":
        minutes = p.minutes("waited_min")
        if minutes is not None:  # halls from before the wait was in the event say nothing about it
            tally.called(p.day(), p.text("business", None), minutes)
    elif kind == "booking.created":  # the day the booking was made (the hall's local date of the event)
        rows["bookings"].append((hall, e["seq"], e["at"][:10], e["at"], e.get("device"), p.text("business", None),
                                 p.text("holder"), p.text("entry", None), None))
    elif kind == "booking.refused":
        rows["bookings"].append((hall, e["seq"], p.day(), e["at"], e.get("device"), p.text("business", None),
                                 p.text("holder"), p.text("entry", None), p.text("code")))
    elif kind == "kiosk.burst":
        rows["bursts"].append((hall, e["seq"], p.day(), e["at"], e.get("device"), p.text("via", "ticket")))
    elif kind == "data.read":  # the hall's own read log, for the province's page of reads
        rows["hall_reads"].append((hall, e["seq"], e["at"], e.get("device"), str(e["payload"].get("what", ""))[:200]))


def change_rating(db: LedgerDB, conn: Any, hall: str, day: str, number: str, tally: rollups.Tally, rows: Rows,
                  **changes: Any) -> bool:
    """Set ``changes`` on a stored rating and move its counts from its old state to its new one. False when the
    ledger does not hold the rating (its own fact was quarantined): the event stays on record all the same."""
    flush(db, conn, rows, tally)  # the rating may be in this very batch
    found = rollups.rating_row(db, conn, hall, day, number)
    if found is None:
        return False
    key, before, fields = found
    fields.update(changes)
    tally.rating(key, before, rollups.vector_of(fields))
    assignments = ", ".join(f"{column}=?" for column in changes)
    db.execute(conn, f"UPDATE ratings SET {assignments} WHERE hall=? AND day=? AND number=?",
               (*changes.values(), hall, day, number))
    return True


def followup_closed(db: LedgerDB, conn: Any, hall: str, e: dict[str, Any], p: Payload, tally: rollups.Tally,
                    rows: Rows) -> None:
    day, ticket, note = p.day(), p.text("ticket"), p.text("note", None, 2000)
    change_rating(db, conn, hall, day, ticket, tally, rows, followup="closed", closed_at=e["at"], note=note)


def appeal(db: LedgerDB, conn: Any, hall: str, e: dict[str, Any], p: Payload, tally: rollups.Tally,
           rows: Rows) -> None:
    """rating.appealed and rating.appeal_decided: the appeal's step on record, the rating in its new state (an
    overturned rating stays, shown as such, but leaves the rankings)."""
    day, number = p.day(), p.text("number")
    state = "appealed" if e["type"] == "rating.appealed" else p.text("outcome")
    if state not in ("appealed", *APPEAL_STATES):
        raise FactInvalid("outcome: 应为 upheld 或 overturned expected upheld or overturned")
    rows["appeals"].append((hall, e["seq"], day, number, e["at"], state, p.text("reason", None, 2000),
                            p.text("by", None)))
    change_rating(db, conn, hall, day, number, tally, rows, appeal=state)


def replay(db: LedgerDB, conn: Any, hall: str, events: list[dict[str, Any]], tally: rollups.Tally) -> None:
    """Stored events through ingest's functions (the migration that fills an older ledger's rollups); a payload
    ingest could not read was quarantined then and is skipped now."""
    rows = new_rows()
    for e in events:
        try:
            observe(hall, e, Payload(e["payload"]), tally, rows)
        except FactInvalid:
            continue
    flush(db, conn, rows, tally)
