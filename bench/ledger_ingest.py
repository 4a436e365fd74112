"""The central ledger on PostgreSQL: ingest throughput by batch size, the catch-up of one busy hall-day
(25,000 events) over HTTP by ``kiosk sync``'s pusher, and many halls catching up at once.

Hall events are written through the real hall store (hash chain, SQLite synchronous=NORMAL for the
set-up only); the ledger runs as ``kiosk ledger serve`` on a throwaway PostgreSQL cluster (or --db).
Usage: python bench/ledger_ingest.py [--events 25000] [--halls 100] [--hall-events 2500] [--db URL]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.domain import signing  # noqa: E402
from kiosk.hall.context import HallContext  # noqa: E402
from kiosk.hall.datadir import open_hall  # noqa: E402
from kiosk.ledger.db import LedgerDB  # noqa: E402
from kiosk.ledger.service import LedgerService  # noqa: E402
from kiosk.sync.pusher import Pusher  # noqa: E402
from tests.helpers import example_config, free_port  # noqa: E402
from tests.pg import PostgresServer  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)


def make_hall(folder: Path, hall_id: str, events: int) -> HallContext:
    """A hall with ``events`` committed events shaped like a busy day's (tickets, calls, ratings)."""
    import dataclasses

    service = open_hall(dataclasses.replace(example_config(), hall_id=hall_id), folder, synchronous="NORMAL")
    kinds = [("ticket.issued", {"business": "B", "channel": "walk_in", "agent": False, "principals": []}),
             ("ticket.called", {"window": 2, "clerk_id": "8001", "business": "B", "waited_min": 23.4,
                                "out_of_order": False}),
             ("service.finished", {"window": 2, "clerk_id": "8001", "business": "B", "minutes": 12.5}),
             ("rating.recorded", {"level": 5, "source": "keypad", "window": 2, "clerk_id": "8001", "bad": False,
                                  "reasons": [], "business": "B"})]

    def change(tx: object) -> None:
        for i in range(events):
            kind, payload = kinds[i % len(kinds)]
            number = f"{'BCDEFGHJK'[i // 4000 % 9]}{i // 4 % 1000:03d}"
            varied = {"waited_min": round(i * 37 % 900 / 10, 1)} if kind == "ticket.called" else {}  # 0–90 min
            tx.emit(kind, f"2026-11-23T{9 + i % 8:02d}:00:00.000+08:00", "kiosk-1",  # type: ignore[attr-defined]
                    {**payload, **varied, "number": number, "day": "2026-11-23", "holder": f"{i // 4:064x}"})

    service.store.write(change)
    return service


def public_key(hall: HallContext) -> str:
    return signing.public_key_text(signing.event_signing_key(hall.master_key))


def hall_pusher(hall: HallContext, url: str, token: str) -> Pusher:
    """As the commands wire it: the hall's store as the outbox, its event-signing key."""
    return Pusher(hall.store, hall.config.hall_id, signing.event_signing_key(hall.master_key), url, token, batch=2000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=25000, help="one busy hall-day")
    parser.add_argument("--halls", type=int, default=100)
    parser.add_argument("--hall-events", type=int, default=2500, help="events per hall in the many-halls run")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a throwaway local cluster)")
    parser.add_argument("--workers", type=int, default=2, help="ledger server processes")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    server = None
    try:
        if args.db:
            url = args.db
        else:
            server = PostgresServer()
            server.start()
            url = server.new_database()
        print(f"ledger on PostgreSQL ({'given' if args.db else 'throwaway local cluster'}), 2 cores")

        # 1. in-process ingest by batch size (the ledger's own work: checks, COPY, facts, commit)
        hall = make_hall(tmp / "h0", "bench-0", args.events)
        events = hall.events(0, args.events)
        key = signing.event_signing_key(hall.master_key)
        for size in (100, 1000, 5000):
            db_url = server.new_database() if server else url
            ledger = LedgerService(LedgerDB(db_url))
            ledger.add_hall("bench-0", public_key(hall), NOW)
            started = time.perf_counter()
            for i in range(0, len(events), size):
                chunk = events[i:i + size]
                ledger.ingest("bench-0", {"events": chunk, "signature": signing.sign_batch(key, "bench-0", chunk)},
                              NOW)
            took = time.perf_counter() - started
            print(f"ingest in-process, batch {size:>5}: {len(events)} events in {took:5.2f} s = "
                  f"{len(events) / took:8.0f} events/s")
            ledger.db.close()

        # 2. one busy hall-day caught up over HTTP by the pusher, against `kiosk ledger serve`
        db_url = server.new_database() if server else url
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "ledger", "serve", "--db", db_url, "--port",
                                 str(port), "--workers", str(args.workers)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ledger_url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    requests.get(ledger_url + "/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            admin = LedgerService(LedgerDB(db_url))
            token = admin.add_hall("bench-0", public_key(hall), NOW)
            pusher = hall_pusher(hall, ledger_url, token)
            started = time.perf_counter()
            pusher.catch_up()
            took = time.perf_counter() - started
            print(f"catch-up of one hall-day over HTTP: {args.events} events in {took:5.2f} s "
                  f"({args.events / took:.0f} events/s, batches of 2000, {args.workers} ledger workers)")

            # 3. many halls catching up at once
            halls = [make_hall(tmp / f"m{i}", f"hall-{i:03d}", args.hall_events) for i in range(args.halls)]
            tokens = [admin.add_hall(h.config.hall_id, public_key(h), NOW) for h in halls]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(lambda pair: hall_pusher(pair[0], ledger_url, pair[1]).catch_up(),
                              zip(halls, tokens, strict=True)))
            took = time.perf_counter() - started
            total = args.halls * args.hall_events
            print(f"{args.halls} halls at once ({args.hall_events} events each, {total} in all): {took:5.2f} s "
                  f"({total / took:.0f} events/s)")
            bad = [h for h, seq in admin.verify() if seq is not None]
            print(f"ledger verify after the runs: {'all chains intact' if not bad else 'BROKEN: ' + ', '.join(bad)}")
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
