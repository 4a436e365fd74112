"""Tickets per second and latency for issuing over the HTTP API.

Starts a real `kiosk hall serve` (SQLite, synchronous=FULL unless told otherwise) on a
copy of the example config with the kiosk-burst limit and booking offers switched off,
then issues tickets for distinct people with 1, 8 and 32 concurrent keep-alive clients.
The client is raw asyncio on sockets so that it costs the server as little CPU as
possible on a 2-core machine. Afterwards it checks that no number is duplicated or
skipped. Usage:  python bench/issue_tickets.py [--requests 3000] [--synchronous NORMAL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.domain.identity import check_char  # noqa: E402
from tests.helpers import free_port  # noqa: E402

# The measured client is raw asyncio HTTP (see above), so it spells its request line itself; the paths come from
# the route table. This file is also run from trees older than the table (2644e3e, for before/after pairs):
# there the two paths are spelled here.
try:
    from kiosk.contract.client import request_path
    from kiosk.contract.requests import IssueTicket, ListEvents

    TICKETS = request_path(IssueTicket())[1]

    def events_path(after: int) -> str:
        return request_path(ListEvents(after=after, limit=1000))[1]
except ImportError:
    TICKETS = "/api/v1/tickets"

    def events_path(after: int) -> str:
        return f"/api/v1/events?after={after}&limit=1000"


def identity(i: int) -> dict[str, str]:
    first17 = f"{110101 + i // 1000:06d}19800101{i % 1000:03d}"
    return {"id_number": first17 + check_char(first17), "name": "压测"}


async def client(host: str, port: int, token: str, bodies: list[bytes], latencies: list[float],
                 statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    head = (f"POST {TICKETS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n").encode()
    for body in bodies:
        t0 = time.perf_counter()
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        header = await reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()


async def run_level(host: str, port: int, token: str, clients: int, bodies: list[bytes]) -> dict[str, float]:
    per = [bodies[i::clients] for i in range(clients)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    t0 = time.perf_counter()
    await asyncio.gather(*(client(host, port, token, chunk, latencies, statuses) for chunk in per))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"clients": clients, "requests": len(bodies), "tickets_per_s": statuses.get(201, 0) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "ok": statuses.get(201, 0),
            "other": sum(v for k, v in statuses.items() if k != 201)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per concurrency level")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-hall-"))
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    hall = config / "hall.toml"
    text = hall.read_text().replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    hall.write_text(text.replace("offers = true", "offers = false"))
    data = tmp / "data"
    kiosk = [sys.executable, "-m", "kiosk.cli"]
    enroll = subprocess.run([*kiosk, "devices", "enroll", "--role", "kiosk", "--name", "bench", "--config",
                             str(hall), "--data", str(data)], capture_output=True, text=True, check=True, cwd=ROOT)
    token = enroll.stdout.strip().splitlines()[-1]
    sup = subprocess.run([*kiosk, "devices", "enroll", "--role", "supervisor", "--name", "sup", "--config",
                          str(hall), "--data", str(data)], capture_output=True, text=True, check=True, cwd=ROOT)
    sup_token = sup.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen([*kiosk, "hall", "serve", "--config", str(hall), "--data", str(data), "--port",
                               str(port), "--now", "2026-11-23T09:00:00+08:00", "--synchronous", args.synchronous],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(url + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        businesses = "ABCDEFGHJKQX"
        n = 0
        results = []
        for level in (int(x) for x in args.levels.split(",")):
            bodies = []
            for _ in range(args.requests):
                bodies.append(json.dumps({"business": businesses[n % len(businesses)],
                                          "identity": identity(n)}).encode())
                n += 1
            results.append(asyncio.run(run_level("127.0.0.1", port, token, level, bodies)))
        print(f"hall service ticket issue over HTTP, SQLite synchronous={args.synchronous}, "
              f"{args.requests} requests per level")
        print(f"{'clients':>8} {'tickets/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-201':>8}")
        for r in results:
            print(f"{r['clients']:>8} {r['tickets_per_s']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                  f"{r['other']:>8}")
        # correctness of what was measured: no duplicate or skipped number
        numbers: dict[str, list[int]] = defaultdict(list)
        after = 0
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {sup_token}"
        while True:
            page = session.get(url + events_path(after), timeout=30).json()["events"]
            if not page:
                break
            after = page[-1]["seq"]
            for e in page:
                if e["type"] == "ticket.issued":
                    numbers[e["payload"]["business"]].append(int(e["payload"]["number"][1:]))
        total = sum(len(v) for v in numbers.values())
        clean = all(v == list(range(1, len(v) + 1)) for v in numbers.values())
        print(f"issued {total} tickets; numbers contiguous and unique per business: {'yes' if clean else 'NO'}")
        return 0 if clean else 1
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
