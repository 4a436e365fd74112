"""Does a hall full of phones following their tickets slow the kiosks down?

Starts a real `kiosk hall serve` with a public address, issues tickets for 500 people, then measures
ticket issue over HTTP twice, at a steady rate far above a real hall's (--rate tickets/s from 4 kiosk
clients for --seconds): with no phone following, and with 500 phones long-polling their ticket's status
(/q/status, as the page does) from a separate process. Prints p50/p99 of ticket issue for each, and how
many status answers the phones got. A 2-core machine runs the hall, the kiosks and the phones together.
Usage:  python bench/phone_followers.py [--phones 500] [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
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
sys.path.insert(0, str(ROOT / "bench"))

from issue_tickets import client, identity  # noqa: E402

from kiosk.contract import requests as rq  # noqa: E402
from kiosk.contract.client import HallClient, HallUnreachable, http_transport, phone_status_path  # noqa: E402
from kiosk.domain.codes import code_of  # noqa: E402
from kiosk.drill.play import free_port  # noqa: E402


async def phone(host: str, port: int, code: str, stop: asyncio.Event, answers: list[int]) -> None:
    """A phone's page following its slip: raw HTTP on a socket, so that five hundred of them fit in one process."""
    reader, writer = await asyncio.open_connection(host, port)
    seq = -1
    try:
        while not stop.is_set():
            path = phone_status_path(code, after=seq, wait=20)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            header = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = json.loads(await reader.readexactly(length))
            seq = int(body.get("seq", seq))
            answers[0] += 1
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def phones(port: int, codes: list[str], seconds: float) -> int:
    stop = asyncio.Event()
    answers = [0]
    tasks = [asyncio.create_task(phone("127.0.0.1", port, c, stop, answers)) for c in codes]
    await asyncio.sleep(seconds)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return answers[0]


def phones_process(port: int, codes: list[str], seconds: float, out: Any) -> None:
    out.put(asyncio.run(phones(port, codes, seconds)))


async def kiosk(port: int, token: str, bodies: list[bytes], interval: float, latencies: list[float],
                statuses: dict[int, int]) -> None:
    """One kiosk issuing at a steady pace (a new ticket every ``interval`` seconds)."""
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        await client("127.0.0.1", port, token, [body], latencies, statuses)


async def paced(port: int, token: str, bodies: list[bytes], rate: float, kiosks: int = 4) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    await asyncio.gather(*(kiosk(port, token, bodies[k::kiosks], kiosks / rate, latencies, statuses)
                           for k in range(kiosks)))
    latencies.sort()
    return {"p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "ok": statuses.get(201, 0), "other": sum(v for k, v in statuses.items() if k != 201)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phones", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="tickets per second (a busy hall: under 1)")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-phones-"))
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    hall = config / "hall.toml"
    port = free_port()
    text = hall.read_text().replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    text = text.replace("offers = true", "offers = false").replace("[hall]\n", f'[hall]\npublic_url = '
                                                                               f'"http://127.0.0.1:{port}"\n', 1)
    hall.write_text(text)
    data = tmp / "data"
    kiosk = [sys.executable, "-m", "kiosk.cli"]
    enroll = subprocess.run([*kiosk, "devices", "enroll", "--role", "kiosk", "--name", "bench", "--config",
                             str(hall), "--data", str(data)], capture_output=True, text=True, check=True, cwd=ROOT)
    token = enroll.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([*kiosk, "hall", "serve", "--config", str(hall), "--data", str(data), "--port",
                               str(port), "--now", "2026-11-23T09:00:00+08:00"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        probe = HallClient(http_transport(url, timeout=1), "")
        for _ in range(300):
            try:
                probe.send(rq.Health())
                break
            except HallUnreachable:
                time.sleep(0.05)
        kiosk_client = HallClient(http_transport(url, timeout=10), token)
        businesses = "ABCDEFGHJKQX"
        codes = []
        for i in range(args.phones):  # the people whose phones follow their tickets
            r = kiosk_client.send(rq.IssueTicket(business=businesses[i % len(businesses)], identity=identity(100000 + i)))
            codes.append(code_of(r.body["ticket"]["qr"]))
        n = 0
        rows = []
        count = int(args.rate * args.seconds)
        for label, following in (("no phones", []), (f"{args.phones} phones following", codes)):
            bodies = []
            for _ in range(count):
                bodies.append(json.dumps({"business": businesses[n % len(businesses)],
                                          "identity": identity(n)}).encode())
                n += 1
            queue: Any = multiprocessing.Queue()
            others = multiprocessing.Process(target=phones_process, args=(port, following, args.seconds + 4, queue))
            others.start()
            time.sleep(2.0)  # every phone has its page open and is waiting
            result = asyncio.run(paced(port, token, bodies, args.rate))
            answers = queue.get(timeout=60)
            others.join(30)
            result["phone_answers_per_s"] = answers / (args.seconds + 4)
            rows.append((label, result))
        print(f"ticket issue over HTTP at {args.rate:g} tickets/s from 4 kiosks for {args.seconds:g} s")
        print(f"{'':>22} {'p50 ms':>8} {'p99 ms':>8} {'non-201':>8} {'phone answers/s':>16}")
        for label, r in rows:
            print(f"{label:>22} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['other']:>8} {r['phone_answers_per_s']:>16.0f}")
        return 0
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
