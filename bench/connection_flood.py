"""Kiosks getting tickets while other hosts flood the hall with connections that hold nothing.

Starts a real `kiosk hall serve` under an open-file limit (1024 by default: systemd's default soft limit), then
kiosks on 127.0.0.1 issue tickets over keep-alive connections, first on a quiet hall, then while a flooder on
other loopback addresses (127.0.0.2 …) keeps as many connections open as it can: idle ones that never send a
byte, half-sent requests (slowloris) and display long polls (GET /api/v1/events?wait=60). The flooder opens a new
connection each time the hall closes one of its own. Prints, for each phase, the kiosks' tickets per second,
their p50/p99 latency, how many of their requests failed, and how many flood connections were open.

Usage:  python bench/connection_flood.py [--tickets 2000] [--flood 1500] [--long-polls 300] [--nofile 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.contract.client import HallClient, HallUnreachable, http_transport, request_path  # noqa: E402
from kiosk.contract.requests import Health, IssueTicket, ListEvents  # noqa: E402
from kiosk.domain.identity import check_char  # noqa: E402
from tests.helpers import free_port  # noqa: E402

# The kiosks and the flooder speak raw HTTP on sockets on purpose: a half-sent request and a held connection cannot
# be sent through a client, and the kiosks' own loop must cost the 2-core machine's server as little CPU as possible.
# The paths still come from the route table.
TICKETS = request_path(IssueTicket())[1]
LONG_POLL = request_path(ListEvents(after=999999999, wait=60))[1]


def identity(i: int) -> dict[str, str]:
    first17 = f"{110101 + i // 1000:06d}19800101{i % 1000:03d}"
    return {"id_number": first17 + check_char(first17), "name": "压测"}


async def kiosk(port: int, token: str, bodies: list[bytes], latencies: list[float], outcome: dict[str, int]) -> None:
    """One kiosk: keep-alive, and a new connection whenever the old one is gone (as requests' pool does)."""
    head = (f"POST {TICKETS} HTTP/1.1\r\nHost: hall\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n").encode()
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    for body in bodies:
        t0 = time.perf_counter()
        for _attempt in range(3):
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
                assert reader is not None
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await asyncio.wait_for(reader.readexactly(length), 10)
                status = int(header[9:12])
                outcome[str(status)] = outcome.get(str(status), 0) + 1
                if b"connection: close" in header.lower():
                    writer.close()
                    writer = None
                break
            except (TimeoutError, OSError, asyncio.IncompleteReadError, StopIteration, ValueError):
                outcome["retried"] = outcome.get("retried", 0) + 1
                if writer is not None:
                    writer.close()
                writer = None
        else:
            outcome["failed"] = outcome.get("failed", 0) + 1
        latencies.append(time.perf_counter() - t0)
    if writer is not None:
        writer.close()


async def kiosks(port: int, token: str, tickets: int, clients: int, start: int) -> dict[str, Any]:
    bodies = [json.dumps({"business": "ABCDEFGHJKQX"[i % 12], "identity": identity(start + i)}).encode()
              for i in range(tickets)]
    latencies: list[float] = []
    outcome: dict[str, int] = {}
    t0 = time.perf_counter()
    await asyncio.gather(*(kiosk(port, token, bodies[c::clients], latencies, outcome) for c in range(clients)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"tickets_per_s": outcome.get("201", 0) / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "issued": outcome.get("201", 0),
            "failed": tickets - outcome.get("201", 0), "retried": outcome.get("retried", 0)}


# -- the flooder: a separate process, so that it does not slow the kiosks' own client loop -------------------------
async def hold(port: int, source: str, kind: str, display: str, open_now: list[int]) -> None:
    """Keep one connection of this kind open, opening another each time the hall closes it."""
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        open_now[0] += 1
        try:
            if kind == "slowloris":
                writer.write(f"POST {TICKETS} HTTP/1.1\r\nHost: hall\r\n".encode())
            elif kind == "long-poll":
                writer.write(f"GET {LONG_POLL} HTTP/1.1\r\nHost: hall\r\n"
                             f"Authorization: Bearer {display}\r\n\r\n".encode())
            while await reader.read(65536):  # until the hall closes it (a long poll's answer: ask again)
                if kind == "long-poll":
                    writer.write(f"GET {LONG_POLL} HTTP/1.1\r\nHost: hall\r\n"
                                 f"Authorization: Bearer {display}\r\n\r\n".encode())
        except OSError:
            pass
        finally:
            open_now[0] -= 1
            writer.close()


def flood(port: int, idle: int, long_polls: int, display: str, report: Any, stop: Any) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main() -> None:
        open_now = [0]
        tasks = []
        for i in range(idle + long_polls):
            source = f"127.0.0.{2 + i % 20}"  # twenty other hosts
            kind = "long-poll" if i < long_polls else ("slowloris" if i % 2 else "idle")
            tasks.append(asyncio.create_task(hold(port, source, kind, display, open_now)))
        while not stop.is_set():
            report.value = open_now[0]
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()

    asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000, help="tickets the kiosks ask for, per phase")
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--flood", type=int, default=1500, help="idle and half-sent connections the flooder holds")
    parser.add_argument("--long-polls", type=int, default=300, help="long polls the flooder holds")
    parser.add_argument("--nofile", type=int, default=1024, help="the hall's open-file limit (systemd's default)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    hall = config / "hall.toml"
    text = hall.read_text().replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    hall.write_text(text.replace("offers = true", "offers = false"))
    data = tmp / "data"
    cli = [sys.executable, "-m", "kiosk.cli"]

    def enroll(role: str) -> str:
        out = subprocess.run([*cli, "devices", "enroll", "--role", role, "--name", f"bench-{role}", "--config",
                              str(hall), "--data", str(data)], capture_output=True, text=True, check=True, cwd=ROOT)
        return out.stdout.strip().splitlines()[-1]

    token, display = enroll("kiosk"), enroll("display")
    port = free_port()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    server = subprocess.Popen([*cli, "hall", "serve", "--config", str(hall), "--data", str(data), "--port", str(port),
                               "--now", "2026-11-23T09:00:00+08:00"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, preexec_fn=limit)
    stop = multiprocessing.Event()
    flooder: multiprocessing.Process | None = None
    try:
        probe = HallClient(http_transport(f"http://127.0.0.1:{port}", timeout=1), "")
        for _ in range(300):
            try:
                probe.send(Health())
                break
            except HallUnreachable:
                time.sleep(0.05)
        quiet = asyncio.run(kiosks(port, token, args.tickets, args.kiosks, 0))
        held = multiprocessing.Value("i", 0)
        flooder = multiprocessing.Process(target=flood, args=(port, args.flood, args.long_polls, display, held, stop))
        flooder.start()
        time.sleep(5)  # let the flood build up before the kiosks start
        building = held.value
        flooded = asyncio.run(kiosks(port, token, args.tickets, args.kiosks, args.tickets))
        during = held.value
        alive = server.poll() is None
        print(f"hall service under a connection flood: open-file limit {args.nofile}, {args.kiosks} kiosks on 127.0.0.1, "
              f"flooder on 127.0.0.2-21 holding {args.flood} idle/half-sent connections and {args.long_polls} long polls")
        print(f"{'phase':>8} {'tickets/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'issued':>7} {'failed':>7} {'retried':>8} "
              f"{'flood open':>11}")
        for name, r, open_ in (("quiet", quiet, 0), ("flooded", flooded, during)):
            print(f"{name:>8} {r['tickets_per_s']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['issued']:>7} "
                  f"{r['failed']:>7} {r['retried']:>8} {open_:>11}")
        print(f"flood connections open after 5 s of flooding: {building}; hall still running: {'yes' if alive else 'NO'}")
        return 0 if flooded["failed"] == 0 and alive else 1
    finally:
        stop.set()
        if flooder is not None:
            flooder.join(10)
            if flooder.is_alive():
                flooder.terminate()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
