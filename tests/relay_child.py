"""A window PC's rating path as its own process, for the kill -9 test: the keypad bus on a pseudo-terminal,
the RatingRelay the counter app uses, and the hall over HTTP. Prints "pending T" once a press is on disk
"retry T" after its first delivery the hall did not answer, and "stored T" once the hall has it.
Usage: python -m tests.relay_child URL TOKEN STATE PTY [TICKET [FINISHED_AT]]"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from drivers.keypad.driver import KeypadBus, KeyPress
from kiosk.contract.client import HallClient, http_transport
from kiosk.ui.counter.flows.rating import Pending, RatingRelay


def main() -> None:
    url, token, state, pty = sys.argv[1:5]
    ticket = sys.argv[5] if len(sys.argv) > 5 else None
    finished_at = sys.argv[6] if len(sys.argv) > 6 else None
    bus = KeypadBus(pty, [1], reply_timeout=0.1)
    relay = RatingRelay(Path(state) / "ratings.db", HallClient(http_transport(url, timeout=1.0), token),
                        bus.acknowledge)
    waiting: list[Pending] = relay.unsent()
    if ticket:
        relay.asked(1, ticket, finished_at)
        bus.please_rate(1, "李四", 7, 2)
    retried: set[int] = set()
    print("ready", flush=True)
    while True:
        for event in bus.poll_once(everyone=True):
            if isinstance(event, KeyPress):
                pending = relay.pressed(event.address, event.seq, event.level)
                if pending is not None:
                    print(f"pending {pending.ticket}", flush=True)
                    waiting.append(pending)
        for pending in list(waiting):
            state_now, _ = relay.deliver(pending)
            if state_now == "retry" and pending.id not in retried:
                retried.add(pending.id)
                print(f"retry {pending.ticket}", flush=True)
            if state_now != "retry":
                waiting.remove(pending)
                print(f"{state_now} {pending.ticket}", flush=True)
        time.sleep(0.05)


if __name__ == "__main__":
    main()
