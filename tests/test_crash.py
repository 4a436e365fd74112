"""SIGKILL the hall service in the middle of a burst: nothing a client was told about is lost,
no number repeats, and the event chain still verifies."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

from kiosk.config_files import DEFAULT_CONFIG
from kiosk.domain.identity import mask_number
from tests.helpers import HallProcess, person


def burst_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, target)
    hall = target / "hall.toml"
    text = hall.read_text().replace("kiosk_burst = { identities = 4, minutes = 10 }", "kiosk_burst = false")
    # a burst of thousands is far over capacity; here every request should be a ticket, not a booking offer
    hall.write_text(text.replace("offers = true", "offers = false"))
    return hall


def all_events(client: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = client.get(f"/api/v1/events?after={events[-1]['seq'] if events else 0}&limit=1000").json()["events"]
        if not page:
            return events
        events += page


def verify_chain(events: list[dict[str, Any]]) -> None:
    prev = "0" * 64
    for i, e in enumerate(events, start=1):
        assert e["seq"] == i and e["prev_hash"] == prev
        body = json.dumps({k: e[k] for k in ("seq", "id", "type", "at", "device", "payload")}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest() == e["hash"], e["seq"]
        prev = e["hash"]


def test_sigkill_during_a_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = HallProcess(tmp_path / "data", config=burst_config(tmp_path))
    server.enroll("kiosk", "kiosk-1")
    server.enroll("supervisor", "duty")
    server.start()
    acknowledged: list[tuple[str, str, str]] = []  # (number, business, masked holder)
    lock = threading.Lock()
    enough = threading.Event()
    businesses = "ABDQ"

    def client(k: int) -> None:
        kiosk = server.client("kiosk-1")
        for i in range(2_000):
            who = person(k * 10_000 + i)
            business = businesses[i % len(businesses)]
            try:
                r = kiosk.post("/api/v1/tickets", {"business": business, "identity": who})
            except requests.RequestException:
                return  # the service died under us
            if r.status_code == 201:
                with lock:
                    acknowledged.append((r.json()["ticket"]["number"], business, mask_number(who["id_number"])))
                    if len(acknowledged) >= 200:
                        enough.set()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    assert enough.wait(120), "the burst did not get going"
    server.kill()  # SIGKILL while the clients are still sending
    for t in threads:
        t.join(60)
    told = list(acknowledged)
    assert len(told) >= 200

    server.start()
    kiosk = server.client("kiosk-1")
    duty = server.client("duty")  # a kiosk's read by number carries no holder (hall-api.md)
    for number, business, masked in told:
        ticket = duty.get(f"/api/v1/tickets/{number}").json()["ticket"]
        assert ticket["business"] == business and ticket["holder_masked"] == masked
    events = all_events(server.client("duty"))
    verify_chain(events)
    issued: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if e["type"] == "ticket.issued":
            issued[e["payload"]["business"]].append(int(e["payload"]["number"][1:]))
    for nums in issued.values():
        assert nums == list(range(1, len(nums) + 1))  # no gap, no repeat, in order
    # numbering continues after the restart, never reusing a number
    after = kiosk.post("/api/v1/tickets", {"business": "A", "identity": person(999_999)}).json()["ticket"]
    assert int(after["number"][1:]) == len(issued["A"]) + 1
    server.stop()
