"""From a key press on a simulated keypad to the rating stored by the hall service, as a window
terminal does it: the keypad bus driver (32 keypads at 9600 baud, the wire emulated) reports the
press, and the rating is POSTed to a real ``kiosk hall serve`` (SQLite, synchronous=FULL) over
loopback HTTP. The target: stored within 300 ms.
Usage: python bench/keypad_rating.py [--keypads 32] [--baud 9600] [--presses 40]
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drivers.keypad import protocol as p  # noqa: E402
from drivers.keypad.driver import KeypadBus, KeypadEvent, KeyPress  # noqa: E402
from drivers.keypad.simulator import Faults, KeypadBusSimulator  # noqa: E402
from kiosk.contract import requests as rq  # noqa: E402
from kiosk.contract.client import HallClient, HallUnreachable, http_transport  # noqa: E402
from kiosk.domain.identity import check_char  # noqa: E402

KIOSK = [sys.executable, "-m", "kiosk.cli"]


def hall(tmp: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    config = tmp / "config"
    shutil.copytree(ROOT / "config", config)
    toml = (config / "hall.toml").read_text()
    (config / "hall.toml").write_text(toml.replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
                                      .replace("per_person_per_day = 3", "per_person_per_day = 100"))
    common = ["--config", str(config / "hall.toml"), "--data", str(tmp / "data")]
    tokens = {}
    for role in ("kiosk", "counter"):
        out = subprocess.run([*KIOSK, "devices", "enroll", "--role", role, "--name", role, *common],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        tokens[role] = out.stdout.strip().splitlines()[-1]
    subprocess.run([*KIOSK, "clerks", "add", "--id", "8001", "--name", "王晓明", "--pin", "2468", *common],
                   capture_output=True, check=True, cwd=ROOT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*KIOSK, "hall", "serve", *common, "--port", str(port), "--now",
                             "2026-11-23T10:00:00+08:00"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    probe = HallClient(http_transport(url, timeout=1), "")
    for _ in range(300):
        try:
            probe.send(rq.Health())
            break
        except HallUnreachable:
            time.sleep(0.05)
    return proc, url, tokens


def finished_tickets(url: str, tokens: dict[str, str], n: int) -> list[str]:
    kiosk = HallClient(http_transport(url), tokens["kiosk"])
    counter = HallClient(http_transport(url), tokens["counter"])
    counter = counter.with_session(counter.send(rq.Login(window=2, clerk_id="8001", pin="2468")).body["session"])
    numbers = []
    for i in range(n):
        first17 = f"370102198501{i // 100 + 1:02d}{i % 100:03d}"
        identity = {"id_number": first17 + check_char(first17), "name": ""}
        number = kiosk.send(rq.IssueTicket(business="B", identity=identity, accept_wait=True)).body["ticket"]["number"]
        counter.send(rq.CallTicket(window=2, number=number, reason="bench"))
        counter.send(rq.Finish(window=2))
        numbers.append(number)
    return numbers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keypads", type=int, default=32)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--presses", type=int, default=40)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-keypad-"))
    proc, url, tokens = hall(tmp)
    try:
        tickets = finished_tickets(url, tokens, args.presses)
        counter = HallClient(http_transport(url), tokens["counter"])
        poster = ThreadPoolExecutor(max_workers=1)  # the terminal's I/O thread
        latencies: list[float] = []
        pressed_at: dict[int, float] = {}
        pending: dict[int, str] = {}
        stored = threading.Event()

        def store(address: int, seq: int, level: int) -> None:
            ticket = pending.pop(address)
            r = counter.send(rq.Rate(ticket=ticket, level=level, source="keypad"), idempotency_key=f"keypad-{ticket}")
            assert r.status == 201, r.body
            latencies.append(time.monotonic() - pressed_at[address])
            bus.acknowledge(address, seq)  # stored: only now may the keypad drop the press
            stored.set()

        def on_event(event: KeypadEvent) -> None:
            if isinstance(event, KeyPress):
                poster.submit(store, event.address, event.seq, event.level)

        addresses = list(range(1, args.keypads + 1))
        rng = random.Random(7)
        with KeypadBusSimulator(addresses, Faults(line_baud=args.baud)) as sim:
            bus = KeypadBus(sim.path, addresses, baudrate=args.baud, reply_timeout=0.2, on_event=on_event)
            bus.start(interval=0.0)
            for ticket in tickets:
                address = rng.choice(addresses)
                pending[address] = ticket
                bus.please_rate(address, "王晓明", 8001, 2)
                while sim.keypad(address).mode != p.Mode.PLEASE_RATE:
                    time.sleep(0.005)
                time.sleep(rng.random() * 0.2)
                stored.clear()
                with sim._lock:
                    pressed_at[address] = time.monotonic()
                    sim.keypad(address).press(rng.randint(1, 5))
                stored.wait(5)
            bus.stop()
        latencies.sort()
        print(f"keypad press → rating stored by the hall (HTTP, SQLite synchronous=FULL), {args.keypads} keypads "
              f"at {args.baud} baud (emulated wire)")
        print(f"presses {len(latencies)}  p50 {statistics.median(latencies) * 1000:.0f} ms  "
              f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms  max {latencies[-1] * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
