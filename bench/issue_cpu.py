"""CPU time of issuing one ticket: the operation alone, on one thread, with no HTTP and no writer hand-off.

The HTTP bench (bench/issue_tickets.py) on a 2-core machine shared with others swings by a third from one run
to the next; the CPU time of the operation itself is steady, and it is what the writer thread spends per
ticket. Real SQLite (synchronous=OFF: the fsync is the group commit's, not the operation's), the example
configuration without the kiosk burst and booking offers, as the HTTP bench runs it. Runs from any tree of
the project: the wave-one tree's ``HallService.op_issue(tx, call, body)`` as well as today's
``op_issue(ctx, call, request)``, so that the two can be run alternately. Usage, from the tree to measure:
python bench/issue_cpu.py [--tickets 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))

from kiosk.store.db import Tx, _read_head  # noqa: E402
from tests.helpers import Hall, example_config, person  # noqa: E402


def issuer(hall: Hall) -> Callable[[int], None]:
    """One ticket issued inside its own transaction, by whichever operation this tree has."""
    conn = hall.store._conn
    businesses = "ABCDEFGHJKQX"
    if (ROOT / "kiosk/hall/operations.py").exists():
        wire = importlib.import_module("kiosk.contract.wire")
        kind = importlib.import_module("kiosk.contract.requests").IssueTicket
        op = importlib.import_module("kiosk.hall.issuing").op_issue
        call_type = importlib.import_module("kiosk.hall.context").Call

        def one(i: int) -> None:
            req = wire.parse(kind, {"business": businesses[i % 12], "identity": person(i)})
            conn.execute("BEGIN IMMEDIATE")
            outcome = op(hall.svc.within(Tx(conn, _read_head(conn))), call_type(hall.kiosk, hall.now), req)
            conn.execute("COMMIT")
            assert outcome.made, outcome
    else:  # the wave-one tree (2644e3e): HallService
        call_type = importlib.import_module("kiosk.hall.service").Call
        svc: Any = hall.svc

        def one(i: int) -> None:
            body = {"business": businesses[i % 12], "identity": person(i)}
            conn.execute("BEGIN IMMEDIATE")
            status, answer = svc.op_issue(Tx(conn, _read_head(conn)), call_type(hall.kiosk, hall.now), body)
            conn.execute("COMMIT")
            assert status == 201, answer
    return one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    config = example_config()
    config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, kiosk_burst=None),
                                 booking=dataclasses.replace(config.booking, offers=False))
    with tempfile.TemporaryDirectory() as tmp:
        hall = Hall(Path(tmp), config)
        try:
            hall.store._conn.execute("PRAGMA synchronous=OFF")
            one = issuer(hall)
            for i in range(100):  # warm-up: the caches fill
                one(900000 + i)
            start = time.process_time()
            for i in range(args.tickets):
                one(i + 1)
            cpu = time.process_time() - start
        finally:
            hall.close()
    print(f"{ROOT}: {cpu / args.tickets * 1e6:.0f} us CPU per ticket issued (the operation and its "
          f"BEGIN/COMMIT, one thread, {args.tickets} tickets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
