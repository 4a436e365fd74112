"""From a key press on a simulated keypad to the host driver's KeyPress event, on a bus of
many keypads with the wire's speed emulated (default 32 keypads at 9600 baud 8N1).

The host polls the keypads that are waiting for a rating every pass, and one other in turn;
``--poll-all`` measures the naive alternative of polling every keypad every pass.
Usage: python bench/keypad_bus.py [--keypads 32] [--baud 9600] [--waiting 4] [--presses 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.keypad import protocol as p
from drivers.keypad.driver import KeypadBus, KeypadEvent, KeyPress
from drivers.keypad.simulator import Faults, KeypadBusSimulator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keypads", type=int, default=32)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--waiting", type=int, default=4, help="keypads waiting for a rating at any moment")
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--poll-all", action="store_true")
    args = parser.parse_args()
    addresses = list(range(1, args.keypads + 1))
    latencies: list[float] = []
    pressed_at: dict[tuple[int, int], float] = {}
    got = threading.Event()

    def on_event(event: KeypadEvent) -> None:
        if isinstance(event, KeyPress):
            latencies.append(time.monotonic() - pressed_at[(event.address, event.seq)])
            bus.acknowledge(event.address, event.seq)
            got.set()

    rng = random.Random(1)
    with KeypadBusSimulator(addresses, Faults(line_baud=args.baud)) as sim:
        bus = KeypadBus(sim.path, addresses, baudrate=args.baud, reply_timeout=0.2, on_event=on_event)
        if args.poll_all:
            bus._due = lambda everyone: list(bus.addresses)  # type: ignore[method-assign]
        waiting = rng.sample(addresses, args.waiting)
        for a in waiting:
            bus.please_rate(a, "李四", 1, a)
        bus.start(interval=0.0)
        for _ in range(args.presses):
            address = rng.choice(waiting)
            while sim.keypad(address).mode != p.Mode.PLEASE_RATE:
                time.sleep(0.005)
            time.sleep(rng.random() * 0.2)  # the citizen takes a moment
            got.clear()
            with sim._lock:
                kp = sim.keypad(address)
                seq = kp.next_seq
                pressed_at[(address, seq)] = time.monotonic()
                kp.press(rng.randint(1, 5))
            got.wait(5)
            bus.please_rate(address, "李四", 1, address)  # the next citizen at that window
        bus.stop()
    latencies.sort()
    print(f"keypad press → KeyPress event, {args.keypads} keypads at {args.baud} baud (emulated wire), "
          f"{args.waiting} waiting for a rating, {'polling all' if args.poll_all else 'armed-first polling'}")
    print(f"presses {len(latencies)}  p50 {statistics.median(latencies) * 1000:.0f} ms  "
          f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms  max {latencies[-1] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
